import { context, INVALID_SPAN_CONTEXT, SpanKind, trace } from '@opentelemetry/api';

import { UnitOfWork, type WorkDriver } from '../context/unit-of-work';
import type { ErrorReportContext, ErrorReporter } from '../sdk/sentry';
import { type InMemoryTracing, useInMemoryTracing } from '../testing/in-memory-tracing';
import type { WorkFailure } from '../work/work-pipeline';
import { ErrorReportHook } from './error-report.hook';

let tracing: InMemoryTracing;
beforeAll(() => {
  tracing = useInMemoryTracing();
});
afterAll(() => tracing.shutdown());

/** An error reporter that keeps what it was handed. */
function reporter() {
  const captured: { error: unknown; context: ErrorReportContext }[] = [];
  const r: ErrorReporter = {
    capture: (error, ctx) => {
      captured.push({ error, context: ctx });
      return `event-${captured.length}`;
    },
    close: async () => true,
  };
  return { reporter: r, captured };
}

const driver: WorkDriver = {
  kind: 'http',
  spanKind: SpanKind.SERVER,
  completedMessage: 'request completed',
  carrier: () => undefined,
  carrierGetter: undefined,
  startName: () => 'GET',
  startAttributes: () => ({}),
  endSpan: () => undefined,
};

const unit = new UnitOfWork(driver, 'req-7', 'GET', '/users/7', performance.now(), undefined);
const error = new Error('db down');

function failure(overrides: Partial<WorkFailure>): WorkFailure {
  return {
    error,
    severity: 'server',
    errorType: 'Error',
    message: 'db down',
    unit,
    status: 500,
    route: '/users/:id',
    origin: undefined,
    reported: true,
    ...overrides,
  };
}

/** Runs `fn` inside an active span; returns its ids. */
function inSpan(fn: () => void) {
  return trace.getTracer('spec').startActiveSpan('GET /users/:id', (span) => {
    fn();
    span.end();
    return span.spanContext();
  });
}

describe('ErrorReportHook', () => {
  it('runs last (order 40)', () => {
    expect(new ErrorReportHook(reporter().reporter, 'orders').order).toBe(40);
  });

  it('reports a failure with the active trace and the unit tags', () => {
    const { reporter: r, captured } = reporter();
    const ids = inSpan(() => new ErrorReportHook(r, 'orders').fail(failure({})));
    expect(captured).toEqual([
      {
        error,
        context: {
          level: 'error',
          traceId: ids.traceId,
          spanId: ids.spanId,
          tags: { route: '/users/:id', request_id: 'req-7', 'http.response.status_code': 500, service: 'orders' },
        },
      },
    ]);
    expect(captured[0]!.error).toBe(error);
  });

  it('reports a reported client error at level error', () => {
    const { reporter: r, captured } = reporter();
    new ErrorReportHook(r, 'orders').fail(failure({ severity: 'client', status: 409 }));
    expect(captured.map((c) => [c.context.level, c.context.tags['http.response.status_code']])).toEqual([['error', 409]]);
  });

  it('sends no ids outside a span, nor for an invalid span', () => {
    const { reporter: r, captured } = reporter();
    const hook = new ErrorReportHook(r, 'orders');
    hook.fail(failure({}));
    context.with(trace.setSpan(context.active(), trace.wrapSpanContext(INVALID_SPAN_CONTEXT)), () => hook.fail(failure({})));
    expect(captured.map((c) => [c.context.traceId, c.context.spanId])).toEqual([
      [undefined, undefined],
      [undefined, undefined],
    ]);
  });

  it('tags an error from outside any handler with its origin only, fatal ones at level fatal', () => {
    const { reporter: r, captured } = reporter();
    const hook = new ErrorReportHook(r, 'orders');
    hook.fail(failure({ origin: 'unhandledRejection', unit: undefined, status: undefined, route: undefined }));
    hook.fail(failure({ origin: 'uncaughtException', severity: 'fatal', unit: undefined, status: undefined, route: undefined }));
    expect(captured.map((c) => ({ level: c.context.level, tags: c.context.tags }))).toEqual([
      { level: 'error', tags: { origin: 'unhandledRejection' } },
      { level: 'fatal', tags: { origin: 'uncaughtException' } },
    ]);
  });

  it('leaves request tags empty for a failure outside a unit', () => {
    const { reporter: r, captured } = reporter();
    new ErrorReportHook(r, 'orders').fail(failure({ unit: undefined, route: undefined, status: undefined }));
    expect(captured[0]?.context.tags).toEqual({
      route: undefined,
      request_id: undefined,
      'http.response.status_code': undefined,
      service: 'orders',
    });
  });

  it('does not report an unreported failure', () => {
    const { reporter: r, captured } = reporter();
    inSpan(() => new ErrorReportHook(r, 'orders').fail(failure({ reported: false, severity: 'client', status: 404 })));
    expect(captured).toEqual([]);
  });
});
