import type { HealthCheckOutcome, HealthIndicator } from '../config/health-indicator.interface';
import { STALE_CALL_MS } from './health.constants';
import { describeError, toOutcome } from './safe-details';

interface PendingCall {
  readonly outcome: Promise<HealthCheckOutcome>;
  readonly since: number;
  readonly controller: AbortController;
}

const TIMED_OUT = Symbol('timed out');

/**
 * Runs one registered indicator with its timeout. It never throws and never
 * waits longer than the timeout, whatever the dependency does (refuses,
 * accepts and never answers, answers slowly). It keeps at most one call to the
 * dependency pending: a check that timed out is joined by the next run rather
 * than repeated, until it settles or is {@link STALE_CALL_MS} old.
 * @internal
 */
export class IndicatorRunner {
  /** The last state seen, for the gauge and for logging changes only. */
  last: 'up' | 'down' | undefined;
  private pending: PendingCall | undefined;

  constructor(
    readonly indicator: HealthIndicator,
    readonly timeoutMs: number,
  ) {}

  get name(): string {
    return this.indicator.name;
  }

  async run(): Promise<HealthCheckOutcome> {
    const call = this.call();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
      timer = setTimeout(resolve, this.timeoutMs, TIMED_OUT);
    });
    const result = await Promise.race([call.outcome, timeout]);
    clearTimeout(timer);
    if (result !== TIMED_OUT) return result;
    // Cancellable checks (fetch) stop here; the others stay pending and are joined next time.
    call.controller.abort(new Error(`health check "${this.name}" timed out after ${this.timeoutMs} ms`));
    return { status: 'down', message: `timed out after ${this.timeoutMs} ms` };
  }

  private call(): PendingCall {
    const now = performance.now();
    const pending = this.pending;
    if (pending !== undefined && now - pending.since < STALE_CALL_MS) return pending;
    const controller = new AbortController();
    const outcome = new Promise<unknown>((resolve) => resolve(this.indicator.check(controller.signal))).then(
      (value) => toOutcome(value, this.name),
      (error: unknown): HealthCheckOutcome => ({ status: 'down', message: describeError(error) }),
    );
    const call: PendingCall = { outcome, since: now, controller };
    this.pending = call;
    void outcome.then(() => {
      if (this.pending === call) this.pending = undefined;
    });
    return call;
  }
}
