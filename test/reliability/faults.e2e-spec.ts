/**
 * The reliability fault suite (issue "Reliability and security"): each scenario is a fault put
 * to the hello app run as users run it (a child process with the register preload, on Fastify),
 * with assertions and figures. Quick mode runs inside `npm test`; `npm run test:reliability`
 * (RELIABILITY_FULL=1) runs the full durations and writes RELIABILITY.md at the repository root.
 * Quick mode writes test/reliability/out/RELIABILITY.quick.md.
 *
 * Every figure is a row (scenario, measured, criterion, pass/fail), collected in memory and
 * rendered once in `afterAll`; each test then asserts that none of its rows failed, listing
 * what was measured. Criteria are the target behaviour, not today's.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { Agent } from 'node:http';
import { join } from 'node:path';

import { OtlpReceiver, type ReceivedSpan } from 'nestjs-observability/testing';

import { ChildApp, HELLO_MAIN } from '../utils/child-app';
import { type CollectorMode, FaultCollector } from './fault-collector';
import { failures, Figures, type Row } from './figures';
import { fetchOnce, type Outcome, rawRequest, type RawResponse } from './http';
import { rateLoad, type RateLoadResult } from './load';
import { type Line, LogReader, sleep } from './logs';
import { scrape, sumOf } from './prom-text';

const FULL = process.env.RELIABILITY_FULL === '1';
const ROOT = join(__dirname, '..', '..');
const OUT = FULL ? join(ROOT, 'RELIABILITY.md') : join(__dirname, 'out', 'RELIABILITY.quick.md');

/** Durations and sizes: quick (inside `npm test`) and full (`npm run test:reliability`). */
const P = FULL
  ? {
      faultRate: 1_000,
      baselineS: 3,
      faultS: 60,
      faultsAtOnce: 1,
      outageRate: 200,
      healthyS: 5,
      outageS: 60,
      afterS: 10,
      ids: 10_000,
      sigtermRuns: 10,
    }
  : {
      faultRate: 300,
      baselineS: 3,
      faultS: 10,
      faultsAtOnce: 2,
      outageRate: 200,
      healthyS: 2,
      outageS: 5,
      afterS: 2,
      ids: 2_000,
      sigtermRuns: 2,
    };

/** The counter the app keeps of spans it could not export, summed over its `reason` label. */
const DROPPED = 'otel_spans_dropped_total';
/** OTLP span kind of a server span. */
const SERVER = 2;
const USER_SPAN = 'GET /users/:id';
const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;
const MB = 1024 * 1024;

const figures = new Figures();

/** The hello app on Fastify, exporting to `endpoint`. */
/** The drain of scenario 6: readiness fails, the port stays open this long. */
const SIGTERM_DRAIN_MS = 500;

function appEnv(endpoint: string, extra: Record<string, string> = {}): Record<string, string> {
  return { HTTP_ADAPTER: 'fastify', OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, ...extra };
}

beforeAll(() => {
  if (!existsSync(HELLO_MAIN)) throw new Error(`${HELLO_MAIN} is missing: run \`npm run build\` first.`);
});

afterAll(() => {
  figures.elsewhere.push(
    {
      scenario: 'Stalled stdout',
      suite: 'test/stalled-stdout.e2e-spec.ts',
      asserts:
        'with the reader of stdout paused: 2,000 requests all 200, SIGTERM exit within the 3 s budget + 1 s, no record cut or glued; when the reader resumes during shutdown, every request line written once and no warn line.',
    },
    {
      scenario: 'PostgreSQL stopped (unreachable)',
      suite: 'test/health.e2e-spec.ts',
      asserts:
        'readiness 503 within 2 s naming the indicator ("connection refused"), no host, port or user in the body, liveness stays 200, readiness back to 200 after.',
    },
    {
      scenario: 'Redis frozen (SIGSTOP: accepts connections, never answers)',
      suite: 'test/health.e2e-spec.ts',
      asserts:
        'readiness 503 within 2 s ("timed out after 1000 ms"), liveness 200 in under 100 ms, health_indicator_status 0 then 1, one warn line down and one info line up again, recovery on SIGCONT.',
    },
    {
      scenario: 'PostgreSQL and Redis up (the orders app)',
      suite: 'test/health-orders.e2e-spec.ts',
      asserts:
        'exact health bodies of the PostgreSQL and Redis indicators, their gauges, and no traces of their checks; start-up refused on bad configuration.',
    },
  );
  figures.write(
    OUT,
    FULL ? 'Reliability figures' : 'Reliability figures (quick mode)',
    FULL ? 'full mode, `npm run test:reliability`' : 'quick mode, inside `npm test`',
  );
});

// --- helpers ----------------------------------------------------------------------------

const ms = (value: number | undefined) => (value === undefined || Number.isNaN(value) ? 'n/a' : `${value.toFixed(1)} ms`);
const mb = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`;
const counts = (record: Record<string, number>) =>
  Object.entries(record)
    .map(([k, v]) => `${k}×${v}`)
    .join(', ') || 'none';
const tally = (values: readonly string[]) => {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
};
const json = (value: unknown) => JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v));

/**
 * The library's lines about exports (see the notes of the figures for the texts seen): the one
 * that says exports started failing names the failure ("… failed (HTTP 503 …)"), the one that
 * says they work again does not. Matched loosely so that a reworded message still counts; the
 * level is checked by the criteria, not here.
 */
const isRecoveryLine = (l: Line) =>
  (l.level === 'warn' || l.level === 'info') &&
  /export/i.test(String(l.msg)) &&
  !/fail/i.test(String(l.msg)) &&
  /(again|recover|resum|restor)/i.test(String(l.msg));
const isFailingWarning = (l: Line) => l.level === 'warn' && /export/i.test(String(l.msg)) && /fail/i.test(String(l.msg));

/**
 * Spans that never reached the collector as far as the app can know, i.e. what
 * `otel_spans_dropped_total` must count: those made minus those received, plus those received in
 * a POST whose answer the collector cut (the exporter saw the export fail). A span received twice
 * (sent again after such a cut) is in `received` twice and in `unanswered` once: it nets out.
 */
function unconfirmedSpans(made: number, received: number, unanswered: number): number {
  return made - received + unanswered;
}

/**
 * Spans per request: the most common size of the traces that hold a `GET /users/:id` server span.
 * Every span the app makes belongs to such a trace (probes and scrapes are not traced).
 */
function spansPerRequest(spans: readonly ReceivedSpan[]): { k?: number; sizes: Record<string, number> } {
  const byTrace = new Map<string, ReceivedSpan[]>();
  for (const span of spans) byTrace.set(span.traceId, [...(byTrace.get(span.traceId) ?? []), span]);
  const sizes = tally(
    [...byTrace.values()].filter((t) => t.some((s) => s.kind === SERVER && s.name === USER_SPAN)).map((t) => String(t.length)),
  );
  const best = Object.entries(sizes).sort((a, b) => b[1] - a[1])[0];
  return { k: best ? Number(best[0]) : undefined, sizes };
}

/**
 * Waits for the spans still queued in the app: until every span made has arrived, or has
 * arrived or been counted as dropped with no export in flight, at most `maxMs`, which must
 * exceed the exporter's longest backoff (30 s after a long outage). The counter only ends the
 * wait early; the figures compare it with what was received. Without an expected count, waits
 * until nothing has arrived for 5.5 s (longer than the 429's Retry-After).
 */
async function settleSpans(collector: FaultCollector, origin: string, expected: number | undefined, maxMs: number): Promise<void> {
  const started = Date.now();
  let last = collector.receiver.spans.length;
  let lastGrowth = Date.now();
  let lastScrape = 0;
  while (Date.now() - started < maxMs) {
    const now = collector.receiver.spans.length;
    if (expected === undefined) {
      if (now !== last) {
        last = now;
        lastGrowth = Date.now();
      } else if (Date.now() - lastGrowth > 5_500 && collector.inFlight === 0) {
        return;
      }
    } else if (now >= expected) {
      return;
    } else if (Date.now() - lastScrape >= 500) {
      lastScrape = Date.now();
      const dropped = await scrape(origin).then(
        ({ samples }) => sumOf(samples, DROPPED),
        () => undefined,
      );
      if (dropped !== undefined && collector.receiver.spans.length + dropped >= expected && collector.inFlight === 0) return;
    }
    await sleep(100);
  }
}

/** Polls `fn` every 100 ms until it holds, at most `timeoutMs`. */
async function until(fn: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
  return true;
}

/** Runs `body`, adding its wall time to the scenario's figure, and a failing row if it throws. */
async function timed<T>(scenario: string, body: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await body();
  } catch (error) {
    figures.add(scenario, 'ran to the end', String((error as Error).message).split('\n')[0], 'no error', false);
    throw error;
  } finally {
    figures.took(scenario, (performance.now() - started) / 1000);
  }
}

function warnSummary(lines: readonly Line[]): string {
  const warns = lines.filter((l) => l.level === 'warn' || isRecoveryLine(l));
  return counts(tally(warns.map((l) => `[${String(l.level)}] ${String(l.msg)}`)));
}

// --- 1. collector faults under load ------------------------------------------------------

const FAULTS: CollectorMode[] = ['503', '429', 'blackhole', 'refused'];

interface FaultRun {
  mode: CollectorMode;
  warmup: RateLoadResult;
  baseline: RateLoadResult;
  fault: RateLoadResult;
  rssBefore: number;
  rssMax: number;
  /** RSS growth over the last third of the fault window. */
  rssLateGrowth: number;
  maxInFlight: number;
  /** Seconds from the collector's return to the first accepted export. */
  backS?: number;
  posts: number;
  bytes: number;
  answers: Record<string, number>;
  k?: number;
  sizes: Record<string, number>;
  made?: number;
  received: number;
  /** Spans received whose POST's answer the collector cut: the exporter cannot know they arrived. */
  unanswered: number;
  dropped?: number;
  droppedSeries: string[];
  failing: Line[];
  warns: string;
}

async function runFault(mode: CollectorMode): Promise<FaultRun> {
  const collector = await FaultCollector.start();
  let app: ChildApp | undefined;
  let sampler: NodeJS.Timeout | undefined;
  try {
    // Exports give up after 3 s (the default is 10 s): a blackholed collector then fails
    // within the quick mode's fault window too, where otherwise the held export would
    // simply succeed when released.
    app = await ChildApp.start({ env: appEnv(collector.endpoint, { OTEL_BSP_EXPORT_TIMEOUT: '3000' }), startTimeoutMs: 30_000 });
    const running = app;
    const logs = new LogReader(running);
    let n = 0;
    const path = () => `/users/${(n++ % 1_000) + 1}`;
    // A fresh process answers its first second slowly (code not yet optimised): not the baseline.
    const warmup = await rateLoad({ origin: running.url, rate: P.faultRate, seconds: 1, path });
    const baseline = await rateLoad({ origin: running.url, rate: P.faultRate, seconds: P.baselineS, path });
    // The healthy spans arrive before the fault starts; they tell the spans per request.
    const healthy = warmup.ok + warmup.non2xx + baseline.ok + baseline.non2xx;
    await until(() => {
      const { k } = spansPerRequest(collector.receiver.spans);
      return k !== undefined && collector.receiver.spans.length >= healthy * k;
    }, 5_000);
    const { k, sizes } = spansPerRequest(collector.receiver.spans);

    const rssBefore = running.rss();
    let rssMax = rssBefore;
    const faultStart = performance.now();
    const rssSamples: Array<[number, number]> = [];
    sampler = setInterval(() => {
      try {
        const rss = running.rss();
        rssMax = Math.max(rssMax, rss);
        rssSamples.push([(performance.now() - faultStart) / 1000, rss]);
      } catch {
        // The process is gone: the exit shows in the figures.
      }
    }, 250);
    const mark = logs.mark();
    const before = { posts: collector.posts, bytes: collector.bytes, answers: { ...collector.answers } };
    collector.resetMaxInFlight();
    await collector.setMode(mode);
    const fault = await rateLoad({ origin: running.url, rate: P.faultRate, seconds: P.faultS, path });
    const posts = collector.posts - before.posts;
    const bytes = collector.bytes - before.bytes;
    const answers: Record<string, number> = {};
    for (const [key, value] of Object.entries(collector.answers))
      if (value - (before.answers[key] ?? 0) > 0) answers[key] = value - (before.answers[key] ?? 0);
    await collector.setMode('pass');
    const back = collector.lastChange;
    const made = k === undefined ? undefined : (healthy + fault.ok + fault.non2xx) * k;
    await settleSpans(collector, running.url, made, FULL ? 45_000 : 15_000);
    clearInterval(sampler);
    const backS = back.firstAcceptedAt === undefined ? undefined : (back.firstAcceptedAt - back.at) / 1000;
    const { samples } = await scrape(running.url);
    await collector.counted();
    const lines = logs.since(mark);
    // Bounded means flat once the span queue is full: growth over the last third of the fault.
    const third = (P.faultS * 2) / 3;
    const peak = (from: number, to: number) =>
      Math.max(rssBefore, ...rssSamples.filter(([t]) => t >= from && t < to).map(([, rss]) => rss));
    const rssLateGrowth = Math.max(0, peak(third, P.faultS) - peak(0, third));
    return {
      rssLateGrowth,
      mode,
      warmup,
      baseline,
      fault,
      rssBefore,
      rssMax,
      maxInFlight: collector.maxInFlight,
      backS,
      posts,
      bytes,
      answers,
      k,
      sizes,
      made,
      received: collector.receiver.spans.length,
      unanswered: collector.deliveredUnanswered,
      dropped: sumOf(samples, DROPPED),
      droppedSeries: samples.filter((s) => s.name === DROPPED).map((s) => `${json(s.labels)} ${s.value}`),
      failing: lines.filter(isFailingWarning),
      warns: warnSummary(lines),
    };
  } finally {
    clearInterval(sampler);
    await app?.stop();
    await collector.close();
  }
}

function faultRows(r: FaultRun): Row[] {
  const s = `1. Collector ${r.mode} under load`;
  const rows: Row[] = [];
  const failed = r.warmup.failed + r.baseline.failed + r.fault.failed;
  rows.push(
    figures.add(
      s,
      'failed requests',
      `${failed} of ${r.warmup.sent + r.baseline.sent + r.fault.sent} (warm-up: ${counts(r.warmup.outcomes)}; baseline: ${counts(r.baseline.outcomes)}; fault: ${counts(r.fault.outcomes)})`,
      '0',
      failed === 0,
    ),
  );
  const p99ok = r.fault.p99 <= 3 * r.baseline.p99 || r.fault.p99 <= r.baseline.p99 + 20;
  rows.push(
    figures.add(
      s,
      'p99 latency, fault vs baseline',
      `${ms(r.fault.p99)} vs ${ms(r.baseline.p99)} (p50 ${ms(r.fault.p50)} vs ${ms(r.baseline.p50)}; ${r.fault.ok} and ${r.baseline.ok} 2xx)`,
      '≤ 3× baseline or ≤ baseline + 20 ms',
      p99ok,
    ),
  );
  const growth = r.rssMax - r.rssBefore;
  rows.push(
    figures.add(
      s,
      'RSS of the app, bounded',
      `${mb(growth)} growth (${mb(r.rssBefore)} → max ${mb(r.rssMax)}); ${mb(r.rssLateGrowth)} of it over the last third of the fault`,
      '≤ 160 MB (a full span queue, 32,768 spans, is most of it) and ≤ 20 MB over the last third (flat)',
      growth <= 160 * MB && r.rssLateGrowth <= 20 * MB,
    ),
  );
  rows.push(
    figures.add(
      s,
      'exports in flight at most',
      r.mode === 'refused' ? `${r.maxInFlight} (connections refused: the collector sees none)` : String(r.maxInFlight),
      '≤ 2',
      r.maxInFlight <= 2,
    ),
  );
  rows.push(
    figures.add(
      s,
      "first accepted export after the collector's return",
      r.backS === undefined ? `none within the ${FULL ? 45 : 15} s waited` : `${r.backS.toFixed(2)} s`,
    ),
  );
  rows.push(figures.add(s, 'POSTs made during the fault', `${r.posts} (${mb(r.bytes)}; answers: ${counts(r.answers)})`));
  const unconfirmed = r.made === undefined ? undefined : unconfirmedSpans(r.made, r.received, r.unanswered);
  rows.push(
    figures.add(
      s,
      'loss counted',
      `${DROPPED} ${r.dropped ?? 'n/a (absent from /metrics)'}; spans lost ${unconfirmed ?? 'n/a'} (made ${r.made ?? 'n/a'} = responses × ${r.k ?? '?'} spans per request, received ${r.received}` +
        `${r.unanswered > 0 ? `, of which ${r.unanswered} in POSTs whose answer the collector cut` : ''})`,
      `${DROPPED} = spans lost`,
      r.dropped !== undefined && unconfirmed !== undefined && r.dropped === unconfirmed,
    ),
  );
  rows.push(
    figures.add(
      s,
      'export-failure warnings',
      `${r.failing.length}${r.failing.length > 0 ? `: ${counts(tally(r.failing.map((l) => String(l.msg))))}` : ''}`,
      'exactly 1 "failing" warning per outage',
      r.failing.length === 1,
    ),
  );
  figures.note(
    s,
    `warn lines seen from the fault on: ${r.warns}. Spans per trace: ${counts(r.sizes)}. ${DROPPED} series: ${r.droppedSeries.join('; ') || 'none'}.`,
  );
  return rows;
}

describe('1. collector faults under load', () => {
  const rows = new Map<CollectorMode, Row[]>();

  beforeAll(
    async () => {
      await timed('1. Collector faults under load', async () => {
        figures.note(
          '1. Collector faults under load',
          `${P.faultRate} req/s to GET /users/:n for ${P.faultS} s after a ${P.baselineS} s healthy baseline` +
            ` (after 1 s of warm-up at the same rate, not measured); one app and one collector per fault, ` +
            (P.faultsAtOnce > 1
              ? `${P.faultsAtOnce} faults side by side (quick mode: four at once saturate two cores)`
              : 'one fault after the other') +
            '. Load from a worker thread, open loop; latency from the time each request was due.',
        );
        const runs: FaultRun[] = [];
        for (let i = 0; i < FAULTS.length; i += P.faultsAtOnce)
          runs.push(...(await Promise.all(FAULTS.slice(i, i + P.faultsAtOnce).map(runFault))));
        for (const run of runs) rows.set(run.mode, faultRows(run));
      });
    },
    (FAULTS.length / P.faultsAtOnce) * (1 + P.baselineS + P.faultS + 70) * 1_000,
  );

  it.each(FAULTS)(
    'keeps serving with the collector answering %s: no failed request, p99 within bounds, memory bounded, at most 2 exports in flight, loss counted, one warning',
    (mode) => {
      expect(failures(rows.get(mode) ?? [])).toEqual([]);
    },
  );
});

// --- 2. outage and recovery --------------------------------------------------------------

describe('2. outage and recovery', () => {
  it(
    `exports again within 5 s of the collector's return after ${P.outageS} s of 503, and counts what it lost`,
    async () => {
      const s = '2. Outage (503) and recovery';
      const rows: Row[] = [];
      await timed(s, async () => {
        const collector = await FaultCollector.start();
        let app: ChildApp | undefined;
        try {
          app = await ChildApp.start({ env: appEnv(collector.endpoint), startTimeoutMs: 30_000 });
          const logs = new LogReader(app);
          let n = 0;
          const path = () => `/users/${(n++ % 1_000) + 1}`;
          const load = (seconds: number) => rateLoad({ origin: app!.url, rate: P.outageRate, seconds, path });
          const healthy = await load(P.healthyS);
          const mark = logs.mark();
          await collector.setMode('503');
          const outage = await load(P.outageS);
          await collector.setMode('pass');
          const back = collector.lastChange;
          const after = await load(P.afterS);
          // The spans queued during the outage go out on the next attempt: no more load is needed to see it.
          await until(() => back.firstAcceptedAt !== undefined, Math.max(0, back.at + 6_000 - performance.now()));
          const { k, sizes } = spansPerRequest(collector.receiver.spans);
          const phases = [healthy, outage, after];
          const ok = phases.reduce((sum, p) => sum + p.ok, 0);
          const responses = phases.reduce((sum, p) => sum + p.ok + p.non2xx, 0);
          const made = k === undefined ? undefined : responses * k;
          await settleSpans(collector, app.url, made, FULL ? 45_000 : 15_000);
          const { samples } = await scrape(app.url);
          const dropped = sumOf(samples, DROPPED);
          const serverSpans = collector.receiver.spans.filter((sp) => sp.kind === SERVER && sp.name === USER_SPAN).length;
          const lostServer = ok - serverSpans;
          await collector.counted();
          const lostAll =
            made === undefined ? undefined : unconfirmedSpans(made, collector.receiver.spans.length, collector.deliveredUnanswered);
          const lines = logs.since(mark);
          const failing = lines.filter(isFailingWarning);
          const recovery = lines.filter(isRecoveryLine);

          const recoverS = back.firstAcceptedAt === undefined ? undefined : (back.firstAcceptedAt - back.at) / 1000;
          rows.push(
            figures.add(
              s,
              "seconds from the collector's return to the first accepted export",
              recoverS === undefined ? 'none accepted within 6 s of the return' : `${recoverS.toFixed(2)} s`,
              '≤ 5 s, however long the outage (the backoff stops growing at 4 s; 0.96 s measured before)',
              recoverS !== undefined && recoverS <= 5,
            ),
          );
          rows.push(
            figures.add(
              s,
              'spans lost',
              `${lostServer} server spans (2xx ${ok} − server spans received ${serverSpans}); all spans: ${lostAll ?? 'n/a'} (${made ?? 'n/a'} made at ${k ?? '?'} per request, ${collector.receiver.spans.length} received)`,
            ),
          );
          rows.push(
            figures.add(
              s,
              'loss counted',
              `${DROPPED} ${dropped ?? 'n/a (absent from /metrics)'}`,
              `${DROPPED} = spans lost (${lostAll ?? 'n/a'})`,
              dropped !== undefined && lostAll !== undefined && dropped === lostAll,
            ),
          );
          rows.push(
            figures.add(
              s,
              'export-failure warnings',
              `${failing.length}${failing.length > 0 ? `: ${counts(tally(failing.map((l) => String(l.msg))))}` : ''}`,
              'exactly 1 for the outage',
              failing.length === 1,
            ),
          );
          const named = (l: Line) => dropped !== undefined && (String(l.msg).match(/\d+/g) ?? []).map(Number).includes(dropped);
          rows.push(
            figures.add(
              s,
              'recovery warning naming the count',
              `${recovery.length}${recovery.length > 0 ? `: ${recovery.map((l) => `[${String(l.level)}] ${String(l.msg)}`).join(' / ')}` : ''}`,
              `exactly 1 warn line, naming the ${DROPPED} count`,
              recovery.length === 1 && recovery[0].level === 'warn' && named(recovery[0]),
            ),
          );
          figures.note(
            s,
            `${P.outageRate} req/s: ${P.healthyS} s healthy, ${P.outageS} s of 503, ${P.afterS} s healthy; failed requests ${healthy.failed + outage.failed + after.failed}; p99 healthy/outage/after ${ms(healthy.p99)}, ${ms(outage.p99)}, ${ms(after.p99)}; ` +
              `collector answers ${counts(collector.answers)}; spans per trace ${counts(sizes)}; warn lines seen: ${warnSummary(lines)}.`,
          );
        } finally {
          await app?.stop();
          await collector.close();
        }
      });
      expect(failures(rows)).toEqual([]);
    },
    (P.healthyS + P.outageS + P.afterS + 60) * 1_000,
  );
});

// --- 3. unique request ids under concurrency ---------------------------------------------

/** A 16-digit number passing the Luhn check, shaped like 4111111111111111. */
function luhn16(i: number): string {
  const body = `4111${String(i).padStart(11, '0')}`;
  let sum = 0;
  for (let d = 0; d < body.length; d++) {
    let digit = Number(body[body.length - 1 - d]);
    if (d % 2 === 0) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return `${body}${(10 - (sum % 10)) % 10}`;
}

describe('3. concurrent requests with unique ids', () => {
  it(`keeps ${P.ids} concurrent requests apart: every id echoed, no crossing, none redacted, one trace per request`, async () => {
    const s = `3. ${P.ids} concurrent requests, unique ids`;
    const rows: Row[] = [];
    await timed(s, async () => {
      const receiver = await OtlpReceiver.start();
      const agent = new Agent({ keepAlive: true, maxSockets: 100 });
      let app: ChildApp | undefined;
      try {
        app = await ChildApp.start({ env: appEnv(receiver.endpoint), startTimeoutMs: 30_000 });
        const logs = new LogReader(app);
        const ids = Array.from({ length: P.ids }, (_, i) =>
          i % 3 === 0 ? randomUUID() : i % 3 === 1 ? String(100_000_000_000 + i) : luhn16(i),
        );
        const byUser = new Map(ids.map((id, i) => [String(i + 1), id]));
        const outcomes: Outcome[] = [];
        const t0 = performance.now();
        let next = 0;
        await Promise.all(
          Array.from({ length: 100 }, async () => {
            while (next < ids.length) {
              const i = next++;
              outcomes.push(await fetchOnce(`${app!.url}/users/${i + 1}`, agent, t0, { 'x-request-id': ids[i] }, ids[i]));
            }
          }),
        );
        const took = (performance.now() - t0) / 1000;
        await logs.until((all) => all.filter((l) => l.msg === 'request completed').length >= ids.length, 15_000);
        const all = logs.all;
        const echoed = outcomes.filter((o) => o.status === 200 && o.headers?.['x-request-id'] === o.id);
        const notEchoed = outcomes
          .filter((o) => !echoed.includes(o))
          .slice(0, 5)
          .map((o) => ({ sent: o.id, status: o.status ?? o.error, got: o.headers?.['x-request-id'] }));
        rows.push(
          figures.add(
            s,
            'responses echoing their id',
            `${echoed.length} of ${ids.length} in ${took.toFixed(1)} s${notEchoed.length ? `; e.g. ${json(notEchoed)}` : ''}`,
            'all',
            echoed.length === ids.length,
          ),
        );

        const handler = all.filter((l) => l.msg === 'user loaded');
        const crossings = handler.filter((l) => String(l.request_id) !== byUser.get(String(l.user_id)));
        rows.push(
          figures.add(
            s,
            'handler lines under another request id (crossings)',
            `${crossings.length} of ${handler.length} handler lines${crossings.length ? `; e.g. ${json(crossings.slice(0, 3).map((l) => ({ user_id: l.user_id, request_id: l.request_id, sent: byUser.get(String(l.user_id)) })))}` : ''}`,
            '0 (and one handler line per request)',
            crossings.length === 0 && handler.length === ids.length,
          ),
        );

        const redacted = all.filter((l) => ['request_id', 'trace_id', 'span_id'].some((key) => String(l[key] ?? '').includes('[REDACTED')));
        const redactedKinds = tally(
          redacted.map((l) => {
            const id = byUser.get(String(l.user_id)) ?? String(/\/users\/(\d+)/.exec(String(l.path ?? l.url ?? ''))?.[1] ?? '?');
            return /^[0-9a-f-]{36}$/.test(id) ? 'uuid' : id.length === 16 ? 'luhn-16' : /^\d+$/.test(id) ? 'digits' : 'unknown';
          }),
        );
        rows.push(
          figures.add(
            s,
            'ids redacted in log lines',
            `${redacted.length} lines${redacted.length ? ` (by id sent: ${counts(redactedKinds)}; e.g. ${json(redacted.slice(0, 2).map((l) => ({ msg: l.msg, request_id: l.request_id, trace_id: l.trace_id })))})` : ''}`,
            '0 ([REDACTED in request_id, trace_id or span_id)',
            redacted.length === 0,
          ),
        );

        // The request line is found by the id sent, or by its path when the id did not survive.
        const requestLines = all.filter((l) => l.msg === 'request completed');
        const requestByUser = new Map<string, Line>();
        for (const l of requestLines) {
          const user = /\/users\/(\d+)/.exec(String(l.path ?? l.url ?? ''))?.[1];
          if (user !== undefined) requestByUser.set(user, l);
        }
        const requestById = new Map(requestLines.map((l) => [String(l.request_id), l]));
        const mismatched = handler.filter((l) => {
          const request = requestById.get(byUser.get(String(l.user_id)) ?? '') ?? requestByUser.get(String(l.user_id));
          return request === undefined || request.trace_id !== l.trace_id || typeof l.trace_id !== 'string';
        });
        rows.push(
          figures.add(
            s,
            'handler line trace_id = request line trace_id',
            `${handler.length - mismatched.length} of ${handler.length} equal${mismatched.length ? `; e.g. ${json(mismatched.slice(0, 2).map((l) => ({ user_id: l.user_id, handler: l.trace_id, request: (requestById.get(byUser.get(String(l.user_id)) ?? '') ?? requestByUser.get(String(l.user_id)))?.trace_id })))}` : ''}`,
            'all',
            mismatched.length === 0 && handler.length === ids.length,
          ),
        );
        figures.note(
          s,
          `concurrency 100 over keep-alive connections; ids: a third UUIDs, a third 12 digits, a third Luhn-valid 16 digits (4111…); request lines ${requestLines.length}.`,
        );
      } finally {
        agent.destroy();
        await app?.stop();
        await receiver.close();
      }
    });
    expect(failures(rows)).toEqual([]);
  }, 90_000);
});

// --- 4. hostile headers --------------------------------------------------------------------

describe('4. hostile headers', () => {
  it('answers malformed trace context, request ids and Host without a 5xx, keeps serving, and lets none of them into ids or spans', async () => {
    const s = '4. Hostile headers';
    const rows: Row[] = [];
    await timed(s, async () => {
      const receiver = await OtlpReceiver.start();
      let app: ChildApp | undefined;
      try {
        app = await ChildApp.start({ env: appEnv(receiver.endpoint), startTimeoutMs: 30_000 });
        const port = Number(new URL(app.url).port);
        const hex = (bytes: number) => randomBytes(bytes).toString('hex');
        const malformed = { ff: hex(16), zeroSpan: hex(16), long: hex(16) };
        const valid = `00-${hex(16)}-${hex(8)}-01`;
        const odd = 'vendor=v@l!ue"q\'\\;x=é€✓\t<>{}[]|^`~,';
        const repeat = (unit: string, bytes: number) => unit.repeat(Math.ceil(bytes / Buffer.byteLength(unit))).slice(0, bytes);
        const cases: Array<{ name: string; headers: string[]; host?: string }> = [
          { name: 'traceparent version ff', headers: [`traceparent: ff-${malformed.ff}-${hex(8)}-01`] },
          { name: 'traceparent all-zero trace id', headers: [`traceparent: 00-${'0'.repeat(32)}-${hex(8)}-01`] },
          { name: 'traceparent all-zero span id', headers: [`traceparent: 00-${malformed.zeroSpan}-${'0'.repeat(16)}-01`] },
          { name: 'traceparent of 10 KB', headers: [`traceparent: 00-${malformed.long}-${hex(8)}-01-${'f'.repeat(10 * 1024)}`] },
          { name: 'tracestate of 8 KB, odd characters', headers: [`traceparent: ${valid}`, `tracestate: ${repeat(odd, 8 * 1024)}`] },
          { name: 'baggage of 8 KB, odd characters', headers: [`baggage: ${repeat('k=v%ZZ;p=é€,=,==;;"\\,', 8 * 1024)}`] },
          { name: 'X-Request-ID with spaces', headers: ['X-Request-ID: has spaces in it'] },
          { name: 'X-Request-ID in unicode', headers: ['X-Request-ID: ид-запроса-✓'] },
          { name: 'X-Request-ID of 300 characters', headers: [`X-Request-ID: ${'a'.repeat(300)}`] },
          { name: 'Host of 8,000 characters', headers: [], host: 'h'.repeat(8_000) },
          { name: 'Host example.com:99999', headers: [], host: 'example.com:99999' },
          { name: 'Host "a b/../c"', headers: [], host: 'a b/../c' },
        ];
        const answers: Array<{ name: string; res: RawResponse }> = [];
        for (const c of cases) {
          const head = ['GET /users/1 HTTP/1.1', `Host: ${c.host ?? `127.0.0.1:${port}`}`, ...c.headers].join('\r\n');
          answers.push({ name: c.name, res: await rawRequest(port, head) });
        }
        const after = await fetch(`${app.url}/users/1`, { signal: AbortSignal.timeout(5_000) }).then(
          (r) => r.status,
          (e: Error) => e.message,
        );
        const statusOf = (a: { res: RawResponse }) => a.res.status ?? a.res.error ?? 'no answer';
        const bad = answers.filter((a) => a.res.status === undefined || a.res.status >= 500);
        rows.push(
          figures.add(
            s,
            'no 5xx (and an answer to each)',
            answers.map((a) => `${a.name}: ${statusOf(a)}`).join('; '),
            'every status < 500',
            bad.length === 0,
          ),
        );
        rows.push(figures.add(s, 'app answers after', `GET /users/1 → ${after}`, '200', after === 200));
        // Node's own parser rejects some requests with a bare 400 before the app sees them: no id there.
        const byApp = answers.filter((a) => a.res.status !== undefined && Object.keys(a.res.headers).some((h) => h !== 'connection'));
        const badIds = byApp.filter((a) => !REQUEST_ID.test(a.res.headers['x-request-id'] ?? ''));
        rows.push(
          figures.add(
            s,
            'response x-request-id',
            `${byApp.length - badIds.length} of ${byApp.length} answered by the app match${badIds.length ? `; not: ${badIds.map((a) => `${a.name}: ${json(a.res.headers['x-request-id'] ?? null).slice(0, 60)}`).join('; ')}` : ''}` +
              (byApp.length < answers.length
                ? `; ${answers.length - byApp.length} rejected by Node's parser (${answers
                    .filter((a) => !byApp.includes(a))
                    .map((a) => a.name)
                    .join(', ')})`
                : ''),
            '^[A-Za-z0-9._-]{1,128}$ always',
            badIds.length === 0,
          ),
        );
        await until(() => receiver.spans.filter((sp) => sp.kind === SERVER).length >= byApp.length + 1, 5_000);
        await sleep(500);
        const server = receiver.spans.filter((sp) => sp.kind === SERVER);
        const forbidden = new Set([malformed.ff, malformed.zeroSpan, malformed.long, '0'.repeat(32)]);
        const adopted = server.filter((sp) => forbidden.has(sp.traceId));
        rows.push(
          figures.add(
            s,
            "server spans under a malformed traceparent's trace id",
            `${adopted.length} of ${server.length} server spans${adopted.length ? ` (${adopted.map((sp) => sp.traceId).join(', ')})` : ''}`,
            '0',
            adopted.length === 0,
          ),
        );
        const addresses = server
          .map((sp) => sp.attributes['server.address'])
          .filter((v) => v !== undefined)
          .map(String);
        const badAddresses = addresses.filter((a) => a.length > 255 || /\s/.test(a));
        rows.push(
          figures.add(
            s,
            'server.address',
            `${badAddresses.length} bad of ${addresses.length}${badAddresses.length ? `: ${badAddresses.map((a) => `${json(a.slice(0, 24))}… (${a.length} chars)`).join(', ')}` : ''}; seen ${json([...new Set(addresses.map((a) => (a.length > 40 ? `${a.slice(0, 20)}…(${a.length})` : a)))])}`,
            '≤ 255 characters, no spaces',
            badAddresses.length === 0,
          ),
        );
        const ports = server.map((sp) => sp.attributes['server.port']).filter((v) => v !== undefined);
        const badPorts = ports.filter((p) => typeof p !== 'number' || !Number.isInteger(p) || p < 1 || p > 65535);
        rows.push(
          figures.add(
            s,
            'server.port',
            `${badPorts.length} bad of ${ports.length}${badPorts.length ? `: ${json(badPorts)}` : ''}; seen ${json([...new Set(ports)])}`,
            'within 1–65535',
            badPorts.length === 0,
          ),
        );
        figures.note(s, `raw requests over net.connect, one per case: ${cases.map((c) => c.name).join('; ')}.`);
      } finally {
        await app?.stop();
        await receiver.close();
      }
    });
    expect(failures(rows)).toEqual([]);
  }, 60_000);
});

// --- 5. secret canaries ----------------------------------------------------------------------

describe('5. secret canaries', () => {
  it('writes no canary anywhere: log lines, spans, metrics, response bodies and headers', async () => {
    const s = '5. Secret canaries';
    const rows: Row[] = [];
    await timed(s, async () => {
      const tag = randomBytes(6).toString('hex');
      const canaries: Record<string, string> = {
        'c1 Authorization: Bearer': `c1bearer${tag}`,
        'c2 Cookie sid': `c2cookie${tag}`,
        'c3 ?token=': `c3token${tag}`,
        'c4 JSON password': `c4password${tag}`,
        'c5 password= in an exception': `c5exception${tag}`,
        'card 4111 1111 1111 1111': '4111 1111 1111 1111',
        'card digits only': '4111111111111111',
        email: 'canary.person@example.com',
      };
      const c = Object.values(canaries);
      const receiver = await OtlpReceiver.start();
      let app: ChildApp | undefined;
      try {
        app = await ChildApp.start({ env: appEnv(receiver.endpoint), startTimeoutMs: 30_000 });
        const secretHeaders = { authorization: `Bearer ${c[0]}`, cookie: `sid=${c[1]}` };
        const responses: Array<{ what: string; status: number; headers: string; body: string }> = [];
        const send = async (what: string, url: string, init: RequestInit) => {
          const res = await fetch(url, { ...init, signal: AbortSignal.timeout(5_000) });
          responses.push({ what, status: res.status, headers: json([...res.headers.entries()]), body: await res.text() });
        };
        await send('POST /demo/fail with every canary', `${app.url}/demo/fail?token=${c[2]}`, {
          method: 'POST',
          headers: { ...secretHeaders, 'content-type': 'application/json' },
          body: JSON.stringify({ password: c[3], card: '4111 1111 1111 1111', email: 'canary.person@example.com' }),
        });
        // hello has no route throwing `kaboom: db password=… at 10.0.0.5`: /demo/fail puts the body's
        // email into its Error message, which makes the same exception text.
        await send('POST /demo/fail, password= in the exception', `${app.url}/demo/fail`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email: `kaboom: db password=${c[4]} at 10.0.0.5` }),
        });
        await send('GET /users/1 with the headers and ?token=', `${app.url}/users/1?token=${c[2]}`, { headers: secretHeaders });
        await until(() => receiver.spans.filter((sp) => sp.kind === SERVER).length >= 3, 5_000);
        const logs = new LogReader(app);
        await logs.until((all) => all.filter((l) => l.msg === 'request completed').length >= 3, 5_000);
        await sleep(500);
        const metrics = (await scrape(app.url)).text;
        const places: Record<string, string> = {
          stdout: app.lines.join('\n'),
          stderr: app.stderr,
          spans: json(receiver.spans),
          metrics,
          'response bodies': responses.map((r) => r.body).join('\n'),
          'response headers': responses.map((r) => r.headers).join('\n'),
        };
        for (const [name, canary] of Object.entries(canaries)) {
          const found: Record<string, number> = {};
          for (const [place, text] of Object.entries(places)) {
            const n = text.split(canary).length - 1;
            if (n > 0) found[place] = n;
          }
          const total = Object.values(found).reduce((sum, n) => sum + n, 0);
          rows.push(figures.add(s, `occurrences of ${name}`, total === 0 ? '0' : `${total} (${counts(found)})`, '0', total === 0));
        }
        figures.note(
          s,
          `responses: ${responses.map((r) => `${r.what} → ${r.status}`).join('; ')}; scanned: every stdout and stderr line, ${receiver.spans.length} spans, /metrics, every response body and header.`,
        );
      } finally {
        await app?.stop();
        await receiver.close();
      }
    });
    expect(failures(rows)).toEqual([]);
  }, 60_000);
});

// --- 6. SIGTERM under load -----------------------------------------------------------------

interface SigtermRun {
  flipMs?: number;
  lateReady: number;
  liveBad: number;
  live200AfterSignal: number;
  failed: Outcome[];
  /** Failures and bad probes, as `what@start→end` in ms relative to SIGTERM. */
  seen: string[];
  /** When the first connection was refused, ms after SIGTERM. */
  closedMs?: number;
  resets: number;
  /** Of the resets, requests the server logged a request line for (it saw them). */
  resetsSeen: number;
  exit: { code: number | null; signal: NodeJS.Signals | null };
  exitMs: number;
  ok: number;
  spans: number;
  lines: number;
}

/** Sends `rate` GETs a second, each with its own id, until one is refused or `deadlineMs` passes. */
async function paced(url: string, rate: number, agent: Agent, t0: number, deadlineMs: number, prefix: string): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  const pending = new Set<Promise<void>>();
  let refused = false;
  const started = performance.now();
  for (let i = 0; !refused && performance.now() - started < deadlineMs; i++) {
    const wait = started + (i * 1000) / rate - performance.now();
    if (wait > 0) await sleep(wait);
    const id = `${prefix}-${i}`;
    const p: Promise<void> = fetchOnce(url, agent, t0, { 'x-request-id': id }, id).then((o) => {
      outcomes.push(o);
      if (o.error === 'ECONNREFUSED') refused = true;
      pending.delete(p);
    });
    pending.add(p);
    if (pending.size >= 256) await Promise.race(pending);
  }
  await Promise.all(pending);
  return outcomes.sort((a, b) => a.start - b.start);
}

/** A probe every `everyMs` until refused or `deadlineMs`. */
async function probe(url: string, everyMs: number, agent: Agent, t0: number, deadlineMs: number): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  const deadline = Date.now() + deadlineMs;
  while (Date.now() < deadline) {
    const o = await fetchOnce(url, agent, t0);
    outcomes.push(o);
    if (o.error === 'ECONNREFUSED') break;
    const wait = everyMs - (o.end - o.start);
    if (wait > 0) await sleep(wait);
  }
  return outcomes;
}

async function sigtermRun(run: number): Promise<SigtermRun> {
  const receiver = await OtlpReceiver.start();
  const app = await ChildApp.start({
    env: appEnv(receiver.endpoint, { SHUTDOWN_DRAIN_DELAY_MS: String(SIGTERM_DRAIN_MS), SHUTDOWN_TIMEOUT_MS: '5000' }),
    startTimeoutMs: 30_000,
  });
  const load = new Agent({ keepAlive: true, maxSockets: 16 });
  const probes = new Agent({ keepAlive: false });
  try {
    const logs = new LogReader(app);
    const t0 = performance.now();
    const traffic = paced(`${app.url}/users/1`, 200, load, t0, 20_000, `sigterm${run}`);
    const ready = probe(`${app.url}/health/ready`, 10, probes, t0, 20_000);
    const live = probe(`${app.url}/health/live`, 10, probes, t0, 20_000);
    await sleep(2_000);
    const sigtermAt = performance.now() - t0;
    const exit = await app.stop(15_000);
    const exitMs = performance.now() - t0 - sigtermAt;
    const [requests, readiness, liveness] = await Promise.all([traffic, ready, live]);
    const requestLines = logs.all.filter((l) => l.msg === 'request completed' && l.route === '/users/:id');
    const served = new Set(requestLines.map((l) => String(l.request_id)));
    // A connection refused after the signal is the port closing: the request was never seen.
    // (A request queued in the agent before the signal may be refused after it: it counts as refused too.)
    // So is a reset, after the signal, of a request the server never saw (probes carry no id
    // and are never logged: a reset probe was never answered either): its connection sat in
    // the kernel's accept queue when the listening socket closed (TCP answers that with a reset,
    // not a refusal; the race is at the close, at the end of the drain, whatever the client's
    // clock said). In-flight requests, the ones the server accepted, must all complete (as
    // test/shutdown.e2e-spec.ts asserts too).
    const refusedAfterSignal = (o: Outcome) =>
      (o.error === 'ECONNREFUSED' && o.end >= sigtermAt) ||
      (o.error === 'ECONNRESET' && o.start >= sigtermAt && (o.id === undefined || !served.has(String(o.id))));
    const at = (what: string) => (o: Outcome) =>
      `${what} ${o.status ?? o.error}@${(o.start - sigtermAt).toFixed(0)}→${(o.end - sigtermAt).toFixed(0)}`;
    const refusals = [...requests, ...liveness, ...readiness].filter(refusedAfterSignal).map((o) => o.end - sigtermAt);
    const firstDown = readiness.find((o) => o.status === 503);
    const lateReady = readiness.filter((o) => o.start >= sigtermAt + 200 && o.status === 200).length + (firstDown ? 0 : 1);
    const liveBad = liveness.filter((o) => o.status !== 200 && !refusedAfterSignal(o)).length;
    const failed = requests.filter(
      (o) => (o.error !== undefined && !refusedAfterSignal(o)) || (o.status !== undefined && (o.status < 200 || o.status >= 300)),
    );
    const ok = requests.filter((o) => o.status !== undefined && o.status >= 200 && o.status < 300).length;
    return {
      seen: [
        ...failed.slice(0, 4).map(at('GET /users/1')),
        ...liveness.filter((o) => o.status !== 200 && !refusedAfterSignal(o)).map(at('/health/live')),
      ],
      closedMs: refusals.length > 0 ? Math.min(...refusals) : undefined,
      flipMs: firstDown ? firstDown.end - sigtermAt : undefined,
      lateReady,
      liveBad,
      live200AfterSignal: liveness.filter((o) => o.status === 200 && o.start > sigtermAt).length,
      failed,
      resets: requests.filter((o) => o.error === 'ECONNRESET').length,
      resetsSeen: requests.filter((o) => o.error === 'ECONNRESET' && served.has(String(o.id))).length,
      exit,
      exitMs,
      ok,
      spans: receiver.spans.filter((sp) => sp.kind === SERVER && sp.name === USER_SPAN).length,
      lines: requestLines.length,
    };
  } finally {
    load.destroy();
    probes.destroy();
    await app.stop();
    await receiver.close();
  }
}

describe('6. SIGTERM under load', () => {
  it(
    `shuts down cleanly ${P.sigtermRuns} times under 200 req/s: readiness flips, liveness holds, no request fails, one span and one line per response`,
    async () => {
      const s = `6. SIGTERM under load ×${P.sigtermRuns}`;
      const rows: Row[] = [];
      await timed(s, async () => {
        const runs: SigtermRun[] = [];
        for (let i = 0; i < P.sigtermRuns; i++) runs.push(await sigtermRun(i));
        const each = (f: (r: SigtermRun) => string) => runs.map(f).join(', ');
        rows.push(
          figures.add(
            s,
            '/health/ready 503 after the signal',
            `first 503 at ${each((r) => ms(r.flipMs))} after SIGTERM; 200s to probes sent ≥ 200 ms after it: ${each((r) => String(r.lateReady))}`,
            '503 within 200 ms (no 200 to a probe sent 200 ms after SIGTERM)',
            runs.every((r) => r.lateReady === 0),
          ),
        );
        rows.push(
          figures.add(
            s,
            '/health/live until close',
            `non-200 before the port closed: ${each((r) => String(r.liveBad))}; 200s after SIGTERM: ${each((r) => String(r.live200AfterSignal))}`,
            '200 until the port closes',
            runs.every((r) => r.liveBad === 0 && r.live200AfterSignal > 0),
          ),
        );
        rows.push(
          figures.add(
            s,
            'requests failed',
            `${each((r) => String(r.failed.length))}${runs.some((r) => r.failed.length) ? ` (${counts(tally(runs.flatMap((r) => r.failed.map((o) => String(o.status ?? o.error)))))})` : ''}; ECONNRESET ${each((r) => String(r.resets))} (of which the server logged ${each((r) => String(r.resetsSeen))}); port closed ${each((r) => ms(r.closedMs))} after SIGTERM${runs.some((r) => r.seen.length) ? `; seen (ms from SIGTERM): ${runs.flatMap((r) => r.seen).join(', ')}` : ''}`,
            '0 (a request the server accepted never fails; refused, or reset unseen after the signal, is the port closing)',
            runs.every((r) => r.failed.length === 0),
          ),
        );
        rows.push(
          figures.add(
            s,
            'exit',
            each((r) => `${r.exit.code ?? r.exit.signal} in ${(r.exitMs / 1000).toFixed(2)} s`),
            'exit code 0 (or SIGTERM re-raised by Nest after close, as test/shutdown.e2e-spec.ts asserts) within 5 s + 0.75 s',
            runs.every((r) => (r.exit.code === 0 || (r.exit.code === null && r.exit.signal === 'SIGTERM')) && r.exitMs <= 5_750),
          ),
        );
        rows.push(
          figures.add(
            s,
            'server spans = request lines = 2xx',
            each((r) => `${r.spans}/${r.lines}/${r.ok}`),
            'equal',
            runs.every((r) => r.spans === r.ok && r.lines === r.ok),
          ),
        );
        figures.note(
          s,
          'SIGTERM 2 s into 200 req/s over keep-alive connections, SHUTDOWN_DRAIN_DELAY_MS=500, SHUTDOWN_TIMEOUT_MS=5000; readiness and liveness probed every 10 ms.',
        );
      });
      expect(failures(rows)).toEqual([]);
    },
    P.sigtermRuns * 30_000,
  );
});
