import type { LibrarySnapshot, Machine } from './environment';
import { MAX_INTERFERENCE } from './interference';
import type { BenchOptions } from './options';
import type { ProfileReport, Share } from './profile';
import { type Measurement, percent, type Summary, type TargetResult } from './summary';
import type { Adapter } from './variants';

/** Everything the results file states. */
export interface RunReport {
  date: Date;
  command: string;
  options: BenchOptions;
  machine: Machine;
  pinning: string;
  library: LibrarySnapshot;
  versions: Record<string, string>;
  summaries: Summary[];
  measurements: Measurement[];
  targets: TargetResult[];
  failures: string[];
  profile?: { variant: string; report: ProfileReport; rps: number; file: string };
  totalSeconds: number;
}

const COLUMNS = [
  'variant',
  'req/s',
  '× bare',
  '× bare by CPU',
  'p50 ms',
  'p99 ms',
  'p99 × bare',
  'CPU µs/req',
  'Δ CPU µs/req',
  'server CPU',
  'start-up s',
  'Δ start-up s',
  'RSS MB',
  'Δ RSS MB',
  'spans delivered',
];

function row(s: Summary): string[] {
  const bare = s.variant.stack === 'bare';
  const delta = (x: number, digits: number) => (bare ? '—' : `${x >= 0 ? '+' : ''}${x.toFixed(digits)}`);
  return [
    s.variant.id,
    s.rps.toFixed(0),
    s.ratio.toFixed(2),
    s.cpuRatio.toFixed(2),
    s.p50.toFixed(2),
    s.p99.toFixed(2),
    s.p99Ratio.toFixed(2),
    s.cpuPerRequest.toFixed(1),
    delta(s.cpuDelta, 1),
    `${(s.cpuUtilisation * 100).toFixed(0)}%`,
    (s.startupMs / 1000).toFixed(3),
    delta(s.startupDeltaMs / 1000, 3),
    s.rssMb.toFixed(1),
    delta(s.rssDeltaMb, 1),
    delivery(s),
  ];
}

function delivery(s: Summary): string {
  if (s.variant.sampling === 0) return '—';
  const fraction = percent(s.delivered / s.expected);
  return s.variant.sampling < 1 ? `≈ ${fraction}` : fraction;
}

function markdownTable(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

function ordered(summaries: Summary[], adapter: Adapter): Summary[] {
  return summaries.filter((s) => s.variant.adapter === adapter);
}

/** The results as a fixed-width table for the terminal. */
export function consoleTable(summaries: Summary[]): string {
  const rows = summaries.map(row);
  const widths = COLUMNS.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(COLUMNS), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** The targets for the terminal. */
export function consoleTargets(targets: TargetResult[]): string {
  return targets.map((t) => `${verdict(t.met).padEnd(7)} ${t.variant.padEnd(21)} ${t.target.padEnd(26)} ${t.measured}`).join('\n');
}

/** The profile's main lists for the terminal. */
export function consoleProfile(p: NonNullable<RunReport['profile']>): string {
  const r = p.report;
  const list = (title: string, shares: Share[]) =>
    [title, ...shares.slice(0, 12).map((s) => `  ${(s.fraction * 100).toFixed(1).padStart(5)}%  ${s.name}`)].join('\n');
  return [
    `Profile of ${p.variant} (${p.rps.toFixed(0)} req/s while profiled; ${(r.busyMs / 1000).toFixed(1)} s busy; ${r.windowed ? 'load window' : 'whole life'}):`,
    `telemetry work: ${(r.attributable * 100).toFixed(1)}% of busy CPU (outside requests: ${(r.background * 100).toFixed(1)}%)`,
    list('where telemetry time goes (leaf functions):', r.attributableLeaves),
    list('library functions, inclusive over telemetry work:', r.libraryFunctions),
    list('self time by package:', r.byPackage),
  ].join('\n');
}

function verdict(met: boolean | undefined): string {
  return met === undefined ? 'n/a' : met ? 'met' : 'MISSED';
}

/** RESULTS.md. */
export function markdownReport(r: RunReport): string {
  const o = r.options;
  const out: string[] = [];
  out.push('# Benchmark results', '');
  out.push(
    `Written by \`${r.command}\` on ${r.date.toISOString().replace('T', ' ').slice(0, 16)} UTC (${(r.totalSeconds / 60).toFixed(1)} min). ` +
      'Generated: rerun rather than edit. How to run and what each number means: `bench/README.md`.',
    '',
  );
  if (o.quick) out.push('**Quick mode**: a check that the harness works. Its numbers are too short to judge anything.', '');

  out.push('## Setup', '');
  out.push(
    `- Machine: ${r.machine.cores} cores (${r.machine.cpuModel}), ${r.machine.memoryGb} GB, ${r.machine.kernel}; Node ${r.machine.node}.`,
  );
  out.push(`- Placement: ${r.pinning}.`);
  out.push(
    `- Load: autocannon ${r.versions.autocannon}, \`GET /users/42\` on 127.0.0.1 only, ${o.connections} keep-alive connections, no pipelining. ` +
      `${o.rounds} round${o.rounds > 1 ? 's' : ''}; in each, every variant runs once in its own fresh process (the order rotates between rounds): ` +
      `start-up, ${o.warmup} s of warm-up load, ${o.duration} s measured, SIGTERM.`,
  );
  out.push(
    `- Library: nestjs-observability ${r.library.version} at commit ${r.library.commit}` +
      `${r.library.dirty ? " plus uncommitted changes in libs/observability (other engineers' work in progress; the diff is saved in `bench/out/library.diff`)" : ''}` +
      `; build ${r.library.buildHash} (SHA-256 of the dist that was copied and measured).`,
  );
  out.push(
    `- Other stacks: ${Object.entries(r.versions)
      .filter(([name]) => name !== 'autocannon')
      .map(([name, version]) => `${name} ${version}`)
      .join(', ')}.`,
  );
  out.push('');

  out.push('## Variants', '');
  const seen = new Set<string>();
  for (const s of r.summaries) {
    if (seen.has(s.variant.stack)) continue;
    seen.add(s.variant.stack);
    out.push(`- **${s.variant.stack}**: ${s.variant.description}.`);
  }
  out.push('', 'Each app serves `GET /users/:id`: it awaits one `setImmediate` (standing in for I/O) and returns `{ id, name }`.', '');

  for (const adapter of ['fastify', 'express'] as const) {
    const list = ordered(r.summaries, adapter);
    if (list.length === 0) continue;
    out.push(`## Results: ${adapter === 'fastify' ? 'Fastify' : 'Express'}`, '');
    out.push(markdownTable(COLUMNS, list.map(row)), '');
  }
  out.push(
    "Medians over rounds. `× bare by CPU` is bare's CPU per request over the variant's: the throughput ratio of two servers that each saturate their " +
      'core, independent of whether the load generator kept up; on this shared machine it is the steadier ratio. ' +
      '`× bare` and every `Δ` are taken against bare on the same adapter *in the same round*, then the median of those is shown. ' +
      "`CPU µs/req`: the server process's CPU time (user + system, all threads, from /proc/<pid>/stat) over the measured window divided by the 2xx responses in it; " +
      '`server CPU`: that CPU time over the wall time (100% = the one core it is pinned to). `start-up`: spawn to the first 200 of the route. ' +
      '`RSS`: VmRSS right after the measured load. `spans delivered`: root spans (server spans; Sentry transactions) the sink received, against the requests the app ' +
      'itself counted (probes, warm-up and measured load) times the sampling ratio, summed over rounds, counted after the process flushed and exited.',
    '',
  );

  out.push('## Targets (Fastify, same run)', '');
  if (o.quick) out.push('Not judged in quick mode.', '');
  else {
    out.push(
      markdownTable(
        ['variant', 'target', 'measured', ''],
        r.targets.map((t) => [t.variant, t.target, t.measured, verdict(t.met)]),
      ),
      '',
    );
    const missed = r.targets.filter((t) => t.met === false).length;
    out.push(missed === 0 ? 'All targets met.' : `${missed} of ${r.targets.length} targets missed.`, '');
  }

  out.push('## Delivery and logs', '');
  out.push(
    markdownTable(
      [
        'variant',
        'root spans received / expected',
        'drops the stack reported',
        'spans of any kind per request',
        'log lines per request',
        'shutdown s',
        'root span names',
      ],
      r.summaries.map((s) => [
        s.variant.id,
        s.variant.sampling === 0 ? '—' : `${s.delivered} / ${Math.round(s.expected)}`,
        Object.entries(s.reportedDrops)
          .map(([reason, n]) => `${n} ${reason}`)
          .join(', ') || '—',
        s.spansPerRequest.toFixed(2),
        s.variant.logs ? s.logLinesPerRequest.toFixed(3) : '—',
        (s.stopMs / 1000).toFixed(2),
        Object.entries(s.serverSpanNames)
          .sort((a, b) => b[1] - a[1])
          .slice(0, 3)
          .map(([name, n]) => `\`${name}\` ×${n}`)
          .join(', ') || '—',
      ]),
    ),
    '',
  );

  out.push('## Notes', '');
  out.push(...notes(r).map((n) => `- ${n}`), '');

  if (r.failures.length > 0) {
    out.push('## Failures', '', ...r.failures.map((f) => `- ${f.replace(/\n/g, ' ')}`), '');
  }

  if (r.profile) out.push(...profileSection(r.profile), '');

  out.push('## Every round', '');
  out.push(
    markdownTable(
      [
        'variant',
        'round',
        'req/s',
        'p50 ms',
        'p99 ms',
        'CPU µs/req',
        'server CPU',
        'start-up ms',
        'RSS MB',
        'handled',
        'root spans',
        'non-2xx/errors',
        'other load',
        'repeats',
      ],
      [...r.measurements]
        .sort((a, b) => a.variant.id.localeCompare(b.variant.id) || a.round - b.round)
        .map((m) => [
          m.variant.id,
          String(m.round),
          m.rps.toFixed(0),
          m.p50.toFixed(2),
          m.p99.toFixed(2),
          m.cpuPerRequest.toFixed(1),
          `${(m.cpuUtilisation * 100).toFixed(0)}%`,
          m.startupMs.toFixed(0),
          m.rssMb.toFixed(1),
          String(m.handled),
          m.variant.sampling === 0 ? '—' : String(m.delivered),
          String(m.failed),
          `${m.interference.toFixed(2)} cores`,
          String(m.repeats),
        ]),
    ),
    '',
  );
  return out.join('\n');
}

function notes(r: RunReport): string[] {
  const notes: string[] = [];
  const has = (stack: string) => r.summaries.some((s) => s.variant.stack === stack);
  if (has('logs+metrics')) {
    notes.push(
      'logs+metrics: the issue expected the module to have no metrics yet. At the measured commit it has a metrics pillar, on by default ' +
        '(`http_server_request_duration_seconds`, `http_server_active_requests`, runtime metrics, `/metrics` on the app port), so this variant and ' +
        '`full`/`sampled` include it. Nothing scrapes `/metrics` during the run: the cost measured is recording, not exposition.',
    );
  }
  if (has('sampled')) {
    notes.push(
      'sampled: with a 10% trace-id ratio the number of sampled requests is itself random (binomial), so its delivery is shown as ≈: ' +
        'a few percent either side of 100% is sampling noise, not loss.',
    );
  }
  if (has('otel-stack') || has('nestjs-otel')) {
    notes.push(
      "otel-stack and nestjs-otel export spans with the SDK's default BatchSpanProcessor (queue 2,048, batches of 512, every 5 s), as a user gets it " +
        'without tuning; spans beyond the queue are dropped by design, which shows as delivery under 100%. The module sizes its own queue for load (32,768). ' +
        'OTEL_METRICS_EXPORTER/OTEL_LOGS_EXPORTER are `none` for them so that their SDK sends only traces to the sink.',
    );
    notes.push(
      '@fastify/otel 0.21.2 is the Fastify instrumentation (@opentelemetry/instrumentation-fastify is deprecated in its favour); no release of it ' +
        'depends on @opentelemetry/instrumentation ^0.223.0 yet, so it brings its own 0.222.0 copy of that package. @sentry/nestjs brings 0.220.0. ' +
        '@opentelemetry/api, core and sdk-trace-base stay single copies.',
    );
  }
  if (has('sentry')) {
    notes.push(
      "sentry: the sink answers Sentry's envelope endpoint with 200 and counts transactions; Sentry sends one HTTP request per transaction. " +
        'Shutdown calls `Sentry.close()` so that queued transactions are sent before the count is read.',
    );
  }
  notes.push(
    'Every stack flushes at shutdown (nestjs-observability by itself through `enableShutdownHooks`; the others through an `onApplicationShutdown` ' +
      'hook calling `sdk.shutdown()` / `Sentry.close()`, which their guides leave to the user).',
  );
  notes.push(
    'Log files are written asynchronously (pino/sonic-boom) by every stack that logs; they are deleted after counting their lines.',
  );
  const repeated = r.measurements.filter((m) => m.repeats > 0).length;
  const disturbed = r.measurements.filter((m) => m.interference > MAX_INTERFERENCE).length;
  notes.push(
    'This machine is shared (other engineers run test suites on it). The harness waits for a quiet machine before each process and measures the CPU ' +
      `other processes used during each measured window (\`other load\` under Every round); a window where they used more than ${MAX_INTERFERENCE} cores is measured ` +
      `again, up to three times. This run: ${repeated} measurement(s) repeated, ${disturbed} kept although disturbed.`,
  );
  notes.push(
    'The load generator is one autocannon instance in the harness process. On two cores it shares a core with the sink; `server CPU` near 100% ' +
      'means the server, not the load generator, was the bottleneck.',
  );
  return notes;
}

function profileSection(p: NonNullable<RunReport['profile']>): string[] {
  const r = p.report;
  const pct = (share: Share) => `${(share.fraction * 100).toFixed(1)}%`;
  const list = (header: string, shares: Share[]) =>
    markdownTable(
      [header, 'share of busy CPU'],
      shares.map((s) => [`\`${s.name}\``, pct(s)]),
    );
  return [
    `## Profile: ${p.variant} under load`,
    '',
    `\`node --cpu-prof\` on the ${p.variant} server (${p.rps.toFixed(0)} req/s while profiled), ` +
      `${r.windowed ? 'samples of the measured load window only' : 'whole process life (the load window could not be located)'}: ` +
      `${(r.busyMs / 1000).toFixed(1)} s of busy CPU on the main thread. Profile: \`${p.file}\` (open it in Chrome DevTools or speedscope).`,
    '',
    `**Telemetry work: ${(r.attributable * 100).toFixed(1)}% of busy CPU**, of which ${(r.background * 100).toFixed(1)}% outside any request ` +
      '(batch export on its timer, log writes completing). A sample counts when, walking from its leaf up, a nestjs-observability or telemetry-package ' +
      "frame comes before any application or framework frame: the library's own work and what it calls, not the app code it wraps. " +
      'Garbage collection is not attributed to anyone.',
    '',
    '### Where telemetry time goes (leaf functions, self time)',
    '',
    list('function [package]', r.attributableLeaves),
    '',
    '### Library functions, inclusive over telemetry work (TypeScript source via source maps)',
    '',
    list('function (file:function:line)', r.libraryFunctions),
    '',
    '### Library functions, self time',
    '',
    list('function (file:function:line)', r.librarySelf),
    '',
    '### Self time by package, whole process',
    '',
    markdownTable(
      ['package', 'share of busy CPU'],
      r.byPackage.map((s) => [s.name, pct(s)]),
    ),
    '',
    '### Top self time, whole process',
    '',
    list('function (file:function:line)', r.topSelf),
  ];
}
