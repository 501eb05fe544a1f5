import { Agent, createServer, type IncomingHttpHeaders, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

import { OtlpReceiver } from 'nestjs-observability/testing';

/**
 * How the collector answers:
 * - `pass`: forwards each POST (body and headers) to the real receiver and returns its answer;
 * - `503`, `429`: answers that status after reading the body (429 with `Retry-After: 5`);
 * - `blackhole`: reads the request and never answers, until the mode changes (then the held
 *   requests are answered as the new mode says) or the collector closes (then they are destroyed);
 * - `refused`: the port is closed (connections refused); leaving the mode listens on the same port.
 */
export type CollectorMode = 'pass' | '503' | '429' | 'blackhole' | 'refused';

/** One mode change, with the first POST the receiver accepted after it. */
export interface ModeChange {
  mode: CollectorMode;
  /** `performance.now()` of the change, in this process. */
  at: number;
  /** `performance.now()` when the first POST after the change was answered 2xx by the receiver. */
  firstAcceptedAt?: number;
}

interface Held {
  req: IncomingMessage;
  res: ServerResponse;
  body: Buffer;
}

/**
 * An OTLP/HTTP collector that fails on demand, in front of a real {@link OtlpReceiver}:
 * the exporter under test talks to this server, and what it forwards is decoded by the receiver,
 * so `receiver.spans` holds exactly what got through. Listens on 127.0.0.1 only.
 */
export class FaultCollector {
  /** `OTEL_EXPORTER_OTLP_ENDPOINT` for the app: this server, not the receiver. */
  readonly endpoint: string;
  readonly port: number;
  /** POSTs that reached this server (a refused connection never does). */
  posts = 0;
  /** Request body bytes of those POSTs. */
  bytes = 0;
  /** POSTs the receiver answered 2xx. */
  accepted = 0;
  /**
   * Spans the receiver accepted whose answer never reached the exporter: the connection was
   * cut (switching to `refused`) while the POST was being forwarded. The exporter cannot tell
   * them from spans lost, so it may count them as dropped, or send them again.
   */
  deliveredUnanswered = 0;
  /** POSTs being handled now (from the request to its answer or its socket's end). */
  inFlight = 0;
  /** The most POSTs in flight at once since the last {@link resetMaxInFlight}. */
  maxInFlight = 0;
  /** Answers by status (`pass` forwards the receiver's), plus `held` for blackholed requests. */
  readonly answers: Record<string, number> = {};
  readonly changes: ModeChange[] = [];

  private current: CollectorMode = 'pass';
  private readonly sockets = new Set<Socket>();
  private readonly held = new Set<Held>();
  private readonly pending = new Set<Promise<unknown>>();
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 16 });
  private closed = false;

  private constructor(
    private readonly server: Server,
    readonly receiver: OtlpReceiver,
  ) {
    this.port = (server.address() as AddressInfo).port;
    this.endpoint = `http://127.0.0.1:${this.port}`;
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => this.handle(req, res));
    this.changes.push({ mode: 'pass', at: performance.now() });
  }

  static async start(): Promise<FaultCollector> {
    const receiver = await OtlpReceiver.start();
    const server = createServer({ keepAliveTimeout: 5_000 });
    await listen(server, 0);
    return new FaultCollector(server, receiver);
  }

  get mode(): CollectorMode {
    return this.current;
  }

  /** The latest mode change. */
  get lastChange(): ModeChange {
    return this.changes[this.changes.length - 1];
  }

  /** Switches the mode; resolves once the port is closed (`refused`) or listening again. */
  async setMode(mode: CollectorMode): Promise<void> {
    if (this.closed) throw new Error('FaultCollector is closed');
    const previous = this.current;
    if (previous === mode) return;
    this.current = mode;
    this.changes.push({ mode, at: performance.now() });
    if (mode === 'refused') {
      // Stop accepting, and cut the keep-alive connections the exporter would otherwise reuse.
      const closing = new Promise<void>((resolve) => this.server.close(() => resolve()));
      for (const socket of this.sockets) socket.destroy();
      this.held.clear();
      await closing;
      return;
    }
    if (previous === 'refused') await listen(this.server, this.port);
    if (previous === 'blackhole') {
      const held = [...this.held];
      this.held.clear();
      for (const h of held) if (!h.res.destroyed) this.answer(h);
    }
  }

  resetMaxInFlight(): void {
    this.maxInFlight = this.inFlight;
  }

  /** Stops listening, destroys every connection (held requests too) and closes the receiver. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const closing = this.current === 'refused' ? Promise.resolve() : new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    this.held.clear();
    this.agent.destroy();
    await closing;
    await this.receiver.close();
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'POST') {
      req.resume();
      res.writeHead(405, { allow: 'POST' }).end();
      return;
    }
    this.posts++;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    res.once('close', () => this.inFlight--);
    req.on('error', () => undefined);
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      this.bytes += chunk.length;
    });
    req.on('end', () => this.answer({ req, res, body: Buffer.concat(chunks) }));
  }

  private answer(h: Held): void {
    const count = (key: string) => (this.answers[key] = (this.answers[key] ?? 0) + 1);
    switch (this.current) {
      case '503':
        count('503');
        h.res.writeHead(503, { 'content-type': 'text/plain' }).end('collector unavailable');
        return;
      case '429':
        count('429');
        h.res.writeHead(429, { 'content-type': 'text/plain', 'retry-after': '5' }).end('slow down');
        return;
      case 'blackhole':
        count('held');
        this.held.add(h);
        h.res.once('close', () => this.held.delete(h));
        return;
      case 'refused':
        h.res.destroy();
        return;
      case 'pass':
        this.forward(h, count);
    }
  }

  private forward({ req, res, body }: Held, count: (key: string) => void): void {
    const headers: IncomingHttpHeaders = {
      ...req.headers,
      host: this.receiver.endpoint.slice('http://'.length),
      'content-length': String(body.length),
    };
    delete headers.connection;
    delete headers['keep-alive'];
    delete headers['transfer-encoding'];
    const upstream = request(`${this.receiver.endpoint}${req.url ?? '/'}`, { method: 'POST', headers, agent: this.agent }, (answer) => {
      const chunks: Buffer[] = [];
      answer.on('data', (chunk: Buffer) => chunks.push(chunk));
      answer.on('end', () => {
        const status = answer.statusCode ?? 502;
        count(String(status));
        const accepted = status >= 200 && status < 300;
        if (accepted) {
          this.accepted++;
          const change = this.lastChange;
          if (change.mode === 'pass' && change.firstAcceptedAt === undefined) change.firstAcceptedAt = performance.now();
        }
        if (res.destroyed) {
          if (accepted) this.countUnanswered(req, body);
          return;
        }
        const out: Record<string, string> = {};
        for (const name of ['content-type', 'retry-after']) {
          const value = answer.headers[name];
          if (typeof value === 'string') out[name] = value;
        }
        res.writeHead(status, out).end(Buffer.concat(chunks));
      });
      answer.on('error', () => res.destroy());
    });
    upstream.on('error', () => {
      count('forward-error');
      res.destroy();
    });
    upstream.end(body);
  }

  /** Adds the spans of a POST the receiver accepted but whose answer was cut to {@link deliveredUnanswered}. */
  private countUnanswered(req: IncomingMessage, body: Buffer): void {
    const header = (name: string) => (typeof req.headers[name] === 'string' ? (req.headers[name] as string) : undefined);
    const decoding = OtlpReceiver.decode(body, header('content-type') ?? '', header('content-encoding'));
    this.pending.add(decoding);
    void decoding
      .then(
        (spans) => (this.deliveredUnanswered += spans.length),
        () => undefined, // The receiver accepted it, so it decodes.
      )
      .finally(() => this.pending.delete(decoding));
  }

  /** Resolves once every cut answer's spans are counted in {@link deliveredUnanswered}. */
  async counted(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}
