import { type ELDHistogram, monitorEventLoopDelay } from 'node:perf_hooks';

import type { HealthCheckOutcome, HealthIndicator } from '../../config/health-indicator.interface';
import { ObservabilityError } from '../../shared/observability.errors';

/** Options of {@link EventLoopDelayHealthIndicator}. */
export interface EventLoopDelayOptions {
  /** Down when the delay at `percentile` since the previous check exceeds this. @default 200 */
  maxDelayMs?: number;
  /** @default 99 */
  percentile?: number;
  /** @default 'event_loop' */
  name?: string;
}

/**
 * Up while the event loop's delay (at `percentile`, since the previous check)
 * stays at or under `maxDelayMs`: a loop blocked by CPU-bound work cannot
 * serve requests in time. Its sampling stops when the application shuts down
 * or the indicator is unregistered.
 *
 * @example
 * new EventLoopDelayHealthIndicator({ maxDelayMs: 100 }); // { "event_loop": { "status": "up", "delayMs": 10.4, "maxDelayMs": 100 } }
 */
export class EventLoopDelayHealthIndicator implements HealthIndicator {
  readonly name: string;
  private readonly maxDelayMs: number;
  private readonly percentile: number;
  private readonly histogram: ELDHistogram;

  constructor(options: EventLoopDelayOptions = {}) {
    this.name = options.name ?? 'event_loop';
    this.maxDelayMs = options.maxDelayMs ?? 200;
    this.percentile = options.percentile ?? 99;
    if (typeof this.maxDelayMs !== 'number' || !(this.maxDelayMs > 0)) {
      throw new ObservabilityError(
        `EventLoopDelayHealthIndicator: maxDelayMs must be a positive number; got ${JSON.stringify(options.maxDelayMs)}.`,
      );
    }
    if (typeof this.percentile !== 'number' || !(this.percentile > 0 && this.percentile <= 100)) {
      throw new ObservabilityError(
        `EventLoopDelayHealthIndicator: percentile must be above 0 and at most 100; got ${JSON.stringify(options.percentile)}.`,
      );
    }
    this.histogram = monitorEventLoopDelay({ resolution: 10 });
    this.histogram.enable();
  }

  check(): HealthCheckOutcome {
    // No sample yet (checked right after start): nothing says the loop is slow.
    const delayMs = this.histogram.count === 0 ? 0 : Math.round(this.histogram.percentile(this.percentile) / 1e4) / 100;
    this.histogram.reset();
    const maxDelayMs = this.maxDelayMs;
    return delayMs <= maxDelayMs
      ? { status: 'up', delayMs, maxDelayMs }
      : { status: 'down', delayMs, maxDelayMs, message: 'event loop delay above maxDelayMs' };
  }

  dispose(): void {
    this.histogram.disable();
  }
}
