import { createServer, type Server } from 'node:http';

import { type CanActivate, Controller, Get, type INestApplication, Injectable, type ModuleMetadata } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import Redis from 'ioredis';
import type { HealthOptions } from 'nestjs-observability';
import { ObservabilityLogger, ObservabilityModule, type ObservabilityModuleOptions } from 'nestjs-observability';
import { type InMemoryTracing, LogCapture, useInMemoryTracing } from 'nestjs-observability/testing';
import { Pool } from 'pg';
import request from 'supertest';

import {
  DiskSpaceHealthIndicator,
  EventLoopDelayHealthIndicator,
  HealthService,
  HeapHealthIndicator,
  HttpDependencyHealthIndicator,
  PostgresHealthIndicator,
  RedisHealthIndicator,
  RssHealthIndicator,
} from '../libs/observability/src/health';
import { HealthEndpoint } from '../libs/observability/src/health/health.endpoint';
import { ShutdownService } from '../libs/observability/src/health/shutdown.service';
import { type AdapterName, ADAPTERS } from './utils/bootstrap';
import { freePort, POSTGRES_URL, REDIS_URL, RedisServerProcess, requireServices } from './utils/services';

/** Denies every request: probes must not be behind it. */
@Injectable()
class DenyAllGuard implements CanActivate {
  canActivate(): boolean {
    return false;
  }
}

@Controller()
class PingController {
  @Get('ping')
  ping() {
    return { pong: true };
  }
}

/**
 * The observability module with the health pillar. Until ObservabilityModule
 * provides the pillar itself (its `health` option, see
 * libs/observability/src/health/INTEGRATION.md) it is added beside it; after, this is
 * `[ObservabilityModule.forRoot({ ...observability, health })]`.
 */
const withHealth = (observability: ObservabilityModuleOptions, health: HealthOptions) => [
  ObservabilityModule.forRoot({ ...observability, health }),
];

/**
 * Boots a real application in-process like test/utils/bootstrap.ts, with the
 * health pillar beside ObservabilityModule and optionally a global prefix.
 */
async function bootstrap(
  adapter: AdapterName,
  health: HealthOptions,
  logs: LogCapture,
  extra: ModuleMetadata = {},
  globalPrefix?: string,
): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [...withHealth({ serviceName: 'health-test', logging: { destination: logs } }, health), ...(extra.imports ?? [])],
    controllers: extra.controllers,
    providers: extra.providers,
  }).compile();
  const app =
    adapter === 'fastify'
      ? moduleRef.createNestApplication(new FastifyAdapter(), { bufferLogs: true })
      : moduleRef.createNestApplication({ bufferLogs: true });
  app.useLogger(app.get(ObservabilityLogger));
  if (globalPrefix) app.setGlobalPrefix(globalPrefix);
  await app.init();
  if (adapter === 'fastify') await (app.getHttpAdapter().getInstance() as { ready(): Promise<unknown> }).ready();
  return app;
}

/** `GET path`, with how long it took. */
async function probe(app: INestApplication, path: string, headers: Record<string, string> = {}) {
  const started = performance.now();
  const res = await request(app.getHttpServer()).get(path).set(headers);
  return { status: res.status, body: res.body as unknown, text: res.text, headers: res.headers, ms: performance.now() - started };
}

/** Polls until `check` holds, at most `timeoutMs`; fails listing what was seen. */
async function eventually<T>(what: string, read: () => Promise<T>, check: (value: T) => boolean, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  const seen: string[] = [];
  for (;;) {
    const value = await read();
    if (check(value)) return value;
    seen.push(JSON.stringify(value));
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms; seen:\n${seen.slice(-5).join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const UP = { status: 'up' };
const HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-cache, no-store, must-revalidate' };

const servicesHere = requireServices('postgres', 'redis', 'redis-server');

(servicesHere ? describe.each(ADAPTERS) : describe.skip.each(ADAPTERS))(
  'health endpoints on %s, against the real PostgreSQL and Redis',
  (adapter) => {
    const logs = new LogCapture();
    let tracing: InMemoryTracing;
    let app: INestApplication;
    let pool: Pool;
    let redis: Redis;
    let health: HealthService;

    beforeAll(async () => {
      tracing = useInMemoryTracing();
      pool = new Pool({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 2_000 });
      redis = new Redis(REDIS_URL, { lazyConnect: true });
      await redis.connect();
      app = await bootstrap(
        adapter,
        { details: 'always', indicators: [new PostgresHealthIndicator(pool), new RedisHealthIndicator(redis)] },
        logs,
        {
          controllers: [PingController],
          providers: [{ provide: APP_GUARD, useClass: DenyAllGuard }],
        },
      );
      health = app.get(HealthService);
    });

    afterAll(async () => {
      await app?.close();
      await pool?.end();
      redis?.disconnect();
      await tracing?.shutdown();
    });

    it('answers liveness with {"status":"ok"}, checking nothing, past a deny-all global guard', async () => {
      // The guard is real: an ordinary route is denied.
      expect((await probe(app, '/ping')).status).toBe(403);
      const res = await probe(app, '/health/live');
      expect({ status: res.status, text: res.text }).toEqual({ status: 200, text: '{"status":"ok"}' });
      expect(res.headers).toMatchObject(HEADERS);
    });

    it('answers readiness 200 {"status":"ok"} and /health with every indicator when PostgreSQL and Redis are up', async () => {
      const ready = await probe(app, '/health/ready');
      expect({ status: ready.status, body: ready.body }).toEqual({ status: 200, body: { status: 'ok' } });
      const details = await probe(app, '/health');
      expect({ status: details.status, body: details.body }).toEqual({
        status: 200,
        body: { status: 'ok', info: { postgres: UP, redis: UP }, error: {}, details: { postgres: UP, redis: UP } },
      });
    });

    it('answers HEAD without a body and refuses other methods', async () => {
      const head = await request(app.getHttpServer()).head('/health/ready');
      expect({ status: head.status, text: head.text }).toEqual({ status: 200, text: undefined });
      const post = await request(app.getHttpServer()).post('/health/ready');
      expect({ status: post.status, allow: post.headers.allow }).toEqual({ status: 405, allow: 'GET, HEAD' });
    });

    it('fails readiness within 2 s naming an unreachable PostgreSQL, says no host, port or user, keeps liveness up, and recovers', async () => {
      const deadPort = await freePort();
      const deadPool = new Pool({ connectionString: `postgres://postgres@127.0.0.1:${deadPort}/test` });
      health.register(new PostgresHealthIndicator(deadPool, { name: 'postgres_replica' }));
      try {
        const ready = await probe(app, '/health/ready');
        expect({ status: ready.status, body: ready.body }).toEqual({
          status: 503,
          body: { status: 'error', error: { postgres_replica: { status: 'down', message: 'connection refused' } } },
        });
        expect(ready.ms).toBeLessThan(2_000);
        const details = await probe(app, '/health');
        expect(details.body).toEqual({
          status: 'error',
          info: { postgres: UP, redis: UP },
          error: { postgres_replica: { status: 'down', message: 'connection refused' } },
          details: { postgres: UP, redis: UP, postgres_replica: { status: 'down', message: 'connection refused' } },
        });
        for (const secret of ['127.0.0.1', String(deadPort), 'postgres://', '"postgres"@']) expect(details.text).not.toContain(secret);
        expect((await probe(app, '/health/live')).status).toBe(200);
      } finally {
        health.unregister('postgres_replica');
        await deadPool.end();
      }
      expect((await probe(app, '/health/ready')).body).toEqual({ status: 'ok' });
    });

    it('fails readiness within 2 s on a frozen Redis that accepts connections and never answers, keeps liveness up, and recovers on SIGCONT', async () => {
      const server = await RedisServerProcess.start();
      const client = new Redis(server.url, { lazyConnect: true });
      client.on('error', () => undefined);
      await client.connect();
      health.register(new RedisHealthIndicator(client, { name: 'cache' }));
      try {
        expect((await probe(app, '/health/ready')).body).toEqual({ status: 'ok' });
        server.freeze();
        const ready = await probe(app, '/health/ready');
        expect({ status: ready.status, body: ready.body }).toEqual({
          status: 503,
          body: { status: 'error', error: { cache: { status: 'down', message: 'timed out after 1000 ms' } } },
        });
        expect(ready.ms).toBeLessThan(2_000);
        const [live, again] = await Promise.all([probe(app, '/health/live'), probe(app, '/health/ready')]);
        expect({ live: live.status, liveMs: live.ms < 100, again: again.status, againMs: again.ms < 2_000 }).toEqual({
          live: 200,
          liveMs: true,
          again: 503,
          againMs: true,
        });
        expect(metricLines(await scrape(app))).toEqual(expect.arrayContaining(['health_indicator_status{indicator="cache"} 0']));
        server.thaw();
        await eventually(
          'readiness back to 200 after SIGCONT',
          () => probe(app, '/health/ready').then((r) => r.status),
          (s) => s === 200,
        );
        expect(metricLines(await scrape(app))).toEqual(expect.arrayContaining(['health_indicator_status{indicator="cache"} 1']));
        // One line when it went down, one when it came back: not one per probe.
        expect(logs.filter((l) => l.indicator === 'cache').map((l) => [l.level, l.msg])).toEqual([
          ['warn', 'nestjs-observability: health indicator "cache" is down: timed out after 1000 ms'],
          ['info', 'nestjs-observability: health indicator "cache" is up again'],
        ]);
      } finally {
        health.unregister('cache');
        client.disconnect();
        await server.stop();
      }
    });

    it('exports each indicator as health_indicator_status in the application registry', async () => {
      await probe(app, '/health/ready');
      const lines = metricLines(await scrape(app));
      expect(lines).toEqual(
        expect.arrayContaining(['health_indicator_status{indicator="postgres"} 1', 'health_indicator_status{indicator="redis"} 1']),
      );
    });

    it('takes checks written as functions, shows their data, and keeps hosts and stacks out of the body', async () => {
      health.register('queue', async () => ({ status: 'up', queued: 3 }));
      health.register('search', () => {
        throw new Error(
          'connect to http://search:9200 failed for user "elastic" at 10.0.0.5:9200\n    at Search.ping (/srv/app/search.js:1:1)',
        );
      });
      health.register('flag', () => false, { timeoutMs: 50 });
      try {
        const res = await probe(app, '/health');
        expect(res.body).toEqual({
          status: 'error',
          info: { postgres: UP, redis: UP, queue: { status: 'up', queued: 3 } },
          error: {
            search: { status: 'down', message: 'connect to [url] failed for user [user] at [address]' },
            flag: { status: 'down', message: 'check failed' },
          },
          details: {
            postgres: UP,
            redis: UP,
            queue: { status: 'up', queued: 3 },
            search: { status: 'down', message: 'connect to [url] failed for user [user] at [address]' },
            flag: { status: 'down', message: 'check failed' },
          },
        });
      } finally {
        for (const name of ['queue', 'search', 'flag']) health.unregister(name);
      }
    });

    it('shares one run between concurrent probes', async () => {
      let calls = 0;
      health.register('counted', async () => {
        calls++;
        await new Promise((resolve) => setTimeout(resolve, 50));
        return true;
      });
      try {
        const statuses = await Promise.all(Array.from({ length: 10 }, () => probe(app, '/health/ready').then((r) => r.status)));
        expect({ statuses, calls }).toEqual({ statuses: Array(10).fill(200), calls: 1 });
      } finally {
        health.unregister('counted');
      }
    });

    it('keeps probes out of traces, request logs and RED metrics', async () => {
      tracing.reset();
      logs.clear();
      for (const path of ['/health/live', '/health/ready', '/health', '/health/ready?verbose=1']) await probe(app, path);
      await probe(app, '/ping');
      const paths = tracing.spans().map((s) => s.attributes['url.path']);
      const logged = logs.filter((l) => l.msg === 'request completed').map((l) => l.path);
      const red = metricLines(await scrape(app)).filter((l) => l.startsWith('http_server_request_duration_seconds_count'));
      // The ordinary request is observed, as a control.
      expect({ paths, logged }).toEqual({ paths: ['/ping'], logged: ['/ping'] });
      expect(red.filter((l) => l.includes('health'))).toEqual([]);
    });
  },
);

(servicesHere ? describe.each(ADAPTERS) : describe.skip.each(ADAPTERS))('health details visibility on %s', (adapter) => {
  const logs = new LogCapture();
  let app: INestApplication;

  beforeAll(async () => {
    app = await bootstrap(
      adapter,
      {
        details: 'authorized',
        token: 'probe-token',
        port: 0,
        host: '127.0.0.1',
        indicators: [
          { name: 'db', check: () => ({ status: 'up' }) },
          { name: 'cache', check: () => ({ status: 'down', message: 'not connected' }) },
        ],
      },
      logs,
      {},
      'api',
    );
  });

  afterAll(async () => {
    await app?.close();
  });

  const full = {
    status: 'error',
    info: { db: UP },
    error: { cache: { status: 'down', message: 'not connected' } },
    details: { db: UP, cache: { status: 'down', message: 'not connected' } },
  };

  it('shows only the status to the public, on the unprefixed paths despite the global prefix', async () => {
    const [live, ready, details] = await Promise.all(['/health/live', '/health/ready', '/health'].map((p) => probe(app, p)));
    expect([live, ready, details].map((r) => [r.status, r.body])).toEqual([
      [200, { status: 'ok' }],
      [503, { status: 'error' }],
      [503, { status: 'error' }],
    ]);
    expect((await probe(app, '/api/health')).status).toBe(404);
  });

  it('shows details to the bearer of the token, and not to a wrong one', async () => {
    expect((await probe(app, '/health', { authorization: 'Bearer probe-token' })).body).toEqual(full);
    expect((await probe(app, '/health/ready', { authorization: 'Bearer probe-token' })).body).toEqual({
      status: 'error',
      error: full.error,
    });
    expect((await probe(app, '/health', { authorization: 'Bearer wrong-token' })).body).toEqual({ status: 'error' });
  });

  it('shows details on the internal port, and nothing else there', async () => {
    const port = app.get(HealthEndpoint).port;
    const get = async (path: string) => {
      const res = await fetch(`http://127.0.0.1:${port}${path}`);
      return [res.status, await res.json()] as const;
    };
    expect(await get('/health')).toEqual([503, full]);
    expect(await get('/health/live')).toEqual([200, { status: 'ok' }]);
    expect(await get('/ping')).toEqual([404, { statusCode: 404, message: 'Not Found' }]);
  });
});

describe.each(ADAPTERS)('health details by default on %s', (adapter) => {
  const logs = new LogCapture();
  let app: INestApplication;
  const indicators = [
    { name: 'db', check: () => ({ status: 'up' as const }) },
    { name: 'cache', check: () => ({ status: 'down' as const, message: 'not connected' }) },
  ];
  const full = {
    status: 'error',
    info: { db: UP },
    error: { cache: { status: 'down', message: 'not connected' } },
    details: { db: UP, cache: { status: 'down', message: 'not connected' } },
  };

  beforeAll(async () => {
    app = await bootstrap(adapter, { port: 0, host: '127.0.0.1', indicators }, logs);
  });

  afterAll(async () => {
    await app?.close();
  });

  it('shows only the status on the application port, with or without credentials', async () => {
    const seen = await Promise.all(
      [
        ['/health', {}],
        ['/health/ready', {}],
        ['/health', { authorization: 'Bearer anything' }],
      ].map(async ([path, headers]) => {
        const res = await probe(app, path as string, headers as Record<string, string>);
        return [res.status, res.body];
      }),
    );
    expect(seen).toEqual([
      [503, { status: 'error' }],
      [503, { status: 'error' }],
      [503, { status: 'error' }],
    ]);
  });

  it('shows the details on the internal port (health.port)', async () => {
    const port = app.get(HealthEndpoint).port;
    const get = async (path: string) => {
      const res = await fetch(`http://127.0.0.1:${port}${path}`);
      return [res.status, await res.json()] as const;
    };
    expect([await get('/health'), await get('/health/ready')]).toEqual([
      [503, full],
      [503, { status: 'error', error: full.error }],
    ]);
  });

  it('starts without a token or an internal port, and then shows details to nobody', async () => {
    const bare = await bootstrap(adapter, { indicators }, new LogCapture());
    try {
      const res = await probe(bare, '/health');
      expect([res.status, res.body]).toEqual([503, { status: 'error' }]);
    } finally {
      await bare.close();
    }
  });
});

describe.each(ADAPTERS)('process and HTTP indicators on %s', (adapter) => {
  const logs = new LogCapture();
  let app: INestApplication;
  let downstream: Server;
  let downstreamUrl: string;

  beforeAll(async () => {
    // A downstream service: /ok answers 200, /broken 500, /stuck never.
    downstream = createServer((req, res) => {
      if (req.url === '/ok') res.writeHead(200).end('fine');
      else if (req.url === '/broken') res.writeHead(500).end('nope');
    });
    await new Promise<void>((resolve) => downstream.listen(0, '127.0.0.1', resolve));
    downstreamUrl = `http://127.0.0.1:${(downstream.address() as { port: number }).port}`;
    app = await bootstrap(adapter, { details: 'always', timeoutMs: 300 }, logs);
  });

  afterAll(async () => {
    await app?.close();
    downstream.closeAllConnections();
    await new Promise((resolve) => downstream.close(resolve));
  });

  it('checks a downstream HTTP dependency: up on 200, down on 500 and on no answer, never naming the URL', async () => {
    const health = app.get(HealthService);
    health.register(new HttpDependencyHealthIndicator({ name: 'payments', url: `${downstreamUrl}/ok` }));
    health.register(new HttpDependencyHealthIndicator({ name: 'billing', url: `${downstreamUrl}/broken` }));
    health.register(new HttpDependencyHealthIndicator({ name: 'ledger', url: `${downstreamUrl}/stuck` }));
    try {
      const res = await probe(app, '/health');
      expect(res.body).toEqual({
        status: 'error',
        info: { payments: { status: 'up', statusCode: 200 } },
        error: {
          billing: { status: 'down', statusCode: 500, message: 'unexpected status 500' },
          ledger: { status: 'down', message: 'timed out after 300 ms' },
        },
        details: {
          payments: { status: 'up', statusCode: 200 },
          billing: { status: 'down', statusCode: 500, message: 'unexpected status 500' },
          ledger: { status: 'down', message: 'timed out after 300 ms' },
        },
      });
      expect(res.ms).toBeLessThan(1_000);
      expect(res.text).not.toContain(downstreamUrl.slice('http://'.length));
    } finally {
      for (const name of ['payments', 'billing', 'ledger']) health.unregister(name);
    }
  });

  it('checks heap, RSS, disk and event-loop delay against their limits', async () => {
    const health = app.get(HealthService);
    const roomy = [
      new HeapHealthIndicator({ maxBytes: 2 ** 40 }),
      new RssHealthIndicator({ maxBytes: 2 ** 40 }),
      new DiskSpaceHealthIndicator({ maxUsedRatio: 1 }),
      new EventLoopDelayHealthIndicator({ maxDelayMs: 60_000 }),
    ];
    for (const indicator of roomy) health.register(indicator);
    try {
      expect((await probe(app, '/health')).body).toEqual({
        status: 'ok',
        info: {
          heap: { status: 'up', usedBytes: expect.any(Number), maxBytes: 2 ** 40 },
          rss: { status: 'up', usedBytes: expect.any(Number), maxBytes: 2 ** 40 },
          disk: { status: 'up', usedRatio: expect.any(Number), maxUsedRatio: 1 },
          event_loop: { status: 'up', delayMs: expect.any(Number), maxDelayMs: 60_000 },
        },
        error: {},
        details: expect.any(Object),
      });
    } finally {
      for (const indicator of roomy) health.unregister(indicator.name);
    }
    const tight = [
      new HeapHealthIndicator({ maxBytes: 1 }),
      new RssHealthIndicator({ maxBytes: 1 }),
      new DiskSpaceHealthIndicator({ maxUsedRatio: 0 }),
      new EventLoopDelayHealthIndicator({ maxDelayMs: 50 }),
    ];
    for (const indicator of tight) health.register(indicator);
    try {
      // The delay monitor's first tick only sets its baseline: let it tick, then
      // block the loop for 200 ms so that it has something to see.
      await new Promise((resolve) => setTimeout(resolve, 50));
      const until = Date.now() + 200;
      while (Date.now() < until);
      expect((await probe(app, '/health')).body).toEqual({
        status: 'error',
        info: {},
        error: {
          heap: { status: 'down', usedBytes: expect.any(Number), maxBytes: 1, message: 'heap in use above maxBytes' },
          rss: { status: 'down', usedBytes: expect.any(Number), maxBytes: 1, message: 'resident memory above maxBytes' },
          disk: { status: 'down', usedRatio: expect.any(Number), maxUsedRatio: 0, message: 'disk usage above maxUsedRatio' },
          event_loop: { status: 'down', delayMs: expect.any(Number), maxDelayMs: 50, message: 'event loop delay above maxDelayMs' },
        },
        details: expect.any(Object),
      });
    } finally {
      for (const indicator of tight) health.unregister(indicator.name);
    }
  });
});

describe.each(ADAPTERS)('health while shutting down on %s', (adapter) => {
  const logs = new LogCapture();
  let app: INestApplication;

  beforeAll(async () => {
    app = await bootstrap(adapter, { indicators: [{ name: 'db', check: () => true }], shutdown: { drainDelayMs: 0 } }, logs, {
      controllers: [PingController],
    });
  });

  afterAll(async () => {
    await app?.close();
  });

  it('fails readiness with {"status":"shutting_down"} at once, keeps liveness up, and asks clients to close their connections', async () => {
    expect((await probe(app, '/health/ready')).body).toEqual({ status: 'ok' });
    app.get(ShutdownService).begin('SIGTERM');
    const [ready, details, live, ping] = await Promise.all(['/health/ready', '/health', '/health/live', '/ping'].map((p) => probe(app, p)));
    expect([ready, details, live].map((r) => [r.status, r.body])).toEqual([
      [503, { status: 'shutting_down' }],
      [503, { status: 'shutting_down' }],
      [200, { status: 'ok' }],
    ]);
    // Ordinary requests are still served, with Connection: close.
    expect({ status: ping.status, connection: ping.headers.connection }).toEqual({ status: 200, connection: 'close' });
    expect(ready.ms).toBeLessThan(100);
  });
});

async function scrape(app: INestApplication): Promise<string> {
  return (await request(app.getHttpServer()).get('/metrics')).text;
}

function metricLines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
}

describe('health port', () => {
  it('refuses to start when health.port is taken, naming the option and the fix', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    const moduleRef = await Test.createTestingModule({
      imports: withHealth({ logging: false }, { port, host: '127.0.0.1' }),
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    try {
      await expect(app.init()).rejects.toThrow(
        `Cannot serve health probes on health.port ${port} (host 127.0.0.1): EADDRINUSE. Pick a free port, or leave health.port unset.`,
      );
    } finally {
      await app.close();
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});
