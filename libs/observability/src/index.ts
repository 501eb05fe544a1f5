/**
 * nestjs-observability: traces, correlated logs and request context for NestJS,
 * in one OpenTelemetry pipeline. Start the pipeline with the preload
 * (`node --require nestjs-observability/register`), import `ObservabilityModule`.
 */
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
export { RequestContextService } from './context/request-context.service';
export type { RequestContext } from './context/unit-of-work';
export {
  type CounterMetric,
  type GaugeMetric,
  type HistogramDefinition,
  type HistogramMetric,
  type Labels,
  type MetricDefinition,
  MetricsService,
} from './metrics/metrics.service';
export { ObservabilityModule } from './observability.module';
export { ObservabilityConfigError, ObservabilityError } from './shared/observability.errors';
export { Scrubber, type ScrubberPolicy } from './shared/scrubber';
export type { SpanOptions } from './tracing/span-runner';
export { Traced, type TracedOptions } from './tracing/traced.decorator';
export { TracingService } from './tracing/tracing.service';
/** nestjs-pino's `Logger` (Nest's `LoggerService`), bound to this module's pino: `app.useLogger(app.get(ObservabilityLogger))`. */
export type { ErrorsOptions } from './config/options.interface';
export {
  DiskSpaceHealthIndicator,
  type DiskSpaceOptions,
  EventLoopDelayHealthIndicator,
  type EventLoopDelayOptions,
  type HealthCheckFunction,
  type HealthCheckOutcome,
  type HealthCheckReturn,
  type HealthDetailValue,
  type HealthIndicator,
  type HealthReport,
  HealthService,
  HeapHealthIndicator,
  HttpDependencyHealthIndicator,
  type HttpDependencyOptions,
  type IndicatorOptions,
  type MemoryIndicatorOptions,
  PostgresHealthIndicator,
  type PostgresQueryable,
  RedisHealthIndicator,
  type RedisPingable,
  type RegisterCheckOptions,
  RssHealthIndicator,
  type TerminusIndicatorResult,
} from './health';
export { Logger as ObservabilityLogger, PinoLogger } from 'nestjs-pino';
