import { type DynamicModule, Inject, Injectable, Module, type OnModuleInit, type Provider } from '@nestjs/common';
import { DiscoveryModule, DiscoveryService, HttpAdapterHost } from '@nestjs/core';
import { Counter, register as defaultRegistry, type Registry } from 'prom-client';

import type { ResolvedObservabilityOptions } from '../config/options.interface';
import { LOG, type LogHandle, METRICS_REGISTRY, OPTIONS } from '../work/work.constants';
import { WorkPipeline } from '../work/work-pipeline';
import { CardinalityGuard } from './cardinality-guard';
import { HttpServerMetrics } from './http-server.metrics';
import { APP_ERRORS, CARDINALITY_OVERFLOW, METRICS_GUARD } from './metrics.constants';
import { MetricsEndpoint } from './metrics.endpoint';
import { MetricsService } from './metrics.service';
import { ErrorCountHook, HttpRedHook } from './metrics-work.hook';
import { PipelineMetrics } from './pipeline.metrics';
import { registerRuntimeMetrics } from './runtime.metrics';
import { attachTracedMetrics } from './traced-metrics';

const RUNTIME_METRICS = 'OBSERVABILITY:RUNTIME_METRICS';

/** Hands `@Traced({ metric: true })` classes this application's recorder. */
@Injectable()
class TracedMetricsAttacher implements OnModuleInit {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly metrics: MetricsService,
    @Inject(OPTIONS) private readonly options: ResolvedObservabilityOptions,
  ) {}

  onModuleInit(): void {
    if (this.options.metrics.enabled) attachTracedMetrics(this.discovery, this.metrics);
  }
}

/**
 * The metrics pillar: `MetricsService` over the application's registry (always,
 * with its cardinality guard) and, when metrics are on, runtime metrics, HTTP RED
 * metrics and `app_errors_total` through unit-of-work hooks, `@Traced({ metric: true })`
 * recorders, and the scrape endpoint.
 * @internal
 */
@Module({})
export class MetricsModule {
  static register(enabled: boolean): DynamicModule {
    const providers: Provider[] = [
      {
        provide: METRICS_GUARD,
        useFactory: ({ metrics }: ResolvedObservabilityOptions, registry: Registry, log: LogHandle) => {
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
              log.logger.warn(
                { metric, limit },
                `nestjs-observability: metric "${metric}" reached ${limit} label sets; further new label sets are counted in its "__overflow__" series. Use lower-cardinality labels or raise metrics.maxLabelSets.`,
              ),
          );
        },
        inject: [OPTIONS, METRICS_REGISTRY, LOG],
      },
      MetricsService,
    ];
    if (enabled) {
      providers.push(
        {
          // prom-client's process and runtime metrics, on the application's registry.
          provide: RUNTIME_METRICS,
          useFactory: ({ metrics }: ResolvedObservabilityOptions, registry: Registry) => {
            if (metrics.enabled && metrics.runtime) registerRuntimeMetrics(registry, metrics.prefix);
            return metrics.enabled && metrics.runtime;
          },
          inject: [OPTIONS, METRICS_REGISTRY],
        },
        {
          provide: MetricsEndpoint,
          // The default registry is served too: metrics declared with @willsoto/nestjs-prometheus live there.
          useFactory: ({ metrics }: ResolvedObservabilityOptions, registry: Registry, log: LogHandle, adapterHost: HttpAdapterHost) => {
            if (!metrics.enabled) return undefined;
            return new MetricsEndpoint(metrics, [registry, defaultRegistry], log.logger, adapterHost);
          },
          inject: [OPTIONS, METRICS_REGISTRY, LOG, HttpAdapterHost],
        },
        {
          provide: HttpRedHook,
          useFactory: ({ metrics }: ResolvedObservabilityOptions, registry: Registry, guard: CardinalityGuard, pipeline: WorkPipeline) => {
            if (!metrics.enabled || !metrics.http) return undefined;
            const hook = new HttpRedHook(new HttpServerMetrics(registry, guard, metrics.exemplars));
            pipeline.register(hook);
            return hook;
          },
          inject: [OPTIONS, METRICS_REGISTRY, METRICS_GUARD, WorkPipeline],
        },
        {
          provide: ErrorCountHook,
          useFactory: ({ metrics }: ResolvedObservabilityOptions, service: MetricsService, pipeline: WorkPipeline) => {
            if (!metrics.enabled) return undefined;
            const hook = new ErrorCountHook(
              service.counter({ name: APP_ERRORS, help: 'Server errors (5xx and unhandled) by error class.', labelNames: ['error_type'] }),
            );
            pipeline.register(hook);
            return hook;
          },
          inject: [OPTIONS, MetricsService, WorkPipeline],
        },
        TracedMetricsAttacher,
        {
          provide: PipelineMetrics,
          useFactory: ({ metrics }: ResolvedObservabilityOptions, registry: Registry, log: LogHandle) =>
            metrics.enabled ? new PipelineMetrics(registry, log) : undefined,
          inject: [OPTIONS, METRICS_REGISTRY, LOG],
        },
      );
    }
    return { module: MetricsModule, imports: [DiscoveryModule], providers, exports: [MetricsService] };
  }
}
