import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { OtlpReceiver, type ReceivedSpan } from 'nestjs-observability/testing';

import { ChildApp, runToExit } from './utils/child-app';
import { freePort, POSTGRES_URL, REDIS_URL, requireServices } from './utils/services';

/** The built orders app (PostgreSQL + Redis), run as a user runs it. */
const ORDERS_MAIN = join(__dirname, '..', 'dist', 'apps', 'orders', 'main.js');

/** The child-process suites run the built app: say how to get it rather than fail on a missing file. */
beforeAll(() => {
  if (!existsSync(ORDERS_MAIN)) {
    throw new Error(`${ORDERS_MAIN} is missing: run \`npm run build\` (apps/orders must be referenced in tsconfig.build.json).`);
  }
});
const PRELOAD = ['--require', 'nestjs-observability/register'];
/** OTLP's span kinds (the API's SpanKind + 1). */
const SERVER = 2;
const CLIENT = 3;
/** The bearer token that shows health details (`HEALTH_DETAILS_TOKEN`). */
const DETAILS_TOKEN = 'orders-probe-token';

describe('orders app start-up', () => {
  it.each([
    [
      'no DATABASE_URL nor PGHOST/PGDATABASE',
      { REDIS_URL },
      'orders: Missing DATABASE_URL: set it to postgres://user:password@host:5432/database, or set PGHOST and PGDATABASE (with PGUSER, PGPASSWORD, PGPORT as needed).',
    ],
    [
      'a DATABASE_URL that is not a postgres:// URL',
      { DATABASE_URL: 'mysql://root:hunter2@db/orders', REDIS_URL },
      'orders: Invalid DATABASE_URL: expected postgres://user[:password]@host[:port]/database (the value is not shown: it may hold a password).',
    ],
    [
      'a bad PGPORT',
      { PGHOST: '127.0.0.1', PGDATABASE: 'test', PGPORT: 'x', REDIS_URL },
      'orders: Invalid PGPORT: "x". Expected a port number from 1 to 65535.',
    ],
    [
      'no REDIS_URL',
      { DATABASE_URL: POSTGRES_URL },
      'orders: Missing REDIS_URL: set it to redis://[:password@]host:6379[/db] (rediss:// for TLS).',
    ],
    [
      'a REDIS_URL that is not a redis:// URL',
      { DATABASE_URL: POSTGRES_URL, REDIS_URL: 'http://:hunter2@cache:6379' },
      'orders: Invalid REDIS_URL: expected redis://[:password@]host:6379[/db] or rediss://… (the value is not shown: it may hold a password).',
    ],
    [
      'a bad PORT',
      { DATABASE_URL: POSTGRES_URL, REDIS_URL, PORT: 'eighty' },
      'orders: Invalid PORT: "eighty". Expected a port number from 0 to 65535 (0 picks a free one).',
    ],
  ])('refuses to start with %s, in one line naming the variable', async (_case, env, message) => {
    const { code, stdout, stderr } = await runToExit([...PRELOAD, ORDERS_MAIN], env);
    expect({ code, stderr: stderr.trim() }).toEqual({ code: 1, stderr: message });
    expect(stdout).not.toContain('listening on');
    expect(stdout + stderr).not.toContain('hunter2');
  });

  (requireServices('redis') ? it : it.skip)('names DATABASE_URL when PostgreSQL cannot be reached to create the table', async () => {
    const port = await freePort();
    const { code, stdout, stderr } = await runToExit([...PRELOAD, ORDERS_MAIN], {
      DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/test`,
      REDIS_URL,
      PORT: '0',
    });
    expect(code).toBe(1);
    expect(stderr).toContain('orders: Cannot create the orders table with the PostgreSQL settings from DATABASE_URL: ');
    expect(stdout).not.toContain('listening on');
  });
});

(requireServices('postgres', 'redis') ? describe : describe.skip)('the orders app against the real PostgreSQL and Redis', () => {
  let receiver: OtlpReceiver;
  let app: ChildApp;

  beforeAll(async () => {
    receiver = await OtlpReceiver.start();
    app = await ChildApp.start({
      main: ORDERS_MAIN,
      // A short batch delay: the spans are awaited while the app runs.
      env: {
        DATABASE_URL: POSTGRES_URL,
        REDIS_URL,
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
        OTEL_BSP_SCHEDULE_DELAY: '100',
        // Details are kept from the public by default: this suite reads them as an operator does.
        HEALTH_DETAILS_TOKEN: DETAILS_TOKEN,
      },
    });
  });

  afterAll(async () => {
    await app?.stop();
    await receiver?.close();
  });

  it('places an order, reads it from PostgreSQL, then from Redis, with their spans inside the request span', async () => {
    const placed = await fetch(`${app.url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"item":"book","quantity":2}',
    });
    const order = (await placed.json()) as { id: number; createdAt: string };
    expect({ status: placed.status, order }).toEqual({
      status: 201,
      order: { id: expect.any(Number), item: 'book', quantity: 2, createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) },
    });
    const reads = [];
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${app.url}/orders/${order.id}`);
      reads.push({ status: res.status, cache: res.headers.get('x-cache'), body: await res.json() });
    }
    expect(reads).toEqual([
      { status: 200, cache: 'miss', body: order },
      { status: 200, cache: 'hit', body: order },
    ]);
    const missing = await fetch(`${app.url}/orders/987654321`);
    expect({ status: missing.status, body: await missing.json() }).toEqual({
      status: 404,
      body: { statusCode: 404, message: 'order 987654321 not found', error: 'Not Found' },
    });

    const spans = await receiver.waitForSpans(
      (s) => s.filter((x) => x.kind === SERVER && x.name === 'GET /orders/:id').length >= 2,
      10_000,
    );
    const [miss, hit] = spans
      .filter((s) => s.kind === SERVER && s.name === 'GET /orders/:id')
      .sort((a, b) => Number(a.startTimeUnixNano - b.startTimeUnixNano));
    const clients = (server: ReceivedSpan) =>
      spans
        .filter((s) => s.traceId === server.traceId && s.kind === CLIENT)
        .map((s) => `${system(s)} ${s.name}`)
        .sort();
    // The miss reads the cache, the table (through the pool), and fills the cache; the hit only reads the cache.
    expect({ miss: clients(miss), hit: clients(hit) }).toEqual({
      miss: ['postgresql pg-pool.connect', expect.stringMatching(/^postgresql pg\.query:SELECT /), 'redis get', 'redis set'],
      hit: ['redis get'],
    });
  });

  it('serves exact health bodies for its PostgreSQL and Redis indicators, exports them as gauges, and traces none of their checks', async () => {
    const ready = await fetch(`${app.url}/health/ready`);
    expect({ status: ready.status, body: await ready.json() }).toEqual({ status: 200, body: { status: 'ok' } });
    const health = await fetch(`${app.url}/health`, { headers: { authorization: `Bearer ${DETAILS_TOKEN}` } });
    const up = { status: 'up' };
    expect({ status: health.status, body: await health.json() }).toEqual({
      status: 200,
      body: { status: 'ok', info: { postgres: up, redis: up }, error: {}, details: { postgres: up, redis: up } },
    });
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics.split('\n').filter((l) => l.startsWith('health_indicator_status'))).toEqual([
      'health_indicator_status{indicator="postgres"} 1',
      'health_indicator_status{indicator="redis"} 1',
    ]);
    // Let a batch go out, then: every span belongs to a request's trace; none comes from a check.
    await fetch(`${app.url}/orders/1`);
    await receiver.waitForSpans((s) => s.some((x) => x.kind === SERVER && x.attributes['url.path'] === '/orders/1'), 10_000);
    const serverTraces = new Set(receiver.spans.filter((s) => s.kind === SERVER).map((s) => s.traceId));
    expect(receiver.spans.filter((s) => !serverTraces.has(s.traceId)).map((s) => s.name)).toEqual([]);
    expect(receiver.spans.filter((s) => String(s.attributes['url.path'] ?? '').startsWith('/health'))).toEqual([]);
  });
});

/** `postgresql` / `redis`, from either generation of the database semantic conventions. */
function system(span: ReceivedSpan): string {
  return String(span.attributes['db.system.name'] ?? span.attributes['db.system']);
}
