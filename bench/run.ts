/**
 * The overhead benchmark: `npm run bench` (full run, writes bench/RESULTS.md)
 * or `npm run bench -- --quick` (a few seconds per variant; checks that the
 * harness works, judges nothing). See bench/README.md.
 */
import { createReadStream, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

import { describeMachine, installedVersion, pinProcesses, snapshotLibrary } from './harness/environment';
import { InterferenceMeter, MAX_INTERFERENCE, waitForQuiet } from './harness/interference';
import { runLoad } from './harness/load';
import { type BenchOptions, parseOptions } from './harness/options';
import { analyseProfile, readProfile } from './harness/profile';
import { consoleProfile, consoleTable, consoleTargets, markdownReport, type RunReport } from './harness/render';
import { cpuMicros, freePort, rssBytes, startServer } from './harness/server-process';
import { Sink } from './harness/sink';
import { judgeTargets, type Measurement, summarise } from './harness/summary';
import { allVariants, preloadArg, type Variant } from './harness/variants';

const DIST_BENCH = __dirname;
const REPO_ROOT = join(DIST_BENCH, '..', '..');
const OUT = join(REPO_ROOT, 'bench', 'out');
/** The measured route. */
const ROUTE = '/users/42';
/** Attempts per variant and round before a disturbed measurement is kept anyway. */
const ATTEMPTS = 3;
/** After this long, a run stops waiting for quiet and repeating: it must end in bounded time. */
const PATIENCE_MS = 13 * 60_000;
/** Packages whose versions the results state. */
const STACK_PACKAGES = [
  'autocannon',
  '@nestjs/core',
  'fastify',
  'express',
  '@opentelemetry/sdk-node',
  '@opentelemetry/sdk-trace-base',
  '@opentelemetry/instrumentation-http',
  '@opentelemetry/instrumentation-nestjs-core',
  '@fastify/otel',
  '@opentelemetry/auto-instrumentations-node',
  'nestjs-otel',
  '@sentry/nestjs',
  'nestjs-pino',
  'pino',
  'prom-client',
  '@willsoto/nestjs-prometheus',
];

/** What the harness shares with every measurement. */
interface Context {
  options: BenchOptions;
  sink: Sink;
  serverCpu: number | undefined;
  /** `performance.now()` after which nothing waits for quiet or repeats. */
  patientUntil: number;
}

/** One process of one variant: what it runs and where its files go. */
interface ProcessPlan {
  variant: Variant;
  /** Names its files under bench/out (`fastify.full.r2`). */
  tag: string;
  /** Node options before the preloads. */
  nodeArgs?: string[];
}

async function main(): Promise<number> {
  const started = performance.now();
  const options = parseOptions(process.argv.slice(2), process.env);
  for (const dir of ['logs', 'runs']) mkdirSync(join(OUT, dir), { recursive: true });

  const library = snapshotLibrary(REPO_ROOT, DIST_BENCH, OUT);
  const machine = describeMachine();
  const pinning = pinProcesses(options.pin);
  const variants = selectVariants(options.only);
  const sink = await Sink.start();
  const context: Context = { options, sink, serverCpu: pinning.serverCpu, patientUntil: started + PATIENCE_MS };

  log(
    `nestjs-observability bench${options.quick ? ' (quick)' : ''}: ${variants.length} variants × ${options.rounds} round(s), ` +
      `${options.warmup} s warm-up + ${options.duration} s measured, ${options.connections} connections; ${pinning.description}`,
  );
  log(
    `library ${library.version} @ ${library.commit}${library.dirty ? ` + uncommitted changes (${relative(REPO_ROOT, library.diffFile ?? '')})` : ''}, ` +
      `build ${library.buildHash}, copied to ${relative(REPO_ROOT, library.dir)}`,
  );

  const measurements: Measurement[] = [];
  const failures: string[] = [];
  for (let round = 1; round <= options.rounds; round++) {
    // Rotating the order spreads any drift of the machine over every variant.
    const order = variants.map((_, i) => variants[(i + round - 1) % variants.length]);
    for (const variant of order) {
      const tag = `${variant.id.replace('/', '.')}.r${round}`;
      try {
        let m = await measure(context, { variant, tag }, round);
        // Repeating a disturbed measurement beats reporting it: only full runs judge numbers.
        for (
          let attempt = 2;
          !options.quick && m.interference > MAX_INTERFERENCE && attempt <= ATTEMPTS && performance.now() < context.patientUntil;
          attempt++
        ) {
          log(`round ${round} ${variant.id}: other processes used ${m.interference.toFixed(2)} cores meanwhile; measuring again`);
          m = { ...(await measure(context, { variant, tag }, round)), repeats: attempt - 1 };
        }
        measurements.push(m);
        const problems = harnessProblems(m);
        failures.push(...problems.map((p) => `${variant.id} round ${round}: ${p}`));
        log(
          `round ${round} ${variant.id.padEnd(21)} ${m.rps.toFixed(0).padStart(6)} req/s  p99 ${m.p99.toFixed(2).padStart(6)} ms  ` +
            `${m.cpuPerRequest.toFixed(1).padStart(6)} µs/req  start ${(m.startupMs / 1000).toFixed(2)} s  RSS ${m.rssMb.toFixed(0)} MB` +
            `${variant.sampling > 0 ? `  spans ${m.delivered}/${Math.round(m.handled * variant.sampling)}` : ''}` +
            `${m.interference > 0.05 ? `  (other load ${m.interference.toFixed(2)} cores)` : ''}${problems.length ? `  PROBLEM: ${problems.join('; ')}` : ''}`,
        );
      } catch (error) {
        failures.push(`${variant.id} round ${round}: ${(error as Error).message}`);
        log(`round ${round} ${variant.id}: FAILED\n${(error as Error).message}`);
      }
    }
  }

  const summaries = summarise(measurements);
  const targets = judgeTargets(summaries);
  console.log(`\n${consoleTable(summaries)}\n`);
  if (!options.quick && targets.length > 0) console.log(`Targets (Fastify, same run):\n${consoleTargets(targets)}\n`);

  let profile: RunReport['profile'];
  const fullMissed = targets.some((t) => t.variant === 'fastify/full' && t.met === false);
  const toProfile = allVariants().find((v) => v.id === options.profileVariant);
  if (options.profile === 'always' && !toProfile) failures.push(`--profile ${options.profileVariant}: no such variant`);
  if (
    toProfile &&
    (options.profile === 'always' || (options.profile === 'auto' && fullMissed && variants.some((v) => v.id === toProfile.id)))
  ) {
    log(`profiling ${toProfile.id} under load${options.profile === 'auto' ? ' (fastify/full missed a target)' : ''}`);
    try {
      profile = await profileVariant(context, toProfile);
      log(`profile written to ${profile.file}`);
      console.log(`\n${consoleProfile(profile)}\n`);
    } catch (error) {
      failures.push(`profile: ${(error as Error).message}`);
      log(`profile FAILED: ${(error as Error).message}`);
    }
  }
  await sink.stop();

  const versions = Object.fromEntries(STACK_PACKAGES.map((name) => [name, installedVersion(REPO_ROOT, name)]));
  const report: RunReport = {
    date: new Date(),
    command: commandLine(options),
    options,
    machine,
    pinning: pinning.description,
    library,
    versions,
    summaries,
    measurements,
    targets,
    failures,
    profile,
    totalSeconds: (performance.now() - started) / 1000,
  };
  const file = options.out ?? join(REPO_ROOT, 'bench', options.quick ? join('out', 'RESULTS.quick.md') : 'RESULTS.md');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, markdownReport(report));
  // The raw numbers, for anyone who wants to slice them differently.
  writeFileSync(join(OUT, options.quick ? 'results.quick.json' : 'results.json'), JSON.stringify(report, null, 2));
  log(`results written to ${relative(REPO_ROOT, file)} (${(report.totalSeconds / 60).toFixed(1)} min)`);
  if (failures.length > 0) {
    log(`${failures.length} harness problem(s):\n  ${failures.join('\n  ')}`);
    return 1;
  }
  return 0;
}

/** The variants asked for, plus bare of each adapter involved (ratios need it). */
function selectVariants(only: string[]): Variant[] {
  const all = allVariants();
  if (only.length === 0) return all;
  const picked = all.filter((v) => only.includes(v.id) || only.includes(v.stack));
  if (picked.length === 0) throw new Error(`--only ${only.join(',')} matches no variant; variants: ${all.map((v) => v.id).join(', ')}`);
  const adapters = new Set(picked.map((v) => v.adapter));
  return all.filter((v) => picked.includes(v) || (v.stack === 'bare' && adapters.has(v.adapter)));
}

/** Runs one variant once: start, warm up, measure, stop, count what arrived. */
async function measure(context: Context, plan: ProcessPlan, round: number): Promise<Measurement> {
  const { options, sink } = context;
  const variant = plan.variant;
  const files = processFiles(plan.tag);
  await quiet(context);
  await sink.take(); // whatever arrived before this process is not its own
  const server = await startServer({
    nodeArgs: [...(plan.nodeArgs ?? []), ...variant.preload.flatMap((p) => ['--require', preloadArg(p, DIST_BENCH)])],
    entry: join(DIST_BENCH, variant.entry),
    env: await processEnv(variant, sink, files),
    cwd: DIST_BENCH,
    cpu: context.serverCpu,
    outputFile: files.output,
    statsFile: files.stats,
    path: ROUTE,
    port: await freePort(),
  });
  let stopped = false;
  try {
    if (options.warmup > 0) await runLoad({ url: server.url, connections: options.connections, duration: options.warmup });
    const meter = new InterferenceMeter([server.pid, sink.pid]);
    const cpuBefore = cpuMicros(server.pid);
    const load = await runLoad({ url: server.url, connections: options.connections, duration: options.duration });
    const cpuUsed = cpuMicros(server.pid) - cpuBefore;
    const interference = meter.read();
    const rss = rssBytes(server.pid);
    const exit = await server.stop();
    stopped = true;
    const tally = await sink.take();
    const delivered = variant.spanCounter === 'transactions' ? tally.transactions : tally.serverSpans;
    return {
      variant,
      round,
      rps: load.rps,
      p50: load.p50,
      p99: load.p99,
      ok: load.ok,
      failed: load.failed,
      cpuPerRequest: load.ok > 0 ? cpuUsed / load.ok : Number.NaN,
      cpuUtilisation: cpuUsed / 1e6 / load.seconds,
      startupMs: server.startupMs,
      rssMb: rss / 2 ** 20,
      stopMs: exit.stopMs,
      exit: exit.signal ?? `code ${exit.code}`,
      handled: exit.stats?.handled ?? 0,
      delivered,
      spans: variant.spanCounter === 'transactions' ? tally.transactionSpans : tally.spans,
      logLines: variant.logs ? await countLines(files.log) : 0,
      tally,
      interference,
      repeats: 0,
    };
  } finally {
    if (!stopped) await server.stop();
    rmSync(files.log, { force: true });
  }
}

/** Profiles the variant's server with `node --cpu-prof` over one warm-up and one measured load. */
async function profileVariant(context: Context, variant: Variant): Promise<NonNullable<RunReport['profile']>> {
  const dir = join(OUT, 'profile');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const { options, sink } = context;
  const files = processFiles(`${variant.id.replace('/', '.')}.profile`);
  await quiet(context);
  await sink.take();
  const server = await startServer({
    // 250 µs sampling: four times V8's default resolution, still a small overhead.
    nodeArgs: [
      '--cpu-prof',
      '--cpu-prof-dir',
      dir,
      '--cpu-prof-interval',
      '250',
      ...variant.preload.flatMap((p) => ['--require', preloadArg(p, DIST_BENCH)]),
    ],
    entry: join(DIST_BENCH, variant.entry),
    env: await processEnv(variant, sink, files),
    cwd: DIST_BENCH,
    cpu: context.serverCpu,
    outputFile: files.output,
    statsFile: files.stats,
    path: ROUTE,
    port: await freePort(),
  });
  let rps: number;
  let window: [number, number];
  try {
    await runLoad({ url: server.url, connections: options.connections, duration: Math.max(options.warmup, 1) });
    // Microseconds of CLOCK_MONOTONIC: the clock V8 stamps profile samples with, system-wide.
    const from = Number(process.hrtime.bigint() / 1000n);
    const load = await runLoad({ url: server.url, connections: options.connections, duration: options.duration });
    window = [from, Number(process.hrtime.bigint() / 1000n)];
    rps = load.rps;
  } finally {
    await server.stop();
    rmSync(files.log, { force: true });
  }
  await sink.take();
  const profiles = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  if (profiles.length === 0) throw new Error(`no .cpuprofile was written in ${dir}`);
  const file = join(dir, profiles[0]);
  return { variant: variant.id, report: analyseProfile(readProfile(file), window), rps, file: relative(REPO_ROOT, file) };
}

/** Waits (bounded) for other processes to leave the machine alone; quick runs do not wait. */
async function quiet(context: Context): Promise<void> {
  const patience = Math.min(90_000, context.patientUntil - performance.now());
  if (context.options.quick || patience <= 0) return;
  await waitForQuiet([context.sink.pid], MAX_INTERFERENCE, patience, (cores) =>
    log(
      `other processes are using ${cores.toFixed(2)} cores; waiting up to ${(patience / 1000).toFixed(0)} s for the machine to calm down`,
    ),
  );
}

/** Per-process files under bench/out. */
function processFiles(tag: string): { output: string; stats: string; log: string } {
  const files = {
    output: join(OUT, 'runs', `${tag}.out`),
    stats: join(OUT, 'runs', `${tag}.stats.json`),
    log: join(OUT, 'logs', `${tag}.log`),
  };
  rmSync(files.stats, { force: true });
  rmSync(files.log, { force: true });
  return files;
}

/**
 * The child's whole environment: nothing inherited but PATH and HOME, so that
 * OTEL_* or SENTRY_* variables of the shell cannot change what is measured.
 */
async function processEnv(variant: Variant, sink: Sink, files: { stats: string; log: string }): Promise<Record<string, string>> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    NODE_ENV: 'production',
    HTTP_ADAPTER: variant.adapter,
    BENCH_STATS_FILE: files.stats,
    BENCH_LOG_FILE: files.log,
  };
  for (const [name, value] of Object.entries(variant.env)) {
    env[name] = value.replace('{sink}', sink.url).replace('{sentry-dsn}', sink.sentryDsn);
  }
  if (variant.metricsPort) env.BENCH_METRICS_PORT = String(await freePort());
  return env;
}

/** What would make the numbers meaningless: the harness, not the stack, is broken. */
function harnessProblems(m: Measurement): string[] {
  const problems: string[] = [];
  if (m.ok === 0) problems.push('no 2xx response in the measured window');
  if (m.failed > 0) problems.push(`${m.failed} non-2xx responses or errors`);
  if (m.exit !== 'SIGTERM' && m.exit !== 'code 0') problems.push(`the app ended with ${m.exit} after SIGTERM`);
  if (m.handled === 0) problems.push('the app wrote no stats at shutdown');
  if (m.variant.sampling === 1 && m.delivered === 0) problems.push('the sink received no root span');
  if (m.variant.logs && m.logLines === 0) problems.push('the log file stayed empty');
  return problems;
}

function countLines(file: string): Promise<number> {
  if (!existsSync(file)) return Promise.resolve(0);
  return new Promise((resolve, reject) => {
    let lines = 0;
    createReadStream(file)
      .on('data', (chunk: Buffer | string) => {
        const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        for (let i = buffer.indexOf(0x0a); i !== -1; i = buffer.indexOf(0x0a, i + 1)) lines++;
      })
      .on('end', () => resolve(lines))
      .on('error', reject);
  });
}

/** The command as it was typed, as far as the process can tell. */
function commandLine(options: BenchOptions): string {
  const args = process.argv.slice(2);
  const quickByEnv = options.quick && !args.includes('--quick') ? 'BENCH_QUICK=1 ' : '';
  if (process.env.npm_lifecycle_event === 'bench') return `${quickByEnv}npm run bench${args.length ? ` -- ${args.join(' ')}` : ''}`;
  return `${quickByEnv}node dist/bench/run.js${args.length ? ` ${args.join(' ')}` : ''}`;
}

function log(message: string): void {
  console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
