import { Injectable } from '@nestjs/common';
import {
  type Attributes,
  type Baggage,
  type Context,
  context,
  isSpanContextValid,
  propagation,
  type Span,
  type TextMapGetter,
  type TextMapSetter,
  trace,
  type Tracer,
} from '@opentelemetry/api';

import { recordError, runInSpan, type SpanOptions } from './span-runner';
import { TRACER_NAME, TRACER_VERSION } from './tracing.constants';

/**
 * Tracing for application code: spans around work, the current ids, attributes,
 * events, exceptions, context propagation through any carrier, and baggage.
 * Works against the `@opentelemetry/api` globals, so it is safe to use when
 * tracing is off (every call is then a cheap no-op).
 *
 * @example
 * constructor(private readonly tracing: TracingService) {}
 *
 * async charge(order: Order) {
 *   return this.tracing.withSpan('payments.charge', async (span) => {
 *     span.setAttribute('order.id', order.id);
 *     return this.gateway.charge(order);
 *   });
 * }
 */
@Injectable()
export class TracingService {
  private readonly tracer: Tracer = trace.getTracer(TRACER_NAME, TRACER_VERSION);

  /**
   * Runs `fn` in a new active span (a child of the current one) and ends it
   * when `fn` returns, its promise settles or its Observable finishes. A throw
   * or rejection marks the span as ERROR, records the exception and is rethrown.
   */
  withSpan<T>(name: string, fn: (span: Span) => T, options: SpanOptions = {}): T {
    return runInSpan(this.tracer, name, options, fn);
  }

  /** The active span, if any. */
  currentSpan(): Span | undefined {
    return trace.getActiveSpan();
  }

  /** The active trace id (32 hex characters), or `undefined` outside a trace. */
  traceId(): string | undefined {
    const spanContext = trace.getActiveSpan()?.spanContext();
    return spanContext && isSpanContextValid(spanContext) ? spanContext.traceId : undefined;
  }

  /** The active span id (16 hex characters), or `undefined` outside a trace. */
  spanId(): string | undefined {
    const spanContext = trace.getActiveSpan()?.spanContext();
    return spanContext && isSpanContextValid(spanContext) ? spanContext.spanId : undefined;
  }

  /** Sets attributes on the active span. */
  setAttributes(attributes: Attributes): void {
    trace.getActiveSpan()?.setAttributes(attributes);
  }

  /** Adds an event to the active span. */
  addEvent(name: string, attributes?: Attributes): void {
    trace.getActiveSpan()?.addEvent(name, attributes);
  }

  /** Records the exception on the active span and marks it as ERROR. */
  recordException(error: unknown): void {
    const span = trace.getActiveSpan();
    if (span) recordError(span, error);
  }

  /**
   * Writes the active context (traceparent, tracestate, baggage) into a carrier:
   * outgoing headers, message properties.
   * @example tracing.inject(message.headers)
   */
  inject<C>(carrier: C, setter?: TextMapSetter<C>): C {
    propagation.inject(context.active(), carrier, setter);
    return carrier;
  }

  /**
   * Reads a context from a carrier. Malformed values are ignored: the result is
   * then the active context, and a span started in it begins a new trace.
   */
  extract<C>(carrier: C, getter?: TextMapGetter<C>): Context {
    return propagation.extract(context.active(), carrier, getter);
  }

  /** Runs `fn` with `ctx` active (an extracted context, for a message consumer). */
  withContext<T>(ctx: Context, fn: () => T): T {
    return context.with(ctx, fn);
  }

  /** The value of a baggage entry in the active context. */
  getBaggage(key: string): string | undefined {
    return propagation.getActiveBaggage()?.getEntry(key)?.value;
  }

  /** Runs `fn` with these baggage entries added to the active context; they travel with outgoing calls. */
  withBaggage<T>(entries: Record<string, string>, fn: () => T): T {
    let baggage: Baggage = propagation.getActiveBaggage() ?? propagation.createBaggage();
    for (const [key, value] of Object.entries(entries)) baggage = baggage.setEntry(key, { value });
    return context.with(propagation.setBaggage(context.active(), baggage), fn);
  }
}
