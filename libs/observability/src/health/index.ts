/**
 * The health pillar's public surface, re-exported by the package's `index.ts`.
 * Everything else in this folder is internal.
 */
export type {
  HealthCheckFunction,
  HealthCheckOutcome,
  HealthCheckReturn,
  HealthDetailValue,
  HealthIndicator,
  TerminusIndicatorResult,
} from '../config/health-indicator.interface';
export type { HealthDetailsVisibility, HealthOptions, ShutdownOptions } from '../config/options.interface';
export { type HealthReport, HealthService, type RegisterCheckOptions } from './health.service';
export { DiskSpaceHealthIndicator, type DiskSpaceOptions } from './indicators/disk.health';
export { EventLoopDelayHealthIndicator, type EventLoopDelayOptions } from './indicators/event-loop.health';
export { HttpDependencyHealthIndicator, type HttpDependencyOptions } from './indicators/http-dependency.health';
export type { IndicatorOptions } from './indicators/indicator.options';
export { HeapHealthIndicator, type MemoryIndicatorOptions, RssHealthIndicator } from './indicators/memory.health';
export { PostgresHealthIndicator, type PostgresQueryable } from './indicators/postgres.health';
export { RedisHealthIndicator, type RedisPingable } from './indicators/redis.health';
