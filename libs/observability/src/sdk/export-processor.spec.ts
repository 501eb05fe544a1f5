import { TraceFlags } from '@opentelemetry/api';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  type ReadableSpan,
  type Sampler,
  SamplingDecision,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';

import { type ExportProcessorOptions, ExportSpanProcessor, type FailureDetail } from './export-processor';

/**
 * An exporter that answers after `latencyMs`, failing while `down` (or for the
 * next `failNext` exports), and records every call and how many overlapped.
 */
class FakeExporter implements SpanExporter {
  readonly calls: Array<{ at: number; size: number }> = [];
  readonly accepted: ReadableSpan[] = [];
  inFlight = 0;
  maxInFlight = 0;
  down = false;
  failNext = 0;
  hang = false;
  /** Callbacks of exports held by `hang`, to answer late. */
  readonly held: Array<(result: ExportResult) => void> = [];

  constructor(private readonly latencyMs = 50) {}

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.calls.push({ at: Date.now(), size: spans.length });
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    if (this.hang) {
      this.held.push(resultCallback);
      return;
    }
    setTimeout(() => {
      this.inFlight--;
      if (this.down || this.failNext > 0) {
        this.failNext = Math.max(0, this.failNext - 1);
        resultCallback({ code: ExportResultCode.FAILED, error: new Error('Service Unavailable') });
      } else {
        this.accepted.push(...spans);
        resultCallback({ code: ExportResultCode.SUCCESS });
      }
    }, this.latencyMs);
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

const LATENCY = 50;
const OPTIONS: ExportProcessorOptions = {
  maxQueueSize: 100,
  maxExportBatchSize: 10,
  scheduledDelayMillis: 100,
  exportTimeoutMillis: 5_000,
  endpoint: 'http://collector:4318/v1/traces',
  // No jitter: the spacing is asserted exactly.
  random: () => 0.5,
};

interface Setup {
  exporter: FakeExporter;
  processor: SpanProcessor;
  warnings: Array<{ obj: Record<string, unknown>; msg: string }>;
  /** Ends `count` sampled spans. */
  end(count: number): void;
}

function setup(processorFor: (exporter: FakeExporter) => SpanProcessor, sampler?: Sampler): Setup {
  const exporter = new FakeExporter(LATENCY);
  const processor = processorFor(exporter);
  const warnings: Setup['warnings'] = [];
  if (processor instanceof ExportSpanProcessor) {
    processor.setLogger({ warn: (obj, msg) => warnings.push({ obj: obj as Record<string, unknown>, msg }) });
  }
  const tracer = new BasicTracerProvider({ spanProcessors: [processor], ...(sampler ? { sampler } : {}) }).getTracer(
    'export-processor-spec',
  );
  return {
    exporter,
    processor,
    warnings,
    end(count) {
      for (let i = 0; i < count; i++) tracer.startSpan(`span ${i}`).end();
    },
  };
}

function ours(options: Partial<ExportProcessorOptions> = {}): (exporter: FakeExporter) => ExportSpanProcessor {
  return (exporter) => new ExportSpanProcessor(exporter, { ...OPTIONS, ...options });
}

/** Ends `perTick` spans every `tickMs` for `durationMs` of (fake) time: steady traffic. */
async function traffic(s: Setup, durationMs: number, perTick = 10, tickMs = 100): Promise<void> {
  for (let elapsed = 0; elapsed < durationMs; elapsed += tickMs) {
    s.end(perTick);
    await jest.advanceTimersByTimeAsync(tickMs);
  }
}

/** Time from the end of each export to the start of the next. */
function pauses(calls: Array<{ at: number }>): number[] {
  return calls.slice(1).map((call, i) => call.at - calls[i].at - LATENCY);
}

beforeEach(() => {
  jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask'] });
});

afterEach(() => {
  jest.useRealTimers();
});

describe('ExportSpanProcessor against a collector that keeps failing', () => {
  it('keeps one export in flight and pauses 1 s, 2 s, then 4 s between attempts', async () => {
    const s = setup(ours());
    s.exporter.down = true;

    await traffic(s, 30_000);

    expect(s.exporter.maxInFlight).toBe(1);
    expect(pauses(s.exporter.calls)).toEqual([1_000, 2_000, 4_000, 4_000, 4_000, 4_000, 4_000, 4_000]);
  });

  it('grows the pause up to maxBackoffMillis when one is given', async () => {
    const s = setup(ours({ maxBackoffMillis: 30_000 }));
    s.exporter.down = true;

    await traffic(s, 120_000);

    expect(s.exporter.maxInFlight).toBe(1);
    expect(pauses(s.exporter.calls)).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
  });

  it('exports again within the 4 s cap of the collector coming back, however long it was down', async () => {
    const s = setup(ours());
    s.exporter.down = true;
    await traffic(s, 300_000);
    const failedCalls = s.exporter.calls.length;

    s.exporter.down = false;
    const back = Date.now();
    await traffic(s, 5_000);

    const next = s.exporter.calls[failedCalls];
    expect(next).toBeDefined();
    expect(next.at - back).toBeLessThanOrEqual(4_000);
    expect(s.warnings.map((w) => w.msg)).toEqual([
      expect.stringContaining('failed (Service Unavailable)'),
      expect.stringMatching(/works again after 30\d s; \d+ spans were lost meanwhile$/),
    ]);
  });

  it('warns once, naming the endpoint, the error and since when; never once per batch', async () => {
    const s = setup(ours());
    s.exporter.down = true;
    const start = Date.now();

    await traffic(s, 60_000);

    expect(s.exporter.calls.length).toBeGreaterThan(3);
    expect(s.warnings).toHaveLength(1);
    expect(s.warnings[0].obj).toEqual({
      endpoint: 'http://collector:4318/v1/traces',
      error: 'Service Unavailable',
      failing_since: new Date(start + LATENCY).toISOString(),
    });
    expect(s.warnings[0].msg).toContain('exporting spans to http://collector:4318/v1/traces failed (Service Unavailable)');
  });

  it('waits at least what Retry-After asks, longer once the backoff outgrows it', async () => {
    const detail: FailureDetail = { status: 429, retryAfterMillis: 5_000 };
    const s = setup(ours({ describeFailure: () => detail, maxBackoffMillis: 30_000 }));
    s.exporter.down = true;

    await traffic(s, 30_000);

    expect(s.exporter.maxInFlight).toBe(1);
    expect(pauses(s.exporter.calls).slice(0, 4)).toEqual([5_000, 5_000, 5_000, 8_000]);
    expect(s.warnings[0].obj).toMatchObject({ error: 'HTTP 429: Service Unavailable', retry_after_ms: 5_000 });
  });

  it('keeps at most maxQueueSize spans and counts every span lost, by reason', async () => {
    const s = setup(ours());
    s.exporter.down = true;

    s.end(250);
    await jest.advanceTimersByTimeAsync(LATENCY);

    expect(s.exporter.calls).toEqual([{ at: expect.any(Number), size: 10 }]);
    expect((s.processor as ExportSpanProcessor).stats()).toEqual({
      exported: 0,
      dropped: { queue_full: 150, export_failed: 10, shutdown: 0 },
      exportFailures: 1,
      queueLength: 90,
    });
  });
});

describe('the same failing collector against the SDK BatchSpanProcessor (why it is not used)', () => {
  const scenario = async (processorFor: (exporter: FakeExporter) => SpanProcessor): Promise<FakeExporter> => {
    const s = setup(processorFor);
    s.exporter.down = true;
    await traffic(s, 10_000, 30);
    return s.exporter;
  };

  it('ours: one export at a time, 4 attempts in 10 s', async () => {
    const exporter = await scenario(ours());
    expect(exporter.maxInFlight).toBe(1);
    expect(exporter.calls).toHaveLength(4);
  });

  it('the SDK one: several exports at once and no pause', async () => {
    const exporter = await scenario(
      (fake) => new BatchSpanProcessor(fake, { maxQueueSize: 100, maxExportBatchSize: 10, scheduledDelayMillis: 100 }),
    );
    // sdk-trace 2.12: `.finally()` starts the next export, then `.catch()` clears
    // `_isExporting` while it runs, so each failure opens one more parallel chain.
    expect(exporter.maxInFlight).toBeGreaterThan(1);
    expect(exporter.calls.length).toBeGreaterThan(50);
  });
});

describe('ExportSpanProcessor when the collector comes back', () => {
  it('succeeds at the first attempt after the backoff, drains the backlog batch after batch, and warns once with the spans lost', async () => {
    const s = setup(ours());
    s.exporter.failNext = 3;

    s.end(100);
    // Failures at 50, 1100 and 3150 ms; the attempt at 7150 ms succeeds.
    await jest.advanceTimersByTimeAsync(10_000);

    expect(s.exporter.maxInFlight).toBe(1);
    const starts = s.exporter.calls.map((call) => call.at - s.exporter.calls[0].at);
    expect(starts.slice(0, 4)).toEqual([0, 1_050, 3_100, 7_150]);
    // After the first success the queued batches go one right after another (setTimeout(0) is
    // 1 ms in Node), not every scheduledDelayMillis (100 ms).
    expect(pauses(s.exporter.calls).slice(3)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(s.exporter.accepted).toHaveLength(70);
    expect((s.processor as ExportSpanProcessor).stats()).toEqual({
      exported: 70,
      dropped: { queue_full: 0, export_failed: 30, shutdown: 0 },
      exportFailures: 3,
      queueLength: 0,
    });
    expect(s.warnings.map((warning) => warning.msg)).toEqual([
      expect.stringContaining('failed (Service Unavailable)'),
      'nestjs-observability: exporting spans to http://collector:4318/v1/traces works again after 7 s; 30 spans were lost meanwhile',
    ]);
    expect(s.warnings[1].obj).toMatchObject({ spans_lost: 30, failed_for_ms: 7_150 });
  });

  it('counts spans dropped for a full queue during the outage among those lost', async () => {
    const s = setup(ours());
    s.exporter.failNext = 1;

    s.end(10);
    await jest.advanceTimersByTimeAsync(LATENCY);
    s.end(120);
    await jest.advanceTimersByTimeAsync(5_000);

    expect(s.warnings[1].obj).toMatchObject({ spans_lost: 30 });
    expect((s.processor as ExportSpanProcessor).stats().dropped).toEqual({ queue_full: 20, export_failed: 10, shutdown: 0 });
  });
});

describe('ExportSpanProcessor batching', () => {
  it('does not export inside the span.end() that fills a batch, but right after it', async () => {
    const s = setup(ours());

    s.end(10);
    expect(s.exporter.calls).toHaveLength(0);
    await jest.advanceTimersByTimeAsync(0);
    expect(s.exporter.calls).toEqual([{ at: expect.any(Number), size: 10 }]);
  });

  it('exports a partial batch after scheduledDelayMillis', async () => {
    const s = setup(ours());

    s.end(3);
    await jest.advanceTimersByTimeAsync(99);
    expect(s.exporter.calls).toHaveLength(0);
    await jest.advanceTimersByTimeAsync(1);
    expect(s.exporter.calls).toEqual([{ at: expect.any(Number), size: 3 }]);
  });

  it('queues only sampled spans', async () => {
    // Recorded but not sampled: the span ends (processors see it), its trace flags say not to export.
    const recordOnly: Sampler = { shouldSample: () => ({ decision: SamplingDecision.RECORD }), toString: () => 'RecordOnly' };
    const s = setup(ours(), recordOnly);
    const seen: number[] = [];
    const spy: SpanProcessor = {
      onStart: () => undefined,
      onEnd: (span) => seen.push(span.spanContext().traceFlags),
      forceFlush: () => Promise.resolve(),
      shutdown: () => Promise.resolve(),
    };
    new BasicTracerProvider({ spanProcessors: [spy], sampler: recordOnly }).getTracer('spy').startSpan('seen').end();

    s.end(20);
    await jest.advanceTimersByTimeAsync(1_000);

    expect(seen).toEqual([TraceFlags.NONE]);
    expect(s.exporter.calls).toHaveLength(0);
    expect((s.processor as ExportSpanProcessor).stats().queueLength).toBe(0);
  });
});

describe('ExportSpanProcessor flush and shutdown', () => {
  it('forceFlush exports everything queued, batch after batch', async () => {
    const s = setup(ours());

    s.end(25);
    const flushed = s.processor.forceFlush();
    await jest.advanceTimersByTimeAsync(3 * LATENCY);

    await expect(flushed).resolves.toBeUndefined();
    expect(s.exporter.calls.map((call) => call.size)).toEqual([10, 10, 5]);
    expect(s.exporter.maxInFlight).toBe(1);
  });

  it('forceFlush tries once even while backing off, and rejects when that fails', async () => {
    const s = setup(ours());
    s.exporter.down = true;
    s.end(10);
    await jest.advanceTimersByTimeAsync(LATENCY);
    s.end(5);

    const flushed = (s.processor as ExportSpanProcessor).forceFlush(1_000);
    const outcome = expect(flushed).rejects.toThrow(
      'nestjs-observability: flushing spans to http://collector:4318/v1/traces: an export failed and its batch was dropped; 0 spans still waiting',
    );
    await jest.advanceTimersByTimeAsync(LATENCY);
    await outcome;
    expect(s.exporter.calls.map((call) => call.size)).toEqual([10, 5]);
  });

  it('forceFlush gives up at its timeout when the exporter does not answer', async () => {
    const s = setup(ours());
    s.exporter.hang = true;
    s.end(3);

    const flushed = (s.processor as ExportSpanProcessor).forceFlush(500);
    const outcome = expect(flushed).rejects.toThrow('not done within 500 ms; 3 spans still waiting');
    await jest.advanceTimersByTimeAsync(500);
    await outcome;
  });

  it('shutdown returns by its timeout with the exporter hanging, counting what was not exported in one warning', async () => {
    const s = setup(ours());
    s.exporter.hang = true;
    s.end(30);
    await jest.advanceTimersByTimeAsync(0);
    expect(s.exporter.calls).toHaveLength(1);

    let done = false;
    const shutdown = (s.processor as ExportSpanProcessor).shutdown(1_000).then(() => (done = true));
    await jest.advanceTimersByTimeAsync(999);
    expect(done).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    await shutdown;

    // Spans ending after shutdown are counted too.
    s.end(2);
    expect((s.processor as ExportSpanProcessor).stats()).toEqual({
      exported: 0,
      dropped: { queue_full: 0, export_failed: 0, shutdown: 32 },
      exportFailures: 0,
      queueLength: 0,
    });
    expect(s.warnings).toHaveLength(1);
    expect(s.warnings[0].msg).toBe('nestjs-observability: 30 spans not exported at shutdown (http://collector:4318/v1/traces)');
    expect(s.warnings[0].obj).toMatchObject({ spans_not_exported: 30, spans_exported: 0 });
  });

  it('shutdown exports what is queued and warns about nothing when all went out', async () => {
    const s = setup(ours());
    s.end(15);

    const shutdown = s.processor.shutdown();
    await jest.advanceTimersByTimeAsync(2 * LATENCY);
    await shutdown;

    expect(s.exporter.accepted).toHaveLength(15);
    expect(s.warnings).toEqual([]);
  });

  it('gives up waiting for an export after exportTimeoutMillis + 1 s, and counts its spans when the exporter does call back', async () => {
    const s = setup(ours({ exportTimeoutMillis: 2_000 }));
    s.exporter.hang = true;
    s.end(10);

    await jest.advanceTimersByTimeAsync(2_999);
    expect((s.processor as ExportSpanProcessor).stats().exportFailures).toBe(0);
    await jest.advanceTimersByTimeAsync(1);
    // A failure (one warning, the backoff), but the spans' fate is not known yet: a retry may still deliver them.
    expect((s.processor as ExportSpanProcessor).stats()).toMatchObject({ exportFailures: 1, exported: 0, dropped: { export_failed: 0 } });
    expect(s.warnings[0].obj).toMatchObject({ error: 'export did not finish within 2000 ms' });
    s.exporter.held[0]({ code: ExportResultCode.SUCCESS });
    expect((s.processor as ExportSpanProcessor).stats()).toMatchObject({ exported: 10, dropped: { export_failed: 0, shutdown: 0 } });
  });

  it('counts the spans of an export given up on as lost at shutdown when the exporter never calls back', async () => {
    const s = setup(ours({ exportTimeoutMillis: 2_000 }));
    s.exporter.hang = true;
    s.end(10);
    await jest.advanceTimersByTimeAsync(3_000);
    const shutdown = (s.processor as ExportSpanProcessor).shutdown(500);
    await jest.advanceTimersByTimeAsync(500);
    await shutdown;
    expect((s.processor as ExportSpanProcessor).stats()).toMatchObject({ exported: 0, dropped: { export_failed: 0, shutdown: 10 } });
    // A callback after shutdown counts nothing twice.
    s.exporter.held[0]?.({ code: ExportResultCode.SUCCESS });
    expect((s.processor as ExportSpanProcessor).stats()).toMatchObject({ exported: 0, dropped: { shutdown: 10 } });
  });
});
