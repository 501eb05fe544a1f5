import { context, ROOT_CONTEXT, trace, TraceFlags } from '@opentelemetry/api';
import pino from 'pino';
import { Registry } from 'prom-client';

import { ObservabilityError } from '../shared/observability.errors';
import { type InMemoryTracing, useInMemoryTracing } from '../testing/in-memory-tracing';
import { LogCapture } from '../testing/log-capture';
import type { LogHandle } from '../work/work.constants';
import { CardinalityGuard } from './cardinality-guard';
import { MetricsService } from './metrics.service';

let tracing: InMemoryTracing;
beforeAll(() => {
  tracing = useInMemoryTracing();
});
afterAll(() => tracing.shutdown());

const openMetricsRegistry = () => new (Registry as unknown as new (contentType: string) => Registry)(Registry.OPENMETRICS_CONTENT_TYPE);

/** A service over a real OpenMetrics registry (as the module makes it), logging into a LogCapture. */
function setup(limit = 100) {
  const registry = openMetricsRegistry();
  const logs = new LogCapture();
  const log: LogHandle = { logger: pino({ level: 'info' }, logs), flush: () => undefined, close: async () => undefined, droppedLines: 0 };
  const overflows: string[] = [];
  const guard = new CardinalityGuard(
    limit,
    (metric) => overflows.push(metric),
    () => undefined,
  );
  return { service: new MetricsService(registry, guard, log), registry, logs, overflows };
}

/** The sample lines of one metric, without HELP/TYPE. */
async function lines(registry: Registry, prefix: string): Promise<string[]> {
  return (await registry.metrics()).split('\n').filter((l) => l.startsWith(prefix));
}

describe('MetricsService', () => {
  describe('counter', () => {
    it('creates a counter in the registry and counts per label set', async () => {
      const { service, registry } = setup();
      const orders = service.counter({ name: 'orders_placed_total', help: 'Orders placed.', labelNames: ['channel'] });
      orders.inc({ channel: 'web' });
      orders.inc({ channel: 'web' }, 2);
      orders.inc({ channel: 'app' });
      expect(await lines(registry, 'orders_placed_total')).toEqual([
        'orders_placed_total{channel="web"} 3',
        'orders_placed_total{channel="app"} 1',
      ]);
    });

    it('returns the same counter for the same definition, label order aside', () => {
      const { service } = setup();
      const a = service.counter({ name: 'jobs_total', help: 'Jobs.', labelNames: ['queue', 'outcome'] });
      const b = service.counter({ name: 'jobs_total', help: 'Jobs.', labelNames: ['outcome', 'queue'] });
      expect(b).toBe(a);
    });

    it('counts without labels', async () => {
      const { service, registry } = setup();
      service.counter({ name: 'ticks_total', help: 'Ticks.' }).inc();
      expect(await lines(registry, 'ticks_total')).toEqual(['ticks_total 1']);
    });
  });

  describe('gauge', () => {
    it('sets, increments and decrements', async () => {
      const { service, registry } = setup();
      const queue = service.gauge({ name: 'queue_depth', help: 'Queue depth.', labelNames: ['queue'] });
      queue.set({ queue: 'mail' }, 10);
      queue.inc({ queue: 'mail' }, 5);
      queue.dec({ queue: 'mail' });
      queue.inc({ queue: 'sms' });
      expect(await lines(registry, 'queue_depth')).toEqual(['queue_depth{queue="mail"} 14', 'queue_depth{queue="sms"} 1']);
    });
  });

  describe('histogram', () => {
    it('observes into the default duration buckets', async () => {
      const { service, registry } = setup();
      const h = service.histogram({ name: 'db_query_seconds', help: 'Queries.', labelNames: ['op'] });
      h.observe({ op: 'select' }, 0.3);
      const out = await lines(registry, 'db_query_seconds');
      expect(out.filter((l) => l.startsWith('db_query_seconds_bucket')).map((l) => /le="([^"]+)"/.exec(l)?.[1])).toEqual([
        '0.005',
        '0.01',
        '0.025',
        '0.05',
        '0.075',
        '0.1',
        '0.25',
        '0.5',
        '0.75',
        '1',
        '2.5',
        '5',
        '7.5',
        '10',
        '+Inf',
      ]);
      expect(out).toContain('db_query_seconds_count{op="select"} 1');
    });

    it('uses the given buckets', async () => {
      const { service, registry } = setup();
      service.histogram({ name: 'batch_size', help: 'Batch sizes.', buckets: [1, 10, 100] }).observe({}, 7);
      const out = await lines(registry, 'batch_size_bucket');
      expect(out).toEqual([
        'batch_size_bucket{le="1"} 0',
        'batch_size_bucket{le="10"} 1',
        'batch_size_bucket{le="100"} 1',
        'batch_size_bucket{le="+Inf"} 1',
      ]);
    });

    it('startTimer observes the seconds elapsed and returns them', async () => {
      const { service, registry } = setup();
      const end = service.histogram({ name: 'step_seconds', help: 'Steps.', labelNames: ['step'] }).startTimer({ step: 'load' });
      await new Promise((resolve) => setTimeout(resolve, 20));
      const seconds = end();
      expect(seconds).toBeGreaterThanOrEqual(0.015);
      expect(seconds).toBeLessThan(1);
      const sum = (await lines(registry, 'step_seconds_sum')).map((l) => Number(l.split(' ')[1]));
      expect(sum).toEqual([seconds]);
    });

    it('carries the ids of a sampled active span as exemplar', async () => {
      const { service, registry } = setup();
      const h = service.histogram({ name: 'work_seconds', help: 'Work.' });
      const span = trace.getTracer('spec').startSpan('work');
      context.with(trace.setSpan(context.active(), span), () => h.observe({}, 0.02));
      span.end();
      const { traceId, spanId } = span.spanContext();
      const withExemplar = (await lines(registry, 'work_seconds_bucket')).filter((l) => l.includes(' # '));
      expect(withExemplar).toEqual([
        expect.stringMatching(new RegExp(`^work_seconds_bucket\\{le="0.025"\\} 1 # \\{trace_id="${traceId}",span_id="${spanId}"\\} 0.02 `)),
      ]);
    });

    it('carries no exemplar outside a span, nor inside an unsampled one', async () => {
      const { service, registry } = setup();
      const h = service.histogram({ name: 'work_seconds', help: 'Work.' });
      h.observe({}, 0.02);
      const unsampled = trace.wrapSpanContext({
        traceId: '0af7651916cd43dd8448eb211c80319c',
        spanId: 'b7ad6b7169203331',
        traceFlags: TraceFlags.NONE,
      });
      context.with(trace.setSpan(ROOT_CONTEXT, unsampled), () => h.observe({}, 0.02));
      const text = (await lines(registry, 'work_seconds')).join('\n');
      expect(text).not.toContain(' # ');
      expect(text).toContain('work_seconds_count 2');
    });

    it.each([
      ['empty', []],
      ['not increasing', [1, 1, 2]],
      ['decreasing', [2, 1]],
      ['not finite', [1, Number.POSITIVE_INFINITY]],
      ['NaN', [Number.NaN]],
    ])('rejects %s buckets, listing them', (_label, buckets) => {
      const { service } = setup();
      expect(() => service.histogram({ name: 'h_seconds', help: 'H.', buckets })).toThrow(
        new ObservabilityError(`Metric "h_seconds": buckets must be finite and strictly increasing, got [${buckets.join(', ')}].`),
      );
    });

    it('forbids the label "le", which counters may use', () => {
      const { service } = setup();
      expect(() => service.histogram({ name: 'h_seconds', help: 'H.', labelNames: ['le'] })).toThrow(
        /invalid label name "le".*and not "le"/,
      );
      expect(() => service.counter({ name: 'le_total', help: 'Le.', labelNames: ['le'] })).not.toThrow();
    });

    it('treats other buckets as another definition', () => {
      const { service } = setup();
      service.histogram({ name: 'h_seconds', help: 'H.', buckets: [1, 2] });
      expect(() => service.histogram({ name: 'h_seconds', help: 'H.', buckets: [1, 3] })).toThrow(
        'Metric "h_seconds" is already defined as histogram help="H." labels=[] buckets=[1,2]; now asked for histogram help="H." labels=[] buckets=[1,3]. Use one definition per metric name.',
      );
    });
  });

  describe('definitions', () => {
    it.each(['1abc', 'with-dash', '', 'spa ce'])('rejects the metric name %j', (name) => {
      const { service } = setup();
      expect(() => service.counter({ name, help: 'H.' })).toThrow(`Invalid metric name ${JSON.stringify(name)}`);
    });

    it('accepts names with colons and underscores', () => {
      const { service } = setup();
      expect(() => service.gauge({ name: 'ns:sub_system:value', help: 'H.' })).not.toThrow();
    });

    it.each(['', '   '])('rejects the help text %j', (help) => {
      const { service } = setup();
      expect(() => service.counter({ name: 'c_total', help })).toThrow('Metric "c_total" needs a non-empty help text.');
    });

    it.each(['__reserved', '1st', 'with-dash', 'a.b'])('rejects the label name %j', (label) => {
      const { service } = setup();
      expect(() => service.counter({ name: 'c_total', help: 'H.', labelNames: [label] })).toThrow(
        `invalid label name ${JSON.stringify(label)}`,
      );
    });

    it('rejects a label listed twice', () => {
      const { service } = setup();
      expect(() => service.gauge({ name: 'g', help: 'H.', labelNames: ['a', 'b', 'a'] })).toThrow(
        'Metric "g" lists a label name twice: [a, b, a].',
      );
    });

    it('refuses the same name with another kind, help or labels, naming both definitions', () => {
      const { service } = setup();
      service.counter({ name: 'x_total', help: 'X.', labelNames: ['a'] });
      expect(() => service.gauge({ name: 'x_total', help: 'X.', labelNames: ['a'] })).toThrow(
        'Metric "x_total" is already defined as counter help="X." labels=[a]; now asked for gauge help="X." labels=[a].',
      );
      expect(() => service.counter({ name: 'x_total', help: 'Other.', labelNames: ['a'] })).toThrow(
        'now asked for counter help="Other." labels=[a]',
      );
      expect(() => service.counter({ name: 'x_total', help: 'X.', labelNames: ['a', 'b'] })).toThrow(
        'now asked for counter help="X." labels=[a,b]',
      );
    });

    it('refuses a name already registered outside the service', () => {
      const { service, registry } = setup();
      registry.registerMetric({
        name: 'external_total',
        get: () => ({ name: 'external_total', help: 'E.', type: 'counter', values: [], aggregator: 'sum' }),
      } as never);
      expect(() => service.counter({ name: 'external_total', help: 'E.' })).toThrow(
        'Metric "external_total" already exists in the registry (made outside MetricsService); pick another name.',
      );
    });

    it('throws ObservabilityError', () => {
      const { service } = setup();
      expect(() => service.counter({ name: '9', help: 'H.' })).toThrow(ObservabilityError);
    });
  });

  describe('cardinality', () => {
    it('sends label sets past the cap to one __overflow__ series, keeping the admitted ones', async () => {
      const { service, registry, overflows } = setup(2);
      const c = service.counter({ name: 'hits_total', help: 'Hits.', labelNames: ['user', 'kind'] });
      c.inc({ user: 'u1', kind: 'a' });
      c.inc({ user: 'u2', kind: 'a' });
      c.inc({ user: 'u3', kind: 'a' });
      c.inc({ user: 'u4', kind: 'b' });
      c.inc({ user: 'u1', kind: 'a' });
      expect(await lines(registry, 'hits_total')).toEqual([
        'hits_total{user="u1",kind="a"} 2',
        'hits_total{user="u2",kind="a"} 1',
        'hits_total{user="__overflow__",kind="__overflow__"} 2',
      ]);
      expect(overflows).toEqual(['hits_total', 'hits_total']);
    });

    it('caps each metric on its own', async () => {
      const { service, registry } = setup(1);
      service.gauge({ name: 'g1', help: 'G.', labelNames: ['k'] }).set({ k: 'a' }, 1);
      service.gauge({ name: 'g2', help: 'G.', labelNames: ['k'] }).set({ k: 'b' }, 2);
      expect([...(await lines(registry, 'g1')), ...(await lines(registry, 'g2'))]).toEqual(['g1{k="a"} 1', 'g2{k="b"} 2']);
    });
  });

  describe('bad observations', () => {
    it('never throws: drops the observation and warns once per metric', async () => {
      const { service, registry, logs } = setup();
      const c = service.counter({ name: 'sent_total', help: 'Sent.', labelNames: ['to'] });
      expect(() => c.inc({ to: 'a' }, -1)).not.toThrow();
      expect(() => c.inc({ nope: 'x' } as never)).not.toThrow();
      c.inc({ to: 'a' });
      expect(await lines(registry, 'sent_total')).toEqual(['sent_total{to="a"} 1']);
      const warnings = logs.records.map((r) => ({ level: r.level, metric: r.metric, msg: r.msg, err: typeof r.err }));
      expect(warnings).toEqual([
        { level: 40, metric: 'sent_total', msg: 'nestjs-observability: observation of metric "sent_total" dropped', err: 'object' },
      ]);
    });

    it('warns separately for each metric', () => {
      const { service, logs } = setup();
      service.counter({ name: 'a_total', help: 'A.' }).inc({}, -1);
      service.gauge({ name: 'b', help: 'B.', labelNames: ['k'] }).set({ k: 'x' }, 'ten' as never);
      service.histogram({ name: 'c_seconds', help: 'C.', labelNames: ['k'] }).observe({ k: 'x', extra: 'y' } as never, 1);
      service.counter({ name: 'a_total', help: 'A.' }).inc({}, -2);
      expect(logs.records.map((r) => r.metric)).toEqual(['a_total', 'b', 'c_seconds']);
    });
  });
});
