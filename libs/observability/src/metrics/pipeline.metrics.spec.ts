import { Registry } from 'prom-client';

import { hasPromtool, promtoolCheckMetrics, requireTool } from '../../../../test/utils/promtool';
import type { ExportStats } from '../sdk/export-processor';
import { renderExposition } from './exposition';
import { PipelineMetrics } from './pipeline.metrics';

const STATS: ExportStats = {
  exported: 1_200,
  dropped: { queue_full: 40, export_failed: 128, shutdown: 3 },
  exportFailures: 2,
  queueLength: 17,
};

describe('PipelineMetrics', () => {
  it('reads the export counters and dropped log lines at scrape time', async () => {
    const registry = new Registry();
    let stats = STATS;
    const log = { droppedLines: 5 };
    new PipelineMetrics(registry, log, () => stats);

    expect(await renderExposition([registry], false)).toBe(
      [
        '# HELP otel_spans_exported_total Spans the span exporter accepted.',
        '# TYPE otel_spans_exported_total counter',
        'otel_spans_exported_total 1200',
        '',
        '# HELP otel_spans_dropped_total Spans that never reached the collector, by reason: queue_full, export_failed, shutdown.',
        '# TYPE otel_spans_dropped_total counter',
        'otel_spans_dropped_total{reason="queue_full"} 40',
        'otel_spans_dropped_total{reason="export_failed"} 128',
        'otel_spans_dropped_total{reason="shutdown"} 3',
        '',
        '# HELP otel_export_failures_total Span exports that failed; each lost its batch.',
        '# TYPE otel_export_failures_total counter',
        'otel_export_failures_total 2',
        '',
        '# HELP otel_export_queue_length Spans waiting to be exported.',
        '# TYPE otel_export_queue_length gauge',
        'otel_export_queue_length 17',
        '',
        '# HELP log_lines_dropped_total Log lines dropped because the log destination stalled and its buffer was full.',
        '# TYPE log_lines_dropped_total counter',
        'log_lines_dropped_total 5',
        '',
      ].join('\n'),
    );

    stats = { ...STATS, exported: 1_210, queueLength: 0 };
    log.droppedLines = 9;
    const text = await renderExposition([registry], false);
    expect(text).toContain('\notel_spans_exported_total 1210\n');
    expect(text).toContain('\notel_export_queue_length 0\n');
    expect(text).toContain('\nlog_lines_dropped_total 9\n');
  });

  it('names counter families without _total in OpenMetrics, samples with it', async () => {
    const registry = new Registry();
    new PipelineMetrics(registry, { droppedLines: 0 }, () => STATS);
    const text = await renderExposition([registry], true);
    expect(text).toContain('# TYPE otel_spans_dropped counter\notel_spans_dropped_total{reason="queue_full"} 40\n');
    expect(text).toContain('# TYPE otel_export_queue_length gauge\notel_export_queue_length 17\n');
  });

  it('has no otel_* samples without a pipeline (tracing off), still the log counter', async () => {
    const registry = new Registry();
    new PipelineMetrics(registry, { droppedLines: 1 }, () => undefined);
    const samples = (await renderExposition([registry], false)).split('\n').filter((line) => line !== '' && !line.startsWith('#'));
    expect(samples).toEqual(['log_lines_dropped_total 1']);
  });

  it.each([
    ['with a pipeline', STATS],
    ['without one', undefined],
  ])('passes promtool check metrics %s', async (_, stats) => {
    if (!requireTool(hasPromtool(), 'promtool (Debian package prometheus)')) return;
    const registry = new Registry();
    new PipelineMetrics(registry, { droppedLines: 2 }, () => stats);
    const { code, output } = await promtoolCheckMetrics(await renderExposition([registry], false));
    expect({ code, output }).toEqual({ code: 0, output: '' });
  });
});
