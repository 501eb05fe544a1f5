/**
 * The time the application has left to stop (`health.shutdown.timeoutMs` from
 * the signal on), shared by whoever starts the shutdown sequence (the health
 * pillar) and whoever flushes at its end (tracing, error reports), so that a
 * dead collector cannot hold the process past it.
 * @internal
 */
export class ShutdownBudget {
  private deadline = Number.POSITIVE_INFINITY;

  /** Starts the clock; only the first call counts. */
  begin(timeoutMs: number): void {
    if (this.deadline === Number.POSITIVE_INFINITY) this.deadline = performance.now() + timeoutMs;
  }

  /** Milliseconds left (infinite before the sequence began). */
  remainingMs(): number {
    return this.deadline === Number.POSITIVE_INFINITY ? Number.POSITIVE_INFINITY : Math.max(0, this.deadline - performance.now());
  }
}
