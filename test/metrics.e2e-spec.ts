import { type CanActivate, Controller, Get, type INestApplication, Injectable, InternalServerErrorException, Param } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { InjectMetric, makeCounterProvider } from '@willsoto/nestjs-prometheus';
import { MetricsService, ObservabilityModule, Traced } from 'nestjs-observability';
import { type InMemoryTracing, LogCapture, useInMemoryTracing } from 'nestjs-observability/testing';
import type { Counter } from 'prom-client';
import request from 'supertest';

import { ADAPTERS, bootstrapApp } from './utils/bootstrap';
import { freePort } from './utils/free-port';
import { hasPromtool, promtoolCheckMetrics, requireTool } from './utils/promtool';

/** Denies every request: /metrics must not be behind it. */
@Injectable()
class DenyAllGuard implements CanActivate {
  canActivate(): boolean {
    return false;
  }
}

@Injectable()
class OrdersService {
  private readonly placed;
  private readonly latency;
  constructor(
    metrics: MetricsService,
    @InjectMetric('legacy_jobs_total') private readonly legacy: Counter<string>,
  ) {
    this.placed = metrics.counter({ name: 'orders_placed_total', help: 'Orders placed.', labelNames: ['channel'] });
    this.latency = metrics.histogram({ name: 'orders_latency_seconds', help: 'Order latency.', labelNames: ['channel'] });
  }
  @Traced()
  place(channel: string) {
    this.placed.inc({ channel });
    this.latency.observe({ channel }, 0.2);
    this.legacy.inc();
  }
}

@Controller()
class ShopController {
  constructor(private readonly orders: OrdersService) {}
  @Get('users/:id')
  user(@Param('id') id: string) {
    this.orders.place('web');
    return { id };
  }
  @Get('explode')
  explode() {
    throw new InternalServerErrorException('kaboom');
  }
}

/** Parses Prometheus text into `name{labels} value` entries. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const [series, value] = line.split(' # ')[0].split(/ (?=[^ ]+$)/);
    out.set(series, Number(value));
  }
  return out;
}

const SERIES_42 =
  'http_server_request_duration_seconds_count{http_request_method="GET",http_route="/users/:id",http_response_status_code="200"}';

describe.each(ADAPTERS)('metrics on %s', (adapter) => {
  let tracing: InMemoryTracing;
  let app: INestApplication;
  const logs = new LogCapture();

  beforeAll(async () => {
    tracing = useInMemoryTracing();
    app = await bootstrapApp(adapter, {
      imports: [ObservabilityModule.forRoot({ serviceName: 'shop', logging: { destination: logs }, metrics: { maxLabelSets: 50 } })],
      controllers: [ShopController],
      providers: [
        OrdersService,
        { provide: APP_GUARD, useClass: DenyAllGuard },
        makeCounterProvider({ name: 'legacy_jobs_total', help: 'Declared with @willsoto/nestjs-prometheus.' }),
      ],
    });
  });

  afterAll(async () => {
    await app.close();
    await tracing.shutdown();
  });

  it('serves /metrics past a global deny-all guard, in the Prometheus text format', async () => {
    const res = await request(app.getHttpServer()).get('/metrics').expect(200);
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(res.text).toContain('# TYPE http_server_request_duration_seconds histogram');
    expect(res.text).toContain('# TYPE process_cpu_seconds_total counter');
    expect(res.text).toContain('# TYPE nodejs_eventloop_lag_seconds gauge');
  });

  it('counts a request under its route template and its final status, errors included', async () => {
    const before = samples((await request(app.getHttpServer()).get('/metrics')).text).get(SERIES_42) ?? 0;
    // The guard denies it (403) — the route is still the template, the status the final one.
    await request(app.getHttpServer()).get('/users/42').expect(403);
    const text = (await request(app.getHttpServer()).get('/metrics')).text;
    const after = samples(text);
    expect(after.get(SERIES_42.replace('"200"', '"403"'))).toBe(1);
    expect(after.get(SERIES_42) ?? 0).toBe(before);
    // /metrics itself is not counted.
    expect(text).not.toContain('http_route="/metrics"');
  });
});

describe.each(ADAPTERS)('metrics with no guard on %s', (adapter) => {
  let tracing: InMemoryTracing;
  let app: INestApplication;
  const logs = new LogCapture();

  beforeAll(async () => {
    tracing = useInMemoryTracing();
    app = await bootstrapApp(adapter, {
      imports: [ObservabilityModule.forRoot({ serviceName: 'shop', logging: { destination: logs }, metrics: { maxLabelSets: 50 } })],
      controllers: [ShopController],
      providers: [OrdersService, makeCounterProvider({ name: 'legacy_jobs_total', help: 'Declared with @willsoto/nestjs-prometheus.' })],
    });
  });

  afterAll(async () => {
    await app.close();
    await tracing.shutdown();
  });

  it('records /users/42 and a 500, and user metrics from MetricsService and @willsoto come out of the same endpoint', async () => {
    await request(app.getHttpServer()).get('/users/42').expect(200);
    await request(app.getHttpServer()).get('/explode').expect(500);
    const text = (await request(app.getHttpServer()).get('/metrics')).text;
    const s = samples(text);
    expect(s.get(SERIES_42)).toBe(1);
    expect(
      s.get('http_server_request_duration_seconds_count{http_request_method="GET",http_route="/explode",http_response_status_code="500"}'),
    ).toBe(1);
    expect(s.get('orders_placed_total{channel="web"}')).toBe(1);
    expect(s.get('legacy_jobs_total')).toBeGreaterThanOrEqual(1);
    expect(s.get('http_server_active_requests')).toBe(0);
  });

  it('answers OpenMetrics with exemplars that name the sampled server span', async () => {
    tracing.reset();
    await request(app.getHttpServer()).get('/users/7').expect(200);
    const server = tracing.spans().find((sp) => sp.name === 'GET /users/:id')!;
    const traced = tracing.spans().find((sp) => sp.name === 'OrdersService.place')!;
    const res = await request(app.getHttpServer()).get('/metrics').set('accept', 'application/openmetrics-text; version=1.0.0').expect(200);
    expect(res.headers['content-type']).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    expect(res.text.endsWith('# EOF\n')).toBe(true);
    expect(res.text).toContain(`# {trace_id="${server.spanContext().traceId}",span_id="${server.spanContext().spanId}"}`);
    // A user histogram observed inside @Traced carries that span.
    expect(res.text).toMatch(
      new RegExp(
        `orders_latency_seconds_bucket\\{channel="web",le="0.25"\\} \\d+ # \\{trace_id="${traced.spanContext().traceId}",span_id="${traced.spanContext().spanId}"\\}`,
      ),
    );
    // OpenMetrics counters: family without _total, sample with it.
    expect(res.text).toContain('# TYPE orders_placed counter');
    expect(res.text).toContain('orders_placed_total{channel="web"}');
    // And the text format is unchanged afterwards.
    expect((await request(app.getHttpServer()).get('/metrics')).text).toContain('# TYPE orders_placed_total counter');
  });

  it('keeps the label sets of the duration histogram bounded under a flood of odd paths, methods and queries', async () => {
    const server = app.getHttpServer();
    const seriesCount = async () =>
      [...samples((await request(server).get('/metrics')).text).keys()].filter((k) =>
        k.startsWith('http_server_request_duration_seconds_count'),
      ).length;
    const methods = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'PROPFIND', 'MKCOL', 'LOCK'];
    const send = (i: number) => {
      const method = methods[i % methods.length];
      const path = `/${Math.random().toString(36).slice(2)}/${i}?q=${Math.random()}&token=${i}`;
      return new Promise<void>((resolve) => {
        const req = request(server)[method === 'GET' ? 'get' : 'post'](path);
        // supertest knows the common verbs only; others go through the generic agent.
        if (method !== 'GET' && method !== 'POST') (req as unknown as { method: string }).method = method;
        req.end(() => resolve());
      });
    };
    for (let i = 0; i < 200; i++) await send(i);
    const early = await seriesCount();
    for (let batch = 0; batch < 49; batch++) await Promise.all(Array.from({ length: 200 }, (_, j) => send(1000 + batch * 200 + j)));
    const late = await seriesCount();
    expect(late).toBe(early);
    expect(early).toBeLessThanOrEqual(methods.length * 2 + 3);
    const text = (await request(server).get('/metrics')).text;
    // Methods the conventions do not name share one value; no raw path or query reaches a label.
    expect(text).toContain('http_request_method="_OTHER"');
    expect(text).not.toMatch(/PROPFIND|MKCOL|token=|q=0\./);
  }, 120_000);

  it('passes promtool check metrics', async () => {
    if (!requireTool(hasPromtool(), 'promtool (Debian package prometheus)')) return;
    const text = (await request(app.getHttpServer()).get('/metrics')).text;
    const { code, output } = await promtoolCheckMetrics(text);
    expect({ code, output }).toEqual({ code: 0, output: '' });
  });
});

describe('metrics endpoint options', () => {
  @Controller('ping')
  class PingController {
    @Get()
    ping() {
      return 'pong';
    }
  }

  it('protects /metrics with a bearer token when asked', async () => {
    const app = await bootstrapApp('express', {
      imports: [ObservabilityModule.forRoot({ tracing: false, logging: false, metrics: { auth: { bearerToken: 's3cret' } } })],
      controllers: [PingController],
    });
    try {
      await request(app.getHttpServer()).get('/metrics').expect(401).expect('www-authenticate', 'Bearer realm="metrics"');
      await request(app.getHttpServer()).get('/metrics').set('authorization', 'Bearer nope').expect(401);
      await request(app.getHttpServer()).get('/metrics').set('authorization', 'Bearer s3cret').expect(200);
    } finally {
      await app.close();
    }
  });

  it('protects /metrics with basic credentials when asked', async () => {
    const app = await bootstrapApp('fastify', {
      imports: [ObservabilityModule.forRoot({ tracing: false, logging: false, metrics: { auth: { username: 'prom', password: 'pw' } } })],
      controllers: [PingController],
    });
    try {
      await request(app.getHttpServer()).get('/metrics').expect(401).expect('www-authenticate', 'Basic realm="metrics"');
      await request(app.getHttpServer()).get('/metrics').auth('prom', 'wrong').expect(401);
      await request(app.getHttpServer()).get('/metrics').auth('prom', 'pw').expect(200);
    } finally {
      await app.close();
    }
  });

  it('prefixes runtime metrics and leaves the health probes out of the RED metrics', async () => {
    const app = await bootstrapApp('express', {
      imports: [ObservabilityModule.forRoot({ tracing: false, logging: false, metrics: { prefix: 'shop_' } })],
      controllers: [PingController],
    });
    try {
      await request(app.getHttpServer()).get('/health').expect(200);
      await request(app.getHttpServer()).get('/health/ready').expect(200);
      const text = (await request(app.getHttpServer()).get('/metrics')).text;
      expect(text).toContain('# TYPE shop_process_cpu_seconds_total counter');
      expect(text).toContain('# TYPE shop_nodejs_eventloop_lag_seconds gauge');
      expect(text).not.toContain('\nprocess_cpu_seconds_total');
      expect(text).not.toContain('http_server_request_duration_seconds_count{');
    } finally {
      await app.close();
    }
  });

  it('serves /metrics on a separate port, and not on the application port', async () => {
    const port = await freePort();
    const app = await bootstrapApp('fastify', {
      imports: [ObservabilityModule.forRoot({ tracing: false, logging: false, metrics: { port, host: '127.0.0.1' } })],
      controllers: [PingController],
    });
    try {
      await request(app.getHttpServer()).get('/ping').expect(200);
      await request(app.getHttpServer()).get('/metrics').expect(404);
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('http_route="/ping"');
    } finally {
      await app.close();
    }
  });

  it('records metrics with tracing off', async () => {
    const app = await bootstrapApp('express', {
      imports: [ObservabilityModule.forRoot({ tracing: false, logging: false })],
      controllers: [PingController],
    });
    try {
      await request(app.getHttpServer()).get('/ping').expect(200);
      const text = (await request(app.getHttpServer()).get('/metrics')).text;
      expect(
        samples(text).get(
          'http_server_request_duration_seconds_count{http_request_method="GET",http_route="/ping",http_response_status_code="200"}',
        ),
      ).toBe(1);
    } finally {
      await app.close();
    }
  });
});

describe('cardinality guard', () => {
  it('sends label sets past the cap to one __overflow__ series, counts them and warns once', async () => {
    const logs = new LogCapture();
    const app = await bootstrapApp('express', {
      imports: [
        ObservabilityModule.forRoot({ tracing: false, logging: { destination: logs, requestLog: false }, metrics: { maxLabelSets: 10 } }),
      ],
    });
    try {
      const logins = app.get(MetricsService).counter({ name: 'logins_total', help: 'Logins.', labelNames: ['user'] });
      for (let i = 0; i < 25; i++) logins.inc({ user: `u${i}` });
      logins.inc({ user: 'u3' });
      const s = samples((await request(app.getHttpServer()).get('/metrics')).text);
      const series = [...s.keys()].filter((k) => k.startsWith('logins_total'));
      expect(series).toHaveLength(11);
      expect(s.get('logins_total{user="u3"}')).toBe(2);
      expect(s.get('logins_total{user="__overflow__"}')).toBe(15);
      expect(s.get('metrics_cardinality_overflow_total{metric="logins_total"}')).toBe(15);
      const warnings = logs.filter((r) => r.level === 'warn' && r.metric === 'logins_total');
      expect(warnings).toHaveLength(1);
      expect(warnings[0].msg).toContain('reached 10 label sets');
    } finally {
      await app.close();
    }
  });
});

describe('MetricsService definitions', () => {
  it('returns the same metric for the same definition and refuses a conflicting one', async () => {
    const app = await bootstrapApp('express', { imports: [ObservabilityModule.forRoot({ tracing: false, logging: false })] });
    try {
      const metrics = app.get(MetricsService);
      const a = metrics.counter({ name: 'jobs_total', help: 'Jobs.', labelNames: ['queue'] });
      expect(metrics.counter({ name: 'jobs_total', help: 'Jobs.', labelNames: ['queue'] })).toBe(a);
      expect(() => metrics.gauge({ name: 'jobs_total', help: 'Jobs.', labelNames: ['queue'] })).toThrow(
        'Metric "jobs_total" is already defined as counter help="Jobs." labels=[queue]; now asked for gauge help="Jobs." labels=[queue]. Use one definition per metric name.',
      );
      expect(() => metrics.counter({ name: 'bad-name', help: 'x' })).toThrow('Invalid metric name "bad-name"');
      expect(() => metrics.histogram({ name: 'h_seconds', help: 'x', labelNames: ['le'] })).toThrow('invalid label name "le"');
    } finally {
      await app.close();
    }
  });
});

describe('@Traced({ metric: true })', () => {
  @Injectable()
  class CheckoutService {
    @Traced('checkout', { metric: true })
    async checkout(fail: boolean): Promise<string> {
      await new Promise((resolve) => setImmediate(resolve));
      if (fail) throw new TypeError('card declined');
      return 'ok';
    }
  }

  it('records a duration histogram and an error count with low-cardinality labels, per application', async () => {
    const tracing = useInMemoryTracing();
    const opts = { serviceName: 'checkout', logging: false as const };
    const a = await bootstrapApp('express', { imports: [ObservabilityModule.forRoot(opts)], providers: [CheckoutService] });
    const b = await bootstrapApp('express', { imports: [ObservabilityModule.forRoot(opts)], providers: [CheckoutService] });
    try {
      const service = a.get(CheckoutService);
      await service.checkout(false);
      await service.checkout(false);
      await expect(service.checkout(true)).rejects.toThrow('card declined');
      const s = samples((await request(a.getHttpServer()).get('/metrics')).text);
      expect(s.get('traced_operation_duration_seconds_count{operation="checkout",outcome="ok"}')).toBe(2);
      expect(s.get('traced_operation_duration_seconds_count{operation="checkout",outcome="error"}')).toBe(1);
      expect(s.get('traced_operation_errors_total{operation="checkout",error_type="TypeError"}')).toBe(1);
      // The spans are there too: one annotation, both signals.
      expect(tracing.spans().filter((sp) => sp.name === 'checkout')).toHaveLength(3);
      // The other application's registry saw none of it.
      expect((await request(b.getHttpServer()).get('/metrics')).text).not.toContain('operation="checkout"');
    } finally {
      await a.close();
      await b.close();
      await tracing.shutdown();
    }
  });
});
