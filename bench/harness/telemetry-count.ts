/**
 * Counting what the bench sink receives, without decoding it: the sink shares
 * a core with the load generator, so it walks the protobuf wire format and
 * reads only the fields it counts (span kind, and the name of server spans).
 * The full decoder (`OtlpReceiver` of nestjs-observability/testing) keeps every
 * attribute of every span, too much at tens of thousands of spans a second.
 */

/** OTLP `Span.kind` of a server span (the API's `SpanKind.SERVER` + 1). */
const OTLP_KIND_SERVER = 2;
/** Distinct span names kept per tally: enough to see what a stack names its spans. */
const MAX_NAMES = 20;

/** What arrived at the sink since it was last read. */
export interface Tally {
  /** OTLP/HTTP trace export requests. */
  otlpRequests: number;
  /** All spans in those requests. */
  spans: number;
  /** Server spans: one per traced request. */
  serverSpans: number;
  /** Server span names and how often each arrived (at most {@link MAX_NAMES} names). */
  serverSpanNames: Record<string, number>;
  /** Sentry envelopes. */
  envelopes: number;
  /** Sentry transactions of HTTP requests (`op: http.server`): one per traced request. */
  transactions: number;
  /** Other Sentry transactions (start-up, …). */
  otherTransactions: number;
  /** Spans inside those transactions, their root included. */
  transactionSpans: number;
  /** Transactions Sentry's client reports say it dropped, by reason (`queue_overflow`, …). */
  transactionsDiscarded: Record<string, number>;
  /** Anything else (OTLP metrics or logs, other paths). */
  otherRequests: number;
  /** Bodies that could not be read; the sink still answered 200. */
  malformed: number;
  /** Request body bytes, as sent (compressed if they were). */
  bytes: number;
}

/** A tally with nothing counted. */
export function emptyTally(): Tally {
  return {
    otlpRequests: 0,
    spans: 0,
    serverSpans: 0,
    serverSpanNames: {},
    envelopes: 0,
    transactions: 0,
    otherTransactions: 0,
    transactionSpans: 0,
    transactionsDiscarded: {},
    otherRequests: 0,
    malformed: 0,
    bytes: 0,
  };
}

/** A cursor over protobuf wire-format bytes. */
class Wire {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  varint(): number {
    let result = 0;
    let multiplier = 1;
    for (;;) {
      if (this.pos >= this.end) throw new Error('truncated varint');
      const byte = this.buf[this.pos++];
      result += (byte & 0x7f) * multiplier;
      if (byte < 0x80) return result;
      multiplier *= 128;
      // Counts and lengths fit in 2^53; larger varints (64-bit ids) are only skipped.
      if (multiplier > 2 ** 63) throw new Error('varint too long');
    }
  }

  /** Reads a tag: field number and wire type. */
  tag(): { field: number; type: number } {
    const tag = this.varint();
    return { field: Math.floor(tag / 8), type: tag & 7 };
  }

  /** Returns the [start, end) of a length-delimited field and moves past it. */
  delimited(): [number, number] {
    const length = this.varint();
    const start = this.pos;
    const end = start + length;
    if (end > this.end) throw new Error('truncated field');
    this.pos = end;
    return [start, end];
  }

  skip(type: number): void {
    switch (type) {
      case 0:
        this.varint();
        return;
      case 1:
        this.pos += 8;
        break;
      case 2:
        this.delimited();
        return;
      case 5:
        this.pos += 4;
        break;
      default:
        throw new Error(`unsupported wire type ${type}`);
    }
    if (this.pos > this.end) throw new Error('truncated fixed field');
  }
}

/**
 * Counts the spans of one OTLP `ExportTraceServiceRequest` (protobuf) into
 * `tally`. Field numbers from opentelemetry-proto: request.resource_spans = 1,
 * ResourceSpans.scope_spans = 2, ScopeSpans.spans = 2, Span.name = 5, Span.kind = 6.
 * Throws on malformed input (after counting what came before it).
 */
export function countOtlpTraces(body: Uint8Array, tally: Tally): void {
  const request = new Wire(body, 0, body.length);
  while (!request.done) {
    const { field, type } = request.tag();
    if (field !== 1 || type !== 2) {
      request.skip(type);
      continue;
    }
    const [rsStart, rsEnd] = request.delimited();
    const resourceSpans = new Wire(body, rsStart, rsEnd);
    while (!resourceSpans.done) {
      const rs = resourceSpans.tag();
      if (rs.field !== 2 || rs.type !== 2) {
        resourceSpans.skip(rs.type);
        continue;
      }
      const [ssStart, ssEnd] = resourceSpans.delimited();
      const scopeSpans = new Wire(body, ssStart, ssEnd);
      while (!scopeSpans.done) {
        const ss = scopeSpans.tag();
        if (ss.field !== 2 || ss.type !== 2) {
          scopeSpans.skip(ss.type);
          continue;
        }
        const [spanStart, spanEnd] = scopeSpans.delimited();
        countSpan(body, spanStart, spanEnd, tally);
      }
    }
  }
}

function countSpan(body: Uint8Array, start: number, end: number, tally: Tally): void {
  const span = new Wire(body, start, end);
  let kind = 0;
  let name: [number, number] | undefined;
  while (!span.done) {
    const { field, type } = span.tag();
    if (field === 6 && type === 0) kind = span.varint();
    else if (field === 5 && type === 2) name = span.delimited();
    else span.skip(type);
  }
  tally.spans++;
  if (kind !== OTLP_KIND_SERVER) return;
  tally.serverSpans++;
  addName(tally, name ? Buffer.from(body.buffer, body.byteOffset + name[0], name[1] - name[0]).toString('utf8') : '');
}

/** Notes the name of a server span or transaction, up to {@link MAX_NAMES} distinct names. */
export function addName(tally: Tally, name: string): void {
  const names = tally.serverSpanNames;
  if (names[name] !== undefined) names[name]++;
  else if (Object.keys(names).length < MAX_NAMES) names[name] = 1;
}

/**
 * Counts the transactions of one Sentry envelope into `tally`. An envelope is
 * a header line, then items: an item header line (JSON, with the payload
 * `length` when the sender gave one), the payload, a newline.
 * Throws on malformed input.
 */
export function countSentryEnvelope(body: Buffer, tally: Tally): void {
  tally.envelopes++;
  let pos = lineEnd(body, 0) + 1; // the envelope header says nothing countable
  while (pos < body.length) {
    const headerEnd = lineEnd(body, pos);
    const headerText = body.toString('utf8', pos, headerEnd).trim();
    if (headerText === '') {
      pos = headerEnd + 1;
      continue;
    }
    const header = JSON.parse(headerText) as { type?: string; length?: number };
    const payloadStart = headerEnd + 1;
    const payloadEnd = typeof header.length === 'number' ? payloadStart + header.length : lineEnd(body, payloadStart);
    if (payloadEnd > body.length) throw new Error('truncated envelope item');
    if (header.type === 'transaction') {
      const transaction = JSON.parse(body.toString('utf8', payloadStart, payloadEnd)) as {
        transaction?: string;
        spans?: unknown[];
        contexts?: { trace?: { op?: string } };
      };
      tally.transactionSpans += 1 + (transaction.spans?.length ?? 0);
      if (transaction.contexts?.trace?.op === 'http.server') {
        tally.transactions++;
        addName(tally, transaction.transaction ?? '');
      } else {
        tally.otherTransactions++;
      }
    } else if (header.type === 'client_report') {
      const report = JSON.parse(body.toString('utf8', payloadStart, payloadEnd)) as {
        discarded_events?: { reason?: string; category?: string; quantity?: number }[];
      };
      for (const event of report.discarded_events ?? []) {
        if (event.category !== 'transaction') continue;
        const reason = event.reason ?? 'unknown';
        tally.transactionsDiscarded[reason] = (tally.transactionsDiscarded[reason] ?? 0) + (event.quantity ?? 0);
      }
    }
    pos = payloadEnd + 1;
  }
}

function lineEnd(body: Buffer, from: number): number {
  const newline = body.indexOf(0x0a, from);
  return newline === -1 ? body.length : newline;
}
