import type { Attributes, Context, Span, SpanContext, SpanKind, TextMapGetter } from '@opentelemetry/api';

/** What the library knows about the request (or job) being handled. */
export interface RequestContext {
  /** The request id: the valid incoming `X-Request-ID`, or a generated UUID. */
  readonly requestId: string;
  /** HTTP method, when the context is an HTTP request. */
  readonly method: string | undefined;
  /** Route template (`/users/:id`) once the router matched one. */
  readonly route: string | undefined;
}

/** The kinds of unit of work a service does. */
export type WorkKind = 'http' | 'rpc' | 'message' | 'job' | 'cron' | 'manual';

/**
 * What a driver (HTTP server, message consumer, job processor) tells the
 * pillars about its units of work, so that the pillars stay transport-neutral:
 * the tracing pillar asks it for span names and attributes, the logging pillar
 * for the completion message. One object per driver, shared by all its units,
 * so that a unit costs no closure.
 * @internal
 */
export interface WorkDriver {
  readonly kind: WorkKind;
  /** `SpanKind` of the unit's span. */
  readonly spanKind: SpanKind;
  /** The message of the line written when a unit completes (`request completed`). */
  readonly completedMessage: string;
  /** Where an incoming trace context is read from, with {@link WorkDriver.carrierGetter}. */
  carrier(unit: UnitOfWork): unknown;
  /** How to read the carrier; `undefined` for the default (a plain object of headers). */
  readonly carrierGetter: TextMapGetter | undefined;
  /** The span name known at the start (`GET`): the route is known only later. */
  startName(unit: UnitOfWork): string;
  /** Attributes known at the start; called only when a span is made. */
  startAttributes(unit: UnitOfWork): Attributes;
  /** Sets what is known at the end (final name, route, status) on a recording span. */
  endSpan(unit: UnitOfWork, span: Span): void;
  /**
   * How the span relates to the trace context read from the carrier:
   * `parent` (the default: a child of the remote span), `parent-and-link`
   * (a child, plus a link to it: a message consumer) or `link` (a new trace
   * linked to the remote span, as the messaging conventions allow).
   */
  readonly remoteContext?: RemoteContextUse;
}

/** See {@link WorkDriver.remoteContext}. */
export type RemoteContextUse = 'parent' | 'parent-and-link' | 'link';

/**
 * One unit of work — an HTTP request, an RPC call, a message, a job, a cron
 * run — from start to finish. Drivers make it and fill in the outcome; each
 * switched-on pillar adds its part through a hook (see `work/`). One object per
 * unit, of one shape, so that the hot path stays monomorphic.
 * @internal
 */
export class UnitOfWork implements RequestContext {
  /** Route template or message pattern, once known. */
  route: string | undefined = undefined;
  /** The OTel context the unit runs in (carries its span), if traced. */
  otelContext: Context | undefined = undefined;
  span: Span | undefined = undefined;
  /** The span's ids once it ended, when valid (a disabled pipeline hands out all-zero ids). */
  spanContext: SpanContext | undefined = undefined;
  /** Whether {@link UnitOfWork.spanContext} is sampled: observations then carry it as an exemplar. */
  sampled = false;
  /** HTTP status (or 0 where the transport has none). */
  status = 0;
  /** `error.type` of a failed unit. */
  errorType: string | undefined = undefined;
  /**
   * `messaging.system` of a message or job (`rabbitmq`, `nats`, `bullmq`);
   * `undefined` for HTTP. For those units `path` holds the destination name
   * (queue, subject) and `route` the pattern or job name.
   */
  system: string | undefined = undefined;
  /**
   * Fields of the unit on every log line written in it and on its completion
   * line (the message pattern; a job's `job_id`, `queue`, `attempt`). Set by
   * the driver before the unit starts; `undefined` for HTTP.
   */
  fields: Readonly<Record<string, string | number>> | undefined = undefined;
  /** The client went away before the unit completed. */
  aborted = false;
  durationMs = 0;

  constructor(
    readonly driver: WorkDriver,
    readonly requestId: string,
    readonly method: string | undefined,
    /** Scrubbed path without query, or destination name. */
    readonly path: string,
    /** `performance.now()` at arrival. */
    readonly start: number,
    /**
     * What the driver needs to describe the unit (the `IncomingMessage`, the
     * message); let go when the unit finishes, so that whatever still holds the
     * unit (a context captured by a late callback) does not hold the request too.
     */
    public source: unknown,
  ) {}
}
