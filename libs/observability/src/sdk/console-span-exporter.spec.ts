import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';

import { JsonConsoleSpanExporter } from './console-span-exporter';
import { ExportSpanProcessor } from './export-processor';
import { getTelemetry, startTelemetry } from './telemetry';

/** A stream stand-in that keeps every chunk written to it. */
class MemorySink {
  readonly chunks: string[] = [];
  write(chunk: string): boolean {
    this.chunks.push(chunk);
    return true;
  }
}

function parseLines(text: string): Array<Record<string, unknown>> {
  const lines = text.split('\n');
  expect(lines.pop()).toBe('');
  return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('JsonConsoleSpanExporter', () => {
  it('writes one JSON line per span, all of a batch in one write, on the stream it is given', async () => {
    const sink = new MemorySink();
    const processor = new ExportSpanProcessor(new JsonConsoleSpanExporter(sink), {
      maxQueueSize: 100,
      maxExportBatchSize: 10,
      scheduledDelayMillis: 60_000,
      exportTimeoutMillis: 1_000,
      endpoint: 'console (stderr)',
    });
    const tracer = new BasicTracerProvider({ spanProcessors: [processor] }).getTracer('console-spec', '1.0.0');

    const parent = tracer.startSpan('GET /orders/:id', { kind: SpanKind.SERVER, attributes: { 'http.route': '/orders/:id' } });
    const child = tracer.startSpan('SELECT orders', { kind: SpanKind.CLIENT }, trace.setSpan(context.active(), parent));
    child.addEvent('rows read', { 'db.rows': 3 });
    child.setStatus({ code: SpanStatusCode.ERROR, message: 'deadlock' });
    child.end();
    parent.end();
    await processor.forceFlush();

    expect(sink.chunks).toHaveLength(1);
    const [childLine, parentLine] = parseLines(sink.chunks[0]);
    const ISO_NANOS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/;
    expect(childLine).toEqual({
      name: 'SELECT orders',
      trace_id: parent.spanContext().traceId,
      span_id: child.spanContext().spanId,
      parent_span_id: parent.spanContext().spanId,
      kind: 'CLIENT',
      start_time: expect.stringMatching(ISO_NANOS),
      end_time: expect.stringMatching(ISO_NANOS),
      duration_ms: expect.any(Number),
      status: { code: 'ERROR', message: 'deadlock' },
      attributes: {},
      events: [{ name: 'rows read', time: expect.stringMatching(ISO_NANOS), attributes: { 'db.rows': 3 } }],
      scope: 'console-spec',
    });
    expect(parentLine).toEqual({
      name: 'GET /orders/:id',
      trace_id: parent.spanContext().traceId,
      span_id: parent.spanContext().spanId,
      kind: 'SERVER',
      start_time: expect.stringMatching(ISO_NANOS),
      end_time: expect.stringMatching(ISO_NANOS),
      duration_ms: expect.any(Number),
      status: { code: 'UNSET' },
      attributes: { 'http.route': '/orders/:id' },
      events: [],
      scope: 'console-spec',
    });
    expect(parentLine.duration_ms as number).toBeGreaterThanOrEqual(0);
    await processor.shutdown();
  });

  it('is what OTEL_TRACES_EXPORTER=console uses: spans on stderr, nothing on stdout', async () => {
    const stdout = jest.spyOn(process.stdout, 'write');
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    let written: { stdout: string; stderr: string };
    try {
      const telemetry = startTelemetry(
        { OTEL_TRACES_EXPORTER: 'console', OTEL_SERVICE_NAME: 'console-spec', SERVICE_VERSION: '1.0.0', DEPLOYMENT_ENVIRONMENT: 'test' },
        'preload',
      );
      try {
        trace.getTracer('console-spec').startSpan('printed span').end();
        await expect(telemetry.flush(2_000)).resolves.toBe(true);
      } finally {
        await telemetry.shutdown(2_000);
      }
    } finally {
      // Read before restoring: mockRestore() forgets the calls.
      const text = (spy: jest.SpyInstance) => spy.mock.calls.map(([chunk]) => String(chunk)).join('');
      written = { stdout: text(stdout), stderr: text(stderr) };
      stdout.mockRestore();
      stderr.mockRestore();
    }
    const spanLines = written.stderr
      .split('\n')
      .filter((line) => line.includes('"trace_id"'))
      .map((line) => JSON.parse(line) as { name: string });
    expect(spanLines.map((line) => line.name)).toEqual(['printed span']);
    expect(written.stdout).not.toContain('printed span');
    expect(getTelemetry()).toBeUndefined();
  });
});
