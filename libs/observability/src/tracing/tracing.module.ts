import { type DynamicModule, Inject, Injectable, Module, type OnApplicationShutdown, type Provider } from '@nestjs/common';

import type { ResolvedObservabilityOptions } from '../config/options.interface';
import { RequestContextService } from '../context/request-context.service';
import type { Telemetry } from '../sdk/telemetry';
import { joinTelemetry } from '../sdk/telemetry.provider';
import type { Scrubber } from '../shared/scrubber';
import { ShutdownBudget } from '../work/shutdown-budget';
import { LOG, type LogHandle, OPTIONS, SCRUBBER } from '../work/work.constants';
import { WorkPipeline } from '../work/work-pipeline';
import { TracingService } from './tracing.service';
import { TracingWorkHook } from './tracing-work.hook';

const TELEMETRY = 'OBSERVABILITY:TELEMETRY';
/** How long shutdown waits for spans to be exported. */
const FLUSH_TIMEOUT_MS = 5_000;
/** What the flush gets even when the shutdown budget is spent. */
const MIN_FLUSH_MS = 100;

/**
 * Exports every finished span at shutdown, within what is left of the
 * shutdown budget: a dead collector cannot hold the process past it.
 */
@Injectable()
class TelemetryFlusher implements OnApplicationShutdown {
  constructor(
    @Inject(TELEMETRY) private readonly telemetry: Telemetry | undefined,
    private readonly budget: ShutdownBudget,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    if (this.telemetry === undefined) return;
    const timeoutMs = Math.round(Math.min(FLUSH_TIMEOUT_MS, Math.max(MIN_FLUSH_MS, this.budget.remainingMs())));
    // What could not be exported in time is counted and warned about once, by the pipeline's processor.
    await this.telemetry.shutdown(timeoutMs);
  }
}

/**
 * The tracing pillar: `TracingService` (always, a cheap no-op when tracing is
 * off) and, when tracing is on, the process's pipeline joined, the span of
 * every unit of work and the flush at shutdown.
 * @internal
 */
@Module({})
export class TracingModule {
  static register(enabled: boolean): DynamicModule {
    const providers: Provider[] = [TracingService];
    if (enabled) {
      providers.push(
        {
          provide: TELEMETRY,
          useFactory: (
            options: ResolvedObservabilityOptions,
            scrubber: Scrubber,
            log: LogHandle,
            requestContext: RequestContextService,
          ) => {
            if (!options.tracing.enabled) return undefined;
            const telemetry = joinTelemetry(options, scrubber, log.logger);
            requestContext.useOpenTelemetryContext(true);
            return telemetry;
          },
          inject: [OPTIONS, SCRUBBER, LOG, RequestContextService],
        },
        {
          provide: TracingWorkHook,
          useFactory: (options: ResolvedObservabilityOptions, scrubber: Scrubber, pipeline: WorkPipeline) => {
            const hook = new TracingWorkHook(scrubber);
            if (options.tracing.enabled) pipeline.register(hook);
            return hook;
          },
          inject: [OPTIONS, SCRUBBER, WorkPipeline],
        },
        TelemetryFlusher,
      );
    }
    return { module: TracingModule, providers, exports: [TracingService] };
  }
}
