import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  type Sampler,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';

/** A registered in-memory tracer provider, for tests that run in-process. */
export interface InMemoryTracing {
  readonly exporter: InMemorySpanExporter;
  /** Finished spans so far. */
  spans(): ReadableSpan[];
  /** Forgets finished spans. */
  reset(): void;
  /** Unregisters everything and shuts the provider down. */
  shutdown(): Promise<void>;
}

/**
 * Registers a real tracer provider with an `InMemorySpanExporter`, the
 * AsyncLocalStorage context manager and W3C propagation as the global
 * OpenTelemetry setup. `ObservabilityModule` sees a registered provider and
 * uses it as it is, so spans made by the module and by `@Traced` land here.
 *
 * @example
 * const tracing = useInMemoryTracing();
 * afterAll(() => tracing.shutdown());
 */
export function useInMemoryTracing(options: { sampler?: Sampler } = {}): InMemoryTracing {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ sampler: options.sampler, spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }));
  trace.setGlobalTracerProvider(provider);
  return {
    exporter,
    spans: () => exporter.getFinishedSpans(),
    reset: () => exporter.reset(),
    async shutdown() {
      await provider.shutdown();
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}
