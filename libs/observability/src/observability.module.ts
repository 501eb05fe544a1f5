import { type DynamicModule, Module } from '@nestjs/common';

import type { ObservabilityModuleOptions } from './config/options.interface';
import { ErrorsModule } from './errors/errors.module';
import { HealthModule } from './health/health.module';
import { HttpDriverModule } from './http/http-driver.module';
import { LoggingModule } from './logging/logging.module';
import { MetricsModule } from './metrics/metrics.module';
import { ASYNC_OPTIONS_TYPE, ConfigurableObservabilityModule, OPTIONS_TYPE } from './observability.module-definition';
import { ObservabilityCoreModule } from './observability-core.module';
import { TracingModule } from './tracing/tracing.module';

/** Which pillars are part of the module graph. */
interface PillarSwitches {
  tracing: boolean;
  logging: boolean;
  metrics: boolean;
  errors: boolean;
  health: boolean;
}

/**
 * Traces, correlated logs, RED metrics, error reports and health probes for a
 * Nest application, in one import. Global by default.
 *
 * The module composes one internal module per pillar (tracing, logging,
 * metrics, errors, health) over a core (options, scrubber, request context,
 * log stream, registry, the unit-of-work pipeline) and the HTTP driver. A pillar
 * switched off in `forRoot()` is left out of the graph: nothing of it runs. With
 * `forRootAsync()` the switches are known only once the factory ran, so every
 * pillar is composed and a switched-off one stays idle. Public services
 * (`TracingService`, `MetricsService`, `HealthService`, the loggers) are always
 * injectable; switched off, they do nothing visible.
 *
 * @example
 * @Module({ imports: [ObservabilityModule.forRoot({ serviceName: 'orders' })] })
 * export class AppModule {}
 *
 * // main.ts, started with `node --require nestjs-observability/register dist/main.js`
 * const app = await NestFactory.create(AppModule, { bufferLogs: true });
 * app.useLogger(app.get(ObservabilityLogger));
 */
@Module({})
export class ObservabilityModule extends ConfigurableObservabilityModule {
  /** Options are validated when the application is created; bad ones stop it with one message. */
  static forRoot(options: typeof OPTIONS_TYPE = {}): DynamicModule {
    return compose(super.forRoot(options), switchesOf(options));
  }

  /** Options from a factory (`ConfigService` and the like); `isGlobal` stays a synchronous extra. */
  static forRootAsync(options: typeof ASYNC_OPTIONS_TYPE): DynamicModule {
    return compose(super.forRootAsync(options), { tracing: true, logging: true, metrics: true, errors: true, health: true });
  }
}

/** The pillars a synchronous options object leaves on (a malformed value is left to validation). */
function switchesOf(options: ObservabilityModuleOptions): PillarSwitches {
  const on = (value: unknown) =>
    value !== false && (typeof value !== 'object' || value === null || (value as { enabled?: unknown }).enabled !== false);
  return {
    tracing: on(options.tracing),
    logging: on(options.logging),
    metrics: on(options.metrics),
    errors: on(options.errors),
    health: on(options.health),
  };
}

function compose(base: DynamicModule, on: PillarSwitches): DynamicModule {
  const pillars = [
    TracingModule.register(on.tracing),
    LoggingModule.register(on.logging),
    MetricsModule.register(on.metrics),
    ErrorsModule.register(on.errors),
    HealthModule.register(on.health),
  ];
  return {
    ...base,
    imports: [ObservabilityCoreModule.register(base.providers ?? [], base.imports), ...pillars, HttpDriverModule],
    providers: [],
    // The pillars' public services, and the core's request context.
    exports: [ObservabilityCoreModule, ...pillars],
  };
}
