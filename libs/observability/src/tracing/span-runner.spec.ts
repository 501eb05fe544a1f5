import { SpanStatusCode } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';

import { ScrubbingSpanProcessor } from '../sdk/scrubbing-span-processor';
import { runInSpan } from './span-runner';
import { TRACER_NAME, TRACER_VERSION } from './tracing.constants';

const MESSAGE = 'kaboom: db password=hunter2 at 10.0.0.5';
const SCRUBBED = 'kaboom: db password=[REDACTED] at 10.0.0.5';

describe('runInSpan errors through the scrubbing span processor', () => {
  const memory = new InMemorySpanExporter();
  // The pipeline's order: the scrubber before any exporter.
  const provider = new BasicTracerProvider({ spanProcessors: [new ScrubbingSpanProcessor(), new SimpleSpanProcessor(memory)] });
  const tracer = provider.getTracer(TRACER_NAME, TRACER_VERSION);

  afterEach(() => memory.reset());
  afterAll(() => provider.shutdown());

  function onlySpan(): ReadableSpan {
    const spans = memory.getFinishedSpans();
    if (spans.length !== 1) throw new Error(`expected one span, saw ${spans.length}: ${spans.map((s) => s.name).join(', ') || '(none)'}`);
    return spans[0]!;
  }

  function expectScrubbedFailure(span: ReadableSpan): void {
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: SCRUBBED });
    expect(span.events.map((e) => [e.name, e.attributes?.['exception.message']])).toEqual([['exception', SCRUBBED]]);
    expect(String(span.events[0]?.attributes?.['exception.stacktrace'])).toContain(`Error: ${SCRUBBED}\n    at `);
    expect(JSON.stringify({ status: span.status, events: span.events, attributes: span.attributes })).not.toContain('hunter2');
  }

  it('sets the status message to the error message, and no exporter sees the secret in it or in the exception', () => {
    expect(() =>
      runInSpan(tracer, 'db.query', {}, () => {
        throw new Error(MESSAGE);
      }),
    ).toThrow(MESSAGE);
    expectScrubbedFailure(onlySpan());
  });

  it('does the same for a rejected promise, and rethrows the error unchanged', async () => {
    await expect(runInSpan(tracer, 'db.query', {}, () => Promise.reject(new Error(MESSAGE)))).rejects.toThrow(MESSAGE);
    expectScrubbedFailure(onlySpan());
  });
});
