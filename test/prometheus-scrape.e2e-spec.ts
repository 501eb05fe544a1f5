import { OtlpReceiver } from 'nestjs-observability/testing';

import { ChildApp } from './utils/child-app';
import { hasPrometheus, PrometheusServer } from './utils/prometheus-server';
import { requireTool } from './utils/promtool';

type Vector = { metric: Record<string, string>; value: [number, string] }[];
type Exemplars = { seriesLabels: Record<string, string>; exemplars: { labels: Record<string, string>; value: string }[] }[];

const run = requireTool(hasPrometheus(), 'prometheus (Debian package prometheus)');

(run ? describe : describe.skip)('a real Prometheus server scraping the app', () => {
  let receiver: OtlpReceiver;
  let app: ChildApp;
  let prometheus: PrometheusServer;

  beforeAll(async () => {
    receiver = await OtlpReceiver.start();
    app = await ChildApp.start({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, HTTP_ADAPTER: 'fastify' } });
    prometheus = await PrometheusServer.start(app.url.replace('http://', ''));
  }, 30_000);

  afterAll(async () => {
    await prometheus?.stop();
    await app?.stop();
    await receiver?.close();
  });

  it('stores the RED series with their labels and exemplars that point at exported traces', async () => {
    for (let i = 1; i <= 5; i++) expect((await fetch(`${app.url}/users/${i}`)).status).toBe(200);
    expect((await fetch(`${app.url}/nowhere/${Date.now()}`)).status).toBe(404);

    const series = await prometheus.waitFor('the /users/:id series', async () => {
      const v = await prometheus.api<{ result: Vector }>('query', {
        query: 'http_server_request_duration_seconds_count{http_route="/users/:id"}',
      });
      return v.result.length > 0 && Number(v.result[0].value[1]) >= 5 ? v.result : undefined;
    });
    expect(series.map((s) => s.metric)).toEqual([
      {
        __name__: 'http_server_request_duration_seconds_count',
        http_request_method: 'GET',
        http_response_status_code: '200',
        http_route: '/users/:id',
        instance: app.url.replace('http://', ''),
        job: 'app',
      },
    ]);
    const unmatched = await prometheus.api<{ result: Vector }>('query', {
      query: 'http_server_request_duration_seconds_count{http_response_status_code="404"}',
    });
    expect(unmatched.result.map((s) => s.metric.http_route)).toEqual(['unmatched']);

    const spans = await receiver.waitForSpans((s) => s.filter((x) => x.name === 'GET /users/:id').length >= 5);
    const exportedTraceIds = new Set(spans.map((s) => s.traceId));
    const now = Date.now() / 1000;
    const exemplars = await prometheus.waitFor('exemplars', async () => {
      const data = await prometheus.api<Exemplars>('query_exemplars', {
        query: 'http_server_request_duration_seconds_bucket{http_route="/users/:id"}',
        start: String(now - 300),
        end: String(now + 60),
      });
      const all = data.flatMap((d) => d.exemplars);
      return all.length > 0 ? all : undefined;
    });
    for (const exemplar of exemplars) {
      expect(exemplar.labels.trace_id).toMatch(/^[0-9a-f]{32}$/);
      expect(exportedTraceIds.has(exemplar.labels.trace_id)).toBe(true);
    }
  }, 60_000);
});
