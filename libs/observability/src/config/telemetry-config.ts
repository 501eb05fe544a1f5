import { ObservabilityConfigError } from '../shared/observability.errors';
import { ENV, type Env, readEnv } from './env';
import { DEFAULTS } from './options.defaults';

/** Samplers named by `OTEL_TRACES_SAMPLER`. */
export const SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;
export type SamplerName = (typeof SAMPLERS)[number];

const EXPORTERS = ['otlp', 'console', 'none'] as const;
export type TracesExporterName = (typeof EXPORTERS)[number];

/**
 * Encodings of OTLP over HTTP that `OTEL_EXPORTER_OTLP_PROTOCOL` may name. The
 * spec's third, `grpc`, is refused: it needs a gRPC client the library does not
 * ship, for what every collector also accepts over HTTP.
 */
export const OTLP_PROTOCOLS = ['http/protobuf', 'http/json'] as const;
/** One of {@link OTLP_PROTOCOLS}. */
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];
/** The OpenTelemetry spec's default for OTLP exporters. */
const DEFAULT_OTLP_PROTOCOL: OtlpProtocol = 'http/protobuf';

/**
 * What the register preload needs to start the pipeline, read from env only
 * (it runs before the application and its options exist).
 */
export interface TelemetryConfig {
  disabled: boolean;
  /** Set when the environment names the service; otherwise the module supplies it. */
  serviceName: string | undefined;
  serviceVersion: string | undefined;
  environment: string | undefined;
  sampler: SamplerName;
  samplerRatio: number;
  exporter: TracesExporterName;
  /** Full URL spans are posted to, when the exporter is `otlp`. */
  tracesUrl: string | undefined;
  /** How OTLP spans are encoded: `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`, else `OTEL_EXPORTER_OTLP_PROTOCOL`. */
  otlpProtocol: OtlpProtocol;
  /** Batch span processor settings: the defaults, or the `OTEL_BSP_*` variables. */
  batch: { maxQueueSize: number; maxExportBatchSize: number; scheduledDelayMillis: number; exportTimeoutMillis: number };
  /** Error reports (and, with a sample rate, traces) to Sentry; `undefined` without `SENTRY_DSN`. */
  sentry: SentryConfig | undefined;
  /** Whether the user asked for the SDK's own metrics / logs exporters. */
  sdkMetrics: boolean;
  sdkLogs: boolean;
}

/** Sentry settings, from `SENTRY_*` variables. */
export interface SentryConfig {
  dsn: string;
  /** Set: Sentry samples traces and receives them too. Unset: Sentry gets error reports only. */
  tracesSampleRate: number | undefined;
  /** Outgoing hosts that get Sentry's trace headers (`sentry-trace`, `baggage`); none by default. */
  tracePropagationTargets: (string | RegExp)[];
  flushTimeoutMillis: number;
}

/** Reads and validates the pipeline's environment; throws {@link ObservabilityConfigError}. */
export function resolveTelemetryConfig(env: Env): TelemetryConfig {
  const disabled = parseBoolean(env, ENV.sdkDisabled, false);

  const samplerRaw = readEnv(env, ENV.sampler)?.toLowerCase() ?? DEFAULTS.sampler;
  if (!(SAMPLERS as readonly string[]).includes(samplerRaw)) {
    throw new ObservabilityConfigError(ENV.sampler, readEnv(env, ENV.sampler), `one of ${SAMPLERS.join(', ')}`, 'env');
  }
  const sampler = samplerRaw as SamplerName;

  const argRaw = readEnv(env, ENV.samplerArg);
  let samplerRatio: number = DEFAULTS.samplerRatio;
  if (argRaw !== undefined && sampler.endsWith('traceidratio')) {
    samplerRatio = Number(argRaw);
    if (!Number.isFinite(samplerRatio) || samplerRatio < 0 || samplerRatio > 1) {
      throw new ObservabilityConfigError(ENV.samplerArg, argRaw, 'a number from 0 to 1 (the fraction of traces sampled)', 'env');
    }
  }

  const endpoint = readUrl(env, ENV.otlpEndpoint);
  const tracesEndpoint = readUrl(env, ENV.otlpTracesEndpoint);
  const tracesUrl = tracesEndpoint ?? (endpoint ? `${endpoint.replace(/\/+$/, '')}/v1/traces` : undefined);

  const exporterRaw = readEnv(env, ENV.tracesExporter)?.toLowerCase();
  let exporter: TracesExporterName;
  if (exporterRaw === undefined) {
    exporter = tracesUrl ? 'otlp' : 'none';
  } else if ((EXPORTERS as readonly string[]).includes(exporterRaw)) {
    exporter = exporterRaw as TracesExporterName;
  } else {
    throw new ObservabilityConfigError(ENV.tracesExporter, exporterRaw, `one of ${EXPORTERS.join(', ')}`, 'env');
  }

  return {
    sentry: resolveSentry(env),
    disabled,
    serviceName: readEnv(env, ENV.serviceName),
    serviceVersion: readEnv(env, ENV.serviceVersion),
    environment: readEnv(env, ENV.environment),
    sampler,
    samplerRatio,
    exporter,
    tracesUrl,
    otlpProtocol: resolveOtlpProtocol(env),
    batch: {
      maxQueueSize: positiveInt(env, ENV.bspMaxQueueSize, DEFAULTS.batch.maxQueueSize),
      maxExportBatchSize: positiveInt(env, ENV.bspMaxExportBatchSize, DEFAULTS.batch.maxExportBatchSize),
      scheduledDelayMillis: positiveInt(env, ENV.bspScheduleDelay, DEFAULTS.batch.scheduledDelayMillis),
      exportTimeoutMillis: positiveInt(env, ENV.bspExportTimeout, DEFAULTS.batch.exportTimeoutMillis),
    },
    sdkMetrics: readEnv(env, ENV.metricsExporter) !== undefined,
    sdkLogs: readEnv(env, ENV.logsExporter) !== undefined,
  };
}

/**
 * The signal-specific variable wins over the general one, as the spec says; only
 * the one that decides is checked, so `OTEL_EXPORTER_OTLP_PROTOCOL=grpc` can stay
 * for other signals' exporters when the traces variable says `http/*`.
 */
function resolveOtlpProtocol(env: Env): OtlpProtocol {
  const name = readEnv(env, ENV.otlpTracesProtocol) === undefined ? ENV.otlpProtocol : ENV.otlpTracesProtocol;
  const raw = readEnv(env, name);
  if (raw === undefined) return DEFAULT_OTLP_PROTOCOL;
  const protocol = raw.toLowerCase();
  if (!(OTLP_PROTOCOLS as readonly string[]).includes(protocol)) {
    throw new ObservabilityConfigError(
      name,
      raw,
      'http/protobuf (the default) or http/json; grpc is not supported: send OTLP over HTTP, which collectors serve on port 4318',
      'env',
    );
  }
  return protocol as OtlpProtocol;
}

function resolveSentry(env: Env): SentryConfig | undefined {
  const dsn = readEnv(env, ENV.sentryDsn);
  if (dsn === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(dsn);
  } catch {
    url = undefined;
  }
  if (!url || !/^https?:$/.test(url.protocol) || url.username === '' || !/^\/(.*\/)?\d+$/.test(url.pathname)) {
    throw new ObservabilityConfigError(ENV.sentryDsn, '[given]', 'a Sentry DSN such as https://<key>@<host>/<project id>', 'env');
  }
  const rateRaw = readEnv(env, ENV.sentryTracesSampleRate);
  let tracesSampleRate: number | undefined;
  if (rateRaw !== undefined) {
    tracesSampleRate = Number(rateRaw);
    if (!Number.isFinite(tracesSampleRate) || tracesSampleRate < 0 || tracesSampleRate > 1) {
      throw new ObservabilityConfigError(ENV.sentryTracesSampleRate, rateRaw, 'a number from 0 to 1', 'env');
    }
  }
  const targets = (readEnv(env, ENV.sentryTracePropagationTargets) ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '')
    // `/…/` is a regular expression, anything else a substring of the URL.
    .map((t) => (t.length > 2 && t.startsWith('/') && t.endsWith('/') ? new RegExp(t.slice(1, -1)) : t));
  return {
    dsn,
    tracesSampleRate,
    tracePropagationTargets: targets,
    flushTimeoutMillis: positiveInt(env, ENV.sentryFlushTimeout, DEFAULTS.sentryFlushTimeoutMillis),
  };
}

function positiveInt(env: Env, name: string, fallback: number): number {
  const raw = readEnv(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new ObservabilityConfigError(name, raw, 'a positive whole number', 'env');
  return value;
}

function parseBoolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = readEnv(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ObservabilityConfigError(name, raw, 'true or false', 'env');
}

function readUrl(env: Env, name: string): string | undefined {
  const raw = readEnv(env, name);
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ObservabilityConfigError(name, raw, 'an absolute http(s) URL such as http://127.0.0.1:4318', 'env');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ObservabilityConfigError(name, raw, 'an absolute http(s) URL such as http://127.0.0.1:4318', 'env');
  }
  return raw;
}
