import { type IncomingMessage, request } from 'node:http';
import { gzipSync } from 'node:zlib';

import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';

import { OtlpReceiver, type OtlpReceiverOptions, type ReceivedSpan } from './otlp-receiver';

// Run in reverse order, so providers flush into receivers before those close.
const cleanups: Array<() => Promise<unknown>> = [];

afterEach(async () => {
  // Every cleanup runs even if one fails: a receiver left open would keep Jest from exiting.
  const results = await cleanups
    .splice(0)
    .reverse()
    .reduce<Promise<PromiseSettledResult<unknown>[]>>(
      async (done, cleanup) => [...(await done), ...(await Promise.allSettled([cleanup()]))],
      Promise.resolve([]),
    );
  const failure = results.find((result) => result.status === 'rejected');
  if (failure) throw failure.reason;
});

async function startReceiver(options?: OtlpReceiverOptions): Promise<OtlpReceiver> {
  const receiver = await OtlpReceiver.start(options);
  cleanups.push(() => receiver.close());
  return receiver;
}

function providerExportingTo(exporter: OTLPTraceExporter): BasicTracerProvider {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'otlp-receiver-spec', 'service.generation': 3 }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  cleanups.push(() => provider.shutdown());
  return provider;
}

function exporterFor(receiver: OtlpReceiver, timeoutMillis = 10_000): OTLPTraceExporter {
  const exporter = new OTLPTraceExporter({ url: `${receiver.endpoint}/v1/traces`, timeoutMillis });
  cleanups.push(() => exporter.shutdown());
  return exporter;
}

/** A finished span to hand to `exporter.export()` directly, to observe its result callback. */
async function finishedSpan(name: string): Promise<ReadableSpan> {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] });
  provider.getTracer('otlp-receiver-spec').startSpan(name).end();
  await provider.forceFlush();
  const [span] = memory.getFinishedSpans();
  await provider.shutdown();
  if (!span) throw new Error('the in-memory exporter got no span');
  return span;
}

function exportOnce(exporter: OTLPTraceExporter | JsonTraceExporter, spans: ReadableSpan[]): Promise<ExportResult> {
  return new Promise((resolve) => exporter.export(spans, resolve));
}

function byName(spans: ReceivedSpan[], name: string): ReceivedSpan {
  const span = spans.find((candidate) => candidate.name === name);
  if (!span) throw new Error(`no span named "${name}" in ${spans.map((s) => s.name).join(', ')}`);
  return span;
}

async function until(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms: ${condition}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('OtlpReceiver', () => {
  it('decodes everything the real OTLP/protobuf exporter sends', async () => {
    const receiver = await startReceiver();
    const provider = providerExportingTo(exporterFor(receiver));
    const tracer = provider.getTracer('otlp-receiver-spec-scope', '1.2.3');
    const before = BigInt(Date.now()) * 1_000_000n;

    const parent = tracer.startSpan('GET /users', { kind: SpanKind.SERVER });
    const child = tracer.startSpan(
      'SELECT users',
      {
        kind: SpanKind.CLIENT,
        attributes: {
          'db.system': 'postgresql',
          'db.rows': 42,
          'db.offset': -7,
          'db.bytes': 2 ** 40,
          'db.duration': 3.25,
          'db.cached': true,
          'db.replica': false,
          'db.tables': ['users', 'roles'],
          'db.shards': [1, 2, 3],
          'db.comment': 'héllo ✓',
        },
      },
      trace.setSpan(context.active(), parent),
    );
    child.addEvent('retry', { 'retry.attempt': 2, 'retry.reason': 'timeout' });
    child.setStatus({ code: SpanStatusCode.ERROR, message: 'connection refused' });
    child.end();
    parent.end();

    const spans = await receiver.waitForSpans((received) => received.length === 2, 3000);
    const after = BigInt(Date.now()) * 1_000_000n;
    // SimpleSpanProcessor posts each span on its own, possibly over parallel sockets.
    expect(receiver.requests).toBe(2);
    const server = byName(spans, 'GET /users');
    const client = byName(spans, 'SELECT users');

    expect(server.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(server.traceId).toBe(parent.spanContext().traceId);
    expect(server.spanId).toBe(parent.spanContext().spanId);
    expect(server.parentSpanId).toBeUndefined();
    expect(client.traceId).toBe(server.traceId);
    expect(client.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(client.spanId).toBe(child.spanContext().spanId);
    expect(client.parentSpanId).toBe(server.spanId);

    expect(server.kind).toBe(2);
    expect(client.kind).toBe(3);

    expect(client.attributes).toEqual({
      'db.system': 'postgresql',
      'db.rows': 42,
      'db.offset': -7,
      'db.bytes': 2 ** 40,
      'db.duration': 3.25,
      'db.cached': true,
      'db.replica': false,
      'db.tables': ['users', 'roles'],
      'db.shards': [1, 2, 3],
      'db.comment': 'héllo ✓',
    });
    expect(client.events).toEqual([{ name: 'retry', attributes: { 'retry.attempt': 2, 'retry.reason': 'timeout' } }]);
    expect(client.status).toEqual({ code: 2, message: 'connection refused' });
    expect(server.status).toEqual({ code: 0 });
    expect(server.status.message).toBeUndefined();

    for (const span of spans) {
      expect(typeof span.startTimeUnixNano).toBe('bigint');
      // The SDK clock (timeOrigin + performance.now()) may drift from Date.now() a little.
      expect(span.startTimeUnixNano).toBeGreaterThan(before - 60_000_000_000n);
      expect(span.endTimeUnixNano).toBeGreaterThanOrEqual(span.startTimeUnixNano);
      expect(span.endTimeUnixNano).toBeLessThan(after + 60_000_000_000n);
      expect(span.resource).toEqual({ 'service.name': 'otlp-receiver-spec', 'service.generation': 3 });
      expect(span.scope).toEqual({ name: 'otlp-receiver-spec-scope', version: '1.2.3' });
    }
  });

  it('decodes the real OTLP/JSON exporter to exactly what it decodes from the protobuf one', async () => {
    const memory = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'otlp-receiver-spec', 'service.tags': ['a', 'b'] }),
      spanProcessors: [new SimpleSpanProcessor(memory)],
    });
    cleanups.push(() => provider.shutdown());
    const tracer = provider.getTracer('json-vs-proto', '0.1.0');
    const parent = tracer.startSpan('publish', { kind: SpanKind.PRODUCER });
    const child = tracer.startSpan(
      'encode',
      {
        attributes: {
          'msg.size': 2 ** 40,
          'msg.offset': -7,
          'msg.ratio': 0.125,
          'msg.ok': true,
          'msg.keys': ['k1', 'k2'],
          'msg.parts': [1, 2.5],
          'msg.empty': '',
          'msg.none': [],
          'msg.text': 'héllo ✓',
        },
      },
      trace.setSpan(context.active(), parent),
    );
    child.addEvent('bare');
    child.addEvent('retry', { attempt: 2 });
    child.setStatus({ code: SpanStatusCode.ERROR, message: 'too big' });
    child.end();
    parent.end();
    await provider.forceFlush();
    const finished = memory.getFinishedSpans();

    const decoded: ReceivedSpan[][] = [];
    for (const exporterOf of [(url: string) => new OTLPTraceExporter({ url }), (url: string) => new JsonTraceExporter({ url })]) {
      const receiver = await startReceiver();
      const exporter = exporterOf(`${receiver.endpoint}/v1/traces`);
      cleanups.push(() => exporter.shutdown());
      expect(await exportOnce(exporter, finished)).toEqual({ code: ExportResultCode.SUCCESS });
      decoded.push(receiver.spans);
    }
    const [fromProtobuf = [], fromJson = []] = decoded;

    expect(fromJson).toEqual(fromProtobuf);
    expect(byName(fromJson, 'encode')).toMatchObject({
      traceId: parent.spanContext().traceId,
      spanId: child.spanContext().spanId,
      parentSpanId: parent.spanContext().spanId,
      kind: 1,
      attributes: {
        'msg.size': 2 ** 40,
        'msg.offset': -7,
        'msg.ratio': 0.125,
        'msg.ok': true,
        'msg.keys': ['k1', 'k2'],
        'msg.parts': [1, 2.5],
        'msg.empty': '',
        'msg.none': [],
        'msg.text': 'héllo ✓',
      },
      events: [
        { name: 'bare', attributes: {} },
        { name: 'retry', attributes: { attempt: 2 } },
      ],
      status: { code: 2, message: 'too big' },
      resource: { 'service.name': 'otlp-receiver-spec', 'service.tags': ['a', 'b'] },
      scope: { name: 'json-vs-proto', version: '0.1.0' },
    });
    expect(byName(fromJson, 'publish')).toMatchObject({ kind: 4, status: { code: 0 } });
  });

  it('serves the endpoint form of OTEL_EXPORTER_OTLP_ENDPOINT and accepts gzip', async () => {
    const receiver = await startReceiver();
    // Node's zlib exports are read-only, so the exporter cannot be spied on; instead the
    // receiver's (private) server is asked what arrived on the wire.
    const encodings: Array<string | undefined> = [];
    receiver['server'].on('request', (req: IncomingMessage) => {
      encodings.push(req.headers['content-encoding']);
    });
    const saved = {
      endpoint: process.env.OTEL_EXPORTER_OTLP_ENDPOINT,
      compression: process.env.OTEL_EXPORTER_OTLP_COMPRESSION,
    };
    let exporter: OTLPTraceExporter;
    try {
      process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.endpoint;
      process.env.OTEL_EXPORTER_OTLP_COMPRESSION = 'gzip';
      exporter = new OTLPTraceExporter();
    } finally {
      restoreEnv('OTEL_EXPORTER_OTLP_ENDPOINT', saved.endpoint);
      restoreEnv('OTEL_EXPORTER_OTLP_COMPRESSION', saved.compression);
    }
    const provider = providerExportingTo(exporter);

    provider.getTracer('env-scope').startSpan('from-env').end();
    await provider.forceFlush();

    // No waitForSpans: spans are decoded before the 200, so a successful flush implies them.
    expect(receiver.spans).toMatchObject([{ name: 'from-env', scope: { name: 'env-scope' } }]);
    expect(encodings).toEqual(['gzip']);
  });

  it('decodes OTLP/JSON, answering 200 with an empty JSON message', async () => {
    const receiver = await startReceiver();
    const traceId = '5b8efff798038103d269b633813fc60c';
    const body = {
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'json-service' } }] },
          scopeSpans: [
            {
              scope: { name: 'json-scope', version: '0.0.1' },
              spans: [
                {
                  traceId,
                  spanId: 'eee19b7ec3c1b174',
                  parentSpanId: 'eee19b7ec3c1b173',
                  name: 'json span',
                  kind: 2,
                  startTimeUnixNano: '1544712660000000000',
                  endTimeUnixNano: '1544712661000000000',
                  attributes: [
                    { key: 'int', value: { intValue: '42' } },
                    { key: 'double', value: { doubleValue: 1.5 } },
                    { key: 'bool', value: { boolValue: true } },
                    {
                      key: 'list',
                      value: { arrayValue: { values: [{ stringValue: 'a' }, { intValue: 2 }] } },
                    },
                    {
                      key: 'header',
                      value: {
                        kvlistValue: { values: [{ key: 'accept', value: { stringValue: '*/*' } }] },
                      },
                    },
                  ],
                  events: [{ timeUnixNano: '1544712660500000000', name: 'ev', attributes: [] }],
                  status: { code: 'STATUS_CODE_ERROR', message: 'bad' },
                },
              ],
            },
          ],
        },
      ],
    };

    const response = await fetch(`${receiver.endpoint}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: gzipSync(JSON.stringify(body)),
    });

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.text()).toBe('{}');
    expect(receiver.spans).toEqual([
      {
        traceId,
        spanId: 'eee19b7ec3c1b174',
        parentSpanId: 'eee19b7ec3c1b173',
        name: 'json span',
        kind: 2,
        startTimeUnixNano: 1544712660000000000n,
        endTimeUnixNano: 1544712661000000000n,
        attributes: { int: 42, double: 1.5, bool: true, list: ['a', 2], 'header.accept': '*/*' },
        events: [{ name: 'ev', attributes: {} }],
        status: { code: 2, message: 'bad' },
        resource: { 'service.name': 'json-service' },
        scope: { name: 'json-scope', version: '0.0.1' },
      },
    ]);
  });

  it('explains a waitForSpans timeout with what was awaited and what arrived', async () => {
    const receiver = await startReceiver();
    const provider = providerExportingTo(exporterFor(receiver));
    const span = provider.getTracer('spec').startSpan('arrived');
    span.end();
    await provider.forceFlush();
    const misdirected = await fetch(`${receiver.endpoint}/v1/traces/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body: new Uint8Array(0),
    });
    expect(misdirected.status).toBe(404);

    const waiting = receiver.waitForSpans((spans) => spans.some((s) => s.name === 'never-sent'), 100);

    await expect(waiting).rejects.toThrow('timed out after 100 ms');
    await expect(waiting).rejects.toThrow('never-sent');
    await expect(waiting).rejects.toThrow(`"arrived" kind=1 traceId=${span.spanContext().traceId}`);
    await expect(waiting).rejects.toThrow('404 POST /v1/traces/v1/traces');
  });

  it('answers failWith to every POST, so the exporter reports a failed export', async () => {
    const receiver = await startReceiver({ failWith: 503 });
    // 503 is retryable; a timeout shorter than the ~1 s first backoff makes it one attempt.
    const exporter = exporterFor(receiver, 500);

    const result = await exportOnce(exporter, [await finishedSpan('rejected')]);

    expect(result.code).toBe(ExportResultCode.FAILED);
    expect(receiver.requests).toBe(1);
    expect(receiver.spans).toEqual([]);
  });

  it('never answers in hang mode, so the exporter times out', async () => {
    const receiver = await startReceiver({ hang: true });
    const exporter = exporterFor(receiver, 200);

    const result = await exportOnce(exporter, [await finishedSpan('hung')]);

    expect(result.code).toBe(ExportResultCode.FAILED);
    expect(result.error?.message).toMatch(/timed out/i);
    expect(receiver.requests).toBe(1);
  });

  it('close() tears down a hanging request and rejects pending waits', async () => {
    const receiver = await startReceiver({ hang: true });
    const clientOutcome = new Promise<string>((resolve) => {
      const req = request(`${receiver.endpoint}/v1/traces`, {
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/x-protobuf' },
      });
      req.on('response', (res) => resolve(`unexpected response ${res.statusCode}`));
      req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
      req.end();
    });
    // Asserted before close() so the rejection is never momentarily unhandled.
    const waitRejected = expect(receiver.waitForSpans(() => false, 4000)).rejects.toThrow('closed while waitForSpans was still waiting');
    await until(() => receiver.requests === 1);

    const started = Date.now();
    await receiver.close();

    expect(Date.now() - started).toBeLessThan(1000);
    expect(await clientOutcome).toBe('ECONNRESET');
    await waitRejected;
    await receiver.close(); // idempotent
  });
});

function restoreEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}
