import { Worker } from 'node:worker_threads';

/** One bounded run at a fixed overall rate. */
export interface RateLoadResult {
  /** Requests sent (every one of them is answered, fails or times out before the run ends). */
  sent: number;
  /** Responses with a 2xx status. */
  ok: number;
  /** Every request that did not get a 2xx: other statuses, connection errors, timeouts. */
  failed: number;
  /** Responses with another status than 2xx. */
  non2xx: number;
  /** Wall-clock seconds from the first request to the last answer. */
  seconds: number;
  /** Latency percentiles of the 2xx responses, in milliseconds (NaN if none). */
  p50: number;
  p99: number;
  /** Statuses seen, with their counts; failures without a response under `error:<code>`. */
  outcomes: Record<string, number>;
}

export interface RateLoadOptions {
  /** `http://127.0.0.1:<port>`: nothing else is ever loaded. */
  origin: string;
  /** Requests per second, over all connections. */
  rate: number;
  /** Seconds of sending: `rate × seconds` requests in all. */
  seconds: number;
  /** The path of the i-th request (0-based); called `rate × seconds` times before the run starts. */
  path: (i: number) => string;
  /** Keep-alive connections at most. @default 64 */
  connections?: number;
  /** Seconds before a request counts as failed. @default 10 */
  timeout?: number;
}

/**
 * Sends `rate × seconds` GETs, one every `1000 / rate` ms (open loop: a slow answer does not
 * delay the next request), over at most `connections` keep-alive connections, and resolves
 * when every request has been answered or has failed (each within `timeout`), so the run is
 * bounded by `seconds + timeout` and no request is abandoned uncounted.
 *
 * Why not autocannon's `overallRate` (bench/harness/load.ts uses autocannon): it lets each
 * connection send its share of a second's requests back to back at the start of that second,
 * then pause, so 300 req/s arrive as bursts and p99 measures the queue a burst builds rather
 * than what a fault adds. And a run that stops on `duration` drops the requests in flight
 * from its counts while the server still serves them (a span and a line each), which makes
 * "2xx responses − spans received" wrong by up to one request per connection.
 *
 * The requests are sent from a worker thread: the Jest thread decodes every OTLP export the
 * receivers get and parses every log line, and its pauses would otherwise count as the app's
 * latency. Latency is measured from the time a request was due, not from when it was sent, so
 * a server that falls behind shows as latency rather than as a lower rate.
 */
export function rateLoad(options: RateLoadOptions): Promise<RateLoadResult> {
  if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(options.origin)) {
    return Promise.reject(new Error(`refusing to load ${options.origin}: only http://127.0.0.1:<port> is a target`));
  }
  const total = Math.max(1, Math.round(options.rate * options.seconds));
  const urls = Array.from({ length: total }, (_, i) => `${options.origin}${options.path(i)}`);
  const settings = { urls, every: 1000 / options.rate, timeoutMs: (options.timeout ?? 10) * 1000, connections: options.connections ?? 64 };
  return new Promise((resolve, reject) => {
    const worker = new Worker(LOAD_WORKER, { eval: true, workerData: settings });
    worker.once('message', (result: RateLoadResult) => resolve(result));
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`the load worker exited with ${code}`));
    });
  });
}

/** The worker: plain JavaScript, since it runs outside Jest's transform. */
const LOAD_WORKER = `
const { Agent, get } = require('node:http');
const { parentPort, workerData } = require('node:worker_threads');
const { urls, every, timeoutMs, connections } = workerData;
const total = urls.length;
const agent = new Agent({ keepAlive: true, maxSockets: connections });
const latencies = new Float64Array(total);
const outcomes = {};
const count = (key) => (outcomes[key] = (outcomes[key] || 0) + 1);
let ok = 0, non2xx = 0, done = 0, sent = 0;
const started = performance.now();
const finish = () => {
  agent.destroy();
  const sorted = latencies.subarray(0, ok).sort();
  const pct = (p) => (ok === 0 ? NaN : sorted[Math.min(ok - 1, Math.max(0, Math.ceil((p / 100) * ok) - 1))]);
  parentPort.postMessage({ sent, ok, failed: total - ok, non2xx, seconds: (performance.now() - started) / 1000, p50: pct(50), p99: pct(99), outcomes });
};
const settle = () => { if (++done === total) finish(); };
const fire = (i, due) => {
  let answered = false;
  const failed = (error) => {
    if (answered) return;
    answered = true;
    count('error:' + (error.code || error.message));
    settle();
  };
  const req = get(urls[i], { agent }, (res) => {
    res.resume();
    res.on('end', () => {
      if (answered) return;
      answered = true;
      const status = res.statusCode || 0;
      count(String(status));
      if (status >= 200 && status < 300) latencies[ok++] = performance.now() - due;
      else non2xx++;
      settle();
    });
    res.on('error', failed);
  });
  req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
  req.on('error', failed);
};
const tick = () => {
  // Everything due by now goes out in this turn: timers are no finer than a millisecond.
  const due = Math.min(total, Math.floor((performance.now() - started) / every) + 1);
  for (; sent < due; sent++) fire(sent, started + sent * every);
  if (sent < total) setTimeout(tick, Math.max(0, started + sent * every - performance.now()));
};
tick();
`;
