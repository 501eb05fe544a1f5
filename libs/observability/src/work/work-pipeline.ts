import type { UnitOfWork } from '../context/unit-of-work';

/** How bad a failure is: the client's fault (a 4xx), the server's, or one that ends the process. */
export type FailureSeverity = 'client' | 'server' | 'fatal';

/**
 * An error that reached the library: from the exception filter (inside a unit
 * of work) or from the process handlers (unhandled rejection, uncaught exception).
 * @internal
 */
export interface WorkFailure {
  readonly error: unknown;
  readonly severity: FailureSeverity;
  /** The error's class name (`error.type`, the `error_type` label). */
  readonly errorType: string;
  /** The log message. */
  readonly message: string;
  /** The unit it happened in, if any. */
  readonly unit: UnitOfWork | undefined;
  /** HTTP status of the answer, when there is one. */
  readonly status: number | undefined;
  readonly route: string | undefined;
  /** Set for errors outside any handler: `unhandledRejection` or `uncaughtException`. */
  readonly origin: 'unhandledRejection' | 'uncaughtException' | undefined;
  /** Whether the error goes to the error reporter (Sentry) and `app_errors_total`. */
  readonly reported: boolean;
  /**
   * What the client was told beyond `message`, for a 4xx `HttpException`: the
   * `message` of its body when that says more (the messages of a `ValidationPipe`).
   */
  readonly details?: string | readonly string[];
}

/**
 * A message a driver sent (a producer's `emit()`/`send()`, a job added to a
 * queue): not a unit of work of this service, but counted by the metrics pillar.
 * @internal
 */
export interface ProducedMessage {
  /** `messaging.system`: `rabbitmq`, `nats`, `bullmq` … */
  readonly system: string;
  /** `messaging.destination.name`: the pattern, subject or queue. */
  readonly destination: string;
  /** `error.type` when sending failed. */
  readonly errorType: string | undefined;
}

/**
 * A pillar's part in every unit of work. Hooks run in `order` (lowest first)
 * at each step, so that the span ends (and its ids are known) before the
 * metrics take their exemplar and the log line its `trace_id`.
 * @internal
 */
export interface WorkHook {
  /** Tracing 10, metrics 20, logging 30, error reporting 40. */
  readonly order: number;
  /** Before any of the unit's own code runs, outside its context. */
  start?(unit: UnitOfWork): void;
  /** Once the outcome is final (status, route, duration set by the driver). */
  finish?(unit: UnitOfWork): void;
  /** An error was handled; runs in the failing unit's context when there is one. */
  fail?(failure: WorkFailure): void;
  /** A driver sent a message (after it was sent, or failed to be). */
  produced?(message: ProducedMessage): void;
}

/**
 * The unit-of-work lifecycle: start → (the driver enriches: route, status) →
 * finish, plus failures. Each switched-on pillar registers its hook while the
 * application initialises; a switched-off pillar registers nothing, so the
 * lists hold only what runs. Per unit it is a loop over a short array of
 * objects: no closure, no lookup, no check for a pillar that is off.
 * @internal
 */
export class WorkPipeline {
  private starts: readonly WorkHook[] = [];
  private finishes: readonly WorkHook[] = [];
  private failures: readonly WorkHook[] = [];
  private producers: readonly WorkHook[] = [];
  private readonly hooks: WorkHook[] = [];

  /** Adds a pillar's hook. Called while the application initialises. */
  register(hook: WorkHook): void {
    this.hooks.push(hook);
    const sorted = [...this.hooks].sort((a, b) => a.order - b.order);
    this.starts = sorted.filter((h) => h.start !== undefined);
    this.finishes = sorted.filter((h) => h.finish !== undefined);
    this.failures = sorted.filter((h) => h.fail !== undefined);
    this.producers = sorted.filter((h) => h.produced !== undefined);
  }

  /** Whether any pillar observes units of work (else drivers need not make them). */
  get observing(): boolean {
    return this.starts.length > 0 || this.finishes.length > 0;
  }

  start(unit: UnitOfWork): void {
    const hooks = this.starts;
    for (let i = 0; i < hooks.length; i++) hooks[i].start!(unit);
  }

  finish(unit: UnitOfWork): void {
    const hooks = this.finishes;
    for (let i = 0; i < hooks.length; i++) hooks[i].finish!(unit);
  }

  /** Never throws: counting a message must not fail the send. */
  produced(message: ProducedMessage): void {
    for (const hook of this.producers) {
      try {
        hook.produced!(message);
      } catch {
        // Counting must not fail what was counted.
      }
    }
  }

  /** Never throws: a failing hook must not keep the others from their part, nor the client from its answer. */
  fail(failure: WorkFailure): void {
    for (const hook of this.failures) {
      try {
        hook.fail!(failure);
      } catch {
        // Reporting an error must not raise another one.
      }
    }
  }
}
