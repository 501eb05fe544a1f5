/**
 * The loopback sink, run as its own process (forked by {@link Sink.start}) so
 * that reading exports never stalls the load generator's event loop. It stands
 * in for an OpenTelemetry Collector and for Sentry: it answers every POST with
 * 200 once the body is counted, so an exporter that reports success has been
 * counted. Commands arrive over IPC.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { gunzip, inflate } from 'node:zlib';

import { addName, countOtlpTraces, countSentryEnvelope, emptyTally, type Tally } from './telemetry-count';

/** Messages from the harness. */
export type SinkCommand = { type: 'take'; id: number };
/** Messages to the harness. */
export type SinkReply = { type: 'ready'; port: number } | { type: 'tally'; id: number; tally: Tally };

const gunzipAsync = promisify(gunzip);
const inflateAsync = promisify(inflate);
/** Sentry's ingest path: /api/<project>/envelope/ */
const ENVELOPE_PATH = /^\/api\/[^/]+\/envelope\/?(?:\?|$)/;

let tally = emptyTally();

const server = createServer((req, res) => {
  if (req.method !== 'POST') {
    req.resume();
    res.writeHead(200).end();
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('error', () => undefined);
  req.on('end', () => {
    const raw = Buffer.concat(chunks);
    tally.bytes += raw.length;
    void receive(req, raw).then(
      () => answer(req, res),
      () => {
        tally.malformed++;
        answer(req, res);
      },
    );
  });
});
// Exporters keep connections alive between batches; never cut one mid-run.
server.keepAliveTimeout = 60_000;

async function receive(req: IncomingMessage, raw: Buffer): Promise<void> {
  const url = req.url ?? '/';
  const body = await decompress(raw, req.headers['content-encoding']);
  if (url.startsWith('/v1/traces')) {
    tally.otlpRequests++;
    const type = req.headers['content-type'] ?? '';
    if (type.includes('json')) countJsonTraces(body, tally);
    else countOtlpTraces(body, tally);
  } else if (ENVELOPE_PATH.test(url)) {
    countSentryEnvelope(body, tally);
  } else {
    tally.otherRequests++;
  }
}

function answer(req: IncomingMessage, res: ServerResponse): void {
  if (res.destroyed) return;
  if ((req.url ?? '').startsWith('/v1/')) {
    // An empty protobuf message is an empty body: a full success with nothing rejected.
    res.writeHead(200, { 'content-type': 'application/x-protobuf', 'content-length': 0 }).end();
  } else {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  }
}

function decompress(raw: Buffer, encoding: string | string[] | undefined): Promise<Buffer> {
  if (encoding === 'gzip') return gunzipAsync(raw);
  if (encoding === 'deflate') return inflateAsync(raw);
  return Promise.resolve(raw);
}

/** OTLP/JSON, should an exporter be configured for it: counted the slow way. */
function countJsonTraces(body: Buffer, into: Tally): void {
  const request = JSON.parse(body.toString('utf8')) as {
    resourceSpans?: { scopeSpans?: { spans?: { kind?: number | string; name?: string }[] }[] }[];
  };
  for (const rs of request.resourceSpans ?? []) {
    for (const ss of rs.scopeSpans ?? []) {
      for (const span of ss.spans ?? []) {
        into.spans++;
        if (span.kind === 2 || span.kind === 'SPAN_KIND_SERVER') {
          into.serverSpans++;
          addName(into, span.name ?? '');
        }
      }
    }
  }
}

process.on('message', (command: SinkCommand) => {
  if (command.type === 'take') {
    const taken = tally;
    tally = emptyTally();
    send({ type: 'tally', id: command.id, tally: taken });
  }
});
// The harness going away (even by a crash) ends the sink.
process.on('disconnect', () => process.exit(0));

server.listen(0, '127.0.0.1', () => {
  send({ type: 'ready', port: (server.address() as AddressInfo).port });
});

function send(reply: SinkReply): void {
  process.send?.(reply);
}
