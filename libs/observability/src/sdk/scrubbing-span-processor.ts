import type { Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';

import { Scrubber } from '../shared/scrubber';
import { LIBRARY_SCOPE_NAME } from './library-scope';

/**
 * Applies the library's scrubber to the attributes of spans made by
 * instrumentations the library does not own (outgoing HTTP, fetch, pg, ioredis),
 * before any exporter sees them. The library's own spans are scrubbed where
 * they are made, so they are skipped here.
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
    if (!scrubber.enabled || span.instrumentationScope.name === LIBRARY_SCOPE_NAME) return;
    // The attributes object of an ended span is still the one exporters read;
    // rewriting it here is the only point every instrumentation passes through.
    const attributes = span.attributes as Record<string, unknown>;
    for (const key of Object.keys(attributes)) {
      const value = attributes[key];
      if (scrubber.isSensitiveKey(key)) {
        attributes[key] = scrubber.censor;
      } else if (typeof value === 'string') {
        attributes[key] =
          key === 'url.full' || key === 'http.url' || key === 'http.target'
            ? scrubber.scrubUrl(value)
            : key === 'url.query'
              ? scrubber.scrubQuery(value)
              : scrubber.scrubString(value);
      }
    }
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}
