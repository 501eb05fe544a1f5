import type { Logger } from 'pino';

import type { UnitOfWork } from '../context/unit-of-work';
import type { LogHandle } from '../work/work.constants';
import type { WorkFailure, WorkHook } from '../work/work-pipeline';
import { PRE_SCRUBBED } from './pino.factory';

/**
 * The logging pillar's part in every unit of work: one line when it completes
 * (`request completed` with method, route, status, duration), written after
 * the unit's context ended, so it carries its ids itself.
 * @internal
 */
export class RequestLineHook implements WorkHook {
  readonly order = 30;
  private readonly logger: Logger;

  constructor(log: LogHandle) {
    this.logger = log.logger;
  }

  finish(unit: UnitOfWork): void {
    const spanContext = unit.spanContext;
    const fields = unit.fields;
    const record = {
      // Every value here is an id, a number, a route template or the path scrubbed on arrival
      // (a driver's fields too: ids, queue and pattern names, attempt numbers).
      [PRE_SCRUBBED]: true,
      request_id: unit.requestId,
      trace_id: spanContext?.traceId,
      span_id: spanContext?.spanId,
      method: unit.method,
      route: unit.route,
      path: unit.path,
      status: unit.status,
      duration_ms: Math.round(unit.durationMs * 1000) / 1000,
      aborted: unit.aborted ? true : undefined,
    };
    this.logger.info(fields === undefined ? record : Object.assign(record, fields), unit.driver.completedMessage);
  }
}

/**
 * The line of every handled error: `warn` for a client's error that is not
 * reported (with the `messages` its body gave the client), `error` with the
 * stack for a reported one, `fatal` (written out at once) for a failure that
 * ends the process. Lines inside a unit get its ids from the context.
 * @internal
 */
export class ErrorLineHook implements WorkHook {
  readonly order = 30;

  constructor(private readonly log: LogHandle) {}

  fail(failure: WorkFailure): void {
    const logger = this.log.logger;
    if (failure.severity === 'fatal') {
      logger.fatal({ err: failure.error }, failure.message);
      // The process is about to end: what is buffered must reach the destination now.
      this.log.flush();
    } else if (failure.origin !== undefined) {
      logger.error({ err: failure.error }, failure.message);
    } else if (!failure.reported) {
      // `messages`: what the client's body said (validation messages), scrubbed with the rest of the record.
      logger.warn(
        { status: failure.status, route: failure.route, error_type: failure.errorType, messages: failure.details },
        failure.message,
      );
    } else {
      logger.error(
        { err: failure.error, status: failure.status, route: failure.route, error_type: failure.errorType, messages: failure.details },
        failure.message,
      );
    }
  }
}
