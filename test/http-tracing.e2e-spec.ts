import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { OtlpReceiver, type ReceivedSpan } from 'nestjs-observability/testing';

import { ChildApp } from './utils/child-app';

const SERVER = 2;
const CLIENT = 3;
const INTERNAL = 1;

/** A downstream service on loopback that records the headers it was called with. */
async function startDownstream(): Promise<{ url: string; calls: IncomingHttpHeaders[]; close: () => Promise<void> }> {
  const calls: IncomingHttpHeaders[] = [];
  const server: Server = createServer((req, res) => {
    calls.push(req.headers);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ quote: 'from downstream' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/quote`,
    calls,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** JSON of decoded spans (timestamps are bigint), for "appears nowhere" checks. */
const spansText = (spans: ReceivedSpan[]) => JSON.stringify(spans, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));

const describeSpans = (spans: ReceivedSpan[]) =>
  spans.map((s) => `${s.name} kind=${s.kind} trace=${s.traceId} parent=${s.parentSpanId}`).join('\n');

describe.each(['express', 'fastify'])('HTTP tracing through the preload, on %s', (adapter) => {
  let receiver: OtlpReceiver;
  let downstream: Awaited<ReturnType<typeof startDownstream>>;
  let app: ChildApp;

  beforeAll(async () => {
    receiver = await OtlpReceiver.start();
    downstream = await startDownstream();
    app = await ChildApp.start({
      env: {
        HTTP_ADAPTER: adapter,
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
        QUOTES_URL: downstream.url,
        SERVICE_VERSION: '1.2.3',
      },
    });
  });

  afterAll(async () => {
    await app?.stop();
    await downstream?.close();
    await receiver?.close();
  });

  beforeEach(() => receiver.clear());

  it('makes one server span named by the route, a @Traced child under it, and logs with the same ids', async () => {
    const res = await fetch(`${app.url}/users/42`);
    expect(res.status).toBe(200);
    const requestId = res.headers.get('x-request-id');

    const spans = await receiver.waitForSpans((s) => s.some((x) => x.kind === SERVER) && s.some((x) => x.name === 'UsersService.find'));
    const servers = spans.filter((s) => s.kind === SERVER);
    expect(servers.map((s) => s.name)).toEqual(['GET /users/:id']);
    const server = servers[0];
    expect(server.parentSpanId).toBeUndefined();
    expect(server.attributes).toMatchObject({
      'http.request.method': 'GET',
      'http.route': '/users/:id',
      'http.response.status_code': 200,
      'url.path': '/users/42',
      'url.scheme': 'http',
      'http.request.id': requestId,
    });
    expect(server.resource).toMatchObject({ 'service.name': 'hello', 'service.version': '1.2.3' });
    expect(server.scope.name).toBe('nestjs-observability');

    const child = spans.find((s) => s.name === 'UsersService.find')!;
    expect(child).toMatchObject({ kind: INTERNAL, traceId: server.traceId, parentSpanId: server.spanId });

    const requestLine = await app.waitForLog((r) => r.msg === 'request completed' && r.request_id === requestId);
    expect(requestLine).toMatchObject({
      level: 'info',
      service: 'hello',
      version: '1.2.3',
      environment: 'development',
      trace_id: server.traceId,
      span_id: server.spanId,
      method: 'GET',
      route: '/users/:id',
      status: 200,
    });
    expect(typeof requestLine.duration_ms).toBe('number');
    const serviceLine = await app.waitForLog((r) => r.msg === 'user loaded' && r.request_id === requestId);
    expect(serviceLine).toMatchObject({ context: 'UsersService', trace_id: server.traceId, span_id: child.spanId });
  });

  it('continues an incoming traceparent and starts a new root for a malformed one', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const parentId = '00f067aa0ba902b7';
    const continued = await fetch(`${app.url}/`, { headers: { traceparent: `00-${traceId}-${parentId}-01` } });
    expect(continued.status).toBe(200);
    const [server] = await receiver.waitForSpans((s) => s.some((x) => x.kind === SERVER && x.traceId === traceId));
    expect(server).toMatchObject({ name: 'GET /', traceId, parentSpanId: parentId });

    receiver.clear();
    const malformed = `00-${traceId.slice(0, 30)}zz-${parentId}-01`;
    const res = await fetch(`${app.url}/`, { headers: { traceparent: malformed, tracestate: 'evil=1' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('traceparent')).toBeNull();
    const spans = await receiver.waitForSpans((s) => s.some((x) => x.kind === SERVER));
    const root = spans.find((s) => s.kind === SERVER)!;
    expect(root.parentSpanId).toBeUndefined();
    expect(root.traceId).not.toContain('zz');
    expect(spansText(spans)).not.toContain('evil');
  });

  it.each(['fetch', 'http'])('carries the context on outgoing %s calls', async (client) => {
    downstream.calls.length = 0;
    const res = await fetch(`${app.url}/quote?client=${client}`);
    expect(await res.json()).toEqual({ quote: 'from downstream' });
    const spans = await receiver.waitForSpans((s) => s.some((x) => x.kind === SERVER) && s.some((x) => x.kind === CLIENT));
    const server = spans.find((s) => s.kind === SERVER)!;
    const outgoing = spans.find((s) => s.kind === CLIENT)!;
    expect(server.name).toBe('GET /quote');
    expect(outgoing).toMatchObject({ traceId: server.traceId, parentSpanId: server.spanId });
    expect(downstream.calls).toHaveLength(1);
    expect(downstream.calls[0].traceparent).toBe(`00-${server.traceId}-${outgoing.spanId}-01`);
  });

  it('keeps a bearer token and a ?token= value out of every log line and span', async () => {
    const bearer = 'Bearer sk_live_abcdefghijklmnop';
    const token = 'qwertyuiop1234567890';
    const res = await fetch(`${app.url}/users/7?token=${token}&page=2`, { headers: { authorization: bearer } });
    expect(res.status).toBe(200);
    const requestId = res.headers.get('x-request-id');
    const spans = await receiver.waitForSpans((s) => s.some((x) => x.kind === SERVER) && s.some((x) => x.name === 'UsersService.find'));
    await app.waitForLog((r) => r.msg === 'request completed' && r.request_id === requestId);

    const server = spans.find((s) => s.kind === SERVER)!;
    expect(server.attributes['url.query']).toBe('token=[REDACTED]&page=2');
    for (const secret of [token, 'sk_live_abcdefghijklmnop']) {
      expect(spansText(spans)).not.toContain(secret);
      expect(app.lines.join('\n')).not.toContain(secret);
    }
  });

  it('accepts a valid X-Request-ID, replaces an unsafe one, and does not trace /health', async () => {
    const kept = await fetch(`${app.url}/`, { headers: { 'x-request-id': 'abc-123.DEF_4' } });
    expect(kept.headers.get('x-request-id')).toBe('abc-123.DEF_4');
    const replaced = await fetch(`${app.url}/`, { headers: { 'x-request-id': 'bad id <script>' } });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const tooLong = await fetch(`${app.url}/`, { headers: { 'x-request-id': 'a'.repeat(129) } });
    expect(tooLong.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    await receiver.waitForSpans((s) => s.filter((x) => x.kind === SERVER).length === 3);

    receiver.clear();
    await fetch(`${app.url}/health`);
    await fetch(`${app.url}/`);
    const spans = await receiver.waitForSpans((s) => s.some((x) => x.kind === SERVER));
    expect(describeSpans(spans.filter((s) => s.kind === SERVER))).not.toContain('/health');
    expect(app.records.filter((r) => r.msg === 'request completed' && r.path === '/health')).toEqual([]);
  });
});
