import { createServer, type IncomingHttpHeaders, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { HttpAdapterHost } from '@nestjs/core';
import pino from 'pino';
import { Counter, Registry } from 'prom-client';

import type { MetricsOptions } from '../config/options.interface';
import { resolveOptions } from '../config/resolve-options';
import { ObservabilityError } from '../shared/observability.errors';
import { LogCapture } from '../testing/log-capture';
import { OPENMETRICS_CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE } from './exposition';
import { MetricsEndpoint } from './metrics.endpoint';

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request on a fresh connection (no keep-alive), on 127.0.0.1. */
function request(port: number, path: string, options: { method?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** A registry with one counter at 3. */
function registryWithCounter(): Registry {
  const registry = new Registry();
  new Counter({ name: 'orders_total', help: 'Orders.', registers: [registry] }).inc(3);
  return registry;
}

const endpoints: MetricsEndpoint[] = [];
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(endpoints.splice(0).map((e) => e.close()));
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

function endpoint(metrics: MetricsOptions, registries: Registry[] = [registryWithCounter()], adapterHost?: HttpAdapterHost) {
  const logs = new LogCapture();
  const options = resolveOptions({ metrics }, {}).metrics;
  const e = new MetricsEndpoint(options, registries, pino(logs), adapterHost);
  endpoints.push(e);
  return { endpoint: e, logs };
}

/** An endpoint listening on its own port on 127.0.0.1. */
async function onSidePort(metrics: Omit<MetricsOptions, 'port' | 'host'> = {}, registries?: Registry[]) {
  const made = endpoint({ ...metrics, port: 0, host: '127.0.0.1' }, registries);
  await made.endpoint.onApplicationBootstrap();
  return { ...made, port: made.endpoint.port! };
}

describe('MetricsEndpoint', () => {
  describe('on its own port', () => {
    it('serves the Prometheus text format by default', async () => {
      const { port, endpoint: e } = await onSidePort();
      expect(e.onApplicationPort).toBe(false);
      expect(port).toBeGreaterThan(0);
      const reply = await request(port, '/metrics');
      expect({ status: reply.status, type: reply.headers['content-type'] }).toEqual({ status: 200, type: PROMETHEUS_CONTENT_TYPE });
      expect(reply.body).toBe('# HELP orders_total Orders.\n# TYPE orders_total counter\norders_total 3\n');
    });

    it('serves OpenMetrics when the scraper accepts it', async () => {
      const { port } = await onSidePort();
      const reply = await request(port, '/metrics', {
        headers: { accept: 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5' },
      });
      expect({ status: reply.status, type: reply.headers['content-type'] }).toEqual({ status: 200, type: OPENMETRICS_CONTENT_TYPE });
      expect(reply.body).toBe('# HELP orders Orders.\n# TYPE orders counter\norders_total 3\n# EOF\n');
    });

    it('answers HEAD with the headers and no body', async () => {
      const { port } = await onSidePort();
      const reply = await request(port, '/metrics', { method: 'HEAD' });
      expect({ status: reply.status, type: reply.headers['content-type'], body: reply.body }).toEqual({
        status: 200,
        type: PROMETHEUS_CONTENT_TYPE,
        body: '',
      });
    });

    it('answers 405 with Allow to other methods', async () => {
      const { port } = await onSidePort();
      const replies = await Promise.all(['POST', 'PUT', 'DELETE'].map((method) => request(port, '/metrics', { method })));
      expect(replies.map((r) => [r.status, r.headers.allow, r.body])).toEqual([
        [405, 'GET, HEAD', ''],
        [405, 'GET, HEAD', ''],
        [405, 'GET, HEAD', ''],
      ]);
    });

    it('serves the configured path, with or without a query, and 404 elsewhere', async () => {
      const { port } = await onSidePort({ path: '/internal/metrics' });
      const statuses = await Promise.all(
        ['/internal/metrics', '/internal/metrics?name[]=x', '/metrics', '/internal/metrics/x', '/'].map((p) => request(port, p)),
      );
      expect(statuses.map((r) => r.status)).toEqual([200, 200, 404, 404, 404]);
    });

    it('serves several registries as one document, the first one winning a shared name', async () => {
      const second = new Registry();
      new Counter({ name: 'orders_total', help: 'Shadowed.', registers: [second] }).inc(99);
      new Counter({ name: 'jobs_total', help: 'Jobs.', registers: [second] }).inc(1);
      const { port } = await onSidePort({}, [registryWithCounter(), second]);
      const body = (await request(port, '/metrics')).body;
      expect(body).toBe(
        '# HELP orders_total Orders.\n# TYPE orders_total counter\norders_total 3\n\n# HELP jobs_total Jobs.\n# TYPE jobs_total counter\njobs_total 1\n',
      );
    });

    it('answers 500 and logs the error when a metric cannot be collected', async () => {
      const broken = new Registry();
      broken.registerMetric({ name: 'broken', get: () => Promise.reject(new Error('collector down')) } as never);
      const { port, logs } = await onSidePort({}, [broken]);
      const reply = await request(port, '/metrics');
      expect({ status: reply.status, body: reply.body }).toEqual({ status: 500, body: 'metrics unavailable\n' });
      const errors = logs.records.map((r) => ({ level: r.level, msg: r.msg, err: (r.err as { message?: string } | undefined)?.message }));
      expect(errors).toEqual([{ level: 50, msg: 'nestjs-observability: rendering /metrics failed', err: 'collector down' }]);
    });

    it('listens once, and stops on shutdown', async () => {
      const { endpoint: e, port } = await onSidePort();
      await e.listen();
      expect(e.port).toBe(port);
      await e.onApplicationShutdown();
      expect(e.port).toBeUndefined();
      await expect(request(port, '/metrics')).rejects.toThrow(/ECONNREFUSED/);
      await expect(e.close()).resolves.toBeUndefined();
    });

    it('fails to start with a message naming the option, the port and the fix when the port is taken', async () => {
      const { port } = await onSidePort();
      const { endpoint: second } = endpoint({ port, host: '127.0.0.1' });
      const started = second.listen();
      await expect(started).rejects.toThrow(ObservabilityError);
      await expect(started).rejects.toThrow(
        `Cannot serve metrics on metrics.port ${port} (host 127.0.0.1): EADDRINUSE. Pick a free port, or leave metrics.port unset to serve /metrics on the application's port.`,
      );
    });
  });

  describe('auth', () => {
    it('requires the bearer token when one is configured', async () => {
      const { port } = await onSidePort({ auth: { bearerToken: 's3cret' } });
      const [none, wrong, longer, right] = await Promise.all([
        request(port, '/metrics'),
        request(port, '/metrics', { headers: { authorization: 'Bearer nope!!' } }),
        request(port, '/metrics', { headers: { authorization: 'Bearer s3cret2' } }),
        request(port, '/metrics', { headers: { authorization: 'Bearer s3cret' } }),
      ]);
      expect([none, wrong, longer].map((r) => [r.status, r.headers['www-authenticate'], r.body])).toEqual([
        [401, 'Bearer realm="metrics"', ''],
        [401, 'Bearer realm="metrics"', ''],
        [401, 'Bearer realm="metrics"', ''],
      ]);
      expect(right.status).toBe(200);
      expect(right.body).toContain('orders_total 3');
    });

    it('requires basic credentials when a user and password are configured', async () => {
      const { port } = await onSidePort({ auth: { username: 'prom', password: 'pw' } });
      const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
      const [none, wrong, right] = await Promise.all([
        request(port, '/metrics'),
        request(port, '/metrics', { headers: { authorization: basic('prom', 'nope') } }),
        request(port, '/metrics', { headers: { authorization: basic('prom', 'pw') } }),
      ]);
      expect([none.status, none.headers['www-authenticate'], wrong.status, right.status]).toEqual([401, 'Basic realm="metrics"', 401, 200]);
    });

    it('checks the method before the credentials', async () => {
      const { port } = await onSidePort({ auth: { bearerToken: 's3cret' } });
      expect((await request(port, '/metrics', { method: 'POST' })).status).toBe(405);
    });
  });

  describe("on the application's port", () => {
    async function appServer() {
      const seen: string[] = [];
      const server = createServer((req, res) => {
        seen.push(req.url ?? '');
        res.end('app');
      });
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return { server, seen, port: (server.address() as AddressInfo).port };
    }

    it("answers scrapes before the application's listener, and passes everything else on", async () => {
      const { server, seen, port } = await appServer();
      const { endpoint: e } = endpoint({}, [registryWithCounter()], {
        httpAdapter: { getHttpServer: () => server },
      } as unknown as HttpAdapterHost);
      expect(e.onApplicationPort).toBe(true);
      await e.onApplicationBootstrap();
      const replies = await Promise.all(['/metrics', '/metrics?x=1', '/metricsx', '/metrics/x', '/users'].map((p) => request(port, p)));
      expect(replies.map((r) => (r.body.includes('orders_total 3') ? 'metrics' : r.body))).toEqual([
        'metrics',
        'metrics',
        'app',
        'app',
        'app',
      ]);
      expect(seen.sort()).toEqual(['/metrics/x', '/metricsx', '/users']);
      expect(e.port).toBeUndefined();
    });

    it('hooks in once, however often the application bootstraps', async () => {
      const { server, port } = await appServer();
      const host = { httpAdapter: { getHttpServer: () => server } } as unknown as HttpAdapterHost;
      const { endpoint: e } = endpoint({}, [registryWithCounter()], host);
      await e.onApplicationBootstrap();
      await e.onApplicationBootstrap();
      expect(server.listeners('request')).toHaveLength(1);
      expect((await request(port, '/metrics')).status).toBe(200);
    });

    it('does nothing without an HTTP adapter', async () => {
      const { endpoint: e } = endpoint({}, [registryWithCounter()], undefined);
      await expect(e.onApplicationBootstrap()).resolves.toBeUndefined();
    });
  });
});
