import { type DynamicModule, Module, type Provider } from '@nestjs/common';
import { Logger, PARAMS_PROVIDER_TOKEN, PinoLogger } from 'nestjs-pino';

import type { ResolvedObservabilityOptions } from '../config/options.interface';
import { LOG, type LogHandle, OPTIONS } from '../work/work.constants';
import { WorkPipeline } from '../work/work-pipeline';
import { ErrorLineHook, RequestLineHook } from './logging-work.hook';
import { ObservabilityPinoLogger } from './pino-logger.service';

/**
 * The logging pillar: nestjs-pino's `Logger` (for `app.useLogger`) and
 * `PinoLogger`, bound to the application's pino (always, silent when logging
 * is off), and, when logging is on, the request line of every unit of work and
 * the line of every handled error. The pino instance itself is the core's: every
 * pillar writes through it.
 * @internal
 */
@Module({})
export class LoggingModule {
  static register(enabled: boolean): DynamicModule {
    const providers: Provider[] = [
      {
        provide: PARAMS_PROVIDER_TOKEN,
        useFactory: (log: LogHandle) => ({ pinoHttp: { logger: log.logger }, renameContext: 'context' }),
        inject: [LOG],
      },
      { provide: PinoLogger, useClass: ObservabilityPinoLogger },
      Logger,
    ];
    if (enabled) {
      providers.push(
        {
          provide: RequestLineHook,
          useFactory: ({ logging }: ResolvedObservabilityOptions, log: LogHandle, pipeline: WorkPipeline) => {
            const hook = new RequestLineHook(log);
            if (logging.enabled && logging.requestLog) pipeline.register(hook);
            return hook;
          },
          inject: [OPTIONS, LOG, WorkPipeline],
        },
        {
          provide: ErrorLineHook,
          useFactory: ({ logging }: ResolvedObservabilityOptions, log: LogHandle, pipeline: WorkPipeline) => {
            const hook = new ErrorLineHook(log);
            if (logging.enabled) pipeline.register(hook);
            return hook;
          },
          inject: [OPTIONS, LOG, WorkPipeline],
        },
      );
    }
    return { module: LoggingModule, providers, exports: [Logger, PinoLogger, PARAMS_PROVIDER_TOKEN] };
  }
}
