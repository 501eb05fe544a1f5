import { randomBytes } from 'node:crypto';

import { context, ROOT_CONTEXT, trace, TraceFlags } from '@opentelemetry/api';

import type { Env } from '../config/env';
import type { LoggingOptions, ObservabilityModuleOptions } from '../config/options.interface';
import { resolveOptions } from '../config/resolve-options';
import { RequestContextService } from '../context/request-context.service';
import { Scrubber } from '../shared/scrubber';
import { type InMemoryTracing, useInMemoryTracing } from '../testing/in-memory-tracing';
import { LogCapture, type LogRecord } from '../testing/log-capture';
import { createPino } from './pino.factory';

let tracing: InMemoryTracing;

beforeAll(() => {
  tracing = useInMemoryTracing();
});

afterEach(() => tracing.reset());

afterAll(() => tracing.shutdown());

/** A real pino logger writing into a LogCapture, built the way the module builds it. */
function setup(
  options: { logging?: Omit<LoggingOptions, 'destination'>; redaction?: ObservabilityModuleOptions['redaction'] } = {},
  env: Env = {},
) {
  const capture = new LogCapture();
  const resolved = resolveOptions(
    { serviceName: 's', logging: { ...options.logging, destination: capture }, redaction: options.redaction },
    env,
  );
  const requestContext = new RequestContextService();
  const handle = createPino(resolved, requestContext, new Scrubber(resolved.redaction));
  return { capture, logger: handle.logger, handle, requestContext };
}

/** The only record captured; fails listing the lines seen otherwise. */
function onlyRecord(capture: LogCapture): LogRecord {
  const records = capture.records;
  if (records.length !== 1) throw new Error(`expected exactly one log line, saw ${records.length}:\n${capture.text() || '(nothing)'}`);
  return records[0]!;
}

describe('createPino', () => {
  it('writes JSON lines with time (ISO), level label, service, environment, version and msg', () => {
    const { capture, logger } = setup();
    logger.info('hello');
    const record = onlyRecord(capture);
    expect(record).toEqual({
      level: 'info',
      time: expect.any(String),
      service: 's',
      environment: 'development',
      version: 'unknown',
      msg: 'hello',
    });
    expect(new Date(record.time as string).toISOString()).toBe(record.time);
  });

  it('takes version and environment from the resolved options', () => {
    const { capture, logger } = setup({}, { SERVICE_VERSION: '1.2.3', DEPLOYMENT_ENVIRONMENT: 'prod' });
    logger.warn('hello');
    expect(onlyRecord(capture)).toMatchObject({ level: 'warn', service: 's', environment: 'prod', version: '1.2.3' });
  });

  it('keeps the fields of a child logger', () => {
    const { capture, logger } = setup();
    logger.child({ context: 'OrdersService' }).info({ orderId: 7 }, 'created');
    expect(onlyRecord(capture)).toMatchObject({ context: 'OrdersService', orderId: 7, msg: 'created' });
  });

  describe('correlation', () => {
    it('adds trace_id and span_id of the active span', () => {
      const { capture, logger } = setup();
      const span = trace.getTracer('test').startActiveSpan('work', (s) => {
        logger.info('inside');
        s.end();
        return s.spanContext();
      });
      const record = onlyRecord(capture);
      expect({ trace_id: record.trace_id, span_id: record.span_id }).toEqual({ trace_id: span.traceId, span_id: span.spanId });
      expect(record).not.toHaveProperty('request_id');
    });

    it('adds the ids of a span made active by hand on a tracer', () => {
      const { capture, logger } = setup();
      const ids = trace.getTracer('spec').startActiveSpan('manual', (span) => {
        logger.info('inside');
        span.end();
        return span.spanContext();
      });
      expect(onlyRecord(capture)).toMatchObject({ trace_id: ids.traceId, span_id: ids.spanId });
    });

    it('adds no trace fields outside a span', () => {
      const { capture, logger } = setup();
      logger.info('outside');
      const record = onlyRecord(capture);
      expect(Object.keys(record).filter((k) => k.endsWith('_id'))).toEqual([]);
    });

    it("adds request_id 'abc' inside requestContext.run", () => {
      const { capture, logger, requestContext } = setup();
      requestContext.run(() => logger.info('in job'), { requestId: 'abc' });
      const record = onlyRecord(capture);
      expect(record.request_id).toBe('abc');
      expect(record).not.toHaveProperty('trace_id');
    });

    it('keeps request_id across an await', async () => {
      const { capture, logger, requestContext } = setup();
      await requestContext.run(
        async () => {
          await new Promise((resolve) => setTimeout(resolve, 1));
          logger.info('later');
        },
        { requestId: 'abc' },
      );
      expect(onlyRecord(capture).request_id).toBe('abc');
    });

    it('adds request_id, trace_id and span_id when the request context rides in the OpenTelemetry context', async () => {
      const { capture, logger, requestContext } = setup();
      requestContext.useOpenTelemetryContext(true);
      const span = await requestContext.run(
        () =>
          trace.getTracer('test').startActiveSpan('job', async (s) => {
            await new Promise((resolve) => setTimeout(resolve, 1));
            logger.info('in traced job');
            s.end();
            return s.spanContext();
          }),
        { requestId: 'abc' },
      );
      expect(onlyRecord(capture)).toMatchObject({ request_id: 'abc', trace_id: span.traceId, span_id: span.spanId });
      // Proof that the state lives in the OpenTelemetry context, not in the service's own AsyncLocalStorage.
      const underRoot = requestContext.run(() => context.with(ROOT_CONTEXT, () => requestContext.requestId), { requestId: 'abc' });
      expect(underRoot).toBeUndefined();
    });
  });

  describe('scrubbing', () => {
    it('scrubs secrets in the logged object and in the message string', () => {
      const { capture, logger } = setup();
      logger.info(
        { user: { email: 'ann@x.io', password: 'hunter2' }, headers: { authorization: 'Bearer abcdef' } },
        'login by ann@x.io with Bearer abc123xyz',
      );
      const record = onlyRecord(capture);
      expect(record).toMatchObject({
        user: { email: '[REDACTED:email]', password: '[REDACTED]' },
        headers: { authorization: '[REDACTED]' },
        msg: 'login by [REDACTED:email] with [REDACTED:credential]',
      });
      expect(capture.text()).not.toMatch(/hunter2|ann@x\.io|abc123xyz/);
    });

    it('scrubs string arguments interpolated into the message', () => {
      const { capture, logger } = setup();
      logger.info('user %s logged in', 'ann@x.io');
      expect(onlyRecord(capture).msg).toBe('user [REDACTED:email] logged in');
    });

    it('scrubs objects interpolated into the message with %j and %o', () => {
      const { capture, logger } = setup();
      logger.info('payload %j', { password: 'hunter2' });
      logger.info('payload %o', { user: { password: 'hunter2' } });
      expect(capture.records).toHaveLength(2);
      expect(capture.text()).not.toContain('hunter2');
    });

    it('scrubs an error logged on its own, in err and in the msg pino takes from it', () => {
      const { capture, logger } = setup();
      logger.error(new Error('lookup failed for ann@x.io'));
      const record = onlyRecord(capture);
      expect(record.err).toMatchObject({ message: 'lookup failed for [REDACTED:email]' });
      expect(record.msg).toBe('lookup failed for [REDACTED:email]');
      expect(capture.text()).not.toContain('ann@x.io');
    });

    it('keeps the error type of a logged error', () => {
      const { capture, logger } = setup();
      logger.error({ err: new TypeError('bad input') }, 'failed');
      expect(onlyRecord(capture).err).toMatchObject({ type: 'TypeError', message: 'bad input' });
    });

    it('writes secrets through untouched when redaction is off', () => {
      const { capture, logger } = setup({ redaction: false });
      logger.info({ password: 'hunter2' }, 'mail ann@x.io');
      expect(onlyRecord(capture)).toMatchObject({ password: 'hunter2', msg: 'mail ann@x.io' });
    });
  });

  describe('ids and secrets in free text', () => {
    const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';

    /** Runs `fn` with a span context of these ids active, as a request's server span would be. */
    function withIds<T>(spanId: string, fn: () => T): T {
      const span = trace.wrapSpanContext({ traceId: TRACE_ID, spanId, traceFlags: TraceFlags.SAMPLED });
      return context.with(trace.setSpan(context.active(), span), fn);
    }

    it("keeps a client's X-Request-ID 4111111111111111 and an all-decimal, Luhn-valid span id on a handler line", () => {
      const { capture, logger, requestContext } = setup();
      requestContext.run(() => withIds('5500005555555559', () => logger.info({ order: 7 }, 'charging')), { requestId: '4111111111111111' });
      expect(onlyRecord(capture)).toMatchObject({
        request_id: '4111111111111111',
        trace_id: TRACE_ID,
        span_id: '5500005555555559',
        order: 7,
        msg: 'charging',
      });
    });

    it('keeps every all-decimal span id and request id of 10,000 handler lines', () => {
      const { capture, logger, requestContext } = setup();
      const count = 10_000;
      const digits = randomBytes(count * 32);
      for (let i = 0; i < digits.length; i++) digits[i] = 48 + (digits[i]! % 10);
      const decimal = (offset: number, length: number) => digits.toString('latin1', offset, offset + length);
      const expected: { span_id: string; request_id: string }[] = [];
      for (let i = 0; i < count; i++) {
        const ids = { span_id: decimal(i * 32, 16), request_id: decimal(i * 32 + 16, 16) };
        expected.push(ids);
        requestContext.run(() => withIds(ids.span_id, () => logger.info('handled')), { requestId: ids.request_id });
      }
      const seen = capture.records.map((r) => ({ span_id: r.span_id, request_id: r.request_id }));
      const changed = seen.filter((ids, i) => ids.span_id !== expected[i]!.span_id || ids.request_id !== expected[i]!.request_id);
      expect({ lines: seen.length, changed: changed.slice(0, 5) }).toEqual({ lines: count, changed: [] });
    });

    it('keeps password=hunter2 of an error message out of err.message, err.stack and msg', () => {
      const { capture, logger } = setup();
      logger.error(new Error('kaboom: db password=hunter2 at 10.0.0.5'));
      logger.error({ err: new Error('kaboom: db password=hunter2 at 10.0.0.5') }, 'query failed');
      const [alone, withMessage] = capture.records;
      const scrubbed = 'kaboom: db password=[REDACTED] at 10.0.0.5';
      expect(alone).toMatchObject({ msg: scrubbed, err: { type: 'Error', message: scrubbed } });
      expect(withMessage).toMatchObject({ msg: 'query failed', err: { type: 'Error', message: scrubbed } });
      for (const record of [alone, withMessage]) expect((record?.err as { stack: string }).stack).toContain(`Error: ${scrubbed}\n    at `);
      expect(capture.text()).not.toContain('hunter2');
    });
  });

  describe('levels', () => {
    it('drops info when LOG_LEVEL is warn and keeps warn and above', () => {
      const { capture, logger } = setup({}, { LOG_LEVEL: 'warn' });
      logger.debug('debug line');
      logger.info('info line');
      logger.warn('warn line');
      logger.error('error line');
      expect(capture.records.map((r) => [r.level, r.msg])).toEqual([
        ['warn', 'warn line'],
        ['error', 'error line'],
      ]);
    });

    it('follows logging.level over LOG_LEVEL', () => {
      const { capture, logger } = setup({ logging: { level: 'debug' } }, { LOG_LEVEL: 'error' });
      logger.debug('debug line');
      expect(onlyRecord(capture)).toMatchObject({ level: 'debug', msg: 'debug line' });
    });

    it('writes nothing at any level when logging is disabled', () => {
      const { capture, logger, handle } = setup({ logging: { enabled: false, level: 'trace' } });
      logger.info('info line');
      logger.error('error line');
      logger.fatal('fatal line');
      handle.flush();
      expect(capture.lines).toEqual([]);
    });
  });
});

describe('LOG_FORMAT=pretty', () => {
  it('writes human-readable lines, not JSON, still scrubbed', () => {
    const { capture, logger } = setup({}, { LOG_FORMAT: 'pretty' });
    logger.info({ user: 'ann@x.io' }, 'signed in');
    expect(capture.lines.length).toBeGreaterThan(0);
    expect(capture.records).toEqual([]);
    const text = capture.text();
    expect(text).toContain('signed in');
    expect(text).toContain('[REDACTED:email]');
    expect(text).not.toContain('ann@x.io');
  });
});
