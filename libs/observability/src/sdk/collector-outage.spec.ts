/*
 * The whole pipeline (the preload's startTelemetry, the real OTLP/protobuf
 * exporter) against a loopback collector that fails, then recovers. Batches of
 * 10; an export gives up after 400 ms, which is less than the exporter's own
 * first retry (about 1 s), so every export is exactly one POST.
 */
import { trace } from '@opentelemetry/api';

import { OtlpReceiver } from '../testing/otlp-receiver';
import { getTelemetry, startTelemetry, type Telemetry } from './telemetry';

const ENV = {
  OTEL_SERVICE_NAME: 'outage-spec',
  SERVICE_VERSION: '1.0.0',
  DEPLOYMENT_ENVIRONMENT: 'test',
  OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '10',
  OTEL_BSP_SCHEDULE_DELAY: '50',
  OTEL_BSP_EXPORT_TIMEOUT: '400',
};

// Run in reverse order: the pipeline shuts down before the receiver closes.
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  expect(getTelemetry()).toBeUndefined();
});

interface Run {
  receiver: OtlpReceiver;
  telemetry: Telemetry;
  warnings: Array<{ obj: Record<string, unknown>; msg: string }>;
}

async function start(env: Record<string, string> = {}): Promise<Run> {
  const receiver = await OtlpReceiver.start();
  cleanups.push(() => receiver.close());
  const telemetry = startTelemetry({ ...ENV, ...env, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint }, 'preload');
  cleanups.push(() => telemetry.shutdown(2_000));
  const warnings: Run['warnings'] = [];
  telemetry.setLogger({ warn: (obj, msg) => warnings.push({ obj: obj as Record<string, unknown>, msg }) });
  return { receiver, telemetry, warnings };
}

function endSpans(count: number, name: string): void {
  const tracer = trace.getTracer('outage-spec');
  for (let i = 0; i < count; i++) tracer.startSpan(`${name} ${i}`).end();
}

/** Polls `condition` every 20 ms; fails with `seen()` after `timeoutMs`. */
async function waitFor(condition: () => boolean, seen: () => unknown, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms; seen: ${JSON.stringify(seen())}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('the pipeline against a collector that fails, then recovers', () => {
  it('sends one export at a time, warns once when failing and once when back with the spans lost', async () => {
    const { receiver, telemetry, warnings } = await start();
    const seen = () => ({ answers: receiver.answers, stats: telemetry.exportStats(), warnings });
    receiver.respondWith(503);

    endSpans(10, 'lost first');
    await waitFor(() => warnings.length === 1, seen);
    expect(warnings[0].obj).toEqual({
      endpoint: `${receiver.endpoint}/v1/traces`,
      error: 'HTTP 503 from the collector',
      failing_since: expect.any(String),
    });

    endSpans(10, 'lost second');
    await waitFor(() => telemetry.exportStats().exportFailures === 2, seen);
    receiver.respondWith(200);
    endSpans(10, 'delivered');
    await waitFor(() => warnings.length === 2, seen);

    expect(receiver.answers.map((answer) => answer.status)).toEqual([503, 503, 200]);
    expect(receiver.maxInFlight).toBe(1);
    expect(warnings[1].msg).toMatch(
      new RegExp(
        `^nestjs-observability: exporting spans to ${receiver.endpoint}/v1/traces works again after \\d+ s; 20 spans were lost meanwhile$`,
      ),
    );
    expect(warnings[1].obj).toMatchObject({ spans_lost: 20 });
    expect(receiver.spans.map((span) => span.name).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `delivered ${i}`).sort());
    expect(telemetry.exportStats()).toEqual({
      exported: 10,
      dropped: { queue_full: 0, export_failed: 20, shutdown: 0 },
      exportFailures: 2,
      queueLength: 0,
    });
  });

  it('waits what 429 Retry-After asks before the next export', async () => {
    const { receiver, telemetry, warnings } = await start();
    const seen = () => ({ answers: receiver.answers, stats: telemetry.exportStats(), warnings });
    receiver.respondWith(429, { 'retry-after': '2' });

    endSpans(10, 'first');
    await waitFor(() => warnings.length === 1, seen);
    endSpans(10, 'second');
    await waitFor(() => receiver.answers.length === 2, seen);

    expect(warnings[0].obj).toMatchObject({ error: 'HTTP 429 from the collector', retry_after_ms: 2_000 });
    // Without Retry-After the first pause is about 1 s (800–1,200 ms with jitter).
    expect(receiver.answers[1].at - receiver.answers[0].at).toBeGreaterThanOrEqual(1_950);
    expect(receiver.maxInFlight).toBe(1);
  });

  it("warns of an outage the exporter's own retries get through, and of its end, with nothing lost", async () => {
    // Exports may take 5 s: the exporter retries a 503 after about a second, within one export.
    const { receiver, telemetry, warnings } = await start({ OTEL_BSP_EXPORT_TIMEOUT: '5000' });
    const seen = () => ({ answers: receiver.answers, stats: telemetry.exportStats(), warnings });
    receiver.respondWith(503);
    endSpans(10, 'retried');
    await waitFor(() => warnings.length === 1, seen);
    expect(warnings[0].obj).toMatchObject({ error: 'HTTP 503 from the collector' });
    receiver.respondWith(200);
    await waitFor(() => warnings.length === 2, seen, 8_000);
    expect(warnings[1].obj).toMatchObject({ spans_lost: 0 });
    expect(telemetry.exportStats()).toMatchObject({
      exported: 10,
      exportFailures: 0,
      dropped: { queue_full: 0, export_failed: 0, shutdown: 0 },
    });
    expect(receiver.maxInFlight).toBe(1);
  }, 15_000);
});
