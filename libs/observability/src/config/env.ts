/**
 * The one place that reads environment variables. Everything here is plain
 * strings; parsing and validation live in `resolve-options.ts`, `health-options.ts`
 * and `telemetry-config.ts`.
 */
export type Env = Readonly<Record<string, string | undefined>>;

/** Names of every environment variable the library reads. */
export const ENV = {
  serviceName: 'OTEL_SERVICE_NAME',
  serviceVersion: 'SERVICE_VERSION',
  environment: 'DEPLOYMENT_ENVIRONMENT',
  resourceAttributes: 'OTEL_RESOURCE_ATTRIBUTES',
  sampler: 'OTEL_TRACES_SAMPLER',
  samplerArg: 'OTEL_TRACES_SAMPLER_ARG',
  tracesExporter: 'OTEL_TRACES_EXPORTER',
  otlpEndpoint: 'OTEL_EXPORTER_OTLP_ENDPOINT',
  otlpTracesEndpoint: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
  otlpProtocol: 'OTEL_EXPORTER_OTLP_PROTOCOL',
  otlpTracesProtocol: 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL',
  sdkDisabled: 'OTEL_SDK_DISABLED',
  metricsExporter: 'OTEL_METRICS_EXPORTER',
  logsExporter: 'OTEL_LOGS_EXPORTER',
  bspScheduleDelay: 'OTEL_BSP_SCHEDULE_DELAY',
  bspMaxQueueSize: 'OTEL_BSP_MAX_QUEUE_SIZE',
  bspMaxExportBatchSize: 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE',
  bspExportTimeout: 'OTEL_BSP_EXPORT_TIMEOUT',
  sentryDsn: 'SENTRY_DSN',
  sentryTracesSampleRate: 'SENTRY_TRACES_SAMPLE_RATE',
  sentryTracePropagationTargets: 'SENTRY_TRACE_PROPAGATION_TARGETS',
  sentryFlushTimeout: 'SENTRY_FLUSH_TIMEOUT',
  logLevel: 'LOG_LEVEL',
  logFormat: 'LOG_FORMAT',
  healthDetailsToken: 'HEALTH_DETAILS_TOKEN',
  shutdownDrainDelay: 'SHUTDOWN_DRAIN_DELAY_MS',
  shutdownTimeout: 'SHUTDOWN_TIMEOUT_MS',
} as const;

/** Reads one variable; an empty or blank value counts as unset. */
export function readEnv(env: Env, name: string): string | undefined {
  const value = env[name];
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}
