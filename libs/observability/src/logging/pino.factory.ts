import { context, isSpanContextValid, trace } from '@opentelemetry/api';
import pino, { type DestinationStream, type LoggerOptions } from 'pino';

import type { ResolvedObservabilityOptions } from '../config/options.interface';
import type { RequestContextService } from '../context/request-context.service';
import type { Scrubber } from '../shared/scrubber';
import type { LogHandle } from '../work/work.constants';
import { BoundedDestination, type BoundedDestinationOptions } from './bounded-destination';

/**
 * Marks a record the library built from values it already scrubbed (the request
 * line): the log formatter passes it through. A symbol, so pino never prints it.
 * @internal
 */
export const PRE_SCRUBBED = Symbol('nestjs-observability.pre-scrubbed');

/** A pino logger and what must be flushed when the application stops. */
export type PinoHandle = LogHandle;

/** How long `close()` waits for buffered lines when no timeout is given. */
const LOG_CLOSE_TIMEOUT_MS = 2_000;

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
      const unit = requestContext.state();
      const requestId = unit?.requestId;
      const fields = unit?.fields;
      if (spanContext && isSpanContextValid(spanContext)) {
        const ids = { trace_id: spanContext.traceId, span_id: spanContext.spanId, request_id: requestId };
        return fields === undefined ? ids : Object.assign(ids, fields);
      }
      if (requestId === undefined) return {};
      return fields === undefined ? { request_id: requestId } : { request_id: requestId, ...fields };
    },
  };

  const { format, destination } = logging;
  if (format === 'pretty') return streamHandle(loggerOptions, prettyDestination(destination));
  if (destination === undefined || typeof destination === 'string') return boundedHandle(loggerOptions, destination);
  return streamHandle(loggerOptions, destination);
}

/** Pretty output and a stream the user gave: written as they write, flushed with their `flushSync`, if any. */
function streamHandle(loggerOptions: LoggerOptions, destination: DestinationStream): PinoHandle {
  const flushable = destination as { flushSync?: () => void };
  const flush = () => {
    try {
      flushable.flushSync?.();
    } catch {
      // Not ready yet (nothing written) or already closed: nothing to flush.
    }
  };
  return { logger: pino(loggerOptions, destination), flush, droppedLines: 0, close: () => Promise.resolve(flush()) };
}

/**
 * JSON to standard output or a file: a {@link BoundedDestination} (asynchronous
 * batched writes of whole lines, a capped buffer, a close that gives up in time),
 * whose one warning per stall goes through the logger, with the service's fields.
 */
function boundedHandle(loggerOptions: LoggerOptions, path: string | undefined): PinoHandle {
  const options: BoundedDestinationOptions = {
    onDropped: (dropped, total) =>
      logger.warn(
        { dropped_lines: dropped, dropped_lines_total: total },
        `nestjs-observability: the log output stalled; ${dropped} lines were dropped while its buffer was full (lines below warn first)`,
      ),
    onError: (error) =>
      process.emitWarning(`nestjs-observability: log lines can no longer be written (${error.message}); they are dropped and counted`),
  };
  const destination = path === undefined ? BoundedDestination.stdout(options) : BoundedDestination.file(path, options);
  const logger = pino(loggerOptions, destination);
  return {
    logger,
    flush: () => destination.flushSync(),
    close: (timeoutMs = LOG_CLOSE_TIMEOUT_MS) => destination.close(timeoutMs),
    get droppedLines() {
      return destination.droppedLines;
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

function prettyDestination(destination: string | DestinationStream | undefined): DestinationStream {
  // Loaded only when asked for: pino-pretty is for humans at a terminal.
  const pretty = require('pino-pretty') as (options: object) => DestinationStream;
  return pretty({ colorize: destination === undefined && process.stdout.isTTY === true, destination: destination ?? 1, sync: true });
}
