import { context, isSpanContextValid, trace } from '@opentelemetry/api';
import pino, { type DestinationStream, type LoggerOptions } from 'pino';

import type { ResolvedObservabilityOptions } from '../config/options.interface';
import type { RequestContextService } from '../context/request-context.service';
import type { Scrubber } from '../shared/scrubber';
import type { LogHandle } from '../work/work.constants';

/**
 * Marks a record the library built from values it already scrubbed (the request
 * line): the log formatter passes it through. A symbol, so pino never prints it.
 * @internal
 */
export const PRE_SCRUBBED = Symbol('nestjs-observability.pre-scrubbed');

/** A pino logger and what must be flushed when the application stops. */
export type PinoHandle = LogHandle;

/** Lines are written in batches of about this many bytes… */
const LOG_BATCH_BYTES = 4096;
/** …and at least this often, so a quiet service's lines are not held back. */
const LOG_FLUSH_INTERVAL_MS = 250;

/**
 * Builds the application's pino logger: JSON lines with `time`, `level` (label),
 * `service`, `environment`, `version`, `msg`, `context`, and `trace_id`,
 * `span_id`, `request_id` of the active span and request; every record and
 * message goes through the scrubber.
 */
export function createPino(options: ResolvedObservabilityOptions, requestContext: RequestContextService, scrubber: Scrubber): PinoHandle {
  const { logging } = options;
  const loggerOptions: LoggerOptions = {
    level: logging.enabled ? logging.level : 'silent',
    messageKey: 'msg',
    base: { service: options.serviceName, environment: options.environment, version: options.serviceVersion },
    timestamp: isoTimeCachedPerMillisecond(),
    formatters: {
      level: (label) => ({ level: label }),
      log: (record) => (scrubber.enabled && (record as { [PRE_SCRUBBED]?: true })[PRE_SCRUBBED] !== true ? scrubber.scrub(record) : record),
    },
    hooks: {
      logMethod(args, method) {
        if (scrubber.enabled) {
          const list = args as unknown[];
          const first = list[0];
          // pino copies an error's raw message into `msg` when none is given.
          if (first instanceof Error && typeof list[1] !== 'string') list.splice(1, 0, first.message);
          for (let i = 0; i < list.length; i++) {
            const arg = list[i];
            if (typeof arg === 'string') list[i] = scrubber.scrubString(arg);
            // Objects after the first are interpolated into the message (%j, %o): scrub them too.
            // The first one is the record, scrubbed by the log formatter.
            else if (i > 0 && typeof arg === 'object' && arg !== null) list[i] = scrubber.scrub(arg);
          }
        }
        return method.apply(this, args);
      },
    },
    mixin(record) {
      // The request line carries its own ids: it is written after the request's context ended.
      // (pino merges the record into the returned object, so it must be a fresh one.)
      if ((record as { request_id?: unknown }).request_id !== undefined) return {};
      const spanContext = trace.getSpan(context.active())?.spanContext();
      const requestId = requestContext.requestId;
      if (spanContext && isSpanContextValid(spanContext)) {
        return { trace_id: spanContext.traceId, span_id: spanContext.spanId, request_id: requestId };
      }
      return requestId === undefined ? {} : { request_id: requestId };
    },
  };

  const destination = createDestination(logging.format, logging.destination);
  const logger = pino(loggerOptions, destination);
  const flushable = destination as { flush?: () => void; flushSync?: () => void };
  // Batched writes cost one write per batch instead of one per line; the timer
  // bounds how long a line waits. It is the handle's own, stopped by close().
  const timer = ownsBatchedDestination(logging.format, logging.destination)
    ? setInterval(() => {
        try {
          flushable.flush?.();
        } catch {
          // Not open yet, or closed: the next tick or close() writes it.
        }
      }, LOG_FLUSH_INTERVAL_MS)
    : undefined;
  timer?.unref();
  const flush = () => {
    try {
      flushable.flushSync?.();
    } catch {
      // Not ready yet (nothing written) or already closed: nothing to flush.
    }
  };
  return {
    logger,
    flush,
    droppedLines: 0,
    close() {
      clearInterval(timer);
      flush();
    },
  };
}

/**
 * pino's `isoTime`, formatted once per millisecond: under load many lines share
 * a millisecond, and `toISOString()` was a visible share of the request path.
 */
function isoTimeCachedPerMillisecond(): () => string {
  let lastMs = -1;
  let lastText = '';
  return () => {
    const now = Date.now();
    if (now !== lastMs) {
      lastMs = now;
      lastText = `,"time":"${new Date(now).toISOString()}"`;
    }
    return lastText;
  };
}

function ownsBatchedDestination(format: 'json' | 'pretty', destination: string | DestinationStream | undefined): boolean {
  return format === 'json' && (destination === undefined || typeof destination === 'string');
}

function createDestination(format: 'json' | 'pretty', destination: string | DestinationStream | undefined): DestinationStream {
  if (format === 'pretty') {
    // Loaded only when asked for: pino-pretty is for humans at a terminal.
    const pretty = require('pino-pretty') as (options: object) => DestinationStream;
    return pretty({ colorize: destination === undefined && process.stdout.isTTY === true, destination: destination ?? 1, sync: true });
  }
  if (destination !== undefined && typeof destination !== 'string') return destination;
  // Asynchronous, batched writes: no sync I/O and no write per line on the
  // request path. What is still buffered is flushed every 250 ms, at shutdown,
  // and by sonic-boom at process exit.
  return pino.destination({ dest: destination ?? 1, sync: false, minLength: LOG_BATCH_BYTES, mkdir: destination !== undefined });
}
