import autocannon from 'autocannon';

/** One load run's outcome. */
export interface LoadResult {
  /** Responses with a 2xx status. */
  ok: number;
  /** Responses with any other status, connection errors and timeouts. */
  failed: number;
  /** Wall-clock seconds from the first request to the stop. */
  seconds: number;
  /** 2xx responses per second. */
  rps: number;
  /** Latency percentiles of 2xx responses, in milliseconds. */
  p50: number;
  p99: number;
}

/** What to load and how hard. */
export interface LoadOptions {
  url: string;
  connections: number;
  /** Seconds; the run stops by itself. */
  duration: number;
}

/**
 * Loads `url` with autocannon for a bounded time. Latencies are recorded here,
 * in microseconds, rather than read from autocannon's histogram, which keeps
 * whole milliseconds: too coarse for a server answering in one or two.
 */
export function runLoad(options: LoadOptions): Promise<LoadResult> {
  if (!/^http:\/\/127\.0\.0\.1:\d+\//.test(options.url)) {
    // The bench only ever loads its own servers on the loopback interface.
    return Promise.reject(new Error(`refusing to load ${options.url}: only http://127.0.0.1 is a target`));
  }
  const latencies = new LatencyRecorder();
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const instance = autocannon(
      { url: options.url, connections: options.connections, duration: options.duration, pipelining: 1, timeout: 10 },
      (error, result) => {
        if (error) {
          reject(error);
          return;
        }
        const seconds = (performance.now() - started) / 1000;
        const ok = result['2xx'];
        const [p50, p99] = latencies.percentiles(50, 99);
        resolve({ ok, failed: result.non2xx + result.errors + result.timeouts, seconds, rps: ok / seconds, p50, p99 });
      },
    );
    instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
      if (statusCode >= 200 && statusCode < 300) latencies.record(responseTime);
    });
  });
}

/** Every latency of a run (a few hundred thousand at most), for exact percentiles. */
class LatencyRecorder {
  private values = new Float64Array(1 << 16);
  private count = 0;

  record(ms: number): void {
    if (this.count === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.count++] = ms;
  }

  /** Nearest-rank percentiles, in milliseconds; NaN when nothing was recorded. */
  percentiles(...ps: number[]): number[] {
    const sorted = this.values.subarray(0, this.count).sort();
    return ps.map((p) =>
      this.count === 0 ? Number.NaN : sorted[Math.min(this.count - 1, Math.max(0, Math.ceil((p / 100) * this.count) - 1))],
    );
  }
}
