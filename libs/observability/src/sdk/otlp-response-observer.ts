/*
 * Why this exists: the OTLP/HTTP exporters (otlp-exporter-base 0.223) retry
 * 429, 502, 503 and 504 themselves within one export, honouring `Retry-After`
 * there, but when they give up the error they report is
 * `OTLPExporterError('Export failed with retryable status')` with neither the
 * status (`code` is undefined) nor the `Retry-After`; only answers they do not
 * retry (400, 500 …) carry the status in `code`. The processor's pause between
 * exports needs both, so they are read off the wire: Node publishes every
 * client response on the `http.client.response.finish` diagnostics channel,
 * and the one subscriber here keeps the latest answer to a POST to the traces
 * URL. For any other request it is a few string comparisons.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { ClientRequest, IncomingMessage } from 'node:http';

import type { FailureDetail } from './export-processor';

const CHANNEL = 'http.client.response.finish';

/**
 * Watches the collector's answers to span exports, for {@link ExportSpanProcessor}'s
 * `describeFailure`: the HTTP status and `Retry-After` of the last error answer.
 * @internal
 */
export class OtlpResponseObserver {
  private readonly protocol: string;
  private readonly host: string;
  private readonly path: string;
  private last: Required<Pick<FailureDetail, 'status'>> & FailureDetail = { status: 0 };
  private subscribed = true;
  /**
   * Told of every error answer as it arrives, even one the exporter then
   * retries past: a collector that fails for less than the exporter's retry
   * window is still a collector that failed, and the operator hears of it.
   */
  onErrorAnswer: ((detail: FailureDetail) => void) | undefined = undefined;

  constructor(url: string) {
    const parsed = new URL(url);
    this.protocol = parsed.protocol;
    this.host = parsed.host;
    this.path = `${parsed.pathname}${parsed.search}`;
    subscribe(CHANNEL, this.onResponse);
  }

  /**
   * What the collector said to the latest export, if it answered with an error.
   * Read once: the next failure must not see an old answer (a connection
   * refused has none).
   */
  take(): FailureDetail {
    const last = this.last;
    this.last = { status: 0 };
    return last.status >= 400 ? last : {};
  }

  /** Stops watching. */
  close(): void {
    if (!this.subscribed) return;
    this.subscribed = false;
    unsubscribe(CHANNEL, this.onResponse);
  }

  private readonly onResponse = (message: unknown): void => {
    const { request, response } = message as { request: ClientRequest; response: IncomingMessage };
    if (request.method !== 'POST' || request.path !== this.path || request.protocol !== this.protocol) return;
    if (request.getHeader('host') !== this.host) return;
    const retryAfterMillis = parseRetryAfter(response.headers['retry-after']);
    this.last = { status: response.statusCode ?? 0, ...(retryAfterMillis !== undefined ? { retryAfterMillis } : {}) };
    if (this.last.status >= 400) this.onErrorAnswer?.(this.last);
  };
}

/** `Retry-After` as seconds or an HTTP date, in milliseconds from now; `undefined` when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
