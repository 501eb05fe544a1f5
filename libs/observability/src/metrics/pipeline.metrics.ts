import type { Registry } from 'prom-client';

import { DROP_REASONS, type ExportStats } from '../sdk/export-processor';
import { getTelemetry } from '../sdk/telemetry';
import type { LogHandle } from '../work/work.constants';

/** Spans the exporter accepted (counter). */
export const OTEL_SPANS_EXPORTED = 'otel_spans_exported_total';
/** Spans that never reached the collector, by `reason`: `queue_full`, `export_failed`, `shutdown` (counter). */
export const OTEL_SPANS_DROPPED = 'otel_spans_dropped_total';
/** Failed span exports (counter). */
export const OTEL_EXPORT_FAILURES = 'otel_export_failures_total';
/** Spans waiting to be exported (gauge). */
export const OTEL_EXPORT_QUEUE_LENGTH = 'otel_export_queue_length';
/** Log lines the log destination dropped (counter). */
export const LOG_LINES_DROPPED = 'log_lines_dropped_total';

/** The shape prom-client's registry reads from a metric's `get()`. */
interface MetricSnapshot {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  values: Array<{ labels: Record<string, string>; value: number }>;
  aggregator: 'sum';
}

/**
 * The telemetry pipeline's own health on the application's registry: what the
 * span export (`Telemetry.exportStats()`) and the log destination
 * (`LogHandle.droppedLines`) counted. Read at scrape time, never recorded: the
 * counts live where they happen, so these are registry metrics of their own
 * whose `get()` reads them (a prom-client `Counter` can only be incremented).
 * Without a pipeline (tracing off, or another SDK owns the tracer provider)
 * the `otel_*` families have no samples.
 * @internal
 */
export class PipelineMetrics {
  constructor(
    registry: Registry,
    log: Pick<LogHandle, 'droppedLines'>,
    stats: () => ExportStats | undefined = () => getTelemetry()?.exportStats(),
  ) {
    const metric = (name: string, help: string, type: MetricSnapshot['type'], values: () => MetricSnapshot['values']) =>
      registry.registerMetric({
        name,
        get: (): MetricSnapshot => ({ name, help, type, values: values(), aggregator: 'sum' }),
        reset: () => undefined,
      } as never);
    const fromStats = (read: (stats: ExportStats) => number) => () => {
      const current = stats();
      return current === undefined ? [] : [{ labels: {}, value: read(current) }];
    };

    metric(
      OTEL_SPANS_EXPORTED,
      'Spans the span exporter accepted.',
      'counter',
      fromStats((s) => s.exported),
    );
    metric(OTEL_SPANS_DROPPED, 'Spans that never reached the collector, by reason: queue_full, export_failed, shutdown.', 'counter', () => {
      const current = stats();
      return current === undefined ? [] : DROP_REASONS.map((reason) => ({ labels: { reason }, value: current.dropped[reason] }));
    });
    metric(
      OTEL_EXPORT_FAILURES,
      'Span exports that failed; each lost its batch.',
      'counter',
      fromStats((s) => s.exportFailures),
    );
    metric(
      OTEL_EXPORT_QUEUE_LENGTH,
      'Spans waiting to be exported.',
      'gauge',
      fromStats((s) => s.queueLength),
    );
    metric(LOG_LINES_DROPPED, 'Log lines dropped because the log destination stalled and its buffer was full.', 'counter', () => [
      { labels: {}, value: log.droppedLines },
    ]);
  }
}
