import { AsyncResource } from 'node:async_hooks';
import { createServer, type IncomingMessage, request as httpRequest, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { HttpAdapterHost } from '@nestjs/core';
import { type Attributes, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';

import type { ObservabilityModuleOptions } from '../config/options.interface';
import { resolveOptions } from '../config/resolve-options';
import { RequestContextService } from '../context/request-context.service';
import { UnitOfWork } from '../context/unit-of-work';
import { Scrubber } from '../shared/scrubber';
import { WorkPipeline } from '../work/work-pipeline';
import { HttpObserver } from './http-observer';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** Made outside any request: running in its scope leaves the request's context. */
const outside = new AsyncResource('outside-any-request');
afterAll(() => outside.emitDestroy());

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
type Middleware = (req: unknown, res: unknown, next: () => void) => void;
type Hook = (...args: unknown[]) => void;

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function send(port: number, path: string, options: { method?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
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

async function until(condition: () => boolean, what: () => string): Promise<void> {
  const deadline = performance.now() + 1_000;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting; saw ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map((s) => {
      s.closeAllConnections();
      return new Promise((resolve) => s.close(resolve));
    }),
  );
});

/**
 * A real HTTP server with the observer installed in front of `app`, as the module does it on
 * Express (or Fastify); a pipeline hook keeps each unit and the attributes its driver gives.
 */
async function observedServer(options: ObservabilityModuleOptions = {}, type: 'express' | 'fastify' = 'express') {
  const starts: { unit: UnitOfWork; attributes: Attributes; name: string }[] = [];
  const finishes: UnitOfWork[] = [];
  const pipeline = new WorkPipeline();
  pipeline.register({
    order: 10,
    start: (unit) => void starts.push({ unit, attributes: unit.driver.startAttributes(unit), name: unit.driver.startName(unit) }),
    finish: (unit) => void finishes.push(unit),
  });
  const requestContext = new RequestContextService();
  const state: { app: Handler } = { app: (_req, res) => res.end('ok') };
  const server = createServer((req, res) => state.app(req, res));
  servers.push(server);
  const middlewares: Middleware[] = [];
  const hooks: Record<string, Hook> = {};
  const adapterHost = {
    httpAdapter: {
      getHttpServer: () => server,
      getType: () => type,
      getInstance: () => ({ use: (mw: Middleware) => middlewares.push(mw), addHook: (name: string, hook: Hook) => (hooks[name] = hook) }),
    },
  } as unknown as HttpAdapterHost;
  const resolved = resolveOptions(options, {});
  const observer = new HttpObserver(resolved, adapterHost, requestContext, new Scrubber(resolved.redaction), pipeline);
  observer.install();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    observer,
    server,
    port,
    starts,
    finishes,
    requestContext,
    middlewares,
    hooks,
    setApp: (app: Handler) => (state.app = app),
    pipeline,
  };
}

/** Sends one request and waits for its unit to finish; returns the reply and what the pipeline saw. */
async function exchange(
  setup: Awaited<ReturnType<typeof observedServer>>,
  path: string,
  options: { method?: string; headers?: Record<string, string> } = {},
) {
  const before = setup.finishes.length;
  const reply = await send(setup.port, path, options);
  await until(
    () => setup.finishes.length > before,
    () => `${setup.finishes.length} finished units`,
  );
  return { reply, start: setup.starts[setup.starts.length - 1]!, unit: setup.finishes[setup.finishes.length - 1]! };
}

describe('HttpObserver', () => {
  it('describes itself as the HTTP driver', () => {
    const resolved = resolveOptions({}, {});
    const observer = new HttpObserver(
      resolved,
      undefined as unknown as HttpAdapterHost,
      new RequestContextService(),
      Scrubber.withDefaults(),
      new WorkPipeline(),
    );
    expect({
      kind: observer.kind,
      spanKind: observer.spanKind,
      message: observer.completedMessage,
      getter: observer.carrierGetter,
    }).toEqual({
      kind: 'http',
      spanKind: SpanKind.SERVER,
      message: 'request completed',
      getter: undefined,
    });
  });

  describe('startAttributes (from a real IncomingMessage)', () => {
    it('gives the semantic-convention attributes, with the query scrubbed and the host split', async () => {
      const setup = await observedServer();
      const { start } = await exchange(setup, '/users/7?token=abc123&q=jane@example.com&page=2', {
        headers: { host: 'api.example.com:8443' },
      });
      expect(start.attributes).toEqual({
        'http.request.method': 'GET',
        'url.path': '/users/7',
        'url.scheme': 'http',
        'network.protocol.version': '1.1',
        'http.request.id': start.unit.requestId,
        'url.query': 'token=[REDACTED]&q=[REDACTED:email]&page=2',
        'server.address': 'api.example.com',
        'server.port': 8443,
        'client.address': '127.0.0.1',
      });
      expect(start.name).toBe('GET');
    });

    it('names a method the conventions do not know _OTHER, keeping the original', async () => {
      const setup = await observedServer();
      const { start } = await exchange(setup, '/cache/x', { method: 'PURGE' });
      expect({
        method: start.attributes['http.request.method'],
        original: start.attributes['http.request.method_original'],
        name: start.name,
      }).toEqual({ method: '_OTHER', original: 'PURGE', name: 'HTTP' });
    });

    it('gives no original method for a known one', async () => {
      const setup = await observedServer();
      const { start } = await exchange(setup, '/x', { method: 'DELETE' });
      expect(start.attributes).not.toHaveProperty(['http.request.method_original']);
      expect(start.attributes['http.request.method']).toBe('DELETE');
    });

    it.each([
      ['[::1]:8080', { 'server.address': '[::1]', 'server.port': 8080 }],
      ['[::1]', { 'server.address': '[::1]' }],
      ['example.com', { 'server.address': 'example.com' }],
      ['10.0.0.1:80', { 'server.address': '10.0.0.1', 'server.port': 80 }],
    ])('splits the host %s', async (host, expected) => {
      const setup = await observedServer();
      const { start } = await exchange(setup, '/x', { headers: { host } });
      const server = Object.fromEntries(Object.entries(start.attributes).filter(([k]) => k.startsWith('server.')));
      expect(server).toEqual(expected);
    });

    // The Host header is the client's: `example.com:abc` must not become `server.port: NaN`.
    it('gives no server.port for a Host header whose port is not a number', async () => {
      const setup = await observedServer();
      const { start } = await exchange(setup, '/x', { headers: { host: 'example.com:abc' } });
      expect(start.attributes).not.toHaveProperty(['server.port']);
    });

    it.each([
      ['a port past 65535', 'example.com:99999', { 'server.address': 'example.com' }],
      ['a negative port', 'example.com:-1', {}],
      ['port 0', 'example.com:0', { 'server.address': 'example.com' }],
      ['spaces and dot segments', 'a b/../c', {}],
      ['8,006 characters', `${'a'.repeat(8000)}.com:80`, {}],
    ])('keeps a Host header with %s out of server.address and server.port', async (_case, host, expected) => {
      const setup = await observedServer();
      const { start } = await exchange(setup, '/x', { headers: { host } });
      const server = { 'server.address': start.attributes['server.address'], 'server.port': start.attributes['server.port'] };
      expect(Object.fromEntries(Object.entries(server).filter(([, v]) => v !== undefined))).toEqual(expected);
    });

    it('gives no url.query without a query or with an empty one', async () => {
      const setup = await observedServer();
      const plain = await exchange(setup, '/x');
      const empty = await exchange(setup, '/x?');
      expect([plain.start.attributes['url.query'], empty.start.attributes['url.query']]).toEqual([undefined, undefined]);
      expect(empty.start.attributes['url.path']).toBe('/x');
    });

    it('scrubs the path on arrival', async () => {
      const setup = await observedServer();
      const { start, unit } = await exchange(setup, '/users/jane@example.com/orders?x=1');
      expect([unit.path, start.attributes['url.path']]).toEqual(['/users/[REDACTED:email]/orders', '/users/[REDACTED:email]/orders']);
    });
  });

  describe('units of work of a real server', () => {
    it('keeps a valid incoming request id, and answers with it', async () => {
      const setup = await observedServer();
      const { reply, unit } = await exchange(setup, '/x', { headers: { 'x-request-id': 'abc-123' } });
      expect([reply.headers['x-request-id'], unit.requestId]).toEqual(['abc-123', 'abc-123']);
    });

    it('replaces a missing or unsafe request id with a UUID', async () => {
      const setup = await observedServer();
      const none = await exchange(setup, '/x');
      const unsafe = await exchange(setup, '/x', { headers: { 'x-request-id': 'a b<script>' } });
      expect([none.unit.requestId, unsafe.unit.requestId]).toEqual([expect.stringMatching(UUID), expect.stringMatching(UUID)]);
      expect([none.reply.headers['x-request-id'], unsafe.reply.headers['x-request-id']]).toEqual([
        none.unit.requestId,
        unsafe.unit.requestId,
      ]);
    });

    it('uses the configured request id header', async () => {
      const setup = await observedServer({ http: { requestIdHeader: 'X-Correlation-ID' } });
      const { reply, unit } = await exchange(setup, '/x', { headers: { 'x-correlation-id': 'corr-1' } });
      expect([reply.headers['x-correlation-id'], reply.headers['x-request-id'], unit.requestId]).toEqual(['corr-1', undefined, 'corr-1']);
    });

    it("runs the application in the unit's context", async () => {
      const setup = await observedServer();
      const seen: unknown[] = [];
      setup.setApp((_req, res) => {
        seen.push(setup.requestContext.state());
        setTimeout(() => {
          seen.push(setup.requestContext.requestId);
          res.end();
        }, 1);
      });
      const { unit } = await exchange(setup, '/x');
      expect(seen).toEqual([unit, unit.requestId]);
    });

    it('finishes a unit when the response closes, with status, duration and the Express route', async () => {
      const setup = await observedServer();
      setup.setApp((req, res) => {
        (req as IncomingMessage & { route?: { path: string } }).route = { path: '/users/:id' };
        setTimeout(() => {
          res.statusCode = 201;
          res.end();
        }, 15);
      });
      const { reply, unit } = await exchange(setup, '/users/7', { method: 'POST' });
      expect(reply.status).toBe(201);
      expect({ route: unit.route, status: unit.status, method: unit.method, aborted: unit.aborted, errorType: unit.errorType }).toEqual({
        route: '/users/:id',
        status: 201,
        method: 'POST',
        aborted: false,
        errorType: undefined,
      });
      expect(unit.durationMs).toBeGreaterThanOrEqual(10);
      expect(unit.durationMs).toBeLessThan(1_000);
      expect(setup.starts.map((s) => s.unit)).toEqual([unit]);
    });

    it('leaves the route unset for an unmatched request and gives a 5xx its status as error type', async () => {
      const setup = await observedServer();
      setup.setApp((_req, res) => {
        res.statusCode = 503;
        res.end();
      });
      const { unit } = await exchange(setup, '/nowhere');
      expect({ route: unit.route, status: unit.status, errorType: unit.errorType }).toEqual({
        route: undefined,
        status: 503,
        errorType: '503',
      });
    });

    it('marks a unit the client abandoned before the answer', async () => {
      const setup = await observedServer();
      let arrived!: () => void;
      const arrival = new Promise<void>((resolve) => (arrived = resolve));
      setup.setApp(() => arrived());
      const req = httpRequest({ host: '127.0.0.1', port: setup.port, path: '/slow', agent: false });
      req.on('error', () => undefined);
      req.end();
      await arrival;
      req.destroy();
      await until(
        () => setup.finishes.length === 1,
        () => `${setup.finishes.length} finished units`,
      );
      const unit = setup.finishes[0]!;
      expect({ aborted: unit.aborted, errorType: unit.errorType }).toEqual({ aborted: true, errorType: 'aborted' });
    });

    it('does not observe ignored paths, nor what lies under them, but still serves them', async () => {
      const setup = await observedServer({ http: { ignorePaths: ['/health', /^\/internal\//] } });
      const replies = await Promise.all(['/health', '/health/live', '/health?x=1', '/internal/x'].map((p) => send(setup.port, p)));
      expect(replies.map((r) => [r.status, r.body, r.headers['x-request-id']])).toEqual([
        [200, 'ok', undefined],
        [200, 'ok', undefined],
        [200, 'ok', undefined],
        [200, 'ok', undefined],
      ]);
      const observed = await exchange(setup, '/healthz');
      expect(observed.unit.path).toBe('/healthz');
      expect(setup.starts).toHaveLength(1);
    });

    it('makes units without request id or context when only metrics observe', async () => {
      const setup = await observedServer({ tracing: false, logging: false });
      const seen: unknown[] = [];
      setup.setApp((_req, res) => {
        seen.push(setup.requestContext.state());
        res.end();
      });
      const { reply, unit } = await exchange(setup, '/users/jane@example.com');
      expect({ header: reply.headers['x-request-id'], requestId: unit.requestId, path: unit.path, inApp: seen }).toEqual({
        header: undefined,
        requestId: '',
        path: '/users/jane@example.com',
        inApp: [undefined],
      });
    });

    it("re-enters the unit's context in the Express middleware it adds (after body parsing left it)", async () => {
      const setup = await observedServer();
      expect(setup.middlewares).toHaveLength(1);
      const seen: unknown[] = [];
      setup.setApp((req, res) => {
        outside.runInAsyncScope(() => {
          seen.push(setup.requestContext.state());
          setup.middlewares[0]!(req, res, () => seen.push(setup.requestContext.state()));
        });
        res.end();
      });
      const { unit } = await exchange(setup, '/x');
      expect(seen).toEqual([undefined, unit]);
    });

    it('takes the route from Fastify and re-enters the context before the handler', async () => {
      const setup = await observedServer({}, 'fastify');
      expect(Object.keys(setup.hooks).sort()).toEqual(['onRequest', 'preHandler']);
      const seen: unknown[] = [];
      setup.setApp((_req, res) => {
        setup.hooks.onRequest!({ routeOptions: { url: '/orders/:id' } }, { raw: res }, () => undefined);
        outside.runInAsyncScope(() => setup.hooks.preHandler!({}, { raw: res }, () => seen.push(setup.requestContext.state())));
        res.end();
      });
      const { unit } = await exchange(setup, '/orders/9');
      expect(unit.route).toBe('/orders/:id');
      expect(seen).toEqual([unit]);
    });

    it('installs once, and not at all when no pillar observes units', async () => {
      const setup = await observedServer();
      setup.observer.install();
      expect(setup.server.listeners('request')).toHaveLength(1);
      expect(setup.middlewares).toHaveLength(1);

      const server = createServer((_req, res) => res.end());
      const listener = server.listeners('request')[0];
      const quiet = new WorkPipeline();
      quiet.register({ order: 40, fail: () => undefined });
      const adapterHost = {
        httpAdapter: { getHttpServer: () => server, getType: () => 'express', getInstance: () => ({ use: () => undefined }) },
      } as unknown as HttpAdapterHost;
      new HttpObserver(resolveOptions({}, {}), adapterHost, new RequestContextService(), Scrubber.withDefaults(), quiet).install();
      expect(server.listeners('request')).toEqual([listener]);
    });
  });

  describe('endSpan (on a real span)', () => {
    const exporter = new InMemorySpanExporter();
    const tracer = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }).getTracer('spec');
    const observer = new HttpObserver(
      resolveOptions({}, {}),
      undefined as unknown as HttpAdapterHost,
      new RequestContextService(),
      Scrubber.withDefaults(),
      new WorkPipeline(),
    );
    afterEach(() => exporter.reset());

    function ended(fields: { method?: string; route?: string; status: number; errorType?: string }): ReadableSpan {
      const unit = new UnitOfWork(observer, 'req-1', fields.method ?? 'GET', '/users/7', performance.now(), undefined);
      unit.route = fields.route;
      unit.status = fields.status;
      unit.errorType = fields.errorType;
      const span = tracer.startSpan(observer.startName(unit), { kind: SpanKind.SERVER });
      observer.endSpan(unit, span);
      span.end();
      const spans = exporter.getFinishedSpans();
      if (spans.length !== 1) throw new Error(`expected one span, saw ${spans.map((s) => s.name).join(', ') || '(none)'}`);
      exporter.reset();
      return spans[0]!;
    }

    it('names the span after method and route, and sets route and status', () => {
      const span = ended({ route: '/users/:id', status: 200 });
      expect({ name: span.name, attributes: span.attributes, status: span.status.code }).toEqual({
        name: 'GET /users/:id',
        attributes: { 'http.route': '/users/:id', 'http.response.status_code': 200 },
        status: SpanStatusCode.UNSET,
      });
    });

    it('keeps the method-only name and sets no route when none matched', () => {
      const span = ended({ status: 404 });
      expect({ name: span.name, attributes: span.attributes, status: span.status.code }).toEqual({
        name: 'GET',
        attributes: { 'http.response.status_code': 404 },
        status: SpanStatusCode.UNSET,
      });
    });

    it('names an unknown method HTTP', () => {
      expect(ended({ method: 'PURGE', route: '/cache', status: 204 }).name).toBe('HTTP /cache');
    });

    it('marks a 5xx as an error, with error.type', () => {
      const span = ended({ route: '/users/:id', status: 500, errorType: '500' });
      expect({ status: span.status.code, errorType: span.attributes['error.type'] }).toEqual({
        status: SpanStatusCode.ERROR,
        errorType: '500',
      });
    });

    it('does not mark a 4xx nor an abandoned request as an error, but keeps the error type', () => {
      const client = ended({ route: '/users/:id', status: 409 });
      const aborted = ended({ route: '/users/:id', status: 200, errorType: 'aborted' });
      expect([client.status.code, aborted.status.code, aborted.attributes['error.type'], client.attributes['error.type']]).toEqual([
        SpanStatusCode.UNSET,
        SpanStatusCode.UNSET,
        'aborted',
        undefined,
      ]);
    });
  });
});
