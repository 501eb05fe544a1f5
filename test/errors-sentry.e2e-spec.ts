import { OtlpReceiver, SentryReceiver } from 'nestjs-observability/testing';

import { ChildApp } from './utils/child-app';

const SERVER = 2;
/** Secrets sent with failing requests: none may reach the report, the log or the client. */
const SECRETS = {
  bearer: 'sk_live_51HqLyjWDarjtT1zdp7dc',
  cookie: 'sid=s%3AXYZsessionsecret123456',
  token: 'qtok_9f8e7d6c5b4a3210',
  password: 'hunter2-correct-horse',
  card: '4111 1111 1111 1111',
  email: 'ann.lee@example.com',
};

describe.each(['express', 'fastify'])('errors and Sentry through the preload, on %s', (adapter) => {
  let otlp: OtlpReceiver;
  let sentry: SentryReceiver;
  let app: ChildApp;

  beforeAll(async () => {
    otlp = await OtlpReceiver.start();
    sentry = await SentryReceiver.start();
    app = await ChildApp.start({
      env: { HTTP_ADAPTER: adapter, OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint, SENTRY_DSN: sentry.dsn, SERVICE_VERSION: '2.0.0' },
    });
  });

  afterAll(async () => {
    await app?.stop();
    await sentry?.close();
    await otlp?.close();
  });

  beforeEach(() => {
    otlp.clear();
    sentry.clear();
  });

  it('gives a thrown error one safe body, one error line, one report and one errored span, all with the same ids', async () => {
    const res = await fetch(`${app.url}/demo/fail?token=${SECRETS.token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRETS.bearer}`, cookie: SECRETS.cookie },
      body: JSON.stringify({ email: SECRETS.email, card: SECRETS.card, password: SECRETS.password }),
    });
    const requestId = res.headers.get('x-request-id');
    const body = await res.json();
    expect(res.status).toBe(500);
    expect(body).toEqual({ statusCode: 500, message: 'Internal server error', requestId });

    const [event] = await sentry.waitForEvents((events) => events.length >= 1);
    const spans = await otlp.waitForSpans((s) => s.some((x) => x.kind === SERVER));
    const server = spans.filter((s) => s.kind === SERVER);
    expect(server).toHaveLength(1);
    expect(server[0]).toMatchObject({ name: 'POST /demo/fail', status: { code: 2 } });
    expect(server[0].events.map((e) => e.name)).toEqual(['exception']);

    const contexts = event.contexts as { trace: { trace_id: string } };
    expect(contexts.trace.trace_id).toBe(server[0].traceId);
    expect(event.tags).toMatchObject({ route: '/demo/fail', request_id: requestId, 'http.response.status_code': 500 });
    expect(event.release).toBe('2.0.0');

    const errorLines = app.records.filter((r) => r.level === 'error' && r.request_id === requestId);
    expect(errorLines).toHaveLength(1);
    expect(errorLines[0]).toMatchObject({ trace_id: server[0].traceId, route: '/demo/fail', status: 500, error_type: 'Error' });
    expect((errorLines[0].err as { stack: string }).stack).toContain('DemoController.fail');

    // No secret anywhere: not in the report, not in any log line, not in the body, not in the span.
    const everywhere = [
      sentry.text(),
      app.lines.join('\n'),
      JSON.stringify(body),
      JSON.stringify(server, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)),
    ].join('\n');
    for (const [name, secret] of Object.entries(SECRETS)) {
      expect({ name, found: everywhere.includes(secret) }).toEqual({ name, found: false });
    }
    expect(everywhere).not.toContain('hunter2');
    expect(everywhere).not.toContain('4111111111111111');
  });

  it('reports 5xx HttpExceptions with a generic body, and errors with their own statusCode as 500', async () => {
    const unavailable = await fetch(`${app.url}/demo/unavailable`);
    expect(unavailable.status).toBe(503);
    const unavailableText = await unavailable.text();
    expect(JSON.parse(unavailableText)).toEqual({
      statusCode: 503,
      message: 'Service Unavailable',
      requestId: unavailable.headers.get('x-request-id'),
    });
    // The internal message is for the report, never for the client.
    expect(unavailableText).not.toContain('db-primary.internal');
    const library = await fetch(`${app.url}/demo/library-error`);
    expect(library.status).toBe(500);
    expect(await library.json()).toEqual({
      statusCode: 500,
      message: 'Internal server error',
      requestId: library.headers.get('x-request-id'),
    });
    const events = await sentry.waitForEvents((e) => e.length >= 2);
    expect(events.map((e) => (e.tags as Record<string, unknown>)['http.response.status_code']).sort()).toEqual([500, 503]);
    expect(sentry.text()).toContain('pool exhausted on db-primary.internal:5432');
    expect(events.every((e) => e.environment === 'development')).toBe(true);
  });

  it('keeps 4xx out of the reports: Nest body as is, one warn line', async () => {
    const res = await fetch(`${app.url}/demo/bad-request?reason=name%20is%20required`);
    const requestId = res.headers.get('x-request-id');
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ statusCode: 400, message: 'name is required' });
    await app.waitForLog((r) => r.msg === 'request completed' && r.request_id === requestId);
    expect(app.records.filter((r) => r.request_id === requestId && r.level === 'warn').map((r) => r.msg)).toEqual(['name is required']);
    expect(app.records.filter((r) => r.request_id === requestId && r.level === 'error')).toEqual([]);
    // Give a report time to arrive if one had been sent.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(sentry.events).toEqual([]);
  });
});

describe('a dead Sentry', () => {
  it.each([
    ['refuses connections', async () => ({ dsn: 'http://public@127.0.0.1:9/1', close: async () => undefined })],
    [
      'never answers',
      async () => {
        const hanging = await SentryReceiver.start({ hang: true });
        return { dsn: hanging.dsn, close: () => hanging.close() };
      },
    ],
  ])(
    'changes nothing for clients when it %s, memory stays bounded and shutdown too',
    async (_name, makeSentry) => {
      const sink = await makeSentry();
      const app = await ChildApp.start({ env: { SENTRY_DSN: sink.dsn } });
      try {
        // Warm up, then 400 failing requests: reports pile up against a dead Sentry.
        for (let i = 0; i < 20; i++) await (await fetch(`${app.url}/demo/unavailable`)).arrayBuffer();
        const rssBefore = app.rss();
        for (let batch = 0; batch < 20; batch++) {
          await Promise.all(Array.from({ length: 20 }, async () => (await fetch(`${app.url}/demo/unavailable`)).arrayBuffer()));
        }
        // Sentry's transport buffer is bounded: the rest are dropped, not queued forever.
        expect(app.rss() - rssBefore).toBeLessThan(40 * 1024 * 1024);
        for (let i = 0; i < 20; i++) {
          const started = performance.now();
          const res = await fetch(`${app.url}/demo/unavailable`);
          expect(res.status).toBe(503);
          await res.arrayBuffer();
          // Reporting is asynchronous: a failing request is not held up by it.
          expect(performance.now() - started).toBeLessThan(1_000);
        }
        const ok = await fetch(`${app.url}/users/1`);
        expect(ok.status).toBe(200);
        const stopping = performance.now();
        const exit = await app.stop();
        expect(exit.signal).toBe('SIGTERM');
        // The flush of reports is bounded (2 s by default) and shutdown with it.
        expect(performance.now() - stopping).toBeLessThan(6_000);
      } finally {
        await app.stop();
        await sink.close();
      }
    },
    30_000,
  );
});

describe('errors outside requests', () => {
  // Node's own default (--unhandled-rejections=throw); errors.unhandledRejections: 'warn' keeps
  // serving instead (test/exit-codes.e2e-spec.ts).
  it('logs an unhandled rejection at fatal, reports and flushes it, then exits 1 as Node does', async () => {
    const sentry = await SentryReceiver.start();
    const app = await ChildApp.start({ env: { SENTRY_DSN: sentry.dsn } });
    try {
      expect((await fetch(`${app.url}/demo/background-failure`, { method: 'POST' })).status).toBe(201);
      expect(await app.exited(10_000)).toEqual({ code: 1, signal: null });
      const lines = app.records.filter((r) => String(r.msg).startsWith('unhandled promise rejection'));
      expect(lines.map((r) => [r.level, r.msg])).toEqual([
        ['fatal', 'unhandled promise rejection: nightly export failed for [REDACTED:email]'],
      ]);
      const [event] = await sentry.waitForEvents((e) => e.length >= 1, 1_000);
      expect((event.tags as Record<string, string>).origin).toBe('unhandledRejection');
      expect(sentry.text()).not.toContain('ops@example.com');
    } finally {
      await app.stop();
      await sentry.close();
    }
  });

  it('logs an uncaught exception at fatal, reports and flushes it, then exits as Node would', async () => {
    const sentry = await SentryReceiver.start();
    const app = await ChildApp.start({ env: { SENTRY_DSN: sentry.dsn, DEMO_CRASH: '1' } });
    try {
      expect(await (await fetch(`${app.url}/demo/crash`, { method: 'POST' })).json()).toEqual({ crashing: true });
      const exit = await app.exited(10_000);
      expect(exit).toEqual({ code: 1, signal: null });
      expect(app.stderr).toContain('Error: invariant broken in the ledger');
      expect(app.records.filter((r) => r.level === 'fatal').map((r) => r.msg)).toEqual([
        'uncaught exception: invariant broken in the ledger',
      ]);
      const [event] = await sentry.waitForEvents((e) => e.length >= 1, 1_000);
      expect(event.level).toBe('fatal');
    } finally {
      await app.stop();
      await sentry.close();
    }
  });
});

describe("Sentry's trace headers", () => {
  it('go only to configured targets, while traceparent goes everywhere', async () => {
    const { createServer } = await import('node:http');
    const seen: Record<string, string | string[] | undefined>[] = [];
    const downstream = createServer((req, res) => {
      seen.push(req.headers);
      res.setHeader('content-type', 'application/json');
      res.end('{"quote":"q"}');
    });
    await new Promise<void>((resolve) => downstream.listen(0, '127.0.0.1', resolve));
    const port = (downstream.address() as { port: number }).port;
    const sentry = await SentryReceiver.start();
    const run = async (targets: string | undefined) => {
      const app = await ChildApp.start({
        env: {
          SENTRY_DSN: sentry.dsn,
          SENTRY_TRACES_SAMPLE_RATE: '1',
          SENTRY_TRACE_PROPAGATION_TARGETS: targets,
          QUOTES_URL: `http://127.0.0.1:${port}/quote`,
        },
      });
      try {
        expect((await fetch(`${app.url}/quote`)).status).toBe(200);
      } finally {
        await app.stop();
      }
      return seen.pop()!;
    };
    try {
      const untargeted = await run(undefined);
      expect(untargeted.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      expect(untargeted['sentry-trace']).toBeUndefined();
      const targeted = await run('127.0.0.1');
      expect(targeted.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      expect(targeted['sentry-trace']).toBe(
        `${String(targeted.traceparent).split('-')[1]}-${String(targeted.traceparent).split('-')[2]}-1`,
      );
    } finally {
      await sentry.close();
      await new Promise((resolve) => downstream.close(resolve));
    }
  }, 30_000);
});
