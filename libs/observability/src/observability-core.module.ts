import { type DynamicModule, Global, Inject, Module, type OnApplicationShutdown, type Provider } from '@nestjs/common';
import { Registry } from 'prom-client';

import type { ObservabilityModuleOptions, ResolvedObservabilityOptions } from './config/options.interface';
import { resolveOptions } from './config/resolve-options';
import { RequestContextService } from './context/request-context.service';
import { createPino } from './logging/pino.factory';
import { OBSERVABILITY_MODULE_OPTIONS } from './observability.module-definition';
import { Scrubber } from './shared/scrubber';
import { ShutdownBudget } from './work/shutdown-budget';
import { LOG, type LogHandle, METRICS_REGISTRY, OPTIONS, SCRUBBER } from './work/work.constants';
import { WorkPipeline } from './work/work-pipeline';

/** The most the log stream's close waits for its buffer to drain. */
const MAX_LOG_CLOSE_MS = 2_000;

const EXPORTS = [OPTIONS, SCRUBBER, LOG, METRICS_REGISTRY, RequestContextService, WorkPipeline, ShutdownBudget];

/**
 * What every pillar stands on, whatever is switched on: the resolved options,
 * the scrubber, the request context, the application's log stream (silent when
 * logging is off) and metric registry (served only when metrics are on), the
 * unit-of-work pipeline and the shutdown budget. Global, so that the pillar
 * modules inject these without importing each other; its tokens are internal.
 * Being global, Nest shuts it down after every pillar: the log stream closes last.
 * @internal
 */
@Global()
@Module({})
export class ObservabilityCoreModule implements OnApplicationShutdown {
  constructor(
    @Inject(LOG) private readonly log: LogHandle,
    private readonly budget: ShutdownBudget,
  ) {}

  /** `optionsProviders` and `imports` come from `ObservabilityModule.forRoot()`/`forRootAsync()`. */
  static register(optionsProviders: Provider[], imports: DynamicModule['imports']): DynamicModule {
    return {
      module: ObservabilityCoreModule,
      global: true,
      imports,
      providers: [
        ...optionsProviders,
        {
          provide: OPTIONS,
          // Options are validated when the application is created; bad ones stop it with one message.
          useFactory: (options: ObservabilityModuleOptions) => resolveOptions(options, process.env),
          inject: [OBSERVABILITY_MODULE_OPTIONS],
        },
        { provide: SCRUBBER, useFactory: ({ redaction }: ResolvedObservabilityOptions) => new Scrubber(redaction), inject: [OPTIONS] },
        RequestContextService,
        { provide: LOG, useFactory: createPino, inject: [OPTIONS, RequestContextService, SCRUBBER] },
        {
          provide: METRICS_REGISTRY,
          // One registry per application: two apps in a process never collide.
          // OpenMetrics-typed so that histograms may carry exemplars.
          // (prom-client's typings omit the constructor's content-type parameter.)
          useFactory: () => new (Registry as unknown as new (contentType: string) => Registry)(Registry.OPENMETRICS_CONTENT_TYPE),
        },
        WorkPipeline,
        ShutdownBudget,
      ],
      exports: EXPORTS,
    };
  }

  /**
   * Writes out buffered log lines, after every pillar had its last say: waits
   * for them at most 2 s and never past the shutdown budget, so that a stalled
   * log reader cannot hold the process (what is left counts as dropped).
   */
  async onApplicationShutdown(): Promise<void> {
    await this.log.close(Math.min(MAX_LOG_CLOSE_MS, this.budget.remainingMs()));
  }
}
