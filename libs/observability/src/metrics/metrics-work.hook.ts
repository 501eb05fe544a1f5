import type { UnitOfWork } from '../context/unit-of-work';
import { methodLabel } from '../shared/http-methods';
import type { WorkFailure, WorkHook } from '../work/work-pipeline';
import type { HttpServerMetrics } from './http-server.metrics';
import { UNMATCHED_ROUTE } from './metrics.constants';
import type { CounterMetric } from './metrics.service';

/**
 * RED metrics of HTTP units of work: `http_server_active_requests` while they
 * run, `http_server_request_duration_seconds` when they finish, with the
 * span's ids as exemplar when it was sampled.
 * @internal
 */
export class HttpRedHook implements WorkHook {
  readonly order = 20;

  constructor(private readonly metrics: HttpServerMetrics) {}

  start(unit: UnitOfWork): void {
    if (unit.driver.kind === 'http') this.metrics.active++;
  }

  finish(unit: UnitOfWork): void {
    if (unit.driver.kind !== 'http') return;
    this.metrics.active--;
    const spanContext = unit.sampled ? unit.spanContext : undefined;
    this.metrics.record(
      methodLabel(unit.method),
      unit.route ?? UNMATCHED_ROUTE,
      unit.status,
      unit.durationMs / 1000,
      spanContext?.traceId,
      spanContext?.spanId,
    );
  }
}

/** `app_errors_total{error_type}`: every reported error a handler threw. @internal */
export class ErrorCountHook implements WorkHook {
  readonly order = 20;

  constructor(private readonly errors: CounterMetric<'error_type'>) {}

  fail(failure: WorkFailure): void {
    if (failure.reported && failure.origin === undefined) this.errors.inc({ error_type: failure.errorType });
  }
}
