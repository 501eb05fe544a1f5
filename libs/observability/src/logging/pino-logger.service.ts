import { Inject, Injectable, Scope } from '@nestjs/common';
import { type Params, PARAMS_PROVIDER_TOKEN, PinoLogger } from 'nestjs-pino';
import type { Logger } from 'pino';

import { LOG, type LogHandle } from '../work/work.constants';

/**
 * nestjs-pino's `PinoLogger`, bound to this application's pino instance rather
 * than nestjs-pino's process-wide root, so that two applications in one
 * process (tests, a hybrid app) never write to each other's destination.
 * Inject it as `PinoLogger`.
 */
@Injectable({ scope: Scope.TRANSIENT })
export class ObservabilityPinoLogger extends PinoLogger {
  private readonly instance: Logger;

  constructor(@Inject(PARAMS_PROVIDER_TOKEN) params: Params, @Inject(LOG) handle: LogHandle) {
    super(params);
    this.instance = handle.logger;
  }

  override get logger(): Logger {
    return this.instance;
  }
}
