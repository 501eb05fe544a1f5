import { isSpanContextValid, trace } from '@opentelemetry/api';

import type { ErrorReporter } from '../sdk/sentry';
import type { WorkFailure, WorkHook } from '../work/work-pipeline';

/**
 * Sends every reported failure to the error reporter (Sentry), linked to the
 * active trace and tagged with route, request id, status and service. Runs
 * last, after the span and the log line have their part.
 * @internal
 */
export class ErrorReportHook implements WorkHook {
  readonly order = 40;

  constructor(
    private readonly reporter: ErrorReporter,
    private readonly serviceName: string,
  ) {}

  fail(failure: WorkFailure): void {
    if (!failure.reported) return;
    const spanContext = trace.getActiveSpan()?.spanContext();
    const valid = spanContext !== undefined && isSpanContextValid(spanContext);
    this.reporter.capture(failure.error, {
      level: failure.severity === 'fatal' ? 'fatal' : 'error',
      traceId: valid ? spanContext.traceId : undefined,
      spanId: valid ? spanContext.spanId : undefined,
      tags:
        failure.origin !== undefined
          ? { origin: failure.origin }
          : {
              route: failure.route,
              request_id: failure.unit?.requestId,
              'http.response.status_code': failure.status,
              service: this.serviceName,
            },
    });
  }
}
