import { type Attributes, context, type Link, type Span, type SpanKind, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import { isObservable, Observable } from 'rxjs';

/** Options shared by `@Traced` and `TracingService.withSpan`. */
export interface SpanOptions {
  /** Attributes set when the span starts. */
  attributes?: Attributes;
  /** Span kind. @default SpanKind.INTERNAL */
  kind?: SpanKind;
  /** Links to other spans (a batch consumer linking the messages it handles). */
  links?: Link[];
  /** Start a new trace instead of a child of the active span. @default false */
  root?: boolean;
}

/** Marks the span as failed with the error, as `@Traced` and `withSpan` do on throw. */
export function recordError(span: Span, error: unknown): void {
  const err = error instanceof Error ? error : new Error(String(error));
  span.recordException(err);
  span.setStatus({ code: SpanStatusCode.ERROR, message: err.message });
}

/** Called once when the traced work ends, before its span ends; `failed` with the error. */
export type EndHook = (failed: boolean, error: unknown) => void;

/**
 * Runs `fn` in a new active span and ends the span when the work ends: at
 * return for a plain value, when a promise settles, when an Observable
 * completes, errors or is unsubscribed. Errors are recorded and rethrown.
 */
export function runInSpan<T>(tracer: Tracer, name: string, options: SpanOptions, fn: (span: Span) => T, onEnd?: EndHook): T {
  return tracer.startActiveSpan(name, options, (span) => {
    const finish = (failed: boolean, error?: unknown) => {
      if (failed) recordError(span, error);
      onEnd?.(failed, error);
      span.end();
    };
    let result: T;
    try {
      result = fn(span);
    } catch (error) {
      finish(true, error);
      throw error;
    }
    if (result instanceof Promise || isThenable(result)) {
      return (result as PromiseLike<unknown>).then(
        (value) => {
          finish(false);
          return value;
        },
        (error: unknown) => {
          finish(true, error);
          throw error;
        },
      ) as T;
    }
    if (isObservable(result)) return endWithObservable(span, result, finish) as T;
    finish(false);
    return result;
  });
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/** The span lasts as long as the subscription; values are emitted in the span's context. */
function endWithObservable<V>(span: Span, source: Observable<V>, finish: (failed: boolean, error?: unknown) => void): Observable<V> {
  const spanContext = trace.setSpan(context.active(), span);
  return new Observable<V>((subscriber) => {
    let ended = false;
    const end = (failed: boolean, error?: unknown) => {
      if (!ended) {
        ended = true;
        finish(failed, error);
      }
    };
    const subscription = context.with(spanContext, () =>
      source.subscribe({
        next: (value) => subscriber.next(value),
        error: (error: unknown) => {
          end(true, error);
          subscriber.error(error);
        },
        complete: () => {
          end(false);
          subscriber.complete();
        },
      }),
    );
    return () => {
      subscription.unsubscribe();
      end(false);
    };
  });
}
