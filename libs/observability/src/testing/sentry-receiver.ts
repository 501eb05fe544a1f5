import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gunzipSync } from 'node:zlib';

/** One item of a Sentry envelope: its header and its parsed payload. */
export interface SentryEnvelopeItem {
  type: string;
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
}

/** One envelope as the SDK sent it, with its raw text for "appears nowhere" checks. */
export interface SentryEnvelope {
  header: Record<string, unknown>;
  items: SentryEnvelopeItem[];
  raw: string;
}

/** Failure modes, to test that a dead Sentry changes nothing for the app. */
export interface SentryReceiverOptions {
  /** Answer every envelope with this status (e.g. 503). */
  failWith?: number;
  /** Accept envelopes and never answer. */
  hang?: boolean;
}

/**
 * A loopback Sentry ingestion endpoint that the real Sentry SDK sends to:
 * point `SENTRY_DSN` at {@link SentryReceiver.dsn} and assert on the envelopes.
 *
 * @example
 * const sentry = await SentryReceiver.start();
 * // start the app with SENTRY_DSN=sentry.dsn, make it fail …
 * const [event] = await sentry.waitForEvents((events) => events.length > 0);
 * expect(event.contexts.trace.trace_id).toBe(serverSpan.traceId);
 */
export class SentryReceiver {
  readonly envelopes: SentryEnvelope[] = [];
  requests = 0;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    private readonly options: SentryReceiverOptions,
  ) {}

  static async start(options: SentryReceiverOptions = {}): Promise<SentryReceiver> {
    const server = createServer();
    const receiver = new SentryReceiver(server, options);
    server.on('request', (req, res) => receiver.handle(req, res));
    server.on('connection', (socket: Socket) => {
      receiver.sockets.add(socket);
      socket.on('close', () => receiver.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  /** A DSN for project 1 on this receiver. */
  get dsn(): string {
    return `http://public@127.0.0.1:${(this.server.address() as AddressInfo).port}/1`;
  }

  /** Error events (items of type `event`), in arrival order. */
  get events(): Record<string, unknown>[] {
    return this.envelopes.flatMap((e) => e.items.filter((i) => i.type === 'event').map((i) => i.payload));
  }

  /** Every envelope's raw text, joined. */
  text(): string {
    return this.envelopes.map((e) => e.raw).join('\n');
  }

  /** Resolves once `predicate(events)` holds; rejects after `timeoutMs` listing what arrived. */
  async waitForEvents(predicate: (events: Record<string, unknown>[]) => boolean, timeoutMs = 5_000): Promise<Record<string, unknown>[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (predicate(this.events)) return this.events;
      if (Date.now() > deadline) {
        const seen = this.envelopes.map((e) => e.items.map((i) => i.type).join('+')).join(', ') || 'none';
        throw new Error(`SentryReceiver: condition not met within ${timeoutMs} ms; ${this.requests} requests, envelopes: ${seen}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  clear(): void {
    this.envelopes.length = 0;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      this.requests++;
      if (this.options.hang) return;
      if (this.options.failWith) {
        res.writeHead(this.options.failWith).end();
        return;
      }
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      try {
        this.envelopes.push(parseEnvelope(body.toString('utf8')));
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } catch (error) {
        res.writeHead(400).end(String(error));
      }
    });
  }
}

/** Envelope format: a header line, then per item a header line and a payload (of `length` bytes when given). */
function parseEnvelope(raw: string): SentryEnvelope {
  const buffer = Buffer.from(raw, 'utf8');
  let offset = 0;
  const readLine = (): string => {
    const end = buffer.indexOf(0x0a, offset);
    const line = buffer.subarray(offset, end === -1 ? buffer.length : end).toString('utf8');
    offset = end === -1 ? buffer.length : end + 1;
    return line;
  };
  const header = JSON.parse(readLine()) as Record<string, unknown>;
  const items: SentryEnvelopeItem[] = [];
  while (offset < buffer.length) {
    const headerLine = readLine();
    if (headerLine.trim() === '') continue;
    const itemHeader = JSON.parse(headerLine) as Record<string, unknown>;
    let payloadText: string;
    if (typeof itemHeader.length === 'number') {
      payloadText = buffer.subarray(offset, offset + itemHeader.length).toString('utf8');
      offset += itemHeader.length;
      if (buffer[offset] === 0x0a) offset++;
    } else {
      payloadText = readLine();
    }
    let payload: Record<string, unknown>;
    try {
      payload = JSON.parse(payloadText) as Record<string, unknown>;
    } catch {
      payload = { raw: payloadText };
    }
    items.push({ type: String(itemHeader.type), header: itemHeader, payload });
  }
  return { header, items, raw };
}
