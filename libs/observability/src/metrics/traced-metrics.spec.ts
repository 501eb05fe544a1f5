import 'reflect-metadata';

import type { DiscoveryService } from '@nestjs/core';
import pino from 'pino';
import { Registry } from 'prom-client';

import { LogCapture } from '../testing/log-capture';
import { TRACED_METRICS, TRACED_RECORDER } from '../work/traced-recorder';
import { CardinalityGuard } from './cardinality-guard';
import { MetricsService } from './metrics.service';
import { attachTracedMetrics, TracedMetrics } from './traced-metrics';

function service() {
  const registry = new (Registry as unknown as new (contentType: string) => Registry)(Registry.OPENMETRICS_CONTENT_TYPE);
  const metrics = new MetricsService(
    registry,
    new CardinalityGuard(
      100,
      () => undefined,
      () => undefined,
    ),
    { logger: pino(new LogCapture()), flush: () => undefined, close: async () => undefined, droppedLines: 0 },
  );
  return { registry, metrics };
}

const lines = async (registry: Registry, prefix: string) => (await registry.metrics()).split('\n').filter((l) => l.startsWith(prefix));

class QueryFailedError extends Error {}

describe('TracedMetrics', () => {
  it('records the duration by operation and outcome', async () => {
    const { registry, metrics } = service();
    const recorder = new TracedMetrics(metrics);
    recorder.record('OrdersService.place', 0.02, undefined, false);
    recorder.record('OrdersService.place', 0.3, new Error('x'), true);
    expect(await lines(registry, 'traced_operation_duration_seconds_count')).toEqual([
      'traced_operation_duration_seconds_count{operation="OrdersService.place",outcome="ok"} 1',
      'traced_operation_duration_seconds_count{operation="OrdersService.place",outcome="error"} 1',
    ]);
  });

  it('counts errors by operation and error class, or by type for a thrown non-Error', async () => {
    const { registry, metrics } = service();
    const recorder = new TracedMetrics(metrics);
    recorder.record('Repo.find', 0.01, new QueryFailedError('timeout'), true);
    recorder.record('Repo.find', 0.01, new QueryFailedError('timeout'), true);
    recorder.record('Repo.find', 0.01, 'nope', true);
    recorder.record('Repo.find', 0.01, undefined, false);
    expect(await lines(registry, 'traced_operation_errors_total')).toEqual([
      'traced_operation_errors_total{operation="Repo.find",error_type="QueryFailedError"} 2',
      'traced_operation_errors_total{operation="Repo.find",error_type="string"} 1',
    ]);
  });

  it('shares its metrics with a second recorder of the same service', () => {
    const { metrics } = service();
    new TracedMetrics(metrics);
    expect(() => new TracedMetrics(metrics)).not.toThrow();
  });
});

describe('attachTracedMetrics', () => {
  class WithMetric {}
  Reflect.defineMetadata(TRACED_METRICS, true, WithMetric);
  class WithoutMetric {}

  const wrapper = (instance: unknown, isStatic = true) => ({ instance, isDependencyTreeStatic: () => isStatic });

  it('hands one recorder to every static instance whose class asked for metrics', () => {
    const { metrics } = service();
    const provider = new WithMetric();
    const controller = new WithMetric();
    const plain = new WithoutMetric();
    const requestScoped = new WithMetric();
    const discovery = {
      getProviders: () => [wrapper(provider), wrapper(plain), wrapper(requestScoped, false), wrapper(undefined), wrapper('value')],
      getControllers: () => [wrapper(controller)],
    } as unknown as DiscoveryService;
    expect(attachTracedMetrics(discovery, metrics)).toBe(2);
    const recorderOf = (o: object) => (o as { [TRACED_RECORDER]?: unknown })[TRACED_RECORDER];
    expect(recorderOf(provider)).toBeInstanceOf(TracedMetrics);
    expect(recorderOf(controller)).toBe(recorderOf(provider));
    expect([recorderOf(plain), recorderOf(requestScoped)]).toEqual([undefined, undefined]);
  });

  it('defines no metrics when no class asked for them', async () => {
    const { metrics, registry } = service();
    const discovery = { getProviders: () => [wrapper(new WithoutMetric())], getControllers: () => [] } as unknown as DiscoveryService;
    expect(attachTracedMetrics(discovery, metrics)).toBe(0);
    expect(await registry.metrics()).not.toContain('traced_operation');
  });
});
