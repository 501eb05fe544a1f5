import { Counter, Gauge, Histogram, Registry } from 'prom-client';

import { renderExposition } from './exposition';

const openMetricsRegistry = () => new (Registry as unknown as new (contentType: string) => Registry)(Registry.OPENMETRICS_CONTENT_TYPE);

describe('renderExposition', () => {
  it('renders the Prometheus text format, blocks separated by a blank line', async () => {
    const registry = new Registry();
    new Counter({ name: 'orders_total', help: 'Orders.', labelNames: ['channel'], registers: [registry] }).inc({ channel: 'web' }, 2);
    new Gauge({ name: 'queue_depth', help: 'Depth.', registers: [registry] }).set(5);
    expect(await renderExposition([registry], false)).toBe(
      '# HELP orders_total Orders.\n# TYPE orders_total counter\norders_total{channel="web"} 2\n\n# HELP queue_depth Depth.\n# TYPE queue_depth gauge\nqueue_depth 5\n',
    );
  });

  it('renders OpenMetrics: counter families without _total, samples with it, and # EOF', async () => {
    const registry = new Registry();
    new Counter({ name: 'orders_total', help: 'Orders.', registers: [registry] }).inc();
    new Counter({ name: 'legacy_count', help: 'No suffix.', registers: [registry] }).inc(4);
    expect(await renderExposition([registry], true)).toBe(
      '# HELP orders Orders.\n# TYPE orders counter\norders_total 1\n# HELP legacy_count No suffix.\n# TYPE legacy_count counter\nlegacy_count_total 4\n# EOF\n',
    );
  });

  it('leaves the registry as it was: the Prometheus format still names counters with _total afterwards', async () => {
    const registry = new Registry();
    new Counter({ name: 'orders_total', help: 'Orders.', registers: [registry] }).inc();
    await renderExposition([registry], true);
    expect(registry.getSingleMetric('orders_total')).toBeDefined();
    expect(await renderExposition([registry], false)).toContain('\norders_total 1\n');
  });

  it('puts le last and carries exemplars in OpenMetrics only', async () => {
    const registry = openMetricsRegistry();
    const histogram = new Histogram({
      name: 'job_seconds',
      help: 'Jobs.',
      labelNames: ['queue'],
      buckets: [1],
      registers: [registry],
      enableExemplars: true,
    });
    // (prom-client types exemplar labels as the metric's own label names; they are not.)
    histogram.observe({ labels: { queue: 'mail' }, value: 0.5, exemplarLabels: { trace_id: 'abc', span_id: 'def' } as never });
    const open = await renderExposition([registry], true);
    expect(open).toMatch(/\njob_seconds_bucket\{queue="mail",le="1"\} 1 # \{trace_id="abc",span_id="def"\} 0\.5 \d+(\.\d+)?\n/);
    expect(open).toContain('\njob_seconds_bucket{queue="mail",le="+Inf"} 1\n');
    const text = await renderExposition([registry], false);
    expect(text).toContain('\njob_seconds_bucket{queue="mail",le="1"} 1\n');
    expect(text).not.toContain('trace_id');
  });

  it('escapes label values and help text', async () => {
    const registry = new Registry();
    new Gauge({ name: 'g', help: 'Line one\nsays "hi" \\ bye', labelNames: ['path'], registers: [registry] }).set({ path: 'a"b\\c\nd' }, 1);
    const text = await renderExposition([registry], false);
    expect(text).toContain('# HELP g Line one\\nsays "hi" \\\\ bye\n');
    expect(text).toContain('g{path="a\\"b\\\\c\\nd"} 1');
    expect(await renderExposition([registry], true)).toContain('# HELP g Line one\\nsays \\"hi\\" \\\\ bye\n');
  });

  it('writes NaN and infinities as the formats spell them', async () => {
    const registry = new Registry();
    const g = new Gauge({ name: 'g', help: 'G.', labelNames: ['k'], registers: [registry] });
    g.set({ k: 'nan' }, Number.NaN);
    g.set({ k: 'pos' }, Number.POSITIVE_INFINITY);
    g.set({ k: 'neg' }, Number.NEGATIVE_INFINITY);
    const samples = (await renderExposition([registry], false)).split('\n').filter((l) => l.startsWith('g{'));
    expect(samples).toEqual(['g{k="nan"} NaN', 'g{k="pos"} +Inf', 'g{k="neg"} -Inf']);
  });

  it('renders an empty registry as an empty Prometheus document', async () => {
    expect(await renderExposition([new Registry()], false)).toBe('\n');
  });

  // OpenMetrics allows no empty line: with no metric family the document is `# EOF` alone.
  it('renders an empty registry as a valid OpenMetrics document: only # EOF', async () => {
    expect(await renderExposition([new Registry()], true)).toBe('# EOF\n');
  });
});
