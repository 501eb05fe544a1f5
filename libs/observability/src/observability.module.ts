import {
  Inject,
  Module,
  type MiddlewareConsumer,
  type NestModule,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleInit,
  Optional,
} from '@nestjs/common';
import { APP_FILTER, DiscoveryModule, DiscoveryService } from '@nestjs/core';
import { ObservabilityExceptionFilter } from './errors/observability-exception.filter';
import { ProcessErrorHandlers } from './errors/process-errors';
import { HEALTH_OPTIONS } from './health/health.constants';
import { createHealthProviders, HEALTH_EXPORTS, healthImports } from './health/health.providers';
import { ShutdownService } from './health/shutdown.service';
import { getTelemetry } from './sdk/telemetry';
import { Logger, PARAMS_PROVIDER_TOKEN, PinoLogger } from 'nestjs-pino';
import { attachTracedMetrics } from './metrics/traced-metrics';
import { resolveOptions } from './config/resolve-options';
import type { ResolvedObservabilityOptions } from './config/options.interface';
import { RequestContextService } from './context/request-context.service';
import { HttpObserver } from './http/http-observer';
import { ObservabilityPinoLogger } from './logging/pino-logger.service';
import { createPino, type PinoHandle } from './logging/pino.factory';
import { Scrubber } from './shared/scrubber';
import { Counter, register as defaultRegistry, Registry } from 'prom-client';
import { registerRuntimeMetrics } from './metrics/runtime.metrics';
import { CardinalityGuard } from './metrics/cardinality-guard';
import { HttpServerMetrics } from './metrics/http-server.metrics';
import { CARDINALITY_OVERFLOW } from './metrics/metrics.constants';
import { MetricsEndpoint } from './metrics/metrics.endpoint';
import { MetricsService } from './metrics/metrics.service';
import { HTTP_METRICS, METRICS_ENDPOINT, METRICS_GUARD, METRICS_REGISTRY, OPTIONS, PINO, SCRUBBER, TELEMETRY } from './observability.constants';
import {
  ASYNC_OPTIONS_TYPE,
  ConfigurableObservabilityModule,
  OBSERVABILITY_MODULE_OPTIONS,
  OPTIONS_TYPE,
} from './observability.module-definition';
import type { Telemetry } from './sdk/telemetry';
import { joinTelemetry } from './sdk/telemetry.provider';
import { TracingService } from './tracing/tracing.service';

/** How long shutdown waits for spans to be exported. */
const FLUSH_TIMEOUT_MS = 5_000;
/** What the flush gets even when the shutdown budget is spent. */
const MIN_FLUSH_MS = 100;

/**
 * Traces, correlated logs and request context for a Nest application, in one
 * import. Global by default.
 *
 * @example
 * @Module({ imports: [ObservabilityModule.forRoot({ serviceName: 'orders' })] })
 * export class AppModule {}
 *
 * // main.ts, started with `node --require nestjs-observability/register dist/main.js`
 * const app = await NestFactory.create(AppModule, { bufferLogs: true });
 * app.useLogger(app.get(ObservabilityLogger));
 */
@Module({
  imports: [DiscoveryModule, ...healthImports()],
  providers: [
    {
      provide: OPTIONS,
      useFactory: (options: typeof OPTIONS_TYPE) => resolveOptions(options, process.env),
      inject: [OBSERVABILITY_MODULE_OPTIONS],
    },
    {
      provide: SCRUBBER,
      useFactory: ({ redaction }: ResolvedObservabilityOptions) => new Scrubber(redaction),
      inject: [OPTIONS],
    },
    RequestContextService,
    {
      provide: PINO,
      useFactory: createPino,
      inject: [OPTIONS, RequestContextService, SCRUBBER],
    },
    {
      provide: TELEMETRY,
      useFactory: (options: ResolvedObservabilityOptions, scrubber: Scrubber, pino: PinoHandle, requestContext: RequestContextService) => {
        const telemetry = joinTelemetry(options, scrubber, pino.logger);
        requestContext.useOpenTelemetryContext(options.tracing.enabled);
        return telemetry ?? null;
      },
      inject: [OPTIONS, SCRUBBER, PINO, RequestContextService],
    },
    {
      provide: PARAMS_PROVIDER_TOKEN,
      useFactory: (pino: PinoHandle) => ({ pinoHttp: { logger: pino.logger }, renameContext: 'context' }),
      inject: [PINO],
    },
    {
      provide: METRICS_REGISTRY,
      useFactory: ({ metrics }: ResolvedObservabilityOptions) => {
        // One registry per application: two apps in a process never collide.
        // OpenMetrics-typed so that histograms may carry exemplars.
        // (prom-client's typings omit the constructor's content-type parameter.)
        const registry = new (Registry as unknown as new (contentType: string) => Registry)(Registry.OPENMETRICS_CONTENT_TYPE);
        if (metrics.enabled && metrics.runtime) registerRuntimeMetrics(registry, metrics.prefix);
        return registry;
      },
      inject: [OPTIONS],
    },
    {
      provide: METRICS_GUARD,
      useFactory: ({ metrics }: ResolvedObservabilityOptions, registry: Registry, pino: PinoHandle) => {
        const overflow = new Counter({
          name: CARDINALITY_OVERFLOW,
          help: 'Observations moved to the __overflow__ series because a metric reached its label-set cap.',
          labelNames: ['metric'],
          registers: [registry],
        });
        return new CardinalityGuard(
          metrics.maxLabelSets,
          (metric) => overflow.inc({ metric }),
          (metric, limit) =>
            pino.logger.warn(
              { metric, limit },
              `nestjs-observability: metric "${metric}" reached ${limit} label sets; further new label sets are counted in its "__overflow__" series. Use lower-cardinality labels or raise metrics.maxLabelSets.`,
            ),
        );
      },
      inject: [OPTIONS, METRICS_REGISTRY, PINO],
    },
    {
      provide: HTTP_METRICS,
      useFactory: ({ metrics }: ResolvedObservabilityOptions, registry: Registry, guard: CardinalityGuard) =>
        metrics.enabled && metrics.http ? new HttpServerMetrics(registry, guard, metrics.exemplars) : null,
      inject: [OPTIONS, METRICS_REGISTRY, METRICS_GUARD],
    },
    {
      provide: METRICS_ENDPOINT,
      // The default registry is served too: metrics declared with @willsoto/nestjs-prometheus live there.
      useFactory: ({ metrics }: ResolvedObservabilityOptions, registry: Registry, pino: PinoHandle) =>
        metrics.enabled ? new MetricsEndpoint(metrics, [registry, defaultRegistry], pino.logger) : null,
      inject: [OPTIONS, METRICS_REGISTRY, PINO],
    },
    MetricsService,
    { provide: APP_FILTER, useClass: ObservabilityExceptionFilter },
    { provide: PinoLogger, useClass: ObservabilityPinoLogger },
    Logger,
    TracingService,
    HttpObserver,
    { provide: HEALTH_OPTIONS, useFactory: ({ health }: ResolvedObservabilityOptions) => health, inject: [OPTIONS] },
    ...createHealthProviders(),
  ],
  exports: [TracingService, RequestContextService, MetricsService, Logger, PinoLogger, PARAMS_PROVIDER_TOKEN, ...HEALTH_EXPORTS],
})
export class ObservabilityModule
  extends ConfigurableObservabilityModule
  implements NestModule, OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown
{
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly metrics: MetricsService,
    @Inject(OPTIONS) private readonly options: ResolvedObservabilityOptions,
    private readonly httpObserver: HttpObserver,
    @Inject(PINO) private readonly pino: PinoHandle,
    @Optional() @Inject(TELEMETRY) private readonly telemetry: Telemetry | null,
    @Inject(METRICS_ENDPOINT) private readonly metricsEndpoint: MetricsEndpoint | null,
    private readonly shutdown: ShutdownService,
  ) {
    super();
  }

  private processErrors: ProcessErrorHandlers | undefined;

  /** Hands `@Traced({ metric: true })` classes this application's recorder; installs the process error handlers. */
  onModuleInit(): void {
    if (this.options.metrics.enabled) attachTracedMetrics(this.discovery, this.metrics);
    if (this.options.errors.enabled && this.options.errors.captureUnhandled) {
      // Sentry reports even when tracing is off in this module: the pipeline may still have it.
      const telemetry = this.telemetry ?? getTelemetry();
      this.processErrors = new ProcessErrorHandlers(this.pino, telemetry?.reporter, telemetry?.config.sentry?.flushTimeoutMillis ?? 2_000);
      this.processErrors.install();
    }
  }

  /** Opens the separate metrics port, when one is configured. */
  async onApplicationBootstrap(): Promise<void> {
    await this.metricsEndpoint?.listen();
  }

  /** Options are validated when the application is created; bad ones stop it with one message. */
  static forRoot(options: typeof OPTIONS_TYPE = {}) {
    return super.forRoot(options);
  }

  /** Options from a factory (`ConfigService` and the like); `isGlobal` stays a synchronous extra. */
  static forRootAsync(options: typeof ASYNC_OPTIONS_TYPE) {
    return super.forRootAsync(options);
  }

  /**
   * Runs while Nest registers middleware: after its body parsers, before any
   * middleware or route, the point where the per-request hook must go in.
   */
  configure(_consumer: MiddlewareConsumer): void {
    this.httpObserver.install();
  }

  /** Exports every finished span and writes out buffered log lines. */
  async onApplicationShutdown(): Promise<void> {
    this.processErrors?.uninstall();
    await this.metricsEndpoint?.close();
    if (this.telemetry) {
      // What is left of health.shutdown.timeoutMs: a dead collector cannot hold the process past it.
      const timeoutMs = Math.round(Math.min(FLUSH_TIMEOUT_MS, Math.max(MIN_FLUSH_MS, this.shutdown.remainingMs())));
      const flushed = await this.telemetry.shutdown(timeoutMs);
      if (!flushed) this.pino.logger.warn(`nestjs-observability: spans not exported within ${timeoutMs} ms at shutdown`);
    }
    this.pino.close();
  }
}
