import type { IncomingMessage } from 'node:http';

import { context, isSpanContextValid, propagation, ProxyTracerProvider, SpanKind, trace } from '@opentelemetry/api';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

import type { Env } from '../config/env';
import { OtlpReceiver, type ReceivedSpan } from '../testing/otlp-receiver';
import { getTelemetry, startTelemetry, type Telemetry } from './telemetry';

// Run in reverse order, so the pipeline flushes into the receiver before it closes.
const cleanups: Array<() => Promise<unknown>> = [];

afterEach(async () => {
  const results = await cleanups
    .splice(0)
    .reverse()
    .reduce<Promise<PromiseSettledResult<unknown>[]>>(
      async (done, cleanup) => [...(await done), ...(await Promise.allSettled([cleanup()]))],
      Promise.resolve([]),
    );
  const failure = results.find((result) => result.status === 'rejected');
  if (failure) throw failure.reason;
  // Every test leaves the process as it found it, for the next test and the next spec file.
  expect(getTelemetry()).toBeUndefined();
});

/** A receiver that also records the content type of every request it gets. */
async function startReceiver(): Promise<{ receiver: OtlpReceiver; contentTypes: Array<string | undefined> }> {
  const receiver = await OtlpReceiver.start();
  cleanups.push(() => receiver.close());
  const contentTypes: Array<string | undefined> = [];
  // The receiver's (private) server is asked what arrived on the wire, as in otlp-receiver.spec.ts.
  receiver['server'].on('request', (req: IncomingMessage) => contentTypes.push(req.headers['content-type']));
  return { receiver, contentTypes };
}

function start(env: Env): Telemetry {
  const telemetry = startTelemetry(env, 'preload');
  cleanups.push(() => telemetry.shutdown(5_000));
  return telemetry;
}

const IDENTITY = { OTEL_SERVICE_NAME: 'pipeline-spec', SERVICE_VERSION: '1.2.3', DEPLOYMENT_ENVIRONMENT: 'test' };

/** A server span with a child made in its context, the way the module and an instrumentation make them. */
function makeSpans(): { parent: { traceId: string; spanId: string }; child: { spanId: string } } {
  const tracer = trace.getTracer('pipeline-spec-scope', '2.0.0');
  return tracer.startActiveSpan('GET /orders/:id', { kind: SpanKind.SERVER }, (parent) => {
    // No explicit parent context: the registered context manager must carry the active span.
    const child = tracer.startSpan('SELECT orders', {
      kind: SpanKind.CLIENT,
      attributes: {
        'db.system': 'postgresql',
        'db.rows': 3,
        'db.duration': 1.5,
        'db.cached': false,
        'db.tables': ['orders', 'lines'],
        'db.user.password': 'hunter2',
      },
    });
    child.end();
    parent.end();
    return { parent: parent.spanContext(), child: child.spanContext() };
  });
}

function byName(spans: ReceivedSpan[], name: string): ReceivedSpan {
  const span = spans.find((candidate) => candidate.name === name);
  if (!span) throw new Error(`no span named "${name}" among: ${spans.map((s) => s.name).join(', ') || 'none'}`);
  return span;
}

describe('the pipeline', () => {
  it.each([
    ['http/protobuf', 'application/x-protobuf'],
    ['http/json', 'application/json'],
  ])('exports over OTEL_EXPORTER_OTLP_PROTOCOL=%s as %s', async (protocol, contentType) => {
    const { receiver, contentTypes } = await startReceiver();
    const telemetry = start({ ...IDENTITY, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: protocol });

    const made = makeSpans();
    await expect(telemetry.flush(5_000)).resolves.toBe(true);

    // Spans are decoded before the receiver answers, so a successful flush implies them.
    expect(contentTypes).toEqual([contentType]);
    expect(receiver.spans.map((span) => span.name).sort()).toEqual(['GET /orders/:id', 'SELECT orders']);
    const server = byName(receiver.spans, 'GET /orders/:id');
    const client = byName(receiver.spans, 'SELECT orders');
    expect(server).toMatchObject({ traceId: made.parent.traceId, spanId: made.parent.spanId, kind: 2 });
    expect(server.parentSpanId).toBeUndefined();
    expect(client).toMatchObject({ traceId: made.parent.traceId, spanId: made.child.spanId, parentSpanId: made.parent.spanId, kind: 3 });
    expect(client.attributes).toEqual({
      'db.system': 'postgresql',
      'db.rows': 3,
      'db.duration': 1.5,
      'db.cached': false,
      'db.tables': ['orders', 'lines'],
      // The scrubbing processor runs before the exporter.
      'db.user.password': '[REDACTED]',
    });
    for (const span of receiver.spans) {
      expect(span.resource).toMatchObject({
        'service.name': 'pipeline-spec',
        'service.version': '1.2.3',
        'deployment.environment.name': 'test',
      });
      expect(span.scope).toEqual({ name: 'pipeline-spec-scope', version: '2.0.0' });
    }
  });

  it('takes OTEL_EXPORTER_OTLP_TRACES_PROTOCOL over OTEL_EXPORTER_OTLP_PROTOCOL', async () => {
    const { receiver, contentTypes } = await startReceiver();
    const telemetry = start({
      ...IDENTITY,
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.endpoint}/v1/traces`,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
    });

    makeSpans();
    await expect(telemetry.flush(5_000)).resolves.toBe(true);

    expect(contentTypes).toEqual(['application/json']);
    expect(receiver.spans).toHaveLength(2);
  });

  it('refuses OTEL_EXPORTER_OTLP_PROTOCOL=grpc before starting anything', () => {
    expect(() => startTelemetry({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toThrow(
      'Invalid OTEL_EXPORTER_OTLP_PROTOCOL: "grpc". Expected http/protobuf (the default) or http/json;',
    );
    expect(getTelemetry()).toBeUndefined();
    expect(isSpanContextValid(trace.getTracer('spec').startSpan('nothing registered').spanContext())).toBe(false);
  });

  it('registers the provider it flushes, and shutdown unregisters every global it set', async () => {
    const { receiver } = await startReceiver();
    const telemetry = start({ ...IDENTITY, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint });
    const registered = trace.getTracerProvider();
    expect(registered).toBeInstanceOf(ProxyTracerProvider);
    expect((registered as ProxyTracerProvider).getDelegate()).toBeInstanceOf(NodeTracerProvider);
    expect(propagation.fields()).toEqual(['traceparent', 'tracestate', 'baggage']);

    makeSpans();
    await expect(telemetry.shutdown(5_000)).resolves.toBe(true);

    expect(receiver.spans).toHaveLength(2);
    expect(getTelemetry()).toBeUndefined();
    expect(isSpanContextValid(trace.getTracer('spec').startSpan('after shutdown').spanContext())).toBe(false);
    expect(propagation.fields()).toEqual([]);
    // A span made active now is not carried: no context manager is registered.
    const span = trace.wrapSpanContext({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 });
    expect(context.with(trace.setSpan(context.active(), span), () => trace.getActiveSpan())).toBeUndefined();
    await expect(telemetry.shutdown(5_000)).resolves.toBe(true);
  });

  it('keeps traces on its own provider when NodeSDK runs for metrics or logs', async () => {
    const { receiver, contentTypes } = await startReceiver();
    // NodeSDK reads its metric exporters from process.env itself; 'none' keeps it from
    // starting a periodic OTLP export to localhost:4318 during the test.
    const saved = process.env.OTEL_METRICS_EXPORTER;
    let telemetry: Telemetry;
    try {
      process.env.OTEL_METRICS_EXPORTER = 'none';
      telemetry = start({ ...IDENTITY, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_METRICS_EXPORTER: 'none' });
    } finally {
      if (saved === undefined) delete process.env.OTEL_METRICS_EXPORTER;
      else process.env.OTEL_METRICS_EXPORTER = saved;
    }
    expect(telemetry.config.sdkMetrics).toBe(true);
    expect((trace.getTracerProvider() as ProxyTracerProvider).getDelegate()).toBeInstanceOf(NodeTracerProvider);

    const made = makeSpans();
    await expect(telemetry.flush(5_000)).resolves.toBe(true);

    expect(contentTypes).toEqual(['application/x-protobuf']);
    expect(byName(receiver.spans, 'SELECT orders').parentSpanId).toBe(made.parent.spanId);
  });

  it('starts nothing but Sentry when OTEL_SDK_DISABLED is true', async () => {
    const telemetry = start({ OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' });

    expect(isSpanContextValid(trace.getTracer('spec').startSpan('disabled').spanContext())).toBe(false);
    await expect(telemetry.flush(1_000)).resolves.toBe(true);
    await expect(telemetry.shutdown(1_000)).resolves.toBe(true);
  });
});
