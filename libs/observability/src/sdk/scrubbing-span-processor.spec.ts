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
});
