import type { Provider } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthEndpoint } from './health.endpoint';
import { HealthService } from './health.service';
import { ShutdownService } from './shutdown.service';

/**
 * The health pillar's providers. They need, besides these, the resolved
 * options under `HEALTH_OPTIONS`, `MetricsService` and `PinoLogger` (from
 * `ObservabilityModule`), and Terminus's services ({@link healthImports}).
 * @internal
 */
export function createHealthProviders(): Provider[] {
  return [ShutdownService, HealthService, HealthEndpoint];
}

/**
 * Terminus's `HealthCheckService` and `HealthIndicatorService`. Its own logger
 * is off: it would log every failing probe, where this library logs each
 * change of an indicator's state once.
 * @internal
 */
export function healthImports() {
  return [TerminusModule.forRoot({ logger: false })];
}

/** What the module exports to the application. @internal */
export const HEALTH_EXPORTS = [HealthService];
