import { SpanStatusCode } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';

import { Scrubber } from '../shared/scrubber';
import { LIBRARY_SCOPE_NAME } from './library-scope';
import { ScrubbingSpanProcessor } from './scrubbing-span-processor';

describe('ScrubbingSpanProcessor', () => {
  const memory = new InMemorySpanExporter();
  const scrubbing = new ScrubbingSpanProcessor();
  const provider = new BasicTracerProvider({ spanProcessors: [scrubbing, new SimpleSpanProcessor(memory)] });

  afterEach(() => memory.reset());
  afterAll(() => provider.shutdown());

  function exported(scope: string, attributes: Record<string, string>): Record<string, unknown> {
    provider.getTracer(scope).startSpan('span', { attributes }).end();
    const [span] = memory.getFinishedSpans();
    if (!span) throw new Error(`no span exported for scope ${scope}`);
    return { ...span.attributes };
  }

  it("scrubs other instrumentations' spans before the exporter sees them", () => {
    expect(
      exported('@opentelemetry/instrumentation-pg', { 'db.user.password': 'hunter2', 'url.full': 'https://x.test/a?token=abc' }),
    ).toEqual({
      'db.user.password': '[REDACTED]',
      'url.full': 'https://x.test/a?token=[REDACTED]',
    });
  });

  it("leaves the library's own spans, scrubbed where they are made", () => {
    expect(exported(LIBRARY_SCOPE_NAME, { 'db.user.password': 'already handled' })).toEqual({ 'db.user.password': 'already handled' });
  });

  it('applies the scrubber the module sets, from its redaction options', () => {
    scrubbing.setScrubber(new Scrubber({ enabled: true, keys: ['tenant'], patterns: [], censor: '***' }));

    expect(exported('@opentelemetry/instrumentation-undici', { 'tenant.id': 'acme', 'http.request.method': 'GET' })).toEqual({
      'tenant.id': '***',
      'http.request.method': 'GET',
    });
  });

  describe('error text', () => {
    const MESSAGE = 'kaboom: db password=hunter2 at 10.0.0.5';
    const SCRUBBED = 'kaboom: db password=[REDACTED] at 10.0.0.5';

    /** A span that failed as `recordError` fails one: the exception recorded, the status message the error's. */
    function failed(scope: string) {
      provider.getTracer(scope).startActiveSpan('span', (span) => {
        const error = new Error(MESSAGE);
        span.recordException(error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
        span.end();
      });
      const [span] = memory.getFinishedSpans();
      if (!span) throw new Error(`no span exported for scope ${scope}`);
      return span;
    }

    it.each([
      ['another instrumentation', '@opentelemetry/instrumentation-pg'],
      ["the library's own", LIBRARY_SCOPE_NAME],
    ])('scrubs the status message and the exception event of %s spans', (_case, scope) => {
      scrubbing.setScrubber(Scrubber.withDefaults());
      const span = failed(scope);
      expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: SCRUBBED });
      expect(span.events.map((e) => e.name)).toEqual(['exception']);
      expect(span.events[0]?.attributes).toMatchObject({ 'exception.type': 'Error', 'exception.message': SCRUBBED });
      expect(String(span.events[0]?.attributes?.['exception.stacktrace'])).toContain(`Error: ${SCRUBBED}\n    at `);
      expect(JSON.stringify({ status: span.status, events: span.events })).not.toContain('hunter2');
    });

    it('scrubs the attributes of any other event, by key and by value', () => {
      scrubbing.setScrubber(Scrubber.withDefaults());
      provider.getTracer(LIBRARY_SCOPE_NAME).startSpan('span').addEvent('retry', { token: 'abc', note: 'mail ann@x.io', attempt: 2 }).end();
      expect(memory.getFinishedSpans()[0]?.events[0]?.attributes).toEqual({
        token: '[REDACTED]',
        note: 'mail [REDACTED:email]',
        attempt: 2,
      });
    });
  });

  it('keeps id attributes as they are, while a sensitive key still wins', () => {
    scrubbing.setScrubber(Scrubber.withDefaults());
    expect(
      exported('@opentelemetry/instrumentation-kafkajs', {
        'messaging.message.id': '4111111111111111',
        'http.request.id': '5500005555555559',
        'http.route': '/cards/:card',
        'messaging.destination.token': '4bf92f3577b34da6a3ce929d0e0e4736',
      }),
    ).toEqual({
      'messaging.message.id': '4111111111111111',
      'http.request.id': '5500005555555559',
      'http.route': '/cards/:card',
      'messaging.destination.token': '[REDACTED]',
    });
  });

  it('scrubs each string of an array attribute', () => {
    scrubbing.setScrubber(Scrubber.withDefaults());
    provider
      .getTracer('@opentelemetry/instrumentation-undici')
      .startSpan('span', { attributes: { 'db.query.parameter': ['ann@x.io', 'card 4111 1111 1111 1111'] } })
      .end();
    expect(memory.getFinishedSpans()[0]?.attributes).toEqual({ 'db.query.parameter': ['[REDACTED:email]', 'card [REDACTED:card]'] });
  });
});
