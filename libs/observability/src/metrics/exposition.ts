import type { MetricObjectWithValues, MetricValue, Registry } from 'prom-client';

/** Content type of the Prometheus text format (0.0.4). */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
/** Content type of OpenMetrics 1.0, the format that carries exemplars. */
export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

type Value = MetricValue<string> & {
  metricName?: string;
  sharedLabels?: Record<string, string | number>;
  exemplar?: { labelSet: Record<string, string | number>; value: number; timestamp?: number } | null;
};

/**
 * Renders registries as one exposition document, in the Prometheus text format
 * or in OpenMetrics. Rendered here rather than by `Registry.metrics()` because
 * prom-client fixes the format per registry (and renames counters in place when
 * it renders OpenMetrics), while one endpoint must answer both formats and
 * serve the application's registry together with the default one that
 * `@willsoto/nestjs-prometheus` metrics live in. A name present in an earlier
 * registry wins over the same name in a later one.
 */
export async function renderExposition(registries: readonly Registry[], openMetrics: boolean): Promise<string> {
  const seen = new Set<string>();
  const blocks: string[] = [];
  for (const registry of registries) {
    for (const metric of (await registry.getMetricsAsJSON()) as MetricObjectWithValues<Value>[]) {
      if (seen.has(metric.name)) continue;
      seen.add(metric.name);
      blocks.push(renderMetric(metric, openMetrics));
    }
  }
  // OpenMetrics allows no empty line: an empty exposition is `# EOF` alone.
  if (openMetrics) return blocks.length === 0 ? '# EOF\n' : `${blocks.join('\n')}\n# EOF\n`;
  return `${blocks.join('\n\n')}\n`;
}

function renderMetric(metric: MetricObjectWithValues<Value>, openMetrics: boolean): string {
  const type = String(metric.type);
  // OpenMetrics names a counter family without `_total`; its sample carries it.
  const family = openMetrics && type === 'counter' ? metric.name.replace(/_total$/, '') : metric.name;
  const lines = [`# HELP ${family} ${escapeHelp(metric.help, openMetrics)}`, `# TYPE ${family} ${type}`];
  for (const value of metric.values) {
    let name = value.metricName ?? metric.name;
    if (openMetrics && type === 'counter' && value.metricName === undefined) name = `${family}_total`;
    const labels = formatLabels(orderLabels({ ...value.sharedLabels, ...value.labels }));
    let line = `${name}${labels} ${formatNumber(value.value)}`;
    const exemplar = value.exemplar;
    if (openMetrics && exemplar && Object.keys(exemplar.labelSet).length > 0) {
      line += ` # ${formatLabels(exemplar.labelSet)} ${formatNumber(exemplar.value)}`;
      if (exemplar.timestamp !== undefined) line += ` ${exemplar.timestamp}`;
    }
    lines.push(line);
  }
  return lines.join('\n');
}

/** `le` and `quantile` last, as Prometheus' own clients write them. */
function orderLabels(labels: Record<string, string | number | undefined>): Record<string, string | number | undefined> {
  if (!('le' in labels) && !('quantile' in labels)) return labels;
  const { le, quantile, ...rest } = labels;
  return { ...rest, ...(quantile !== undefined ? { quantile } : {}), ...(le !== undefined ? { le } : {}) };
}

function formatLabels(labels: Record<string, string | number | undefined>): string {
  const parts: string[] = [];
  for (const key of Object.keys(labels)) {
    const value = labels[key];
    if (value === undefined) continue;
    parts.push(`${key}="${escapeLabel(typeof value === 'number' ? formatNumber(value) : String(value))}"`);
  }
  return parts.length > 0 ? `{${parts.join(',')}}` : '';
}

function formatNumber(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(help: string, openMetrics: boolean): string {
  const escaped = help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
  return openMetrics ? escaped.replace(/"/g, '\\"') : escaped;
}
