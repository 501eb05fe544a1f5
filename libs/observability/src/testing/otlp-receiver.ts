/*
 * Why the protobuf decoder below is hand-written rather than protobufjs: it is some two
 * hundred lines with no dependency, reads the trace/v1 fields assertions need and skips the
 * rest as proto3 requires, and its spec runs it against the real OTLP exporters, protobuf and
 * JSON (the same spans must decode the same way through both), which found no defect in it.
 * protobufjs would put a runtime dependency with an install script, plus the OTLP .proto files,
 * into `nestjs-observability/testing` for no case the decoder misses. Revisit if the receiver
 * ever has to decode metrics or logs as well.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';

const gunzipAsync = promisify(gunzip);

/**
 * An attribute value as decoded from OTLP `AnyValue`.
 *
 * Both `int_value` (int64) and `double_value` become `number`, so integers beyond
 * `Number.MAX_SAFE_INTEGER` lose precision. `bytes_value` becomes a base64 string (the
 * same representation OTLP/JSON uses). A `kvlist_value` attribute is flattened into
 * dotted keys (`http.request.header` + `{ accept: ... }` becomes `http.request.header.accept`);
 * a kvlist nested inside an array cannot be flattened and is dropped from that array.
 */
export type AttributeValue = string | number | boolean | AttributeValue[];

/** One span event as received (the event timestamp is not kept). */
export interface ReceivedSpanEvent {
  name: string;
  attributes: Record<string, AttributeValue>;
}

/**
 * One span as decoded from an OTLP export request, with the resource and instrumentation
 * scope it was exported under copied onto it so assertions need no cross-referencing.
 *
 * Ids are lowercase hex (the same form `span.spanContext()` gives), and enum fields keep
 * their OTLP numbers, which differ from the `@opentelemetry/api` ones for `kind`:
 * OTLP `kind` is the API `SpanKind` + 1 (1 internal, 2 server, 3 client, 4 producer,
 * 5 consumer; 0 unspecified). `status.code` is 0 unset, 1 ok, 2 error, as in the API.
 */
export interface ReceivedSpan {
  /** 32 hex characters. */
  traceId: string;
  /** 16 hex characters. */
  spanId: string;
  /** 16 hex characters; `undefined` for a root span. */
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  attributes: Record<string, AttributeValue>;
  events: ReceivedSpanEvent[];
  status: { code: number; message?: string };
  resource: Record<string, AttributeValue>;
  scope: { name: string; version?: string };
}

/** Options for {@link OtlpReceiver.start}. */
export interface OtlpReceiverOptions {
  /**
   * Answer every POST with this HTTP status (after reading the body) and keep none of its
   * spans, to exercise exporter failure handling. Note that the exporter retries 429, 502,
   * 503 and 504 with a backoff of about a second, bounded by its `timeoutMillis`.
   */
  failWith?: number;
  /**
   * Accept every POST and never answer it (until {@link OtlpReceiver.close}), to exercise
   * exporter timeouts and shutdown with an export in flight.
   */
  hang?: boolean;
}

/**
 * A loopback OTLP/HTTP trace receiver for tests: a stand-in for an OpenTelemetry Collector
 * that decodes what a real exporter sends, so tests can assert on the wire format instead
 * of on SDK internals.
 *
 * Accepts `POST /v1/traces` as `application/x-protobuf` or `application/json`, optionally
 * gzip-compressed, and answers 200 with an empty `ExportTraceServiceResponse` in the same
 * encoding (no bytes in protobuf, `{}` in JSON). Spans are decoded before the
 * response is sent, so once an exporter reports success (for example after
 * `provider.forceFlush()` resolves), {@link OtlpReceiver.spans} already holds them.
 *
 * Always {@link OtlpReceiver.close} it (for example in `afterEach`): the listening server
 * keeps the process alive on purpose, so a forgotten receiver shows up as a test run that
 * does not exit rather than as silently leaked state.
 *
 * @example
 * ```ts
 * const receiver = await OtlpReceiver.start();
 * process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.endpoint;
 * // ... start the app under test, make a request ...
 * const spans = await receiver.waitForSpans((s) => s.some((span) => span.name === 'GET /users'));
 * expect(spans.find((span) => span.name === 'GET /users')?.kind).toBe(2); // server
 * await receiver.close();
 * ```
 */
export class OtlpReceiver {
  /**
   * Base URL to use as `OTEL_EXPORTER_OTLP_ENDPOINT`, without a trailing slash, e.g.
   * `http://127.0.0.1:54321`. Exporters configured with an explicit `url` need
   * `${endpoint}/v1/traces`.
   */
  readonly endpoint: string;

  /** Every span decoded so far, in arrival order. Emptied in place by {@link clear}. */
  readonly spans: ReceivedSpan[] = [];

  /** Number of POST requests received (on any path, whatever the outcome). */
  requests = 0;

  /** POSTs received and not yet answered (or abandoned by the client). */
  inFlight = 0;

  /** The most POSTs that were open at once: 1 for an exporter that sends one export at a time. */
  maxInFlight = 0;

  /** Every answer sent to a POST, in order, with when it was sent (`Date.now()`). */
  readonly answers: Array<{ at: number; status: number }> = [];

  private readonly sockets = new Set<Socket>();
  private readonly waiters = new Set<Waiter>();
  /** Rejected requests, reported by waitForSpans timeouts since they usually explain them. */
  private readonly problems: string[] = [];
  private closing: Promise<void> | undefined;
  private forced: { status: number; headers: Record<string, string> } | undefined;

  private constructor(
    private readonly server: Server,
    private readonly options: OtlpReceiverOptions,
  ) {
    const { port } = server.address() as AddressInfo;
    this.endpoint = `http://127.0.0.1:${port}`;
    // Tracked so close() can destroy keep-alive and hanging connections: server.close()
    // alone waits for active requests, which in `hang` mode never finish.
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => this.handle(req, res));
  }

  /**
   * Starts a receiver on 127.0.0.1 with an OS-assigned port.
   *
   * @param options - failure modes; by default every valid export is accepted.
   * @returns the listening receiver.
   */
  static async start(options: OtlpReceiverOptions = {}): Promise<OtlpReceiver> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new OtlpReceiver(server, options);
  }

  /**
   * Decodes one OTLP/HTTP trace export body the way the receiver does, without receiving it:
   * for a proxy in front of the receiver that needs to know which spans a request carried.
   *
   * @param body - the request body as sent.
   * @param contentType - `application/x-protobuf` or `application/json` (parameters ignored).
   * @param contentEncoding - `identity` (the default) or `gzip`.
   * @returns the spans of the body.
   * @throws if the type or encoding is not one the receiver serves, or the body does not decode.
   */
  static async decode(body: Buffer, contentType: string, contentEncoding = 'identity'): Promise<ReceivedSpan[]> {
    const type = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
    const encoding = contentEncoding.trim().toLowerCase();
    if (encoding !== 'identity' && encoding !== 'gzip') throw new Error(`unsupported content-encoding "${encoding}"`);
    if (type !== 'application/x-protobuf' && type !== 'application/json') throw new Error(`unsupported content-type "${type}"`);
    const raw = encoding === 'gzip' ? await gunzipAsync(body) : body;
    return type === 'application/json' ? decodeJsonRequest(JSON.parse(raw.toString('utf8')) as unknown) : decodeProtobufRequest(raw);
  }

  /**
   * Waits until `predicate` holds for the spans received so far. It is checked at once and
   * again after every accepted export, so it must not depend on anything else changing.
   *
   * Keep `timeoutMs` below the test framework's own timeout (5 s by default in Jest), or
   * the framework fails the test first, without this method's diagnostic message.
   *
   * @param predicate - called with all spans so far; throwing rejects with that error.
   * @param timeoutMs - how long to wait; default 5000.
   * @returns a snapshot of all spans received, taken when `predicate` first held.
   * @throws Error on timeout (the message names what was awaited and every span seen, with
   *   its trace id, plus any rejected requests) or if the receiver is closed first.
   */
  waitForSpans(predicate: (spans: ReceivedSpan[]) => boolean, timeoutMs = 5000): Promise<ReceivedSpan[]> {
    // Captured here because an Error made in the timer callback would only show timer
    // internals, not the test line that was waiting (its first frame, this method, is dropped).
    const callSite = new Error();
    return new Promise<ReceivedSpan[]>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const settle = (): void => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      const fail = (reason: string): void => {
        settle();
        const error = new Error(`${reason}\n${this.describeState(predicate)}`);
        const frames = (callSite.stack ?? '').split('\n').slice(2);
        error.stack = [`Error: ${error.message}`, ...frames].join('\n');
        reject(error);
      };
      const waiter: Waiter = {
        check: () => {
          let satisfied: boolean;
          try {
            satisfied = predicate(this.spans);
          } catch (error) {
            settle();
            reject(error instanceof Error ? error : new Error(String(error)));
            return;
          }
          if (satisfied) {
            settle();
            resolve([...this.spans]);
          }
        },
        close: () => fail('OtlpReceiver was closed while waitForSpans was still waiting.'),
      };
      if (this.closing) {
        waiter.close();
        return;
      }
      this.waiters.add(waiter);
      waiter.check();
      if (this.waiters.has(waiter)) {
        timer = setTimeout(() => fail(`OtlpReceiver.waitForSpans timed out after ${timeoutMs} ms.`), timeoutMs);
      }
    });
  }

  /**
   * Answers every later POST with `status` and `headers` (after reading its body), keeping none
   * of its spans; `respondWith(200)` goes back to accepting and decoding exports. Wins over the
   * `failWith` option, so a test can take a collector down and bring it back:
   *
   * @example
   * ```ts
   * receiver.respondWith(429, { 'retry-after': '2' });
   * // ... the exporter fails and backs off ...
   * receiver.respondWith(200);
   * ```
   */
  respondWith(status: number, headers: Record<string, string> = {}): void {
    this.forced = { status, headers };
  }

  /**
   * Forgets all received spans and resets {@link requests}, e.g. between tests sharing one
   * receiver. The `spans` array is emptied in place, so references to it stay live.
   */
  clear(): void {
    this.spans.length = 0;
    this.requests = 0;
    this.problems.length = 0;
    this.maxInFlight = this.inFlight;
    this.answers.length = 0;
  }

  /**
   * Stops listening, destroys every open connection (including hanging requests, whose
   * clients see a connection reset) and rejects pending {@link waitForSpans} calls.
   * Safe to call more than once.
   */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      for (const waiter of [...this.waiters]) waiter.close();
      // The callback also receives ERR_SERVER_NOT_RUNNING, which is fine to ignore.
      this.server.close(() => resolve());
      for (const socket of this.sockets) socket.destroy();
    });
    return this.closing;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'POST') {
      req.resume();
      res.writeHead(405, { allow: 'POST' }).end();
      return;
    }
    this.requests++;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    res.once('close', () => this.inFlight--);
    res.once('finish', () => this.answers.push({ at: Date.now(), status: res.statusCode }));
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    // A client that gives up mid-request (or close()) destroys the socket; nothing to answer.
    req.on('error', () => undefined);
    req.on('end', () => {
      if (this.options.hang || this.closing) return;
      const forced = this.forced ?? (this.options.failWith !== undefined ? { status: this.options.failWith, headers: {} } : undefined);
      if (forced !== undefined && forced.status !== 200) {
        res.writeHead(forced.status, forced.headers).end();
        return;
      }
      this.accept(req, Buffer.concat(chunks)).then(
        ({ status, contentType, message }) => {
          if (status !== 200) this.problems.push(`${status} POST ${req.url ?? ''}: ${message}`);
          if (res.destroyed) return;
          if (status === 200) {
            // An empty message is no bytes in protobuf but `{}` in JSON: a JSON client
            // that parses the body (as OTLP says it may, for partial success) needs one.
            const body = contentType === 'application/json' ? '{}' : '';
            res.writeHead(200, { 'content-type': contentType, 'content-length': body.length }).end(body);
          } else {
            res.writeHead(status, { 'content-type': 'text/plain' }).end(message);
          }
        },
        // accept() turns every failure into a status; reaching here is a bug in this file.
        (error: unknown) => {
          this.problems.push(`500 POST ${req.url ?? ''}: ${String(error)}`);
          if (!res.destroyed) res.writeHead(500).end();
        },
      );
    });
  }

  private async accept(req: IncomingMessage, body: Buffer): Promise<{ status: number; contentType: string; message: string }> {
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    const result = (status: number, message: string) => ({ status, contentType, message });

    const path = new URL(req.url ?? '/', 'http://receiver').pathname;
    if (path !== '/v1/traces') {
      const hint = path.endsWith('/v1/traces')
        ? ' (an exporter appends /v1/traces to OTEL_EXPORTER_OTLP_ENDPOINT itself; use endpoint as is)'
        : '';
      return result(404, `only /v1/traces is served${hint}`);
    }
    const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    if (encoding !== 'identity' && encoding !== 'gzip') {
      return result(415, `unsupported content-encoding "${encoding}"`);
    }
    if (contentType !== 'application/x-protobuf' && contentType !== 'application/json') {
      return result(415, `unsupported content-type "${contentType}"`);
    }

    let spans: ReceivedSpan[];
    try {
      spans = await OtlpReceiver.decode(body, contentType, encoding);
    } catch (error) {
      return result(400, `undecodable ${contentType} body: ${(error as Error).message}`);
    }
    if (this.closing) return result(503, 'receiver is closing');

    this.spans.push(...spans);
    for (const waiter of [...this.waiters]) waiter.check();
    return result(200, '');
  }

  private describeState(predicate: (spans: ReceivedSpan[]) => boolean): string {
    const source = predicate.toString().replace(/\s+/g, ' ');
    const lines = [
      `Awaited spans matching: ${source.length > 300 ? `${source.slice(0, 300)}...` : source}`,
      `Received ${this.spans.length} span(s) in ${this.requests} POST(s) to ${this.endpoint}` +
        (this.options.hang ? ' (hang mode: never answered)' : '') +
        (this.forced !== undefined
          ? ` (answering ${this.forced.status})`
          : this.options.failWith !== undefined
            ? ` (answered ${this.options.failWith})`
            : '') +
        (this.spans.length > 0 ? ':' : '.'),
    ];
    const shown = this.spans.slice(0, 50);
    for (const span of shown) {
      lines.push(
        `  - "${span.name}" kind=${span.kind} traceId=${span.traceId} spanId=${span.spanId}` +
          ` parent=${span.parentSpanId ?? '-'} service=${String(span.resource['service.name'] ?? '-')}`,
      );
    }
    if (this.spans.length > shown.length) {
      lines.push(`  ... and ${this.spans.length - shown.length} more`);
    }
    if (this.problems.length > 0) {
      lines.push('Rejected requests:', ...this.problems.map((problem) => `  - ${problem}`));
    }
    return lines.join('\n');
  }
}

interface Waiter {
  check(): void;
  close(): void;
}

/**
 * An AnyValue before it is stored: kvlists are kept structured until the attribute key is
 * known, so they can be flattened under it.
 */
type Decoded = { kind: 'value'; value: AttributeValue } | { kind: 'kvlist'; entries: Array<[string, Decoded]> } | { kind: 'empty' };

function toArrayValue(items: Decoded[]): Decoded {
  const values: AttributeValue[] = [];
  for (const item of items) if (item.kind === 'value') values.push(item.value);
  return { kind: 'value', value: values };
}

function setAttribute(target: Record<string, AttributeValue>, key: string, decoded: Decoded): void {
  if (decoded.kind === 'kvlist') {
    for (const [subKey, value] of decoded.entries) setAttribute(target, `${key}.${subKey}`, value);
  } else if (decoded.kind === 'value') {
    // defineProperty rather than assignment, so a key like "__proto__" stays a plain key.
    Object.defineProperty(target, key, {
      value: decoded.value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
}

/**
 * Proto3 cannot tell an absent string or bytes field from an empty one, and for the ids,
 * versions and messages received here empty means absent, so the key is left out.
 */
function setOptional<K extends string>(target: { [key in K]?: string }, key: K, value: string): void {
  if (value) target[key] = value;
  else delete target[key];
}

function hex(bytes: Buffer): string {
  return bytes.toString('hex');
}

// --- OTLP/protobuf --------------------------------------------------------------------
//
// A minimal proto3 wire-format reader, enough for opentelemetry-proto trace/v1. Hand-written
// (see the top of the file): the SDK's own reader is internal and decodes export responses,
// not requests. Unknown fields are skipped, as proto3 requires, so newer exporters that add
// fields keep working.

type Field =
  | { no: number; wire: 0; varint: bigint }
  | { no: number; wire: 1; bytes: Buffer }
  | { no: number; wire: 2; bytes: Buffer }
  | { no: number; wire: 5; bytes: Buffer };

const WIRE_NAMES = ['varint', 'fixed64', 'length-delimited', 'start-group', 'end-group', 'fixed32'];

function* fields(buf: Buffer, message: string): Generator<Field> {
  let pos = 0;
  const readVarint = (): bigint => {
    let result = 0n;
    // Ten 7-bit groups cover 64 bits; non-minimal encodings (padded lengths) are valid.
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (pos >= buf.length) throw new Error(`${message}: truncated varint`);
      const byte = buf.readUInt8(pos++);
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return BigInt.asUintN(64, result);
    }
    throw new Error(`${message}: varint longer than 10 bytes`);
  };
  const take = (length: number): Buffer => {
    if (pos + length > buf.length) throw new Error(`${message}: field runs past the end`);
    const bytes = buf.subarray(pos, pos + length);
    pos += length;
    return bytes;
  };
  while (pos < buf.length) {
    const key = readVarint();
    const no = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (wire === 0) yield { no, wire: 0, varint: readVarint() };
    else if (wire === 1) yield { no, wire: 1, bytes: take(8) };
    else if (wire === 2) yield { no, wire: 2, bytes: take(Number(readVarint())) };
    else if (wire === 5) yield { no, wire: 5, bytes: take(4) };
    else throw new Error(`${message}: unsupported wire type ${WIRE_NAMES[wire] ?? wire} (field ${no})`);
  }
}

function expectWire<W extends Field['wire']>(field: Field, wire: W, name: string): Extract<Field, { wire: W }> {
  if (field.wire !== wire) {
    throw new Error(`${name} (field ${field.no}) has wire type ${WIRE_NAMES[field.wire]},` + ` expected ${WIRE_NAMES[wire]}`);
  }
  return field as Extract<Field, { wire: W }>;
}

const bytesOf = (field: Field, name: string): Buffer => expectWire(field, 2, name).bytes;
const stringOf = (field: Field, name: string): string => bytesOf(field, name).toString('utf8');
const varintOf = (field: Field, name: string): bigint => expectWire(field, 0, name).varint;
const fixed64Of = (field: Field, name: string): bigint => expectWire(field, 1, name).bytes.readBigUInt64LE(0);

function decodeProtobufRequest(buf: Buffer): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  for (const field of fields(buf, 'ExportTraceServiceRequest')) {
    if (field.no === 1) spans.push(...decodeResourceSpans(bytesOf(field, 'resource_spans')));
  }
  return spans;
}

function decodeResourceSpans(buf: Buffer): ReceivedSpan[] {
  const resource: Record<string, AttributeValue> = {};
  const scopeSpans: Buffer[] = [];
  // Field order is not guaranteed, so the resource is applied after all fields are read.
  for (const field of fields(buf, 'ResourceSpans')) {
    if (field.no === 1) {
      for (const resourceField of fields(bytesOf(field, 'resource'), 'Resource')) {
        if (resourceField.no === 1) decodeKeyValue(bytesOf(resourceField, 'attributes'), resource);
      }
    } else if (field.no === 2) {
      scopeSpans.push(bytesOf(field, 'scope_spans'));
    }
  }
  return scopeSpans.flatMap((bytes) => decodeScopeSpans(bytes, resource));
}

function decodeScopeSpans(buf: Buffer, resource: Record<string, AttributeValue>): ReceivedSpan[] {
  const scope: ReceivedSpan['scope'] = { name: '' };
  const spans: ReceivedSpan[] = [];
  for (const field of fields(buf, 'ScopeSpans')) {
    if (field.no === 1) {
      for (const scopeField of fields(bytesOf(field, 'scope'), 'InstrumentationScope')) {
        if (scopeField.no === 1) scope.name = stringOf(scopeField, 'name');
        else if (scopeField.no === 2) setOptional(scope, 'version', stringOf(scopeField, 'version'));
      }
    } else if (field.no === 2) {
      spans.push(decodeSpan(bytesOf(field, 'spans')));
    }
  }
  // Each span gets its own copies, so a test mutating one cannot affect its siblings.
  for (const span of spans) {
    span.resource = { ...resource };
    span.scope = { ...scope };
  }
  return spans;
}

function decodeSpan(buf: Buffer): ReceivedSpan {
  const span: ReceivedSpan = {
    traceId: '',
    spanId: '',
    name: '',
    kind: 0,
    startTimeUnixNano: 0n,
    endTimeUnixNano: 0n,
    attributes: {},
    events: [],
    status: { code: 0 },
    resource: {},
    scope: { name: '' },
  };
  for (const field of fields(buf, 'Span')) {
    switch (field.no) {
      case 1:
        span.traceId = hex(bytesOf(field, 'trace_id'));
        break;
      case 2:
        span.spanId = hex(bytesOf(field, 'span_id'));
        break;
      case 4:
        setOptional(span, 'parentSpanId', hex(bytesOf(field, 'parent_span_id')));
        break;
      case 5:
        span.name = stringOf(field, 'name');
        break;
      case 6:
        span.kind = Number(varintOf(field, 'kind'));
        break;
      case 7:
        span.startTimeUnixNano = fixed64Of(field, 'start_time_unix_nano');
        break;
      case 8:
        span.endTimeUnixNano = fixed64Of(field, 'end_time_unix_nano');
        break;
      case 9:
        decodeKeyValue(bytesOf(field, 'attributes'), span.attributes);
        break;
      case 11:
        span.events.push(decodeEvent(bytesOf(field, 'events')));
        break;
      case 15:
        span.status = decodeStatus(bytesOf(field, 'status'));
        break;
    }
  }
  return span;
}

function decodeEvent(buf: Buffer): ReceivedSpanEvent {
  const event: ReceivedSpanEvent = { name: '', attributes: {} };
  for (const field of fields(buf, 'Span.Event')) {
    if (field.no === 2) event.name = stringOf(field, 'name');
    else if (field.no === 3) decodeKeyValue(bytesOf(field, 'attributes'), event.attributes);
  }
  return event;
}

function decodeStatus(buf: Buffer): ReceivedSpan['status'] {
  const status: ReceivedSpan['status'] = { code: 0 };
  for (const field of fields(buf, 'Status')) {
    if (field.no === 2) setOptional(status, 'message', stringOf(field, 'message'));
    else if (field.no === 3) status.code = Number(varintOf(field, 'code'));
  }
  return status;
}

function decodeKeyValue(buf: Buffer, target: Record<string, AttributeValue>): void {
  const [key, value] = decodeKeyValuePair(buf);
  setAttribute(target, key, value);
}

function decodeKeyValuePair(buf: Buffer): [string, Decoded] {
  let key = '';
  let value: Decoded = { kind: 'empty' };
  for (const field of fields(buf, 'KeyValue')) {
    if (field.no === 1) key = stringOf(field, 'key');
    else if (field.no === 2) value = decodeAnyValue(bytesOf(field, 'value'));
  }
  return [key, value];
}

function decodeAnyValue(buf: Buffer): Decoded {
  // AnyValue is a oneof: the last field present wins, as in any protobuf parser.
  let decoded: Decoded = { kind: 'empty' };
  for (const field of fields(buf, 'AnyValue')) {
    switch (field.no) {
      case 1:
        decoded = { kind: 'value', value: stringOf(field, 'string_value') };
        break;
      case 2:
        decoded = { kind: 'value', value: varintOf(field, 'bool_value') !== 0n };
        break;
      case 3:
        // int64 travels as a 10-byte two's-complement varint when negative.
        decoded = { kind: 'value', value: Number(BigInt.asIntN(64, varintOf(field, 'int_value'))) };
        break;
      case 4:
        decoded = { kind: 'value', value: expectWire(field, 1, 'double_value').bytes.readDoubleLE(0) };
        break;
      case 5: {
        const items: Decoded[] = [];
        for (const item of fields(bytesOf(field, 'array_value'), 'ArrayValue')) {
          if (item.no === 1) items.push(decodeAnyValue(bytesOf(item, 'values')));
        }
        decoded = toArrayValue(items);
        break;
      }
      case 6: {
        const entries: Array<[string, Decoded]> = [];
        for (const entry of fields(bytesOf(field, 'kvlist_value'), 'KeyValueList')) {
          if (entry.no === 1) entries.push(decodeKeyValuePair(bytesOf(entry, 'values')));
        }
        decoded = { kind: 'kvlist', entries };
        break;
      }
      case 7:
        decoded = { kind: 'value', value: bytesOf(field, 'bytes_value').toString('base64') };
        break;
    }
  }
  return decoded;
}

// --- OTLP/JSON ------------------------------------------------------------------------
//
// The protobuf JSON mapping with OTLP's deviations: lowerCamelCase keys, hex (not base64)
// trace and span ids, int64 and fixed64 as decimal strings or numbers. Enums should be
// integers, but names such as "SPAN_KIND_SERVER" are accepted too since generic protobuf
// JSON encoders emit them.

type JsonObject = Record<string, unknown>;

const SPAN_KINDS = [
  'SPAN_KIND_UNSPECIFIED',
  'SPAN_KIND_INTERNAL',
  'SPAN_KIND_SERVER',
  'SPAN_KIND_CLIENT',
  'SPAN_KIND_PRODUCER',
  'SPAN_KIND_CONSUMER',
];
const STATUS_CODES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'];

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function objectAt(value: unknown, where: string): JsonObject {
  if (value === undefined || value === null) return {};
  if (!isObject(value)) throw new Error(`${where} must be an object`);
  return value;
}

function arrayAt(value: unknown, where: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new Error(`${where} must be an array`);
  return value;
}

function stringAt(value: unknown, where: string): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw new Error(`${where} must be a string`);
  return value;
}

function idAt(value: unknown, where: string): string {
  const id = stringAt(value, where).toLowerCase();
  if (!/^(?:[0-9a-f]{2})*$/.test(id)) throw new Error(`${where} must be hex, got "${id}"`);
  return id;
}

function uint64At(value: unknown, where: string): bigint {
  if (value === undefined || value === null) return 0n;
  if (typeof value === 'string' && /^\d+$/.test(value)) return BigInt(value);
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return BigInt(value);
  throw new Error(`${where} must be an unsigned integer or decimal string`);
}

function enumAt(value: unknown, names: string[], where: string): number {
  if (value === undefined || value === null) return 0;
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'string' && names.includes(value)) return names.indexOf(value);
  throw new Error(`${where} must be an enum number or name, got ${JSON.stringify(value)}`);
}

function decodeJsonRequest(body: unknown): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  for (const resourceSpans of arrayAt(objectAt(body, 'request').resourceSpans, 'resourceSpans')) {
    const rs = objectAt(resourceSpans, 'resourceSpans[]');
    const resource = decodeJsonAttributes(objectAt(rs.resource, 'resource').attributes, 'resource');
    for (const scopeSpans of arrayAt(rs.scopeSpans, 'scopeSpans')) {
      const ss = objectAt(scopeSpans, 'scopeSpans[]');
      const scopeJson = objectAt(ss.scope, 'scope');
      const scope: ReceivedSpan['scope'] = { name: stringAt(scopeJson.name, 'scope.name') };
      const version = stringAt(scopeJson.version, 'scope.version');
      if (version) scope.version = version;
      for (const spanJson of arrayAt(ss.spans, 'spans')) {
        spans.push(decodeJsonSpan(objectAt(spanJson, 'spans[]'), { ...resource }, { ...scope }));
      }
    }
  }
  return spans;
}

function decodeJsonSpan(json: JsonObject, resource: Record<string, AttributeValue>, scope: ReceivedSpan['scope']): ReceivedSpan {
  const statusJson = objectAt(json.status, 'status');
  const status: ReceivedSpan['status'] = { code: enumAt(statusJson.code, STATUS_CODES, 'status.code') };
  const message = stringAt(statusJson.message, 'status.message');
  if (message) status.message = message;
  const span: ReceivedSpan = {
    traceId: idAt(json.traceId, 'traceId'),
    spanId: idAt(json.spanId, 'spanId'),
    name: stringAt(json.name, 'name'),
    kind: enumAt(json.kind, SPAN_KINDS, 'kind'),
    startTimeUnixNano: uint64At(json.startTimeUnixNano, 'startTimeUnixNano'),
    endTimeUnixNano: uint64At(json.endTimeUnixNano, 'endTimeUnixNano'),
    attributes: decodeJsonAttributes(json.attributes, 'attributes'),
    events: arrayAt(json.events, 'events').map((eventJson) => {
      const event = objectAt(eventJson, 'events[]');
      return {
        name: stringAt(event.name, 'events[].name'),
        attributes: decodeJsonAttributes(event.attributes, 'events[].attributes'),
      };
    }),
    status,
    resource,
    scope,
  };
  const parentSpanId = idAt(json.parentSpanId, 'parentSpanId');
  if (parentSpanId) span.parentSpanId = parentSpanId;
  return span;
}

function decodeJsonAttributes(value: unknown, where: string): Record<string, AttributeValue> {
  const attributes: Record<string, AttributeValue> = {};
  for (const kv of arrayAt(value, where)) {
    const [key, decoded] = decodeJsonKeyValue(kv, where);
    setAttribute(attributes, key, decoded);
  }
  return attributes;
}

function decodeJsonKeyValue(value: unknown, where: string): [string, Decoded] {
  const kv = objectAt(value, `${where}[]`);
  const key = stringAt(kv.key, `${where}[].key`);
  return [key, decodeJsonAnyValue(kv.value, `${where}.${key}`)];
}

function decodeJsonAnyValue(value: unknown, where: string): Decoded {
  const anyValue = objectAt(value, where);
  if ('stringValue' in anyValue) return { kind: 'value', value: stringAt(anyValue.stringValue, where) };
  // In the protobuf JSON mapping null stands for the field's default value. That matters in
  // practice: the JS SDK's JSON serializer turns NaN and ±Infinity doubles into null, so
  // they arrive as 0 (the protobuf encoding keeps them).
  if ('boolValue' in anyValue) {
    const bool = anyValue.boolValue ?? false;
    if (typeof bool !== 'boolean') throw new Error(`${where}.boolValue must be a boolean`);
    return { kind: 'value', value: bool };
  }
  if ('intValue' in anyValue) {
    const int = anyValue.intValue ?? 0;
    if (typeof int === 'string' && /^-?\d+$/.test(int)) return { kind: 'value', value: Number(int) };
    if (typeof int === 'number' && Number.isInteger(int)) return { kind: 'value', value: int };
    throw new Error(`${where}.intValue must be an integer or decimal string`);
  }
  if ('doubleValue' in anyValue) {
    // Spec-conformant encoders send non-finite doubles as "NaN", "Infinity" and "-Infinity".
    const raw = anyValue.doubleValue ?? 0;
    const isNumeric = typeof raw === 'string' && /^(?:NaN|-?Infinity|[-+.\deE]+)$/.test(raw);
    const double = isNumeric ? Number(raw) : raw;
    if (typeof double !== 'number') throw new Error(`${where}.doubleValue must be a number`);
    return { kind: 'value', value: double };
  }
  if ('arrayValue' in anyValue) {
    const items = arrayAt(objectAt(anyValue.arrayValue, where).values, `${where}.arrayValue.values`);
    return toArrayValue(items.map((item, i) => decodeJsonAnyValue(item, `${where}[${i}]`)));
  }
  if ('kvlistValue' in anyValue) {
    const entries = arrayAt(objectAt(anyValue.kvlistValue, where).values, `${where}.kvlistValue.values`);
    return { kind: 'kvlist', entries: entries.map((entry) => decodeJsonKeyValue(entry, where)) };
  }
  if ('bytesValue' in anyValue) return { kind: 'value', value: stringAt(anyValue.bytesValue, where) };
  return { kind: 'empty' };
}
