/*
 * The unit-of-work pipeline with every pillar's real hook registered, as the module wires them:
 * a spec of the facade level, the only one that may import all pillars at once.
 */
import { type Attributes, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Registry } from 'prom-client';

import { resolveOptions } from './config/resolve-options';
import { RequestContextService } from './context/request-context.service';
import { UnitOfWork, type WorkDriver } from './context/unit-of-work';
import { ErrorReportHook } from './errors/error-report.hook';
import { ErrorLineHook, RequestLineHook } from './logging/logging-work.hook';
import { createPino } from './logging/pino.factory';
import { CardinalityGuard } from './metrics/cardinality-guard';
import { renderExposition } from './metrics/exposition';
import { HttpServerMetrics } from './metrics/http-server.metrics';
import { MetricsService } from './metrics/metrics.service';
import { ErrorCountHook, HttpRedHook } from './metrics/metrics-work.hook';
import type { ErrorReportContext, ErrorReporter } from './sdk/sentry';
import { Scrubber } from './shared/scrubber';
import { type InMemoryTracing, useInMemoryTracing } from './testing/in-memory-tracing';
import { LogCapture, type LogRecord } from './testing/log-capture';
import { TracingWorkHook } from './tracing/tracing-work.hook';
import type { WorkFailure } from './work/work-pipeline';
import { WorkPipeline } from './work/work-pipeline';

let tracing: InMemoryTracing;
beforeAll(() => {
  tracing = useInMemoryTracing();
});
afterEach(() => tracing.reset());
afterAll(() => tracing.shutdown());

const REMOTE_TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const REMOTE_SPAN_ID = 'b7ad6b7169203331';

/** A minimal HTTP-like driver: headers as carrier, the route in the final name. */
const driver: WorkDriver = {
  kind: 'http',
  spanKind: SpanKind.SERVER,
  completedMessage: 'request completed',
  carrier: (unit) => (unit.source as { headers: Record<string, string> }).headers,
  carrierGetter: undefined,
  startName: (unit) => unit.method ?? 'HTTP',
  startAttributes: (unit): Attributes => ({ 'url.path': unit.path }),
  endSpan: (unit, span) => {
    if (unit.route !== undefined) span.updateName(`${unit.method} ${unit.route}`);
    span.setAttribute('http.response.status_code', unit.status);
  },
};

/** Every pillar's hook over real collaborators, registered out of order. */
function wired() {
  const logs = new LogCapture();
  const resolved = resolveOptions({ serviceName: 'orders', logging: { destination: logs } }, {});
  const scrubber = new Scrubber(resolved.redaction);
  const requestContext = new RequestContextService();
  requestContext.useOpenTelemetryContext(true);
  const log = createPino(resolved, requestContext, scrubber);
  const registry = new (Registry as unknown as new (contentType: string) => Registry)(Registry.OPENMETRICS_CONTENT_TYPE);
  const guard = new CardinalityGuard(
    100,
    () => undefined,
    () => undefined,
  );
  const metrics = new MetricsService(registry, guard, log);
  const reports: { error: unknown; context: ErrorReportContext }[] = [];
  const reporter: ErrorReporter = {
    capture: (error, context) => {
      reports.push({ error, context });
      return undefined;
    },
    close: async () => true,
  };

  const pipeline = new WorkPipeline();
  pipeline.register(new ErrorReportHook(reporter, 'orders'));
  pipeline.register(new RequestLineHook(log));
  pipeline.register(new ErrorLineHook(log));
  pipeline.register(new ErrorCountHook(metrics.counter({ name: 'app_errors_total', help: 'Server errors.', labelNames: ['error_type'] })));
  pipeline.register(new HttpRedHook(new HttpServerMetrics(registry, guard, resolved.metrics.exemplars)));
  pipeline.register(new TracingWorkHook(scrubber));
  return { pipeline, logs, registry, reports, requestContext };
}

const describeSpans = (spans: ReadableSpan[]) =>
  spans.length === 0
    ? '(no spans)'
    : spans.map((s) => `${s.name} trace=${s.spanContext().traceId} span=${s.spanContext().spanId}`).join('\n');

function onlySpan(): ReadableSpan {
  const spans = tracing.spans();
  if (spans.length !== 1) throw new Error(`expected exactly one finished span, saw:\n${describeSpans(spans)}`);
  return spans[0]!;
}

function onlyRecord(logs: LogCapture, msg: string): LogRecord {
  const found = logs.filter((r) => r.msg === msg);
  if (found.length !== 1) throw new Error(`expected one "${msg}" line, saw:\n${logs.text() || '(nothing)'}`);
  return found[0]!;
}

/** The exemplars of the duration histogram's buckets in the OpenMetrics exposition, as `{trace_id, span_id}`. */
async function exemplars(registry: Registry): Promise<{ trace_id: string; span_id: string }[]> {
  const text = await renderExposition([registry], true);
  return text
    .split('\n')
    .filter((l) => l.startsWith('http_server_request_duration_seconds_bucket') && l.includes(' # '))
    .map((l) => {
      const match = /# \{trace_id="([0-9a-f]*)",span_id="([0-9a-f]*)"\}/.exec(l);
      if (!match) throw new Error(`unexpected exemplar in: ${l}`);
      return { trace_id: match[1]!, span_id: match[2]! };
    });
}

function request(traceparent?: string): UnitOfWork {
  return new UnitOfWork(driver, 'req-1', 'GET', '/users/7', performance.now(), { headers: traceparent ? { traceparent } : {} });
}

describe('the unit-of-work pipeline with every pillar', () => {
  it('ends the span before the metric takes its exemplar and the request line its ids', async () => {
    const { pipeline, logs, registry } = wired();
    const unit = request(`00-${REMOTE_TRACE_ID}-${REMOTE_SPAN_ID}-01`);
    pipeline.start(unit);
    unit.route = '/users/:id';
    unit.status = 200;
    unit.durationMs = 42;
    pipeline.finish(unit);

    const span = onlySpan();
    const ids = { trace_id: span.spanContext().traceId, span_id: span.spanContext().spanId };
    expect({ name: span.name, trace: ids.trace_id, parent: span.parentSpanContext?.spanId }).toEqual({
      name: 'GET /users/:id',
      trace: REMOTE_TRACE_ID,
      parent: REMOTE_SPAN_ID,
    });
    expect(await exemplars(registry)).toEqual([ids]);
    const line = onlyRecord(logs, 'request completed');
    expect({ trace_id: line.trace_id, span_id: line.span_id, request_id: line.request_id, route: line.route, status: line.status }).toEqual(
      {
        ...ids,
        request_id: 'req-1',
        route: '/users/:id',
        status: 200,
      },
    );
  });

  it('takes no exemplar for an unsampled span, while the request line still carries its ids', async () => {
    const { pipeline, logs, registry } = wired();
    const unit = request(`00-${REMOTE_TRACE_ID}-${REMOTE_SPAN_ID}-00`);
    pipeline.start(unit);
    unit.route = '/users/:id';
    unit.status = 200;
    pipeline.finish(unit);
    expect(tracing.spans()).toEqual([]);
    expect(await exemplars(registry)).toEqual([]);
    const line = onlyRecord(logs, 'request completed');
    expect([line.trace_id, line.span_id]).toEqual([unit.spanContext?.traceId, unit.spanContext?.spanId]);
    expect(line.trace_id).toBe(REMOTE_TRACE_ID);
  });

  it("gives a failure in the unit's context to every pillar: span, error line, count and report share the span's ids", async () => {
    const { pipeline, logs, registry, reports, requestContext } = wired();
    // A broken hook between logging and reporting must not keep the report from being sent.
    pipeline.register({
      order: 35,
      fail: () => {
        throw new Error('broken hook');
      },
    });
    const unit = request();
    pipeline.start(unit);
    const error = new Error('lookup for jane@example.com failed');
    const failure: WorkFailure = {
      error,
      severity: 'server',
      errorType: 'Error',
      message: error.message,
      unit,
      status: 500,
      route: '/users/:id',
      origin: undefined,
      reported: true,
    };
    requestContext.enter(unit, () => pipeline.fail(failure));
    unit.route = '/users/:id';
    unit.status = 500;
    pipeline.finish(unit);

    const span = onlySpan();
    const { traceId, spanId } = span.spanContext();
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
    expect(span.events.map((e) => e.attributes?.['exception.message'])).toEqual(['lookup for [REDACTED:email] failed']);
    const line = onlyRecord(logs, 'lookup for [REDACTED:email] failed');
    expect({ level: line.level, trace_id: line.trace_id, span_id: line.span_id, request_id: line.request_id }).toEqual({
      level: 'error',
      trace_id: traceId,
      span_id: spanId,
      request_id: 'req-1',
    });
    expect(
      reports.map((r) => ({ error: r.error, traceId: r.context.traceId, spanId: r.context.spanId, requestId: r.context.tags.request_id })),
    ).toEqual([{ error, traceId, spanId, requestId: 'req-1' }]);
    expect(await renderExposition([registry], false)).toContain('\napp_errors_total{error_type="Error"} 1\n');
    expect(logs.text()).not.toContain('jane@example.com');
  });
});
