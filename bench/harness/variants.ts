import { join } from 'node:path';

/** The HTTP adapters the bench apps run on. */
export type Adapter = 'fastify' | 'express';

/** Which sink counter holds a variant's one-span-per-request root spans. */
export type SpanCounter = 'serverSpans' | 'transactions';

/** One way of running the bench app: its own process, entry and environment. */
export interface Variant {
  /** `fastify/full`, `express/bare`, … */
  id: string;
  adapter: Adapter;
  /** The stack, without the adapter: `bare`, `full`, `otel-stack`, … */
  stack: string;
  /** One line for the results: what runs. */
  description: string;
  /** Entry file, relative to dist/bench. */
  entry: string;
  /** Preloads (`--require`), package names or paths relative to dist/bench. */
  preload: string[];
  /** Environment on top of the harness's own. `{sink}` is replaced by the sink's URL. */
  env: Record<string, string>;
  /** Fraction of requests that should reach the sink as a root span; 0 when nothing is traced. */
  sampling: number;
  spanCounter: SpanCounter;
  /** Whether the app writes a log line per request into `BENCH_LOG_FILE`. */
  logs: boolean;
  /** Whether the app needs a free port for a metrics endpoint of its own (`BENCH_METRICS_PORT`). */
  metricsPort?: boolean;
}

/** What every stack of this library shares: the preload, spans to the sink. */
const MODULE_ENV = {
  OTEL_EXPORTER_OTLP_ENDPOINT: '{sink}',
  OTEL_SERVICE_NAME: 'bench',
};

/** The alternatives export their spans to the same sink; their SDK's implicit metric and log exporters stay off. */
const OTEL_ALTERNATIVE_ENV = {
  OTEL_EXPORTER_OTLP_ENDPOINT: '{sink}',
  OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
  OTEL_METRICS_EXPORTER: 'none',
  OTEL_LOGS_EXPORTER: 'none',
};

function moduleVariants(adapter: Adapter): Variant[] {
  const entry = 'apps/observability.main.js';
  const preload = ['nestjs-observability/register'];
  return [
    {
      id: `${adapter}/bare`,
      adapter,
      stack: 'bare',
      description: 'NestJS alone',
      entry: 'apps/bare.main.js',
      preload: [],
      env: {},
      sampling: 0,
      spanCounter: 'serverSpans',
      logs: false,
    },
    {
      id: `${adapter}/full`,
      adapter,
      stack: 'full',
      description:
        'nestjs-observability: 100% of requests traced (OTLP to the sink), a log line per request to a file, request context, metrics on',
      entry,
      preload,
      env: { ...MODULE_ENV },
      sampling: 1,
      spanCounter: 'serverSpans',
      logs: true,
    },
    {
      id: `${adapter}/sampled`,
      adapter,
      stack: 'sampled',
      description: 'the same at 10%: OTEL_TRACES_SAMPLER=parentbased_traceidratio, OTEL_TRACES_SAMPLER_ARG=0.1',
      entry,
      preload,
      env: { ...MODULE_ENV, OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' },
      sampling: 0.1,
      spanCounter: 'serverSpans',
      logs: true,
    },
    {
      id: `${adapter}/logs+metrics`,
      adapter,
      stack: 'logs+metrics',
      description: 'nestjs-observability with `tracing: false`: log line per request, request context, metrics',
      entry,
      preload,
      env: { ...MODULE_ENV, BENCH_TRACING: 'off' },
      sampling: 0,
      spanCounter: 'serverSpans',
      logs: true,
    },
  ];
}

/** The stacks a user would otherwise assemble; on Fastify only. */
function alternativeVariants(): Variant[] {
  return [
    {
      id: 'fastify/otel-stack',
      adapter: 'fastify',
      stack: 'otel-stack',
      description:
        'by hand: sdk-node + instrumentation-http + @fastify/otel + instrumentation-nestjs-core, OTLP proto with the default BatchSpanProcessor; nestjs-pino default pino-http request logs to a file; a @willsoto/nestjs-prometheus histogram observed by an interceptor',
      entry: 'apps/otel-stack.main.js',
      preload: ['apps/otel-stack.instrument.js'],
      env: { ...OTEL_ALTERNATIVE_ENV },
      sampling: 1,
      spanCounter: 'serverSpans',
      logs: true,
    },
    {
      id: 'fastify/nestjs-otel',
      adapter: 'fastify',
      stack: 'nestjs-otel',
      description:
        "nestjs-otel's README setup: sdk-node + auto-instrumentations-node, Prometheus reader, host metrics, Jaeger/W3C/B3 propagators, BatchSpanProcessor (OTLP proto to the sink); nestjs-pino request logs to a file",
      entry: 'apps/nestjs-otel.main.js',
      preload: ['apps/nestjs-otel.instrument.js'],
      env: { ...OTEL_ALTERNATIVE_ENV },
      sampling: 1,
      spanCounter: 'serverSpans',
      logs: true,
      metricsPort: true,
    },
    {
      id: 'fastify/sentry',
      adapter: 'fastify',
      stack: 'sentry',
      description: '@sentry/nestjs, tracesSampleRate 1, SentryModule + SentryGlobalFilter, DSN on the sink',
      entry: 'apps/sentry.main.js',
      preload: ['apps/sentry.instrument.js'],
      env: { SENTRY_DSN: '{sentry-dsn}' },
      sampling: 1,
      spanCounter: 'transactions',
      logs: false,
    },
  ];
}

/** Every variant, Fastify first; within an adapter `bare` comes first. */
export function allVariants(): Variant[] {
  const [bare, ...fastifyModule] = moduleVariants('fastify');
  return [bare, ...fastifyModule, ...alternativeVariants(), ...moduleVariants('express')];
}

/** Resolves a preload to what `--require` gets: package names as they are, paths against dist/bench. */
export function preloadArg(preload: string, distBench: string): string {
  return preload.startsWith('apps/') ? join(distBench, preload) : preload;
}
