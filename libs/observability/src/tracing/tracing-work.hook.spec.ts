import {
  type Attributes,
  context,
  propagation,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  trace,
  TraceFlags,
} from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';

import { UnitOfWork, type WorkDriver } from '../context/unit-of-work';
import { Scrubber } from '../shared/scrubber';
import { type InMemoryTracing, useInMemoryTracing } from '../testing/in-memory-tracing';
import type { WorkFailure } from '../work/work-pipeline';
import { TRACER_NAME } from './tracing.constants';
import { TracingWorkHook } from './tracing-work.hook';

let tracing: InMemoryTracing;
beforeAll(() => {
  tracing = useInMemoryTracing();
});
afterEach(() => tracing.reset());
afterAll(() => tracing.shutdown());

const REMOTE_TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const REMOTE_SPAN_ID = 'b7ad6b7169203331';
const sampledParent = `00-${REMOTE_TRACE_ID}-${REMOTE_SPAN_ID}-01`;
const unsampledParent = `00-${REMOTE_TRACE_ID}-${REMOTE_SPAN_ID}-00`;

const describeSpans = (spans: ReadableSpan[]) =>
  spans.length === 0
    ? '(no spans)'
    : spans
        .map((s) => `${s.name} trace=${s.spanContext().traceId} span=${s.spanContext().spanId} parent=${s.parentSpanContext?.spanId}`)
        .join('\n');

/** The only finished span; fails listing the spans seen otherwise. */
function onlySpan(): ReadableSpan {
  const spans = tracing.spans();
  if (spans.length !== 1) throw new Error(`expected exactly one finished span, saw:\n${describeSpans(spans)}`);
  return spans[0]!;
}

interface Source {
  headers: Record<string, string>;
}

/** A minimal driver: a plain header carrier, and what it was asked recorded in `calls`. */
function makeDriver(overrides: Partial<WorkDriver> = {}) {
  const calls: string[] = [];
  const driver: WorkDriver = {
    kind: 'http',
    spanKind: SpanKind.SERVER,
    completedMessage: 'request completed',
    carrier: (unit) => (unit.source as Source | undefined)?.headers,
    carrierGetter: undefined,
    startName: (unit) => {
      calls.push('startName');
      return unit.method ?? 'HTTP';
    },
    startAttributes: (unit): Attributes => {
      calls.push('startAttributes');
      return { 'url.path': unit.path, 'http.request.method': unit.method };
    },
    endSpan: (unit: UnitOfWork, span: Span) => {
      calls.push('endSpan');
      if (unit.route !== undefined) {
        span.updateName(`${unit.method} ${unit.route}`);
        span.setAttribute('http.route', unit.route);
      }
      span.setAttribute('http.response.status_code', unit.status);
    },
    ...overrides,
  };
  return { driver, calls };
}

const makeUnit = (driver: WorkDriver, headers?: Record<string, string>) =>
  new UnitOfWork(driver, 'req-1', 'GET', '/users/1', performance.now(), headers === undefined ? undefined : { headers });

const hook = () => new TracingWorkHook(Scrubber.withDefaults());

function failure(unit: UnitOfWork | undefined, overrides: Partial<WorkFailure> = {}): WorkFailure {
  return {
    error: new Error('lookup for jane@example.com failed'),
    severity: 'server',
    errorType: 'Error',
    message: 'lookup failed',
    unit,
    status: 500,
    route: '/users/:id',
    origin: undefined,
    reported: true,
    ...overrides,
  };
}

describe('TracingWorkHook', () => {
  it('runs first among the pillars (order 10)', () => {
    expect(hook().order).toBe(10);
  });

  describe('start', () => {
    it("makes a span of the driver's kind, name and attributes, continuing the incoming trace context", () => {
      const { driver, calls } = makeDriver();
      const unit = makeUnit(driver, { traceparent: sampledParent });
      const h = hook();
      h.start(unit);
      expect(calls).toEqual(['startName', 'startAttributes']);
      h.finish(unit);
      const span = onlySpan();
      expect({
        name: span.name,
        kind: span.kind,
        traceId: span.spanContext().traceId,
        parent: span.parentSpanContext?.spanId,
        remoteParent: span.parentSpanContext?.isRemote,
        scope: span.instrumentationScope.name,
      }).toEqual({
        name: 'GET',
        kind: SpanKind.SERVER,
        traceId: REMOTE_TRACE_ID,
        parent: REMOTE_SPAN_ID,
        remoteParent: true,
        scope: TRACER_NAME,
      });
      expect(span.attributes).toMatchObject({ 'url.path': '/users/1', 'http.request.method': 'GET' });
    });

    it('keeps the span and the context carrying it on the unit', () => {
      const { driver } = makeDriver();
      const unit = makeUnit(driver, {});
      hook().start(unit);
      expect(unit.span).toBeDefined();
      expect(trace.getSpan(unit.otelContext!)).toBe(unit.span);
      expect(unit.span!.isRecording()).toBe(true);
      unit.span!.end();
    });

    it('starts a new trace, ignoring whatever span is active, when the carrier has no context or there is no carrier', () => {
      const { driver } = makeDriver();
      const h = hook();
      const outer = trace.getTracer('spec').startSpan('outer');
      const withEmpty = makeUnit(driver, {});
      const withNone = makeUnit(driver);
      context.with(trace.setSpan(context.active(), outer), () => {
        h.start(withEmpty);
        h.start(withNone);
      });
      h.finish(withEmpty);
      h.finish(withNone);
      outer.end();
      const spans = tracing.spans().filter((s) => s.name !== 'outer');
      expect(
        spans.map((s) => ({ parent: s.parentSpanContext?.spanId, sameTrace: s.spanContext().traceId === outer.spanContext().traceId })),
      ).toEqual([
        { parent: undefined, sameTrace: false },
        { parent: undefined, sameTrace: false },
      ]);
    });

    it("reads the carrier with the driver's own getter", () => {
      const getter: TextMapGetter<Map<string, string>> = {
        keys: (carrier) => [...carrier.keys()],
        get: (carrier, key) => carrier.get(key),
      };
      const { driver } = makeDriver({
        carrier: (unit) => unit.source,
        carrierGetter: getter as TextMapGetter,
        spanKind: SpanKind.CONSUMER,
        kind: 'message',
      });
      const unit = new UnitOfWork(driver, 'm-1', undefined, 'orders', performance.now(), new Map([['traceparent', sampledParent]]));
      const h = hook();
      h.start(unit);
      h.finish(unit);
      const span = onlySpan();
      expect({ kind: span.kind, traceId: span.spanContext().traceId, parent: span.parentSpanContext?.spanId }).toEqual({
        kind: SpanKind.CONSUMER,
        traceId: REMOTE_TRACE_ID,
        parent: REMOTE_SPAN_ID,
      });
    });
  });

  describe('finish', () => {
    it('lets the driver describe the end, ends the span and keeps its sampled ids on the unit', () => {
      const { driver, calls } = makeDriver();
      const unit = makeUnit(driver, { traceparent: sampledParent });
      const h = hook();
      h.start(unit);
      unit.route = '/users/:id';
      unit.status = 200;
      expect(tracing.spans()).toEqual([]);
      h.finish(unit);
      const span = onlySpan();
      expect(calls).toEqual(['startName', 'startAttributes', 'endSpan']);
      expect(span.name).toBe('GET /users/:id');
      expect(span.attributes).toMatchObject({ 'http.route': '/users/:id', 'http.response.status_code': 200 });
      expect(unit.spanContext).toEqual(span.spanContext());
      expect(unit.sampled).toBe(true);
    });

    it('does not ask the driver about a span that is not recording, yet keeps its ids as unsampled', () => {
      const { driver, calls } = makeDriver();
      const unit = makeUnit(driver, { traceparent: unsampledParent });
      const h = hook();
      h.start(unit);
      expect(unit.span!.isRecording()).toBe(false);
      h.finish(unit);
      expect(calls).toEqual(['startName', 'startAttributes']);
      expect(tracing.spans()).toEqual([]);
      expect(unit.spanContext?.traceId).toBe(REMOTE_TRACE_ID);
      expect(unit.spanContext?.traceFlags).toBe(TraceFlags.NONE);
      expect(unit.sampled).toBe(false);
    });

    it('does nothing for a unit it did not start', () => {
      const { driver, calls } = makeDriver();
      const unit = makeUnit(driver, {});
      hook().finish(unit);
      expect({ calls, spans: tracing.spans().length, spanContext: unit.spanContext, sampled: unit.sampled }).toEqual({
        calls: [],
        spans: 0,
        spanContext: undefined,
        sampled: false,
      });
    });
  });

  describe('fail', () => {
    /** Starts a unit, fails it inside its context, finishes it; returns its exported span. */
    function failInUnit(overrides: Partial<WorkFailure>): ReadableSpan {
      const { driver } = makeDriver();
      const unit = makeUnit(driver, {});
      const h = hook();
      h.start(unit);
      context.with(unit.otelContext!, () => h.fail(failure(unit, overrides)));
      unit.status = 500;
      h.finish(unit);
      return onlySpan();
    }

    it('records the scrubbed exception and sets ERROR for a reported server failure', () => {
      const span = failInUnit({});
      expect(span.status.code).toBe(SpanStatusCode.ERROR);
      expect(
        span.events.map((e) => ({ name: e.name, type: e.attributes?.['exception.type'], message: e.attributes?.['exception.message'] })),
      ).toEqual([{ name: 'exception', type: 'Error', message: 'lookup for [REDACTED:email] failed' }]);
      expect(String(span.events[0]?.attributes?.['exception.stacktrace'])).not.toContain('jane@example.com');
    });

    it('records a reported client failure without marking the span as an error', () => {
      const span = failInUnit({ severity: 'client', status: 409, error: new RangeError('conflict') });
      expect(span.status.code).toBe(SpanStatusCode.UNSET);
      expect(span.events.map((e) => [e.name, e.attributes?.['exception.type'], e.attributes?.['exception.message']])).toEqual([
        ['exception', 'RangeError', 'conflict'],
      ]);
    });

    it('records a thrown non-Error as an Error with its text', () => {
      const span = failInUnit({ error: 'plain string' });
      expect(span.events.map((e) => e.attributes?.['exception.message'])).toEqual(['plain string']);
      expect(span.status.code).toBe(SpanStatusCode.ERROR);
    });

    it('leaves the span alone for an unreported failure and for one from outside any handler', () => {
      for (const overrides of [{ reported: false, severity: 'client' as const }, { origin: 'unhandledRejection' as const }]) {
        tracing.reset();
        const span = failInUnit(overrides);
        expect({ overrides, events: span.events.length, status: span.status.code }).toEqual({
          overrides,
          events: 0,
          status: SpanStatusCode.UNSET,
        });
      }
    });

    it('does nothing without an active span', () => {
      expect(() => hook().fail(failure(undefined))).not.toThrow();
      expect(tracing.spans()).toEqual([]);
    });
  });
});

describe('TracingWorkHook and the remote context a driver reads', () => {
  const finishOne = (overrides: Partial<WorkDriver>, headers: Record<string, string>): ReadableSpan => {
    const { driver } = makeDriver({ kind: 'message', spanKind: SpanKind.CONSUMER, ...overrides });
    const unit = makeUnit(driver, headers);
    hook().start(unit);
    hook().finish(unit);
    return onlySpan();
  };

  it('parent-and-link: a child of the remote span, with a link to it', () => {
    const span = finishOne({ remoteContext: 'parent-and-link' }, { traceparent: sampledParent });

    expect(span.spanContext().traceId).toBe(REMOTE_TRACE_ID);
    expect(span.parentSpanContext?.spanId).toBe(REMOTE_SPAN_ID);
    expect(span.links.map((l) => [l.context.traceId, l.context.spanId])).toEqual([[REMOTE_TRACE_ID, REMOTE_SPAN_ID]]);
  });

  it('link: a new trace, linked to the remote span, keeping its baggage', () => {
    const { driver } = makeDriver({ kind: 'message', spanKind: SpanKind.CONSUMER, remoteContext: 'link' });
    const unit = makeUnit(driver, { traceparent: sampledParent, baggage: 'tenant=acme' });
    hook().start(unit);
    const baggage = unit.otelContext === undefined ? undefined : propagation.getBaggage(unit.otelContext);
    hook().finish(unit);
    const span = onlySpan();

    expect(span.spanContext().traceId).not.toBe(REMOTE_TRACE_ID);
    expect(span.parentSpanContext).toBeUndefined();
    expect(span.links.map((l) => [l.context.traceId, l.context.spanId])).toEqual([[REMOTE_TRACE_ID, REMOTE_SPAN_ID]]);
    expect(baggage?.getEntry('tenant')?.value).toBe('acme');
  });

  it('makes no link when the remote context is missing or malformed', () => {
    const span = finishOne({ remoteContext: 'parent-and-link' }, { traceparent: '00-zzzz-not-a-trace-01' });

    expect(span.parentSpanContext).toBeUndefined();
    expect(span.links).toEqual([]);
  });
});
