import { type SpanContext, SpanKind } from '@opentelemetry/api';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import pino from 'pino';
import { Registry } from 'prom-client';

import { UnitOfWork, type WorkDriver, type WorkKind } from '../context/unit-of-work';
import { LogCapture } from '../testing/log-capture';
import type { WorkFailure } from '../work/work-pipeline';
import { CardinalityGuard } from './cardinality-guard';
import { HttpServerMetrics } from './http-server.metrics';
import { MetricsService } from './metrics.service';
import { ErrorCountHook, HttpRedHook } from './metrics-work.hook';

const openMetricsRegistry = () => new (Registry as unknown as new (contentType: string) => Registry)(Registry.OPENMETRICS_CONTENT_TYPE);
const tracer = new BasicTracerProvider().getTracer('spec');

function driver(kind: WorkKind): WorkDriver {
  return {
    kind,
    spanKind: kind === 'http' ? SpanKind.SERVER : SpanKind.CONSUMER,
    completedMessage: `${kind} completed`,
    carrier: () => undefined,
    carrierGetter: undefined,
    startName: () => kind,
    startAttributes: () => ({}),
    endSpan: () => undefined,
  };
}

function finished(
  kind: WorkKind,
  fields: { method?: string; route?: string; status?: number; durationMs?: number; spanContext?: SpanContext; sampled?: boolean },
): UnitOfWork {
  const unit = new UnitOfWork(driver(kind), 'req-1', fields.method ?? 'GET', '/users/1', performance.now(), undefined);
  unit.route = fields.route;
  unit.status = fields.status ?? 200;
  unit.durationMs = fields.durationMs ?? 40;
  unit.spanContext = fields.spanContext;
  unit.sampled = fields.sampled ?? false;
  return unit;
}

function redSetup() {
  const registry = openMetricsRegistry();
  const metrics = new HttpServerMetrics(
    registry,
    new CardinalityGuard(
      100,
      () => undefined,
      () => undefined,
    ),
    true,
  );
  return { registry, hook: new HttpRedHook(metrics) };
}

/** The sample lines of the duration histogram and the active gauge. */
async function samples(registry: Registry): Promise<string[]> {
  return (await registry.metrics()).split('\n').filter((l) => l.startsWith('http_server_'));
}

const active = async (registry: Registry) => (await samples(registry)).find((l) => l.startsWith('http_server_active_requests'));

/** A real ended span's context, sampled (the provider's default sampler samples). */
function endedSpanContext(): SpanContext {
  const span = tracer.startSpan('GET');
  span.end();
  return span.spanContext();
}

describe('HttpRedHook', () => {
  it('runs after tracing and before logging (order 20)', () => {
    expect(redSetup().hook.order).toBe(20);
  });

  it('counts HTTP units in flight from start to finish', async () => {
    const { registry, hook } = redSetup();
    const a = finished('http', {});
    const b = finished('http', {});
    hook.start(a);
    hook.start(b);
    expect(await active(registry)).toBe('http_server_active_requests 2');
    hook.finish(a);
    expect(await active(registry)).toBe('http_server_active_requests 1');
    hook.finish(b);
    expect(await active(registry)).toBe('http_server_active_requests 0');
  });

  it('records the duration in seconds under method, route and status', async () => {
    const { registry, hook } = redSetup();
    const unit = finished('http', { method: 'POST', route: '/users', status: 201, durationMs: 40 });
    hook.start(unit);
    hook.finish(unit);
    const lines = await samples(registry);
    expect(lines).toContain(
      'http_server_request_duration_seconds_sum{http_request_method="POST",http_route="/users",http_response_status_code="201"} 0.04',
    );
    expect(lines).toContain(
      'http_server_request_duration_seconds_bucket{le="0.05",http_request_method="POST",http_route="/users",http_response_status_code="201"} 1',
    );
    expect(lines).toContain(
      'http_server_request_duration_seconds_bucket{le="0.025",http_request_method="POST",http_route="/users",http_response_status_code="201"} 0',
    );
  });

  it('labels a unit without a route "unmatched" and an unknown method "_OTHER"', async () => {
    const { registry, hook } = redSetup();
    const unit = finished('http', { method: 'PURGE', route: undefined, status: 404 });
    hook.start(unit);
    hook.finish(unit);
    const counts = (await samples(registry)).filter((l) => l.startsWith('http_server_request_duration_seconds_count'));
    expect(counts).toEqual([
      'http_server_request_duration_seconds_count{http_request_method="_OTHER",http_route="unmatched",http_response_status_code="404"} 1',
    ]);
  });

  it("takes the sampled span's ids as the exemplar", async () => {
    const { registry, hook } = redSetup();
    const spanContext = endedSpanContext();
    const unit = finished('http', { route: '/users/:id', durationMs: 40, spanContext, sampled: true });
    hook.start(unit);
    hook.finish(unit);
    const withExemplar = (await samples(registry)).filter((l) => l.includes(' # '));
    expect(withExemplar).toEqual([
      expect.stringMatching(
        new RegExp(
          `\\{le="0\\.05",[^}]*http_route="/users/:id"[^}]*\\} 1 # \\{trace_id="${spanContext.traceId}",span_id="${spanContext.spanId}"\\} 0\\.04 \\d+(\\.\\d+)?$`,
        ),
      ),
    ]);
  });

  it('takes no exemplar from an unsampled span, nor without one', async () => {
    const { registry, hook } = redSetup();
    const unsampled = finished('http', { route: '/a', spanContext: endedSpanContext(), sampled: false });
    const untraced = finished('http', { route: '/b' });
    for (const unit of [unsampled, untraced]) {
      hook.start(unit);
      hook.finish(unit);
    }
    const lines = await samples(registry);
    expect(lines.filter((l) => l.includes(' # '))).toEqual([]);
    expect(lines.filter((l) => l.startsWith('http_server_request_duration_seconds_count')).length).toBe(2);
  });

  it('ignores units that are not HTTP requests', async () => {
    const { registry, hook } = redSetup();
    for (const kind of ['message', 'job', 'rpc', 'manual'] as const) {
      const unit = finished(kind, { route: 'orders.created' });
      hook.start(unit);
      expect(await active(registry)).toBe('http_server_active_requests 0');
      hook.finish(unit);
    }
    expect(await samples(registry)).toEqual(['http_server_active_requests 0']);
  });
});

describe('ErrorCountHook', () => {
  function errorSetup() {
    const registry = openMetricsRegistry();
    const logs = new LogCapture();
    const service = new MetricsService(
      registry,
      new CardinalityGuard(
        100,
        () => undefined,
        () => undefined,
      ),
      { logger: pino(logs), flush: () => undefined, close: async () => undefined, droppedLines: 0 },
    );
    const counter = service.counter({ name: 'app_errors_total', help: 'Server errors by error class.', labelNames: ['error_type'] });
    return { registry, hook: new ErrorCountHook(counter) };
  }

  const failure = (overrides: Partial<WorkFailure>): WorkFailure => ({
    error: new TypeError('x'),
    severity: 'server',
    errorType: 'TypeError',
    message: 'x',
    unit: undefined,
    status: 500,
    route: '/r',
    origin: undefined,
    reported: true,
    ...overrides,
  });

  const counts = async (registry: Registry) => (await registry.metrics()).split('\n').filter((l) => l.startsWith('app_errors_total'));

  it('counts reported failures by error type', async () => {
    const { registry, hook } = errorSetup();
    hook.fail(failure({}));
    hook.fail(failure({}));
    hook.fail(failure({ errorType: 'QueryFailedError' }));
    hook.fail(failure({ severity: 'client', status: 409, errorType: 'ConflictException' }));
    expect(await counts(registry)).toEqual([
      'app_errors_total{error_type="TypeError"} 2',
      'app_errors_total{error_type="QueryFailedError"} 1',
      'app_errors_total{error_type="ConflictException"} 1',
    ]);
  });

  it('counts neither unreported failures nor errors from outside any handler', async () => {
    const { registry, hook } = errorSetup();
    hook.fail(failure({ reported: false, severity: 'client', status: 404, errorType: 'NotFoundException' }));
    hook.fail(failure({ origin: 'unhandledRejection' }));
    hook.fail(failure({ origin: 'uncaughtException', severity: 'fatal' }));
    expect(await counts(registry)).toEqual([]);
  });
});
