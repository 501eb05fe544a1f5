import { isSpanContextValid, type Link, propagation, ROOT_CONTEXT, SpanStatusCode, trace, TraceFlags } from '@opentelemetry/api';

import type { UnitOfWork } from '../context/unit-of-work';
import type { Scrubber } from '../shared/scrubber';
import type { WorkFailure, WorkHook } from '../work/work-pipeline';
import { TRACER_NAME, TRACER_VERSION } from './tracing.constants';

/**
 * The tracing pillar's part in every unit of work: one span, continuing the
 * incoming trace context, named and described by the unit's driver; the
 * exception of a reported failure on it.
 * @internal
 */
export class TracingWorkHook implements WorkHook {
  readonly order = 10;
  private readonly tracer = trace.getTracer(TRACER_NAME, TRACER_VERSION);

  constructor(private readonly scrubber: Scrubber) {}

  start(unit: UnitOfWork): void {
    const driver = unit.driver;
    const carrier = driver.carrier(unit);
    let parent = carrier === undefined ? ROOT_CONTEXT : propagation.extract(ROOT_CONTEXT, carrier, driver.carrierGetter);
    let links: Link[] | undefined;
    const use = driver.remoteContext;
    if (use !== undefined && use !== 'parent') {
      const remote = trace.getSpanContext(parent);
      if (remote !== undefined && isSpanContextValid(remote)) {
        links = [{ context: remote }];
        // A new trace, linked to the remote one; its baggage is kept.
        if (use === 'link') parent = trace.deleteSpan(parent);
      }
    }
    const span = this.tracer.startSpan(
      driver.startName(unit),
      { kind: driver.spanKind, attributes: driver.startAttributes(unit), links },
      parent,
    );
    unit.span = span;
    unit.otelContext = trace.setSpan(parent, span);
  }

  finish(unit: UnitOfWork): void {
    const span = unit.span;
    if (span === undefined) return;
    if (span.isRecording()) unit.driver.endSpan(unit, span);
    span.end();
    const spanContext = span.spanContext();
    // A disabled pipeline hands out invalid (all-zero) ids: those are not worth a field.
    if (isSpanContextValid(spanContext)) {
      unit.spanContext = spanContext;
      unit.sampled = (spanContext.traceFlags & TraceFlags.SAMPLED) !== 0;
    }
  }

  fail(failure: WorkFailure): void {
    if (!failure.reported || failure.origin !== undefined) return;
    // The filter runs in the failing unit's context: its span is the active one.
    const span = trace.getActiveSpan();
    if (span === undefined) return;
    const error = failure.error;
    span.recordException(this.scrubber.scrub(error instanceof Error ? error : new Error(String(error))));
    // A reported 4xx is still the client's error, not the server's (HTTP conventions).
    if (failure.severity !== 'client') span.setStatus({ code: SpanStatusCode.ERROR });
  }
}
