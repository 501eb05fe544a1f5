import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Agent, get } from 'node:http';
import { join } from 'node:path';

import { OtlpReceiver, type ReceivedSpan } from 'nestjs-observability/testing';

import { ADAPTERS } from './utils/bootstrap';
import { ChildApp } from './utils/child-app';
import { POSTGRES_URL, REDIS_URL, requireServices } from './utils/services';

/** The built orders app (PostgreSQL + Redis), run as a user runs it. */
const ORDERS_MAIN = join(__dirname, '..', 'dist', 'apps', 'orders', 'main.js');

/** The child-process suites run the built app: say how to get it rather than fail on a missing file. */
beforeAll(() => {
  if (!existsSync(ORDERS_MAIN)) {
    throw new Error(`${ORDERS_MAIN} is missing: run \`npm run build\` (apps/orders must be referenced in tsconfig.build.json).`);
  }
});
/** The drain delay the load test asks for. */
const DRAIN_MS = 1_000;
/** OTLP's span kind for a server span (the API's SpanKind.SERVER + 1). */
const SERVER = 2;

interface Outcome {
  /** The x-request-id sent (load requests only). */
  id?: string;
  start: number;
  end: number;
  status?: number;
  error?: string;
  connection?: string;
  body?: string;
}

/** One GET on the given agent; resolves with the status or the error code, never rejects. */
function fetchOnce(url: string, agent: Agent, t0: number, id?: string): Promise<Outcome> {
  const start = performance.now() - t0;
  return new Promise((resolve) => {
    const failed = (error: NodeJS.ErrnoException) =>
      resolve({ id, start, end: performance.now() - t0, error: error.code ?? error.message });
    const req = get(url, { agent, headers: id ? { 'x-request-id': id } : {} }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () =>
        resolve({ id, start, end: performance.now() - t0, status: res.statusCode, connection: res.headers.connection, body }),
      );
      res.on('error', failed);
    });
    req.on('error', failed);
  });
}

/**
 * Runs `loops` clients, each sending a request at most every `everyMs`, until
 * each is refused a connection (the server stopped accepting) or `deadlineMs` passes.
 * A steady rate, not a flood: the test is about shutdown, not saturation.
 */
async function untilRefused(
  url: string,
  loops: number,
  everyMs: number,
  agent: Agent,
  t0: number,
  deadlineMs: number,
  ids?: string,
): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  const deadline = Date.now() + deadlineMs;
  let sent = 0;
  await Promise.all(
    Array.from({ length: loops }, async () => {
      while (Date.now() < deadline) {
        const outcome = await fetchOnce(url, agent, t0, ids === undefined ? undefined : `${ids}-${++sent}`);
        outcomes.push(outcome);
        if (outcome.error === 'ECONNREFUSED') return;
        const wait = everyMs - (outcome.end - outcome.start);
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }),
  );
  return outcomes.sort((a, b) => a.start - b.start);
}

function serverSpans(spans: readonly ReceivedSpan[], name: string): ReceivedSpan[] {
  return spans.filter((s) => s.kind === SERVER && s.name === name);
}

function report(what: string, values: Record<string, number>): void {
  // Timings for humans reading a run (REPORT_TIMINGS=1); assertions do not depend on them.
  if (process.env.REPORT_TIMINGS) process.stdout.write(`${what}: ${JSON.stringify(values)}\n`);
}

const servicesHere = requireServices('postgres', 'redis');

(servicesHere ? describe.each(ADAPTERS) : describe.skip.each(ADAPTERS))('shutdown of the orders app under steady load on %s', (adapter) => {
  it('fails readiness within 100 ms of SIGTERM, keeps liveness and traffic up through the drain, fails no request, and flushes one span and one log line per response', async () => {
    const receiver = await OtlpReceiver.start();
    const app = await ChildApp.start({
      main: ORDERS_MAIN,
      env: {
        DATABASE_URL: POSTGRES_URL,
        REDIS_URL,
        HTTP_ADAPTER: adapter,
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
        SHUTDOWN_DRAIN_DELAY_MS: String(DRAIN_MS),
      },
    });
    const load = new Agent({ keepAlive: true, maxSockets: 8 });
    const probes = new Agent({ keepAlive: false });
    try {
      const placed = await fetch(`${app.url}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"item":"book","quantity":1}',
      });
      const { id } = (await placed.json()) as { id: number };
      const orderUrl = `${app.url}/orders/${id}`;

      // Times are milliseconds since `base`.
      const base = performance.now();
      // About 800 requests a second, and a probe of each kind every 5 ms.
      const traffic = untilRefused(orderUrl, 8, 10, load, base, 15_000, 'load');
      const readiness = untilRefused(`${app.url}/health/ready`, 4, 5, probes, base, 15_000);
      const liveness = untilRefused(`${app.url}/health/live`, 1, 5, probes, base, 15_000);
      // Steady state first.
      await new Promise((resolve) => setTimeout(resolve, 500));
      const sigtermAt = performance.now() - base;
      const exit = await app.stop(15_000);
      const exitedAt = performance.now() - base;
      const [requests, ready, live] = await Promise.all([traffic, readiness, liveness]);

      // The process exited as Node does on SIGTERM, after Nest's close.
      expect({ exit, stderr: app.stderr }).toEqual({ exit: { code: null, signal: 'SIGTERM' }, stderr: '' });

      // A connection refused or reset is the port closing, not a failed request, only
      // when it came after the drain and the server never saw the request.
      const closing = (o: Outcome) => (o.error === 'ECONNREFUSED' || o.error === 'ECONNRESET') && o.end >= sigtermAt + DRAIN_MS;

      // Readiness: 200 before the signal, 503 shutting_down from within 100 ms of it, never 200 again.
      const firstDown = ready.find((o) => o.status === 503);
      expect(firstDown?.body).toBe('{"status":"shutting_down"}');
      const flipMs = firstDown!.end - sigtermAt;
      // The flip is judged by when probes were sent, not by how long a loaded machine took
      // to answer them: every probe sent 100 ms or more after SIGTERM saw 503.
      const lateUps = ready
        .filter((o) => o.start >= sigtermAt + 100 && o.status === 200)
        .map((o) => ({ sentAfterMs: o.start - sigtermAt }));
      expect(lateUps).toEqual([]);
      const readyAfterFlip = ready.filter((o) => o.start >= firstDown!.end && o.status !== 503 && !closing(o));
      expect(readyAfterFlip).toEqual([]);
      expect(ready.filter((o) => o.end < sigtermAt).every((o) => o.status === 200)).toBe(true);

      const lines = app.records.filter((r) => r.msg === 'request completed' && r.route === '/orders/:id');
      const seen = new Set(lines.map((l) => l.request_id));

      // Liveness: 200 until the port closed.
      expect(live.filter((o) => o.status !== 200 && !closing(o))).toEqual([]);
      expect(live.filter((o) => o.status === 200 && o.start > sigtermAt).length).toBeGreaterThan(0);

      // Traffic: every request the server saw succeeded; the drain kept serving.
      const failed = requests.filter((o) => o.error !== undefined && !(closing(o) && !seen.has(o.id)));
      const non2xx = requests.filter((o) => o.status !== undefined && (o.status < 200 || o.status >= 300));
      expect({ failed, non2xx }).toEqual({ failed: [], non2xx: [] });
      const ok = requests.filter((o) => o.status !== undefined);
      const servedDuringDrain = ok.filter((o) => o.start > sigtermAt);
      expect(servedDuringDrain.length).toBeGreaterThan(0);
      // Once the flip is observed, responses ask clients to close: none keeps an idle connection into the close.
      expect(ok.filter((o) => o.start > firstDown!.end && o.connection !== 'close')).toEqual([]);
      const refusedAt = Math.min(...requests.filter((o) => o.error !== undefined).map((o) => o.end));
      const resets =
        requests.filter((o) => o.error === 'ECONNRESET').length +
        ready.filter((o) => o.error === 'ECONNRESET').length +
        live.filter((o) => o.error === 'ECONNRESET').length;

      // Exactly one server span and one request log line per response (the placing POST aside).
      const spans = serverSpans(receiver.spans, 'GET /orders/:id');
      expect({ spans: spans.length, lines: lines.length }).toEqual({ spans: ok.length, lines: ok.length });
      expect(lines.filter((l) => l.status !== 200 || l.aborted)).toEqual([]);
      expect(ok.filter((o) => !seen.has(o.id))).toEqual([]);
      // Probes made neither spans nor lines.
      expect(receiver.spans.filter((s) => String(s.attributes['url.path'] ?? '').startsWith('/health'))).toEqual([]);
      expect(app.records.filter((r) => r.msg === 'request completed' && String(r.path).startsWith('/health'))).toEqual([]);

      report(`shutdown on ${adapter}`, {
        requests: ok.length,
        served_during_drain: servedDuringDrain.length,
        flip_ms: Math.round(flipMs * 10) / 10,
        port_closed_after_ms: Math.round(refusedAt - sigtermAt),
        resets_of_unseen_connections: resets,
        exited_after_ms: Math.round(exitedAt - sigtermAt),
      });
    } finally {
      load.destroy();
      probes.destroy();
      await app.stop();
      await receiver.close();
    }
  }, 40_000);
});

(servicesHere ? describe : describe.skip)('shutdown of the orders app, bounded', () => {
  it('exits within health.shutdown.timeoutMs when the collector accepts spans and never answers', async () => {
    const receiver = await OtlpReceiver.start({ hang: true });
    const app = await ChildApp.start({
      main: ORDERS_MAIN,
      env: {
        DATABASE_URL: POSTGRES_URL,
        REDIS_URL,
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
        // Spans wait for the shutdown flush, which the collector never answers.
        OTEL_BSP_SCHEDULE_DELAY: '60000',
        SHUTDOWN_DRAIN_DELAY_MS: '500',
        SHUTDOWN_TIMEOUT_MS: '3000',
      },
    });
    try {
      for (let i = 0; i < 20; i++) await fetch(`${app.url}/orders/1`);
      const started = performance.now();
      const exit = await app.stop(15_000);
      const tookMs = performance.now() - started;
      expect(exit).toEqual({ code: null, signal: 'SIGTERM' });
      // The budget, plus what a process needs to exit.
      expect({ tookMs, withinBudget: tookMs < 3_000 + 750 }).toEqual({ tookMs, withinBudget: true });
      // One warning, and it counts what was lost (at least the 20 requests' server spans).
      const warnings = app.records.filter((r) => r.level === 'warn').map((r) => r.msg as string);
      expect(warnings).toEqual([expect.stringMatching(/^nestjs-observability: \d+ spans not exported at shutdown \(/)]);
      expect(Number(/: (\d+) spans/.exec(warnings[0])![1])).toBeGreaterThanOrEqual(20);
      report('shutdown with a hung collector', { budget_ms: 3000, exited_after_ms: Math.round(tookMs) });
    } finally {
      await app.stop();
      await receiver.close();
    }
  }, 30_000);

  it('on SIGINT fails readiness at once and closes without the drain delay', async () => {
    // ChildApp stops with SIGTERM; this one process is driven by hand.
    const child = spawn(process.execPath, ['--require', 'nestjs-observability/register', ORDERS_MAIN], {
      cwd: join(__dirname, '..'),
      env: { PATH: process.env.PATH, PORT: '0', DATABASE_URL: POSTGRES_URL, REDIS_URL, SHUTDOWN_DRAIN_DELAY_MS: '5000' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    try {
      for (let waited = 0; !stdout.includes(' listening on http://'); waited += 25) {
        if (waited > 15_000 || child.exitCode !== null) throw new Error(`the orders app did not start; stdout:\n${stdout}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      const started = performance.now();
      child.kill('SIGINT');
      expect(await exited).toEqual({ code: null, signal: 'SIGINT' });
      const tookMs = performance.now() - started;
      expect({ tookMs, withoutDrain: tookMs < 2_000 }).toEqual({ tookMs, withoutDrain: true });
      const records = stdout.split('\n').flatMap((line) => (line.startsWith('{') ? [JSON.parse(line) as Record<string, unknown>] : []));
      expect(records.find((r) => r.signal === 'SIGINT')).toMatchObject({
        drain_delay_ms: 0,
        msg: 'nestjs-observability: SIGINT: shutting down; readiness fails from now on',
      });
    } finally {
      clearTimeout(killer);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    }
  });
});
