import type { Logger } from 'pino';

/*
 * Internal injection tokens through which the pillars meet: provided by the
 * module's core (options, scrubber, the application's log stream and metric
 * registry), injected by any pillar. Not exported from the package.
 */

/** `ResolvedObservabilityOptions`: every option after env, defaults and validation. */
export const OPTIONS = 'OBSERVABILITY:OPTIONS';
/** The one `Scrubber` of the application: logs, span attributes, error reports. */
export const SCRUBBER = 'OBSERVABILITY:SCRUBBER';
/** {@link LogHandle}: the application's pino logger (silent when logging is off). */
export const LOG = 'OBSERVABILITY:LOG';
/** The application's prom-client `Registry` (served only when metrics are on). */
export const METRICS_REGISTRY = 'OBSERVABILITY:METRICS_REGISTRY';

/** The application's pino logger and what must be flushed when the application stops. */
export interface LogHandle {
  readonly logger: Logger;
  /**
   * Writes out buffered lines synchronously, as far as the destination takes
   * them at once (a stalled pipe takes none): bounded, for a process about to
   * end. Safe to call more than once.
   */
  flush(): void;
  /**
   * Stops the periodic flush and waits, at most `timeoutMs` (default 2 s), for
   * buffered lines to be written; what is left then counts as dropped. Never rejects.
   */
  close(timeoutMs?: number): Promise<void>;
  /** Lines dropped since start (a stalled destination whose buffer reached its cap, or that `close` gave up on). */
  readonly droppedLines: number;
}

/** Span attribute carrying the request id (no name in `@opentelemetry/semantic-conventions`). */
export const ATTR_REQUEST_ID = 'http.request.id';
