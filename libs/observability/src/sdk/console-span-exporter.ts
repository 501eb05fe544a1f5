/*
 * `OTEL_TRACES_EXPORTER=console`. The SDK's ConsoleSpanExporter prints each
 * span with console.dir, some 45 lines of object dump on stdout, in between the
 * JSON log lines: a log shipper reading stdout then gets lines that are not
 * JSON. Here each span is one JSON line on stderr, so stdout stays a JSON log
 * stream and `2> spans.jsonl` keeps the spans apart.
 */
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { type ExportResult, ExportResultCode, hrTimeToMilliseconds, hrTimeToTimeStamp } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';

/** Where the lines go: anything with a `write(string)`, `process.stderr` by default. */
export interface LineSink {
  write(chunk: string): unknown;
}

/** One span as a console line. Times are ISO 8601 with nanoseconds, ids lowercase hex. */
export interface ConsoleSpanLine {
  name: string;
  trace_id: string;
  span_id: string;
  parent_span_id?: string;
  kind: string;
  start_time: string;
  end_time: string;
  duration_ms: number;
  status: { code: string; message?: string };
  attributes: Record<string, unknown>;
  events: Array<{ name: string; time: string; attributes?: Record<string, unknown> }>;
  scope: string;
}

/**
 * Writes every exported span as one JSON line ({@link ConsoleSpanLine}) to a
 * stream, stderr by default.
 * @internal
 */
export class JsonConsoleSpanExporter implements SpanExporter {
  constructor(private readonly sink: LineSink = process.stderr) {}

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    let out = '';
    try {
      for (const span of spans) out += `${JSON.stringify(toLine(span))}\n`;
      // One write per batch: lines of one batch stay together.
      this.sink.write(out);
    } catch (error) {
      resultCallback({ code: ExportResultCode.FAILED, error: error instanceof Error ? error : new Error(String(error)) });
      return;
    }
    resultCallback({ code: ExportResultCode.SUCCESS });
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

/** The span as one line's object. */
export function toLine(span: ReadableSpan): ConsoleSpanLine {
  const { traceId, spanId } = span.spanContext();
  const parent = span.parentSpanContext?.spanId;
  return {
    name: span.name,
    trace_id: traceId,
    span_id: spanId,
    ...(parent ? { parent_span_id: parent } : {}),
    kind: SpanKind[span.kind] ?? String(span.kind),
    start_time: hrTimeToTimeStamp(span.startTime),
    end_time: hrTimeToTimeStamp(span.endTime),
    // Microsecond precision: more digits are noise in a console line.
    duration_ms: Math.round(hrTimeToMilliseconds(span.duration) * 1000) / 1000,
    status: {
      code: SpanStatusCode[span.status.code] ?? String(span.status.code),
      ...(span.status.message ? { message: span.status.message } : {}),
    },
    attributes: { ...span.attributes },
    events: span.events.map((event) => ({
      name: event.name,
      time: hrTimeToTimeStamp(event.time),
      ...(event.attributes && Object.keys(event.attributes).length > 0 ? { attributes: { ...event.attributes } } : {}),
    })),
    scope: span.instrumentationScope.name,
  };
}
