/** What a run does; from the command line and BENCH_QUICK. */
export interface BenchOptions {
  /** A few seconds per variant, to keep the harness working (CI); judges nothing. */
  quick: boolean;
  rounds: number;
  /** Seconds of load before measuring, per process. */
  warmup: number;
  /** Seconds of measured load, per process. */
  duration: number;
  connections: number;
  /** Variant ids or stack names to run (bare of each adapter is always added); empty: all. */
  only: string[];
  /** Profile a variant with --cpu-prof: `auto` does so for fastify/full when it misses a target (full runs only). */
  profile: 'auto' | 'always' | 'never';
  /** The variant to profile. */
  profileVariant: string;
  pin: boolean;
  /** Where the results go; default bench/RESULTS.md, or bench/out/RESULTS.quick.md in quick mode. */
  out: string | undefined;
}

const USAGE = `npm run bench -- [options]
  --quick               a few seconds per variant (also BENCH_QUICK=1); checks the harness, judges nothing
  --rounds N            rounds, each running every variant once (default 3; quick 1)
  --duration S          measured seconds per variant and round (default 8; quick 2)
  --warmup S            seconds of load before measuring (default 3; quick 1)
  --connections N       concurrent connections of the load generator (default 32)
  --only A,B            variants (fastify/full) or stacks (full) to run; bare is always added
  --profile [VARIANT]   profile VARIANT (default fastify/full) with --cpu-prof after the rounds
  --no-profile          never profile (default: profile when fastify/full misses a target)
  --no-pin              do not pin the server and the harness to separate CPUs
  --out FILE            write the results there`;

/** Parses the command line; throws with the usage on anything unknown. */
export function parseOptions(argv: string[], env: NodeJS.ProcessEnv): BenchOptions {
  const quick = argv.includes('--quick') || env.BENCH_QUICK === '1' || env.BENCH_QUICK === 'true';
  const options: BenchOptions = {
    quick,
    rounds: quick ? 1 : 3,
    warmup: quick ? 1 : 3,
    duration: quick ? 2 : 8,
    connections: 32,
    only: [],
    profile: quick ? 'never' : 'auto',
    profileVariant: 'fastify/full',
    pin: true,
    out: undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value\n${USAGE}`);
      return v;
    };
    const number = (min: number) => {
      const raw = value();
      const n = Number(raw);
      if (!Number.isFinite(n) || n < min) throw new Error(`${arg} ${raw}: expected a number ≥ ${min}\n${USAGE}`);
      return n;
    };
    switch (arg) {
      case '--quick':
        break;
      case '--rounds':
        options.rounds = Math.round(number(1));
        break;
      case '--duration':
        options.duration = number(0.5);
        break;
      case '--warmup':
        options.warmup = number(0);
        break;
      case '--connections':
        options.connections = Math.round(number(1));
        break;
      case '--only':
        options.only = value()
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        break;
      case '--profile':
        options.profile = 'always';
        // An optional variant id may follow.
        if (argv[i + 1] !== undefined && !argv[i + 1].startsWith('--')) options.profileVariant = value();
        break;
      case '--no-profile':
        options.profile = 'never';
        break;
      case '--no-pin':
        options.pin = false;
        break;
      case '--out':
        options.out = value();
        break;
      case '--help':
      case '-h':
        throw new Error(USAGE);
      default:
        throw new Error(`unknown option ${arg}\n${USAGE}`);
    }
  }
  return options;
}
