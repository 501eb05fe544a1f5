import type { Context, Span } from '@opentelemetry/api';

/** What the library knows about the request (or job) being handled. */
export interface RequestContext {
  /** The request id: the valid incoming `X-Request-ID`, or a generated UUID. */
  readonly requestId: string;
  /** HTTP method, when the context is an HTTP request. */
  readonly method: string | undefined;
  /** Route template (`/users/:id`) once the router matched one. */
  readonly route: string | undefined;
}

/**
 * Per-request state of the HTTP hook. One object per request, of one shape,
 * so that the hot path stays monomorphic.
 * @internal
 */
export class RequestState implements RequestContext {
  route: string | undefined = undefined;
  /** The OTel context the request runs in (carries the server span), if traced. */
  otelContext: Context | undefined = undefined;
  span: Span | undefined = undefined;

  constructor(
    readonly requestId: string,
    readonly method: string | undefined,
    /** Scrubbed path without query. */
    readonly path: string,
    /** `performance.now()` at arrival. */
    readonly start: number,
  ) {}
}
