import { Registry } from 'prom-client';

import { CardinalityGuard } from './cardinality-guard';
import { HttpServerMetrics } from './http-server.metrics';

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const SPAN_ID = 'b7ad6b7169203331';
const OTHER_TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const OTHER_SPAN_ID = '00f067aa0ba902b7';

const openMetricsRegistry = () => new (Registry as unknown as new (contentType: string) => Registry)(Registry.OPENMETRICS_CONTENT_TYPE);

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: string;
  exemplar: string | undefined;
}

/** Every sample line of an exposition, parsed. */
function samples(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*?)\})? (\S+)(?: # (.*))?$/.exec(line);
    if (!match) throw new Error(`unparseable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]!] = pair[2]!;
    out.push({ name: match[1]!, labels, value: match[3]!, exemplar: match[4] });
  }
  return out;
}

/** The one sample with this name and these labels; fails listing the samples seen otherwise. */
function sample(text: string, name: string, labels: Record<string, string>): Sample {
  const all = samples(text);
  const found = all.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length !== 1) {
    throw new Error(`expected one sample ${name}${JSON.stringify(labels)}, found ${found.length} among:\n${text}`);
  }
  return found[0]!;
}

function setup(options: { limit?: number; exemplars?: boolean; registry?: Registry } = {}) {
  const registry = options.registry ?? new Registry();
  const overflows: string[] = [];
  const guard = new CardinalityGuard(
    options.limit ?? 100,
    (metric) => overflows.push(metric),
    () => undefined,
  );
  const metrics = new HttpServerMetrics(registry, guard, options.exemplars ?? true);
  return { registry, metrics, overflows };
}

const SERIES = { http_request_method: 'GET', http_route: '/users/:id', http_response_status_code: '200' };

describe('HttpServerMetrics', () => {
  it('exposes the duration histogram with cumulative buckets, sum and count, per method, route and status', async () => {
    const { registry, metrics } = setup();
    metrics.record('GET', '/users/:id', 200, 0.02);
    metrics.record('GET', '/users/:id', 200, 0.3);
    metrics.record('GET', '/users/:id', 200, 12);
    metrics.record('POST', '/users', 201, 0.001);
    const text = await registry.metrics();
    expect(text).toContain('# TYPE http_server_request_duration_seconds histogram');
    const bucket = (le: string) => sample(text, 'http_server_request_duration_seconds_bucket', { ...SERIES, le }).value;
    expect(['0.01', '0.025', '0.25', '0.5', '10', '+Inf'].map(bucket)).toEqual(['0', '1', '1', '2', '2', '3']);
    expect(Number(sample(text, 'http_server_request_duration_seconds_sum', SERIES).value)).toBeCloseTo(12.32, 10);
    expect(sample(text, 'http_server_request_duration_seconds_count', SERIES).value).toBe('3');
    const post = { http_request_method: 'POST', http_route: '/users', http_response_status_code: '201' };
    expect(sample(text, 'http_server_request_duration_seconds_bucket', { ...post, le: '0.005' }).value).toBe('1');
    expect(metrics.seriesCount).toBe(2);
  });

  it("puts a value equal to a bound in that bound's bucket (le is inclusive)", async () => {
    const { registry, metrics } = setup();
    metrics.record('GET', '/users/:id', 200, 0.005);
    metrics.record('GET', '/users/:id', 200, 10);
    const text = await registry.metrics();
    const bucket = (le: string) => sample(text, 'http_server_request_duration_seconds_bucket', { ...SERIES, le }).value;
    expect([bucket('0.005'), bucket('7.5'), bucket('10'), bucket('+Inf')]).toEqual(['1', '1', '2', '2']);
  });

  it('uses the semantic-convention buckets', async () => {
    const { registry, metrics } = setup();
    metrics.record('GET', '/users/:id', 200, 0.1);
    const les = samples(await registry.metrics())
      .filter((s) => s.name === 'http_server_request_duration_seconds_bucket')
      .map((s) => s.labels.le);
    expect(les).toEqual(['0.005', '0.01', '0.025', '0.05', '0.075', '0.1', '0.25', '0.5', '0.75', '1', '2.5', '5', '7.5', '10', '+Inf']);
  });

  it('exposes the active-requests gauge', async () => {
    const { registry, metrics } = setup();
    metrics.active = 3;
    expect(sample(await registry.metrics(), 'http_server_active_requests', {}).value).toBe('3');
    metrics.active--;
    expect(sample(await registry.metrics(), 'http_server_active_requests', {}).value).toBe('2');
  });

  it('keeps no series before the first request', async () => {
    const { registry } = setup();
    const text = await registry.metrics();
    expect(samples(text).map((s) => s.name)).toEqual(['http_server_active_requests']);
  });

  describe('exemplars', () => {
    it('carries the trace and span id on the bucket that took the observation (OpenMetrics)', async () => {
      const { registry, metrics } = setup({ registry: openMetricsRegistry() });
      metrics.record('GET', '/users/:id', 200, 0.04, TRACE_ID, SPAN_ID);
      const text = await registry.metrics();
      const withExemplar = samples(text).filter((s) => s.exemplar !== undefined);
      expect(withExemplar.map((s) => [s.labels.le, s.exemplar?.split(' ').slice(0, 2).join(' ')])).toEqual([
        ['0.05', `{trace_id="${TRACE_ID}",span_id="${SPAN_ID}"} 0.04`],
      ]);
      const timestamp = Number(withExemplar[0]!.exemplar!.split(' ')[2]);
      expect(Math.abs(timestamp - Date.now() / 1000)).toBeLessThan(60);
    });

    it('keeps the latest exemplar per bucket', async () => {
      const { registry, metrics } = setup({ registry: openMetricsRegistry() });
      metrics.record('GET', '/users/:id', 200, 0.04, TRACE_ID, SPAN_ID);
      metrics.record('GET', '/users/:id', 200, 0.045, OTHER_TRACE_ID, OTHER_SPAN_ID);
      const exemplar = sample(await registry.metrics(), 'http_server_request_duration_seconds_bucket', { ...SERIES, le: '0.05' }).exemplar;
      expect(exemplar).toMatch(new RegExp(`^\\{trace_id="${OTHER_TRACE_ID}",span_id="${OTHER_SPAN_ID}"\\} 0\\.045 `));
    });

    it('keeps the exemplar when a later observation in the bucket has no trace', async () => {
      const { registry, metrics } = setup({ registry: openMetricsRegistry() });
      metrics.record('GET', '/users/:id', 200, 0.04, TRACE_ID, SPAN_ID);
      metrics.record('GET', '/users/:id', 200, 0.045);
      expect(sample(await registry.metrics(), 'http_server_request_duration_seconds_bucket', { ...SERIES, le: '0.05' }).exemplar).toContain(
        TRACE_ID,
      );
    });

    it('records none when exemplars are switched off', async () => {
      const { registry, metrics } = setup({ registry: openMetricsRegistry(), exemplars: false });
      metrics.record('GET', '/users/:id', 200, 0.04, TRACE_ID, SPAN_ID);
      const text = await registry.metrics();
      expect(samples(text).filter((s) => s.exemplar !== undefined)).toEqual([]);
      expect(sample(text, 'http_server_request_duration_seconds_count', SERIES).value).toBe('1');
    });

    it('never prints exemplars in the Prometheus text format', async () => {
      const { registry, metrics } = setup();
      metrics.record('GET', '/users/:id', 200, 0.04, TRACE_ID, SPAN_ID);
      expect(await registry.metrics()).not.toContain(TRACE_ID);
    });

    it('hands a scrape a copy: a later request does not change what was collected', async () => {
      const { registry, metrics } = setup({ registry: openMetricsRegistry() });
      metrics.record('GET', '/users/:id', 200, 0.04, TRACE_ID, SPAN_ID);
      const collected = await registry.getMetricsAsJSON();
      metrics.record('GET', '/users/:id', 200, 0.041, OTHER_TRACE_ID, OTHER_SPAN_ID);
      const values = (collected.find((m) => m.name === 'http_server_request_duration_seconds')?.values ?? []) as {
        exemplar?: { labelSet: Record<string, string> } | null;
      }[];
      expect(values.flatMap((v) => (v.exemplar ? [v.exemplar.labelSet.trace_id] : []))).toEqual([TRACE_ID]);
    });
  });

  describe('cardinality', () => {
    it('moves label sets past the cap into one __overflow__ series and reports each', async () => {
      const { registry, metrics, overflows } = setup({ limit: 2 });
      metrics.record('GET', '/a', 200, 0.001);
      metrics.record('GET', '/b', 200, 0.001);
      metrics.record('GET', '/c', 200, 0.001);
      metrics.record('GET', '/d', 500, 0.001);
      metrics.record('GET', '/a', 200, 0.001);
      const text = await registry.metrics();
      const counts = samples(text)
        .filter((s) => s.name === 'http_server_request_duration_seconds_count')
        .map((s) => `${s.labels.http_request_method} ${s.labels.http_route} ${s.labels.http_response_status_code} = ${s.value}`);
      expect(counts).toEqual(['GET /a 200 = 2', 'GET /b 200 = 1', '__overflow__ __overflow__ __overflow__ = 2']);
      expect(overflows).toEqual(['http_server_request_duration_seconds', 'http_server_request_duration_seconds']);
    });

    it('tells series apart by status', async () => {
      const { registry, metrics } = setup();
      metrics.record('GET', '/a', 200, 0.001);
      metrics.record('GET', '/a', 404, 0.001);
      const statuses = samples(await registry.metrics())
        .filter((s) => s.name === 'http_server_request_duration_seconds_count')
        .map((s) => s.labels.http_response_status_code);
      expect(statuses).toEqual(['200', '404']);
    });
  });

  it('forgets its series when the registry is reset', async () => {
    const { registry, metrics } = setup();
    metrics.record('GET', '/a', 200, 0.001);
    registry.resetMetrics();
    expect(metrics.seriesCount).toBe(0);
    expect(samples(await registry.metrics()).filter((s) => s.name.startsWith('http_server_request_duration'))).toEqual([]);
  });
});
