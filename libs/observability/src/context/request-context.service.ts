import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

import { Injectable } from '@nestjs/common';
import { context, createContextKey, ROOT_CONTEXT, SpanKind } from '@opentelemetry/api';

import { type RequestContext, UnitOfWork, type WorkDriver } from './unit-of-work';

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;
/** Key of the request state inside the OpenTelemetry context. */
const STATE_KEY = createContextKey('nestjs-observability.request');

/** Work started with {@link RequestContextService.run}: a context and a request id, nothing observed. */
const MANUAL: WorkDriver = Object.freeze({
  kind: 'manual',
  spanKind: SpanKind.INTERNAL,
  completedMessage: 'work completed',
  carrier: () => undefined,
  carrierGetter: undefined,
  startName: () => 'work',
  startAttributes: () => ({}),
  endSpan: () => undefined,
});

/**
 * The request context: one store per request, visible in middleware, guards,
 * interceptors, pipes, handlers, services and exception filters.
 *
 * When the OpenTelemetry context manager is active the state rides in the
 * OpenTelemetry context, so a request pays for one async context switch, not
 * two; otherwise (tracing off) the service keeps its own AsyncLocalStorage.
 *
 * @example
 * constructor(private readonly requestContext: RequestContextService) {}
 * handle() { this.logger.info({ id: this.requestContext.requestId }, 'working'); }
 */
@Injectable()
export class RequestContextService {
  private readonly storage = new AsyncLocalStorage<UnitOfWork>();
  private otel = false;

  /**
   * Carry the state in the OpenTelemetry context. Called by the module once it
   * knows tracing is on; checked, because a registered API without a working
   * context manager would silently lose the state.
   * @internal
   */
  useOpenTelemetryContext(enabled: boolean): void {
    this.otel = enabled && context.with(ROOT_CONTEXT.setValue(STATE_KEY, true), () => context.active().getValue(STATE_KEY) === true);
  }

  /** The current request context, or `undefined` outside any. */
  get(): RequestContext | undefined {
    return this.state();
  }

  /** The current request id, or `undefined` outside a request. */
  get requestId(): string | undefined {
    return this.state()?.requestId;
  }

  /**
   * Runs `fn` in a new context with its own request id — for work that does
   * not come from HTTP: a queue message, a scheduled job, a CLI command.
   */
  run<T>(fn: () => T, options: { requestId?: string } = {}): T {
    const state = new UnitOfWork(
      MANUAL,
      RequestContextService.acceptRequestId(options.requestId) ?? randomUUID(),
      undefined,
      '',
      performance.now(),
      undefined,
    );
    return this.enter(state, fn);
  }

  /** Returns the id when it is a safe request id (`^[A-Za-z0-9._-]{1,128}$`), else `undefined`. */
  static acceptRequestId(value: unknown): string | undefined {
    return typeof value === 'string' && REQUEST_ID_PATTERN.test(value) ? value : undefined;
  }

  /** @internal the unit of work of the current context. */
  state(): UnitOfWork | undefined {
    return this.otel ? (context.active().getValue(STATE_KEY) as UnitOfWork | undefined) : this.storage.getStore();
  }

  /**
   * Runs `fn(...args)` with `state` (and its OpenTelemetry context, if any) active.
   * Takes the arguments through so the hot path allocates no closure.
   * @internal
   */
  enter<A extends unknown[], R>(state: UnitOfWork, fn: (...args: A) => R, thisArg?: unknown, ...args: A): R {
    if (this.otel) {
      let ctx = state.otelContext;
      if (ctx === undefined || ctx.getValue(STATE_KEY) !== state) {
        ctx = (ctx ?? context.active()).setValue(STATE_KEY, state);
        state.otelContext = ctx;
      }
      return context.with(ctx, fn, thisArg, ...args);
    }
    return this.storage.run(state, Reflect.apply, fn, thisArg, args) as R;
  }
}
