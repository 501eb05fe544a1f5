import { type Agent, get, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';

/** One request's outcome; times are milliseconds since the caller's `t0`. */
export interface Outcome {
  id?: string;
  start: number;
  end: number;
  status?: number;
  /** The error code when the request failed without a response. */
  error?: string;
  headers?: IncomingHttpHeaders;
  body?: string;
}

/** One GET on `agent`; resolves with the status or the error code, never rejects. */
export function fetchOnce(url: string, agent: Agent, t0: number, headers: Record<string, string> = {}, id?: string): Promise<Outcome> {
  const start = performance.now() - t0;
  return new Promise((resolve) => {
    const failed = (error: NodeJS.ErrnoException) =>
      resolve({ id, start, end: performance.now() - t0, error: error.code ?? error.message });
    const req = get(url, { agent, headers, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ id, start, end: performance.now() - t0, status: res.statusCode, headers: res.headers, body }));
      res.on('error', failed);
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.on('error', failed);
  });
}

/** What a raw request got back. */
export interface RawResponse {
  status?: number;
  headers: Record<string, string>;
  body: string;
  /** The whole answer as received. */
  raw: string;
  error?: string;
}

/**
 * Sends `head` (request line and headers, CRLF-separated, without the final blank line) and
 * `body` on a fresh connection to 127.0.0.1:`port`, with `Connection: close`, and reads the
 * answer until the server closes. For headers `fetch` refuses to send (a Host of its own, a
 * traceparent of 10 KB, bytes outside ASCII).
 */
export function rawRequest(port: number, head: string, body = '', timeoutMs = 5_000): Promise<RawResponse> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (error?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const raw = Buffer.concat(chunks).toString('latin1');
      const split = raw.indexOf('\r\n\r\n');
      const headText = split === -1 ? raw : raw.slice(0, split);
      const [statusLine, ...headerLines] = headText.split('\r\n');
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '');
      const headers: Record<string, string> = {};
      for (const line of headerLines) {
        const colon = line.indexOf(':');
        if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status: status ? Number(status[1]) : undefined, headers, body: split === -1 ? '' : raw.slice(split + 4), raw, error });
    };
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => finish());
    socket.on('close', () => finish());
    socket.on('error', (error: NodeJS.ErrnoException) => finish(error.code ?? error.message));
    socket.on('connect', () => {
      const bodyBytes = Buffer.from(body, 'utf8');
      const length = body === '' ? '' : `Content-Length: ${bodyBytes.length}\r\n`;
      socket.write(Buffer.concat([Buffer.from(`${head}\r\n${length}Connection: close\r\n\r\n`, 'utf8'), bodyBytes]));
    });
  });
}
