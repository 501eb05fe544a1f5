import type { Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';

import { Scrubber } from '../shared/scrubber';
import { LIBRARY_SCOPE_NAME } from './library-scope';

/** Attributes whose value is a URL or a query string, scrubbed as one (`?token=` censored by key). */
const URL_KEYS: ReadonlySet<string> = new Set(['url.full', 'http.url', 'http.target']);
const QUERY_KEY = 'url.query';

/**
 * Applies the library's scrubber before any exporter sees a span: the attributes
 * of spans made by instrumentations the library does not own (outgoing HTTP,
 * fetch, pg, ioredis), and the status message and event attributes (the
 * exception's message and stack) of every span. The library's own attributes are
 * scrubbed where they are made, so they are skipped here; its error text is not:
 * `@Traced` and `TracingService` record the error as thrown (they run without DI
 * and cannot reach the scrubber), so this is the one place it passes.
 */
export class ScrubbingSpanProcessor implements SpanProcessor {
  private current = Scrubber.withDefaults();

  /** The scrubber in force: the built-in policy until the module sets its own. */
  get scrubber(): Scrubber {
    return this.current;
  }

  /** The module swaps in the scrubber built from its `redaction` options. */
  setScrubber(scrubber: Scrubber): void {
    this.current = scrubber;
  }

  onStart(_span: Span, _parentContext: Context): void {}

  onEnd(span: ReadableSpan): void {
    const scrubber = this.current;
    if (!scrubber.enabled) return;
    // The status and events of an ended span are still the objects exporters read;
    // rewriting them here is the only point every span passes through.
    const status = span.status as { message?: string };
    if (status.message) status.message = scrubber.scrubString(status.message);
    for (const event of span.events) if (event.attributes) scrubAttributes(scrubber, event.attributes as Record<string, unknown>);
    if (span.instrumentationScope.name !== LIBRARY_SCOPE_NAME) scrubAttributes(scrubber, span.attributes as Record<string, unknown>);
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** Rewrites attributes in place: sensitive keys censored, ids kept, strings (and arrays of strings) scrubbed. */
function scrubAttributes(scrubber: Scrubber, attributes: Record<string, unknown>): void {
  for (const key of Object.keys(attributes)) {
    const value = attributes[key];
    if (scrubber.isSensitiveKey(key)) {
      attributes[key] = scrubber.censor;
    } else if (scrubber.isIdKey(key)) {
      continue;
    } else if (typeof value === 'string') {
      attributes[key] = URL_KEYS.has(key)
        ? scrubber.scrubUrl(value)
        : key === QUERY_KEY
          ? scrubber.scrubQuery(value)
          : scrubber.scrubString(value);
    } else if (Array.isArray(value)) {
      attributes[key] = value.map((item: unknown) => (typeof item === 'string' ? scrubber.scrubString(item) : item));
    }
  }
}
