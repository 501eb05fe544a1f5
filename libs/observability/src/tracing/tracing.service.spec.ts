import { SpanStatusCode, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';

import { type InMemoryTracing, useInMemoryTracing } from '../testing/in-memory-tracing';
import { TracingService } from './tracing.service';

let tracing: InMemoryTracing;
let service: TracingService;

beforeAll(() => {
  tracing = useInMemoryTracing();
  service = new TracingService();
});

afterEach(() => tracing.reset());

afterAll(() => tracing.shutdown());

const describeSpans = (spans: ReadableSpan[]) =>
  spans.length === 0
    ? '(no spans)'
    : spans
        .map((s) => `${s.name} trace=${s.spanContext().traceId} span=${s.spanContext().spanId} parent=${s.parentSpanContext?.spanId}`)
        .join('\n');

/** The one finished span with this name; fails listing the spans seen otherwise. */
function spanNamed(name: string): ReadableSpan {
  const spans = tracing.spans();
  const matching = spans.filter((s) => s.name === name);
  if (matching.length !== 1) throw new Error(`expected exactly one finished span "${name}", saw:\n${describeSpans(spans)}`);
  return matching[0]!;
}

const settle = <T>(fn: () => T) => Promise.resolve().then(fn);

const REMOTE_TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const REMOTE_SPAN_ID = 'b7ad6b7169203331';

describe('TracingService', () => {
  describe('withSpan', () => {
    it('runs a sync function in an active span that ends at return', () => {
      const result = service.withSpan('work.sync', (span) => {
        expect(trace.getActiveSpan()).toBe(span);
        expect(tracing.spans()).toEqual([]);
        return 21 * 2;
      });
      expect(result).toBe(42);
      expect(spanNamed('work.sync').status.code).toBe(SpanStatusCode.UNSET);
    });

    it('ends an async span when the promise resolves', async () => {
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const result = service.withSpan('work.async', async () => {
        await gate;
        return 'done';
      });
      await new Promise((resolve) => setTimeout(resolve, 5));
      expect(tracing.spans()).toEqual([]);
      release();
      await expect(result).resolves.toBe('done');
      expect(spanNamed('work.async').ended).toBe(true);
    });

    it('marks the span ERROR, records the exception and rethrows the same error on throw', async () => {
      const error = new Error('sync failure');
      await expect(
        settle(() =>
          service.withSpan('work.throws', () => {
            throw error;
          }),
        ),
      ).rejects.toBe(error);
      const span = spanNamed('work.throws');
      expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'sync failure' });
      expect(span.events.map((e) => e.name)).toEqual(['exception']);
    });

    it('marks the span ERROR and rejects with the same error on rejection', async () => {
      const error = new TypeError('async failure');
      await expect(service.withSpan('work.rejects', async () => Promise.reject(error))).rejects.toBe(error);
      const span = spanNamed('work.rejects');
      expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'async failure' });
      expect(span.events[0]?.attributes).toMatchObject({ 'exception.type': 'TypeError', 'exception.message': 'async failure' });
    });

    it('nests spans: a withSpan inside another is its child', () => {
      service.withSpan('outer', () => service.withSpan('inner', () => undefined));
      expect(spanNamed('inner').parentSpanContext?.spanId).toBe(spanNamed('outer').spanContext().spanId);
    });

    it('starts a new trace with root: true', () => {
      service.withSpan('outer', () => service.withSpan('detached', () => undefined, { root: true }));
      expect(spanNamed('detached').parentSpanContext).toBeUndefined();
      expect(spanNamed('detached').spanContext().traceId).not.toBe(spanNamed('outer').spanContext().traceId);
    });
  });

  describe('ids', () => {
    it('returns undefined outside a span', () => {
      expect([service.traceId(), service.spanId(), service.currentSpan()]).toEqual([undefined, undefined, undefined]);
    });

    it("returns the active span's ids inside a span", () => {
      const seen = service.withSpan('ids', (span) => ({
        traceId: service.traceId(),
        spanId: service.spanId(),
        current: service.currentSpan(),
        expected: span.spanContext(),
        span,
      }));
      expect(seen.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(seen.spanId).toMatch(/^[0-9a-f]{16}$/);
      expect({ traceId: seen.traceId, spanId: seen.spanId }).toEqual({ traceId: seen.expected.traceId, spanId: seen.expected.spanId });
      expect(seen.current).toBe(seen.span);
    });
  });

  describe('active span helpers', () => {
    it('sets attributes, adds events and records exceptions on the active span', () => {
      service.withSpan('helpers', () => {
        service.setAttributes({ 'order.id': 'o-1', 'order.items': 3 });
        service.addEvent('cache.miss', { 'cache.key': 'k' });
        service.recordException(new Error('handled but noted'));
      });
      const span = spanNamed('helpers');
      expect(span.attributes).toMatchObject({ 'order.id': 'o-1', 'order.items': 3 });
      expect(span.events.map((e) => [e.name, e.attributes])).toEqual([
        ['cache.miss', { 'cache.key': 'k' }],
        ['exception', expect.objectContaining({ 'exception.message': 'handled but noted', 'exception.type': 'Error' })],
      ]);
      expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'handled but noted' });
    });

    it('records a thrown non-Error value as an exception with its text', () => {
      service.withSpan('non-error', () => service.recordException('plain string'));
      expect(spanNamed('non-error').status).toEqual({ code: SpanStatusCode.ERROR, message: 'plain string' });
    });

    it('does nothing, and does not throw, outside a span', () => {
      expect(() => {
        service.setAttributes({ a: 1 });
        service.addEvent('nowhere');
        service.recordException(new Error('nowhere'));
      }).not.toThrow();
      expect(tracing.spans()).toEqual([]);
    });
  });

  describe('propagation', () => {
    it('injects a W3C traceparent with the active ids into a plain object carrier', () => {
      const { carrier, traceId, spanId } = service.withSpan('outgoing', (span) => ({
        carrier: service.inject<Record<string, string>>({}),
        ...span.spanContext(),
      }));
      expect(carrier).toEqual({ traceparent: `00-${traceId}-${spanId}-01` });
    });

    it('injects nothing outside a span', () => {
      expect(service.inject<Record<string, string>>({})).toEqual({});
    });

    it('makes a span started in an extracted context a child of the remote parent', () => {
      const ctx = service.extract({ traceparent: `00-${REMOTE_TRACE_ID}-${REMOTE_SPAN_ID}-01` });
      service.withContext(ctx, () => service.withSpan('consumer', () => undefined));
      const span = spanNamed('consumer');
      expect({
        traceId: span.spanContext().traceId,
        parent: span.parentSpanContext?.spanId,
        remote: span.parentSpanContext?.isRemote,
      }).toEqual({
        traceId: REMOTE_TRACE_ID,
        parent: REMOTE_SPAN_ID,
        remote: true,
      });
    });

    it('returns what withContext returns', () => {
      expect(service.withContext(service.extract({}), () => 'value')).toBe('value');
    });

    it.each([
      ['garbage ids', '00-xyz-abc-01'],
      ['a short trace id', `00-${REMOTE_TRACE_ID.slice(1)}-${REMOTE_SPAN_ID}-01`],
      ['a long span id', `00-${REMOTE_TRACE_ID}-${REMOTE_SPAN_ID}0-01`],
      ['an all-zero trace id', `00-${'0'.repeat(32)}-${REMOTE_SPAN_ID}-01`],
      ['an all-zero span id', `00-${REMOTE_TRACE_ID}-${'0'.repeat(16)}-01`],
      ['version ff', `ff-${REMOTE_TRACE_ID}-${REMOTE_SPAN_ID}-01`],
    ])('starts a new trace when the traceparent has %s', (_case, traceparent) => {
      const ctx = service.extract({ traceparent });
      service.withContext(ctx, () => service.withSpan('consumer', () => undefined));
      const span = spanNamed('consumer');
      expect(span.parentSpanContext).toBeUndefined();
      expect(span.spanContext().traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(span.spanContext().traceId).not.toBe(REMOTE_TRACE_ID);
      expect(span.spanContext().traceId).not.toBe('0'.repeat(32));
    });
  });

  describe('baggage', () => {
    it('reads entries added by withBaggage, only inside it', () => {
      const inside = service.withBaggage({ tenant: 'acme', plan: 'gold' }, () => [
        service.getBaggage('tenant'),
        service.getBaggage('plan'),
      ]);
      expect(inside).toEqual(['acme', 'gold']);
      expect(service.getBaggage('tenant')).toBeUndefined();
    });

    it('adds to the baggage already active', () => {
      const seen = service.withBaggage({ tenant: 'acme' }, () =>
        service.withBaggage({ region: 'eu' }, () => [service.getBaggage('tenant'), service.getBaggage('region')]),
      );
      expect(seen).toEqual(['acme', 'eu']);
    });

    it('puts baggage into the injected carrier, next to the traceparent', () => {
      const carrier = service.withBaggage({ tenant: 'acme' }, () =>
        service.withSpan('outgoing', () => service.inject<Record<string, string>>({})),
      );
      expect(carrier).toEqual({ traceparent: expect.stringMatching(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/), baggage: 'tenant=acme' });
    });

    it('reads baggage from an extracted carrier', () => {
      const ctx = service.extract({ baggage: 'tenant=globex' });
      expect(service.withContext(ctx, () => service.getBaggage('tenant'))).toBe('globex');
    });
  });
});
