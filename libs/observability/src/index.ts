/**
 * nestjs-observability: traces, correlated logs and request context for NestJS,
 * in one OpenTelemetry pipeline. Start the pipeline with the preload
 * (`node --require nestjs-observability/register`), import `ObservabilityModule`.
 */
export { ObservabilityModule } from './observability.module';
export type {
  HealthDetailsVisibility,
  HealthOptions,
  HttpOptions,
  LogFormat,
  LoggingOptions,
  LogLevel,
  MetricsOptions,
  ObservabilityModuleOptions,
  RedactionOptions,
  RedactionPattern,
  ShutdownOptions,
  TracingOptions,
} from './config/options.interface';
export { ObservabilityConfigError, ObservabilityError } from './shared/observability.errors';
export { RequestContextService } from './context/request-context.service';
export type { RequestContext } from './context/unit-of-work';
export { TracingService } from './tracing/tracing.service';
export { Traced, type TracedOptions } from './tracing/traced.decorator';
export type { SpanOptions } from './tracing/span-runner';
export { Scrubber, type ScrubberPolicy } from './shared/scrubber';
export {
  MetricsService,
  type CounterMetric,
  type GaugeMetric,
  type HistogramDefinition,
  type HistogramMetric,
  type Labels,
  type MetricDefinition,
} from './metrics/metrics.service';
/** nestjs-pino's `Logger` (Nest's `LoggerService`), bound to this module's pino: `app.useLogger(app.get(ObservabilityLogger))`. */
export { Logger as ObservabilityLogger, PinoLogger } from 'nestjs-pino';
export {
  DiskSpaceHealthIndicator,
  EventLoopDelayHealthIndicator,
  HealthService,
  HeapHealthIndicator,
  HttpDependencyHealthIndicator,
  PostgresHealthIndicator,
  RedisHealthIndicator,
  RssHealthIndicator,
  type DiskSpaceOptions,
  type EventLoopDelayOptions,
  type HealthCheckFunction,
  type HealthCheckOutcome,
  type HealthCheckReturn,
  type HealthDetailValue,
  type HealthIndicator,
  type HealthReport,
  type HttpDependencyOptions,
  type IndicatorOptions,
  type MemoryIndicatorOptions,
  type PostgresQueryable,
  type RedisPingable,
  type RegisterCheckOptions,
  type TerminusIndicatorResult,
} from './health';
export type { ErrorsOptions } from './config/options.interface';
