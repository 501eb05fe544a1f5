import {
  type DynamicModule,
  Inject,
  Injectable,
  Module,
  type OnApplicationShutdown,
  type OnModuleInit,
  type Provider,
} from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';

import { DEFAULTS } from '../config/options.defaults';
import type { ResolvedObservabilityOptions } from '../config/options.interface';
import type { ErrorReporter } from '../sdk/sentry';
import { getTelemetry } from '../sdk/telemetry';
import { OPTIONS } from '../work/work.constants';
import { WorkPipeline } from '../work/work-pipeline';
import { ErrorReportHook } from './error-report.hook';
import { ObservabilityExceptionFilter } from './observability-exception.filter';
import { ProcessErrorHandlers } from './process-errors';

/** The error reporter (Sentry) of the process's pipeline, when `SENTRY_DSN` set one up. */
const REPORTER = 'OBSERVABILITY:ERROR_REPORTER';

/** Installs the process error handlers for the application's lifetime. */
@Injectable()
class ProcessErrorsLifecycle implements OnModuleInit, OnApplicationShutdown {
  private handlers: ProcessErrorHandlers | undefined;

  constructor(
    @Inject(OPTIONS) private readonly options: ResolvedObservabilityOptions,
    @Inject(REPORTER) private readonly reporter: ErrorReporter | undefined,
    private readonly pipeline: WorkPipeline,
  ) {}

  onModuleInit(): void {
    if (!this.options.errors.enabled || !this.options.errors.captureUnhandled) return;
    this.handlers = new ProcessErrorHandlers(
      this.pipeline,
      this.reporter,
      getTelemetry()?.config.sentry?.flushTimeoutMillis ?? DEFAULTS.sentryFlushTimeoutMillis,
      this.options.errors.unhandledRejections,
    );
    this.handlers.install();
  }

  onApplicationShutdown(): void {
    this.handlers?.uninstall();
  }
}

/**
 * The error-reporting pillar: the global exception filter, error reports
 * (Sentry, when the pipeline has it — with tracing on or off) through a
 * unit-of-work hook, and the handlers of errors outside requests.
 * @internal
 */
@Module({})
export class ErrorsModule {
  static register(enabled: boolean): DynamicModule {
    if (!enabled) return { module: ErrorsModule };
    const providers: Provider[] = [
      // Read from the process's pipeline, not through tracing: reports do not depend on spans.
      { provide: REPORTER, useFactory: () => getTelemetry()?.reporter },
      {
        provide: ErrorReportHook,
        useFactory: (options: ResolvedObservabilityOptions, reporter: ErrorReporter | undefined, pipeline: WorkPipeline) => {
          if (!options.errors.enabled || reporter === undefined) return undefined;
          const hook = new ErrorReportHook(reporter, options.serviceName);
          pipeline.register(hook);
          return hook;
        },
        inject: [OPTIONS, REPORTER, WorkPipeline],
      },
      { provide: APP_FILTER, useClass: ObservabilityExceptionFilter },
      ProcessErrorsLifecycle,
    ];
    return { module: ErrorsModule, providers };
  }
}
