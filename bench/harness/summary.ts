import type { Tally } from './telemetry-count';
import type { Variant } from './variants';

/** One variant measured once (one process, one round). */
export interface Measurement {
  variant: Variant;
  round: number;
  /** 2xx responses per second during the measured window. */
  rps: number;
  /** Latency percentiles of the measured window, in milliseconds. */
  p50: number;
  p99: number;
  /** Responses in the measured window: 2xx, and anything else (errors included). */
  ok: number;
  failed: number;
  /** Server CPU time (all threads) per 2xx response of the measured window, µs. */
  cpuPerRequest: number;
  /** Server CPU time over wall time in the measured window (1 = one core busy). */
  cpuUtilisation: number;
  /** Spawn to first 200, ms. */
  startupMs: number;
  /** Resident set size right after the measured window, MB. */
  rssMb: number;
  /** SIGTERM to exit, ms (includes the final flush). */
  stopMs: number;
  /** How the process ended: `SIGTERM` (Nest re-raises it after its hooks) or `code N`. */
  exit: string;
  /** Requests the app handled over its life (probes and warm-up included). */
  handled: number;
  /** Root spans (server spans or transactions) that reached the sink. */
  delivered: number;
  /** All spans that reached the sink. */
  spans: number;
  /** Lines the app's log file held after exit. */
  logLines: number;
  tally: Tally;
  /** CPU other processes of the machine used during the measured window, in cores. */
  interference: number;
  /** Earlier attempts of this measurement discarded because other processes disturbed them. */
  repeats: number;
}

/** A variant over every round, as the results report it. */
export interface Summary {
  variant: Variant;
  rounds: number;
  rps: number;
  /** Median over rounds of req/s divided by bare's req/s in the same round, same adapter. */
  ratio: number;
  /**
   * Median over rounds of bare's CPU per request divided by this variant's: the
   * throughput ratio of two servers each saturating its core. It does not depend
   * on the load generator keeping up, so it is the steadier of the two ratios.
   */
  cpuRatio: number;
  p50: number;
  p99: number;
  /** Median over rounds of p99 divided by bare's p99 in the same round. */
  p99Ratio: number;
  cpuPerRequest: number;
  /** Median over rounds of the difference to bare in the same round, µs. */
  cpuDelta: number;
  cpuUtilisation: number;
  startupMs: number;
  startupDeltaMs: number;
  rssMb: number;
  rssDeltaMb: number;
  stopMs: number;
  /** Σ delivered root spans and Σ expected (handled × sampling) over rounds. */
  delivered: number;
  expected: number;
  /** Σ spans of any kind per handled request. */
  spansPerRequest: number;
  /** Σ log lines per handled request. */
  logLinesPerRequest: number;
  serverSpanNames: Record<string, number>;
  /** Root spans the stack itself reported dropping, by reason (Sentry's client reports). */
  reportedDrops: Record<string, number>;
}

/** Median of a non-empty list; NaN for an empty one. */
export function median(values: number[]): number {
  const finite = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (finite.length === 0) return Number.NaN;
  const mid = finite.length >> 1;
  return finite.length % 2 === 1 ? finite[mid] : (finite[mid - 1] + finite[mid]) / 2;
}

/**
 * Summarises each variant over its rounds. Ratios and differences are taken
 * against bare on the same adapter in the same round first, then the median is
 * taken: the rounds are interleaved so that a round's neighbours share the
 * machine's state, and a slow round moves bare and the variant together.
 */
export function summarise(measurements: Measurement[]): Summary[] {
  const byVariant = new Map<string, Measurement[]>();
  for (const m of measurements) {
    const list = byVariant.get(m.variant.id) ?? [];
    list.push(m);
    byVariant.set(m.variant.id, list);
  }
  const bareOf = (m: Measurement) =>
    measurements.find((b) => b.round === m.round && b.variant.adapter === m.variant.adapter && b.variant.stack === 'bare');
  const paired = (list: Measurement[], f: (m: Measurement, bare: Measurement) => number) =>
    median(
      list.map((m) => {
        const bare = bareOf(m);
        return bare ? f(m, bare) : Number.NaN;
      }),
    );

  const summaries: Summary[] = [];
  for (const list of byVariant.values()) {
    const variant = list[0].variant;
    const handled = sum(list.map((m) => m.handled));
    const names: Record<string, number> = {};
    const drops: Record<string, number> = {};
    for (const m of list) {
      for (const [name, count] of Object.entries(m.tally.serverSpanNames)) names[name] = (names[name] ?? 0) + count;
      for (const [reason, count] of Object.entries(m.tally.transactionsDiscarded)) drops[reason] = (drops[reason] ?? 0) + count;
    }
    summaries.push({
      variant,
      rounds: list.length,
      rps: median(list.map((m) => m.rps)),
      ratio: paired(list, (m, bare) => m.rps / bare.rps),
      cpuRatio: paired(list, (m, bare) => bare.cpuPerRequest / m.cpuPerRequest),
      p50: median(list.map((m) => m.p50)),
      p99: median(list.map((m) => m.p99)),
      p99Ratio: paired(list, (m, bare) => m.p99 / bare.p99),
      cpuPerRequest: median(list.map((m) => m.cpuPerRequest)),
      cpuDelta: paired(list, (m, bare) => m.cpuPerRequest - bare.cpuPerRequest),
      cpuUtilisation: median(list.map((m) => m.cpuUtilisation)),
      startupMs: median(list.map((m) => m.startupMs)),
      startupDeltaMs: paired(list, (m, bare) => m.startupMs - bare.startupMs),
      rssMb: median(list.map((m) => m.rssMb)),
      rssDeltaMb: paired(list, (m, bare) => m.rssMb - bare.rssMb),
      stopMs: median(list.map((m) => m.stopMs)),
      delivered: sum(list.map((m) => m.delivered)),
      expected: sum(list.map((m) => m.handled * m.variant.sampling)),
      spansPerRequest: handled > 0 ? sum(list.map((m) => m.spans)) / handled : Number.NaN,
      logLinesPerRequest: handled > 0 ? sum(list.map((m) => m.logLines)) / handled : Number.NaN,
      serverSpanNames: names,
      reportedDrops: drops,
    });
  }
  return summaries;
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

/** One target of the issue, judged on one variant's summary. */
export interface TargetResult {
  variant: string;
  target: string;
  measured: string;
  met: boolean | undefined;
}

interface Target {
  variant: string;
  target: string;
  measured: (s: Summary) => string;
  met: (s: Summary) => boolean;
}

const times = (x: number) => `${x.toFixed(2)}×`;
const throughput = (s: Summary) => `${times(s.ratio)} (from CPU per request: ${times(s.cpuRatio)})`;
const signed = (x: number, digits: number, unit: string) => `${x >= 0 ? '+' : ''}${x.toFixed(digits)}${unit}`;

/** The targets: Fastify, against bare Fastify of the same run. */
const TARGETS: Target[] = [
  { variant: 'fastify/full', target: 'req/s ≥ 0.50× bare', measured: (s) => throughput(s), met: (s) => s.ratio >= 0.5 },
  {
    variant: 'fastify/full',
    target: 'CPU ≤ +40 µs per request',
    measured: (s) => signed(s.cpuDelta, 1, ' µs'),
    met: (s) => s.cpuDelta <= 40,
  },
  { variant: 'fastify/full', target: 'p99 ≤ 2× bare', measured: (s) => times(s.p99Ratio), met: (s) => s.p99Ratio <= 2 },
  {
    variant: 'fastify/full',
    target: 'spans delivered 100%',
    measured: (s) => `${s.delivered} of ${s.expected} (${percent(s.delivered / s.expected)})`,
    met: (s) => s.expected > 0 && s.delivered === s.expected,
  },
  {
    variant: 'fastify/full',
    target: 'start-up ≤ +0.3 s',
    measured: (s) => signed(s.startupDeltaMs / 1000, 3, ' s'),
    met: (s) => s.startupDeltaMs <= 300,
  },
  { variant: 'fastify/full', target: 'RSS ≤ +60 MB', measured: (s) => signed(s.rssDeltaMb, 1, ' MB'), met: (s) => s.rssDeltaMb <= 60 },
  { variant: 'fastify/sampled', target: 'req/s ≥ 0.70× bare', measured: (s) => throughput(s), met: (s) => s.ratio >= 0.7 },
  { variant: 'fastify/sampled', target: 'p99 ≤ 2× bare', measured: (s) => times(s.p99Ratio), met: (s) => s.p99Ratio <= 2 },
  { variant: 'fastify/logs+metrics', target: 'req/s ≥ 0.80× bare', measured: (s) => throughput(s), met: (s) => s.ratio >= 0.8 },
  { variant: 'fastify/logs+metrics', target: 'p99 ≤ 2× bare', measured: (s) => times(s.p99Ratio), met: (s) => s.p99Ratio <= 2 },
];

/** Judges every target whose variant was measured. */
export function judgeTargets(summaries: Summary[]): TargetResult[] {
  return TARGETS.flatMap((t) => {
    const s = summaries.find((x) => x.variant.id === t.variant);
    if (!s) return [];
    const values = t.measured(s);
    return [{ variant: t.variant, target: t.target, measured: values, met: values.includes('NaN') ? undefined : t.met(s) }];
  });
}

/** `98.7%`, or `—` for what cannot be a fraction. */
export function percent(fraction: number): string {
  return Number.isFinite(fraction) ? `${(fraction * 100).toFixed(fraction >= 0.9995 && fraction < 1 ? 2 : 1)}%` : '—';
}
