import type { DiscoveryService } from '@nestjs/core';

import { TRACED_METRICS, TRACED_RECORDER, type TracedRecorder } from '../work/traced-recorder';
import type { MetricsService } from './metrics.service';

/** Records `@Traced({ metric: true })` operations into the application's registry. @internal */
export class TracedMetrics implements TracedRecorder {
  private readonly duration;
  private readonly errors;

  constructor(metrics: MetricsService) {
    this.duration = metrics.histogram({
      name: 'traced_operation_duration_seconds',
      help: 'Duration of operations traced with @Traced({ metric: true }).',
      labelNames: ['operation', 'outcome'],
    });
    this.errors = metrics.counter({
      name: 'traced_operation_errors_total',
      help: 'Errors thrown by operations traced with @Traced({ metric: true }), by error class.',
      labelNames: ['operation', 'error_type'],
    });
  }

  record(operation: string, seconds: number, error: unknown, failed: boolean): void {
    this.duration.observe({ operation, outcome: failed ? 'error' : 'ok' }, seconds);
    if (failed) this.errors.inc({ operation, error_type: error instanceof Error ? error.constructor.name : typeof error });
  }
}

/**
 * Gives every provider and controller instance whose class asked for
 * `@Traced({ metric: true })` this application's recorder. Request-scoped
 * instances, made later, are not reached: their spans are kept, their metrics are not.
 */
export function attachTracedMetrics(discovery: DiscoveryService, metrics: MetricsService): number {
  let recorder: TracedMetrics | undefined;
  let attached = 0;
  for (const wrapper of [...discovery.getProviders(), ...discovery.getControllers()]) {
    const instance: unknown = wrapper.isDependencyTreeStatic() ? wrapper.instance : undefined;
    if (typeof instance !== 'object' || instance === null) continue;
    if (!Reflect.getMetadata(TRACED_METRICS, (instance as object).constructor)) continue;
    recorder ??= new TracedMetrics(metrics);
    Object.defineProperty(instance, TRACED_RECORDER, { value: recorder, configurable: true });
    attached++;
  }
  return attached;
}
