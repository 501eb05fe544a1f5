/*
 * The span processor in front of the exporter, in place of the SDK's
 * BatchSpanProcessor. That one (sdk-trace 2.12, `BatchSpanProcessorBase._maybeStartTimer`)
 * starts the next export from `.finally()` after a failed one, then clears
 * `_isExporting` from `.catch()` while that next export runs: every failure
 * adds one more parallel export chain, up to the exporter's concurrency limit
 * (30), none of them pausing. Against a collector answering 503 that was
 * 1,530 POSTs in 150 s, and `429` + `Retry-After` did not slow it down
 * (export-processor.spec.ts runs the same scenario against both).
 *
 * Here: one bounded queue, at most one export in flight, a pause growing after
 * each failed export, every span that does not reach the collector counted by
 * reason, and one warning when export starts failing and one when it works
 * again, never one per batch.
 */
import { context, diag, TraceFlags } from '@opentelemetry/api';
import { type ExportResult, ExportResultCode, suppressTracing } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';

/** Why a span never reached the collector. */
export type DropReason = 'queue_full' | 'export_failed' | 'shutdown';

/** Every {@link DropReason}, in the order metrics list them. */
export const DROP_REASONS: readonly DropReason[] = ['queue_full', 'export_failed', 'shutdown'];

/** The export's counters since the pipeline started: plain numbers, read at any time. */
export interface ExportStats {
  /** Spans the exporter accepted. */
  readonly exported: number;
  /** Spans that never reached the exporter's destination, by reason. */
  readonly dropped: Readonly<Record<DropReason, number>>;
  /** Exports that failed; each one's batch is counted in `dropped.export_failed`. */
  readonly exportFailures: number;
  /** Spans waiting in the queue now. */
  readonly queueLength: number;
}

/** What the processor's two warnings (and its shutdown message) are written to. */
export interface WarningLogger {
  warn(obj: object, msg: string): void;
}

/** What is known about a failed export besides its error: the collector's HTTP answer. */
export interface FailureDetail {
  /** HTTP status of the collector's last answer, when there was one. */
  status?: number;
  /** What the collector's `Retry-After` asked for, in milliseconds. */
  retryAfterMillis?: number;
}

/** Settings of {@link ExportSpanProcessor}. */
export interface ExportProcessorOptions {
  /** Spans kept while waiting; more are dropped (`queue_full`). */
  maxQueueSize: number;
  /** Spans per export. */
  maxExportBatchSize: number;
  /** Longest a span waits for its batch to fill. */
  scheduledDelayMillis: number;
  /** Longest one export may take; also the default bound of `forceFlush` and `shutdown`. */
  exportTimeoutMillis: number;
  /** Where spans go, as the warnings name it: the collector's URL, or `console`. */
  endpoint: string;
  /** Pause after the first failed export; it doubles with each further failure. @default 1000 */
  initialBackoffMillis?: number;
  /**
   * Longest pause between failed exports (unless `Retry-After` asks for more).
   * It bounds how long export stays off after the collector is back. @default 4000
   */
  maxBackoffMillis?: number;
  /** Reads what a failed export's error does not carry (see `otlp-response-observer.ts`). */
  describeFailure?: (error: Error | undefined) => FailureDetail;
  /** A number in [0, 1) for the jitter; tests pin it. @default Math.random */
  random?: () => number;
}

/**
 * The backoff stops growing at 4 s: one POST every 4 s or so per replica is
 * nothing to a collector that is down, and a collector that comes back gets
 * its spans within 4 s, however long it was away. A collector that needs
 * less says so with `Retry-After`, which is honoured.
 */
const DEFAULT_MAX_BACKOFF_MS = 4_000;
/** Backoff spread: ±20 % keeps restarted replicas from retrying in step. */
const JITTER = 0.2;
/** A `Retry-After` is honoured up to this long: a collector asking for an hour still gets tried. */
const MAX_RETRY_AFTER_MS = 300_000;
/**
 * The OTLP exporter bounds each export by the same `exportTimeoutMillis`
 * (its own retries included); the grace covers its bookkeeping, so that this
 * guard only catches an exporter that never calls back.
 */
const EXPORT_GRACE_MS = 1_000;

/** An export the exporter did not call back for within its timeout and the grace after it. */
class GivenUpError extends Error {
  constructor(timeoutMillis: number) {
    super(`export did not finish within ${timeoutMillis} ms`);
  }
}

/** What {@link until} gives when the promise did not settle in time, or rejected. */
const NOTHING = Symbol('nothing');

const diagLogger: WarningLogger = { warn: (obj, msg) => diag.warn(msg, obj) };

/**
 * Batches sampled spans into one exporter: a bounded queue, batches of
 * `maxExportBatchSize` every `scheduledDelayMillis` (sooner when one is full,
 * but never inside the `span.end()` that filled it), one export at a time,
 * exponential backoff with jitter after failures (at least what `Retry-After`
 * asked for), a backlog drained batch after batch once export works again, and
 * `forceFlush` / `shutdown` bounded in time. Timers never keep the process alive.
 * @internal
 */
export class ExportSpanProcessor implements SpanProcessor {
  private queue: ReadableSpan[] = [];
  private exported = 0;
  private readonly dropped: Record<DropReason, number> = { queue_full: 0, export_failed: 0, shutdown: 0 };
  private exportFailures = 0;
  /** Spans of exports given up on whose exporter has not called back yet. */
  private undecided = 0;

  /** The one export in flight, resolving to whether it succeeded. */
  private inFlight: Promise<boolean> | undefined;
  private inFlightCount = 0;
  /** Bumped when shutdown gives up on an export, so that its late result is ignored. */
  private generation = 0;
  /** Drains (flush, shutdown) running: they export batch after batch themselves. */
  private draining = 0;

  private timer: NodeJS.Timeout | undefined;
  private timerDue = 0;
  /** Failed exports in a row; 0 while export works. */
  private failures = 0;
  private backoffUntil = 0;
  private outage: { since: number; droppedBefore: number } | undefined;

  private closed = false;
  private flushing: Promise<void> | undefined;
  private shuttingDown: Promise<void> | undefined;
  private logger: WarningLogger = diagLogger;

  private readonly initialBackoffMillis: number;
  private readonly maxBackoffMillis: number;
  private readonly describeFailure: (error: Error | undefined) => FailureDetail;
  private readonly random: () => number;
  private readonly batchSize: number;

  constructor(
    private readonly exporter: SpanExporter,
    private readonly options: ExportProcessorOptions,
  ) {
    this.initialBackoffMillis = options.initialBackoffMillis ?? 1_000;
    this.maxBackoffMillis = options.maxBackoffMillis ?? DEFAULT_MAX_BACKOFF_MS;
    this.describeFailure = options.describeFailure ?? statusOfError;
    this.random = options.random ?? Math.random;
    this.batchSize = Math.min(options.maxExportBatchSize, options.maxQueueSize);
  }

  /** Where the warnings go: `diag` until the module hands over its logger. */
  setLogger(logger: WarningLogger): void {
    this.logger = logger;
  }

  /** A snapshot of the counters. */
  stats(): ExportStats {
    return {
      exported: this.exported,
      dropped: { ...this.dropped },
      exportFailures: this.exportFailures,
      queueLength: this.queue.length,
    };
  }

  onStart(): void {}

  onEnd(span: ReadableSpan): void {
    if ((span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return;
    if (this.closed) {
      this.dropped.shutdown++;
      return;
    }
    if (this.queue.length >= this.options.maxQueueSize) {
      this.dropped.queue_full++;
      return;
    }
    // Hot path: a push and two comparisons while a timer is already set. The
    // export itself (serialization included) always runs from a timer, so the
    // request whose span filled a batch does not pay for encoding it.
    const length = this.queue.push(span);
    if (this.timer === undefined || length === this.batchSize) {
      this.schedule(length >= this.batchSize ? 0 : this.options.scheduledDelayMillis);
    }
  }

  /**
   * Exports the spans queued now, batch after batch, within `timeoutMillis`
   * (default `exportTimeoutMillis`); a first attempt is made even while backing
   * off. Rejects, naming what was left, on a failed export or the timeout.
   */
  forceFlush(timeoutMillis: number = this.options.exportTimeoutMillis): Promise<void> {
    if (this.shuttingDown) return this.shuttingDown;
    // Concurrent calls (the tracer provider flushes every processor) share one drain.
    this.flushing ??= this.drain(Date.now() + timeoutMillis)
      .then((outcome) => {
        if (outcome === 'done') return;
        const why = outcome === 'failed' ? 'an export failed and its batch was dropped' : `not done within ${timeoutMillis} ms`;
        throw new Error(
          `nestjs-observability: flushing spans to ${this.options.endpoint}: ${why}; ${this.queue.length + this.inFlightSize()} spans still waiting`,
        );
      })
      .finally(() => {
        this.flushing = undefined;
      });
    return this.flushing;
  }

  /**
   * Stops taking spans, exports what is queued within `timeoutMillis` (default
   * `exportTimeoutMillis`), counts the rest as dropped (`shutdown`) in one
   * warning, and shuts the exporter down. Never rejects; later calls share it.
   */
  shutdown(timeoutMillis: number = this.options.exportTimeoutMillis): Promise<void> {
    this.shuttingDown ??= this.close(Date.now() + timeoutMillis);
    return this.shuttingDown;
  }

  private async close(deadline: number): Promise<void> {
    const droppedBefore = this.dropped.shutdown;
    this.closed = true;
    this.clearTimer();
    await this.drain(deadline);
    if (this.inFlight !== undefined) {
      // Its result may still come; it is no longer waited for, nor counted twice.
      this.generation++;
      this.inFlight = undefined;
      this.dropped.shutdown += this.inFlightCount;
    }
    this.dropped.shutdown += this.queue.length + this.undecided;
    this.queue = [];
    // Exports given up on earlier whose exporter never called back: lost now.
    this.undecided = 0;
    const notExported = this.dropped.shutdown - droppedBefore;
    if (notExported > 0) {
      this.warn(
        {
          endpoint: this.options.endpoint,
          spans_not_exported: notExported,
          spans_exported: this.exported,
          spans_dropped: { ...this.dropped },
          ...(this.outage ? { failing_since: new Date(this.outage.since).toISOString() } : {}),
        },
        `nestjs-observability: ${notExported} spans not exported at shutdown (${this.options.endpoint}${this.outage ? ', failing since ' + new Date(this.outage.since).toISOString() : ''})`,
      );
    }
    await until(
      this.exporter.shutdown().catch((error: unknown) => diag.error('nestjs-observability: span exporter shutdown failed', error)),
      deadline,
    );
  }

  /**
   * Exports batch after batch until the spans queued at the start are out.
   * Stops at the first failure (the backoff then applies again) or at `deadline`.
   */
  private async drain(deadline: number): Promise<'done' | 'failed' | 'timeout'> {
    this.draining++;
    this.clearTimer();
    try {
      const target = this.exported + this.inFlightSize() + this.queue.length;
      while (this.exported < target) {
        if (this.inFlight === undefined) {
          if (this.queue.length === 0) break;
          this.exportNext();
        }
        const ok = await until(this.inFlight as Promise<boolean>, deadline);
        if (ok === NOTHING) return 'timeout';
        if (!ok) return 'failed';
      }
      return 'done';
    } finally {
      this.draining--;
      if (this.draining === 0 && this.inFlight === undefined && this.queue.length > 0) this.schedule(this.nextDelay(true, false));
    }
  }

  private inFlightSize(): number {
    return this.inFlight === undefined ? 0 : this.inFlightCount;
  }

  /** Arms the one timer to fire in `delayMs`, or later while backing off; an earlier timer is kept. */
  private schedule(delayMs: number): void {
    if (this.inFlight !== undefined || this.draining > 0 || this.closed) return;
    const now = Date.now();
    const wait = Math.max(delayMs, this.backoffUntil - now);
    const due = now + wait;
    if (this.timer !== undefined) {
      if (this.timerDue <= due) return;
      clearTimeout(this.timer);
    }
    this.timerDue = due;
    this.timer = setTimeout(this.onTimer, wait);
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer === undefined) return;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    if (this.inFlight !== undefined || this.draining > 0 || this.closed || this.queue.length === 0) return;
    if (this.backoffUntil > Date.now()) {
      this.schedule(0);
      return;
    }
    this.exportNext();
  };

  /** Starts exporting the next batch; the caller checked that none is in flight. */
  private exportNext(): void {
    let batch: ReadableSpan[];
    if (this.queue.length <= this.batchSize) {
      batch = this.queue;
      this.queue = [];
    } else {
      batch = this.queue.splice(0, this.batchSize);
    }
    const generation = this.generation;
    const full = batch.length === this.batchSize;
    this.inFlightCount = batch.length;
    this.inFlight = this.exportBatch(batch).then((result) => {
      if (generation !== this.generation) return false;
      this.inFlight = undefined;
      const ok = this.settle(batch.length, result);
      this.schedule(this.nextDelay(ok, full));
      return ok;
    });
  }

  /**
   * Right after an export: a full batch that went out means a backlog, drained
   * without waiting for the schedule; otherwise the usual delay (a failure's
   * backoff is added by `schedule`).
   */
  private nextDelay(ok: boolean, full: boolean): number {
    if (this.queue.length === 0) return this.options.scheduledDelayMillis;
    return (ok && full) || this.queue.length >= this.batchSize ? 0 : this.options.scheduledDelayMillis;
  }

  private async exportBatch(batch: ReadableSpan[]): Promise<ExportResult> {
    await this.waitForResources(batch);
    return new Promise<ExportResult>((resolve) => {
      let givenUp = false;
      const guard = setTimeout(() => {
        // The exporter has not called back: the next export may start, but this
        // batch's fate is not known yet. It is counted when the exporter does
        // call back (a retry may still deliver it), or as lost at shutdown.
        givenUp = true;
        this.undecided += batch.length;
        resolve({ code: ExportResultCode.FAILED, error: new GivenUpError(this.options.exportTimeoutMillis) });
      }, this.options.exportTimeoutMillis + EXPORT_GRACE_MS);
      guard.unref();
      const done = (result: ExportResult): void => {
        clearTimeout(guard);
        if (!givenUp) {
          resolve(result);
          return;
        }
        if (this.undecided < batch.length) return; // Counted as lost at shutdown already.
        this.undecided -= batch.length;
        if (result.code === ExportResultCode.SUCCESS) this.exported += batch.length;
        else this.dropped.export_failed += batch.length;
      };
      // The exporter's own HTTP calls must not become spans.
      context.with(suppressTracing(context.active()), () => {
        try {
          this.exporter.export(batch, done);
        } catch (error) {
          done({ code: ExportResultCode.FAILED, error: error instanceof Error ? error : new Error(String(error)) });
        }
      });
    });
  }

  /**
   * Resources with attributes still to come (the service identity the module
   * settles, see service-identity.ts) are waited for, as the SDK's processor
   * does; bounded, since that wait has a timer of its own.
   */
  private async waitForResources(batch: ReadableSpan[]): Promise<void> {
    let pending: Promise<void>[] | undefined;
    for (const span of batch) {
      const resource = span.resource;
      if (resource.asyncAttributesPending && resource.waitForAsyncAttributes) {
        (pending ??= []).push(resource.waitForAsyncAttributes());
      }
    }
    if (pending) await until(Promise.all(pending), Date.now() + this.options.exportTimeoutMillis);
  }

  /** Counts the outcome, sets the backoff and writes the failing/recovered warnings. Returns success. */
  private settle(count: number, result: ExportResult): boolean {
    if (result.code === ExportResultCode.SUCCESS) {
      this.exported += count;
      this.failures = 0;
      this.backoffUntil = 0;
      if (this.outage) this.recovered(this.outage);
      return true;
    }
    const droppedBefore = this.dropped.queue_full + this.dropped.export_failed;
    this.exportFailures++;
    // A batch given up on is counted when the exporter calls back (see exportBatch).
    if (!(result.error instanceof GivenUpError)) this.dropped.export_failed += count;
    this.failures++;
    const detail = this.describeFailure(result.error);
    const now = Date.now();
    this.backoffUntil = now + this.backoff(detail.retryAfterMillis);
    if (this.outage === undefined) this.startOutage(now, droppedBefore, describe(result.error, detail), detail.retryAfterMillis);
    return false;
  }

  /**
   * The collector answered an export with an error, which the exporter may
   * still retry past: the outage (and its one warning) starts now, not when
   * the export finally fails. Nothing is counted here; a batch that is then
   * lost is counted when its export fails.
   */
  collectorFailed(detail: FailureDetail): void {
    if (this.closed || this.outage !== undefined) return;
    this.startOutage(
      Date.now(),
      this.dropped.queue_full + this.dropped.export_failed,
      `HTTP ${detail.status ?? '?'} from the collector`,
      detail.retryAfterMillis,
    );
  }

  private startOutage(now: number, droppedBefore: number, reason: string, retryAfterMillis: number | undefined): void {
    this.outage = { since: now, droppedBefore };
    this.warn(
      {
        endpoint: this.options.endpoint,
        error: reason,
        failing_since: new Date(now).toISOString(),
        ...(retryAfterMillis !== undefined ? { retry_after_ms: retryAfterMillis } : {}),
      },
      `nestjs-observability: exporting spans to ${this.options.endpoint} failed (${reason}); retrying one batch at a time after ` +
        `${this.initialBackoffMillis} ms, doubling up to ${this.maxBackoffMillis} ms (or what Retry-After asks). ` +
        `Up to ${this.options.maxQueueSize} spans wait in the queue; every span lost is counted in otel_spans_dropped_total. ` +
        'One more warning follows when export works again.',
    );
  }

  private recovered(outage: { since: number; droppedBefore: number }): void {
    this.outage = undefined;
    const lost = this.dropped.queue_full + this.dropped.export_failed - outage.droppedBefore;
    const failedForMs = Date.now() - outage.since;
    this.warn(
      {
        endpoint: this.options.endpoint,
        failing_since: new Date(outage.since).toISOString(),
        failed_for_ms: failedForMs,
        spans_lost: lost,
      },
      `nestjs-observability: exporting spans to ${this.options.endpoint} works again after ${Math.round(failedForMs / 1000)} s; ${lost} spans were lost meanwhile`,
    );
  }

  /** A logger that throws must not stop the export. */
  private warn(obj: object, msg: string): void {
    try {
      this.logger.warn(obj, msg);
    } catch (error) {
      diag.error('nestjs-observability: could not write a warning of the span export', error);
    }
  }

  /** 1 s, 2 s, 4 s … up to the cap, ±20 %; never less than `Retry-After`. */
  private backoff(retryAfterMillis: number | undefined): number {
    const base = Math.min(this.maxBackoffMillis, this.initialBackoffMillis * 2 ** Math.min(this.failures - 1, 30));
    const jittered = Math.min(this.maxBackoffMillis, base * (1 - JITTER + 2 * JITTER * this.random()));
    return retryAfterMillis === undefined ? jittered : Math.max(jittered, Math.min(retryAfterMillis, MAX_RETRY_AFTER_MS));
  }
}

/** `OTLPExporterError.code` is the HTTP status of an answer the exporter does not retry (400, 500 …). */
export function statusOfError(error: Error | undefined): FailureDetail {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' && code >= 100 && code < 600 ? { status: code } : {};
}

function describe(error: Error | undefined, detail: FailureDetail): string {
  const message = error?.message || 'export failed';
  return detail.status !== undefined ? `HTTP ${detail.status}: ${message}` : message;
}

/** `promise`'s value, or {@link NOTHING} if it rejects or `deadline` (epoch ms) passes first. The timer does not hold the process. */
function until<T>(promise: Promise<T>, deadline: number): Promise<T | typeof NOTHING> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(NOTHING), Math.max(0, deadline - Date.now()));
    timer.unref();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      () => {
        clearTimeout(timer);
        resolve(NOTHING);
      },
    );
  });
}
