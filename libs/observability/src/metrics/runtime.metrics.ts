import { collectDefaultMetrics, type Registry } from 'prom-client';

/**
 * prom-client's process and runtime metrics (CPU, memory, heap, event-loop
 * delay, GC, handles). Three of them are left out: the gauges
 * `nodejs_active_{handles,requests,resources}_total` carry a `_total` suffix
 * that promises a counter, which `promtool check metrics` rejects; the same
 * counts remain as `nodejs_active_handles{type}` and friends (sum by type).
 */
export function registerRuntimeMetrics(registry: Registry, prefix: string): void {
  collectDefaultMetrics({ register: registry, prefix });
  for (const name of ['active_handles_total', 'active_requests_total', 'active_resources_total']) {
    registry.removeSingleMetric(`${prefix}nodejs_${name}`);
  }
}
