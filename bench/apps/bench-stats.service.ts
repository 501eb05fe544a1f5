import { writeFileSync } from 'node:fs';

import { Injectable, type OnApplicationShutdown } from '@nestjs/common';

/** What a bench app reports to the harness when it stops. */
export interface BenchAppStats {
  /** Requests the measured route completed, start-up probes included. */
  handled: number;
}

/**
 * Counts the requests the measured route handled. The harness needs the
 * server's own count: the load generator does not count the requests still in
 * flight when it stops, and every handled request should have produced a span.
 * One integer increment per request, the same in every variant.
 */
@Injectable()
export class BenchStatsService implements OnApplicationShutdown {
  handled = 0;

  /**
   * Runs after the HTTP server has closed, so the count is final. Synchronous
   * write: the process may be about to re-raise the signal and die.
   */
  onApplicationShutdown(): void {
    const file = process.env.BENCH_STATS_FILE;
    if (!file) return;
    const stats: BenchAppStats = { handled: this.handled };
    writeFileSync(file, JSON.stringify(stats));
  }
}
