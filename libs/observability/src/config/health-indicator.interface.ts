/** A value an indicator may report: shown under its name in `/health` details. */
export type HealthDetailValue = string | number | boolean | null;

/**
 * What a check reports: `status` and any data worth showing. Keep data free of
 * hosts, user names and secrets: it is served to whoever may see details.
 *
 * @example
 * { status: 'up', queued: 3 }
 * { status: 'down', message: 'backlog above 1000' }
 */
export type HealthCheckOutcome = { status: 'up' | 'down' } & { [key: string]: HealthDetailValue };

/**
 * A check as a function. It may return an outcome, a boolean (`true` up,
 * `false` down) or a Terminus result (`() => typeOrm.pingCheck('database')`);
 * a throw or a rejection counts as down, with a message that keeps no host,
 * port, user name or stack. `signal` aborts when the check runs out of time:
 * pass it to `fetch` and other cancellable calls.
 *
 * @example
 * health.register('payments-queue', async (signal) => {
 *   const depth = await queue.depth({ signal });
 *   return depth < 1000 ? { status: 'up', depth } : { status: 'down', depth, message: 'backlog' };
 * });
 */
export type HealthCheckFunction = (signal: AbortSignal) => HealthCheckReturn | PromiseLike<HealthCheckReturn>;

/** What a {@link HealthCheckFunction} may return. */
export type HealthCheckReturn = HealthCheckOutcome | boolean | TerminusIndicatorResult;

/** A Terminus indicator's result (`{ database: { status: 'up' } }`), accepted as it is. */
export type TerminusIndicatorResult = Record<string, { status: 'up' | 'down' | 'degraded' } & Record<string, unknown>>;

/**
 * A named dependency check, run by `/health/ready` and `/health` with a timeout.
 * The built-in ones (`PostgresHealthIndicator`, `RedisHealthIndicator`, …)
 * implement it; so can yours.
 *
 * @example
 * class QueueHealthIndicator implements HealthIndicator {
 *   readonly name = 'queue';
 *   constructor(private readonly queue: Queue) {}
 *   async check(): Promise<HealthCheckOutcome> {
 *     return (await this.queue.isReady()) ? { status: 'up' } : { status: 'down', message: 'not ready' };
 *   }
 * }
 */
export interface HealthIndicator {
  /** Key in the bodies and `indicator` label of `health_indicator_status`: 1-64 of `A-Z a-z 0-9 _ . -`. */
  readonly name: string;
  /** Overrides `health.timeoutMs` for this indicator. */
  readonly timeoutMs?: number;
  /** The check. A throw, a rejection or running out of time counts as down. */
  check(signal: AbortSignal): HealthCheckReturn | PromiseLike<HealthCheckReturn>;
  /** Releases what the indicator holds (a timer, a histogram); called when the application shuts down or the indicator is unregistered. */
  dispose?(): void;
}
