import { context, type SpanContext, SpanKind, trace, TraceFlags } from '@opentelemetry/api';

import { resolveOptions } from '../config/resolve-options';
import { RequestContextService } from '../context/request-context.service';
import { UnitOfWork, type WorkDriver } from '../context/unit-of-work';
import { Scrubber } from '../shared/scrubber';
import { type InMemoryTracing, useInMemoryTracing } from '../testing/in-memory-tracing';
import { LogCapture, type LogRecord } from '../testing/log-capture';
import type { LogHandle } from '../work/work.constants';
import type { WorkFailure } from '../work/work-pipeline';
import { ErrorLineHook, RequestLineHook } from './logging-work.hook';
import { createPino } from './pino.factory';

let tracing: InMemoryTracing;
beforeAll(() => {
  tracing = useInMemoryTracing();
});
afterAll(() => tracing.shutdown());

/** The application's real pino logger, as the module builds it, writing into a LogCapture. */
function setup() {
  const capture = new LogCapture();
  const resolved = resolveOptions({ serviceName: 'orders', logging: { destination: capture, level: 'trace' } }, {});
  const requestContext = new RequestContextService();
  requestContext.useOpenTelemetryContext(true);
  const handle = createPino(resolved, requestContext, new Scrubber(resolved.redaction));
  return { capture, handle, requestContext };
}

/** The only record captured; fails listing the lines seen otherwise. */
function onlyRecord(capture: LogCapture): LogRecord {
  const records = capture.records;
  if (records.length !== 1) throw new Error(`expected exactly one log line, saw ${records.length}:\n${capture.text() || '(nothing)'}`);
  return records[0]!;
}

const driver: WorkDriver = {
  kind: 'http',
  spanKind: SpanKind.SERVER,
  completedMessage: 'request completed',
  carrier: () => undefined,
  carrierGetter: undefined,
  startName: () => 'GET',
  startAttributes: () => ({}),
  endSpan: () => undefined,
};

const SPAN: SpanContext = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: TraceFlags.SAMPLED };

function finishedUnit(
  fields: Partial<Pick<UnitOfWork, 'route' | 'status' | 'durationMs' | 'aborted' | 'spanContext'>> = {},
  d: WorkDriver = driver,
): UnitOfWork {
  const unit = new UnitOfWork(d, 'req-42', 'GET', '/users/7', performance.now(), undefined);
  Object.assign(unit, { route: '/users/:id', status: 200, durationMs: 12.345678, ...fields });
  return unit;
}

describe('RequestLineHook', () => {
  it('runs after tracing and metrics (order 30)', () => {
    expect(new RequestLineHook(setup().handle).order).toBe(30);
  });

  it('writes one info line with the ids, method, route, path, status and duration rounded to the microsecond', () => {
    const { capture, handle } = setup();
    new RequestLineHook(handle).finish(finishedUnit({ spanContext: SPAN }));
    expect(onlyRecord(capture)).toEqual({
      level: 'info',
      time: expect.any(String),
      service: 'orders',
      environment: 'development',
      version: 'unknown',
      msg: 'request completed',
      request_id: 'req-42',
      trace_id: SPAN.traceId,
      span_id: SPAN.spanId,
      method: 'GET',
      route: '/users/:id',
      path: '/users/7',
      status: 200,
      duration_ms: 12.346,
    });
  });

  it('takes the ids from the unit, not from whatever span is active when it is written', () => {
    const { capture, handle, requestContext } = setup();
    const other = trace.getTracer('spec').startSpan('other');
    const run = () => new RequestLineHook(handle).finish(finishedUnit({ spanContext: SPAN }));
    requestContext.run(() => context.with(trace.setSpan(context.active(), other), run), { requestId: 'outer-request' });
    other.end();
    const record = onlyRecord(capture);
    expect({ request_id: record.request_id, trace_id: record.trace_id, span_id: record.span_id }).toEqual({
      request_id: 'req-42',
      trace_id: SPAN.traceId,
      span_id: SPAN.spanId,
    });
  });

  it('writes no trace fields for an untraced unit, and no route for an unmatched one', () => {
    const { capture, handle } = setup();
    new RequestLineHook(handle).finish(finishedUnit({ route: undefined, status: 404 }));
    const record = onlyRecord(capture);
    expect(Object.keys(record).filter((k) => ['trace_id', 'span_id', 'route', 'aborted'].includes(k))).toEqual([]);
    expect(record).toMatchObject({ request_id: 'req-42', status: 404, path: '/users/7' });
  });

  it('marks a unit the client abandoned', () => {
    const { capture, handle } = setup();
    new RequestLineHook(handle).finish(finishedUnit({ aborted: true }));
    expect(onlyRecord(capture).aborted).toBe(true);
  });

  it("uses the driver's completion message", () => {
    const { capture, handle } = setup();
    new RequestLineHook(handle).finish(finishedUnit({}, { ...driver, kind: 'job', completedMessage: 'job completed' }));
    expect(onlyRecord(capture).msg).toBe('job completed');
  });
});

describe('ErrorLineHook', () => {
  const failure = (overrides: Partial<WorkFailure>): WorkFailure => ({
    error: new TypeError('cannot read id'),
    severity: 'server',
    errorType: 'TypeError',
    message: 'cannot read id',
    unit: undefined,
    status: 500,
    route: '/users/:id',
    origin: undefined,
    reported: true,
    ...overrides,
  });

  it('runs with the logging pillar (order 30)', () => {
    expect(new ErrorLineHook(setup().handle).order).toBe(30);
  });

  it('writes a warn line without the stack for an unreported client error', () => {
    const { capture, handle } = setup();
    new ErrorLineHook(handle).fail(
      failure({ severity: 'client', reported: false, status: 404, errorType: 'NotFoundException', message: 'Cannot GET /x' }),
    );
    const record = onlyRecord(capture);
    expect(record).toMatchObject({
      level: 'warn',
      msg: 'Cannot GET /x',
      status: 404,
      route: '/users/:id',
      error_type: 'NotFoundException',
    });
    expect(record).not.toHaveProperty('err');
    expect(record).not.toHaveProperty('messages');
  });

  it("writes the messages the client's body gave on the warn line, scrubbed", () => {
    const { capture, handle } = setup();
    new ErrorLineHook(handle).fail(
      failure({
        severity: 'client',
        reported: false,
        status: 400,
        errorType: 'BadRequestException',
        message: 'Bad Request Exception',
        details: ['name must be a string', 'email must be an email, not ann@x.io'],
      }),
    );
    const record = onlyRecord(capture);
    expect(record).toMatchObject({
      level: 'warn',
      msg: 'Bad Request Exception',
      status: 400,
      error_type: 'BadRequestException',
      messages: ['name must be a string', 'email must be an email, not [REDACTED:email]'],
    });
    expect(capture.text()).not.toContain('ann@x.io');
  });

  it('writes an error line with the error, status, route and type for a reported failure', () => {
    const { capture, handle } = setup();
    new ErrorLineHook(handle).fail(failure({}));
    const record = onlyRecord(capture);
    expect(record).toMatchObject({ level: 'error', msg: 'cannot read id', status: 500, route: '/users/:id', error_type: 'TypeError' });
    expect(record.err).toMatchObject({
      type: 'TypeError',
      message: 'cannot read id',
      stack: expect.stringContaining('TypeError: cannot read id'),
    });
  });

  it('writes an error line for a reported client error too', () => {
    const { capture, handle } = setup();
    new ErrorLineHook(handle).fail(failure({ severity: 'client', status: 409, errorType: 'ConflictException', error: new Error('taken') }));
    expect(onlyRecord(capture)).toMatchObject({ level: 'error', status: 409, err: { message: 'taken' } });
  });

  it('writes an error line with the error only for a failure from outside any handler', () => {
    const { capture, handle } = setup();
    new ErrorLineHook(handle).fail(
      failure({
        origin: 'unhandledRejection',
        status: undefined,
        route: undefined,
        message: 'unhandled promise rejection: cannot read id',
      }),
    );
    const record = onlyRecord(capture);
    expect(record).toMatchObject({ level: 'error', msg: 'unhandled promise rejection: cannot read id', err: { type: 'TypeError' } });
    expect(Object.keys(record).filter((k) => ['status', 'route', 'error_type'].includes(k))).toEqual([]);
  });

  it('writes a fatal line and flushes right after it', () => {
    const { capture, handle } = setup();
    const linesAtFlush: number[] = [];
    const counted: LogHandle = {
      logger: handle.logger,
      droppedLines: 0,
      flush: () => {
        linesAtFlush.push(capture.lines.length);
        handle.flush();
      },
      close: () => handle.close(),
    };
    new ErrorLineHook(counted).fail(
      failure({ severity: 'fatal', origin: 'uncaughtException', message: 'uncaught exception: cannot read id' }),
    );
    expect(onlyRecord(capture)).toMatchObject({
      level: 'fatal',
      msg: 'uncaught exception: cannot read id',
      err: { message: 'cannot read id' },
    });
    expect(linesAtFlush).toEqual([1]);
  });

  it('does not flush for other failures', () => {
    const { handle } = setup();
    let flushes = 0;
    const counted: LogHandle = { logger: handle.logger, flush: () => void flushes++, close: async () => undefined, droppedLines: 0 };
    const hook = new ErrorLineHook(counted);
    hook.fail(failure({}));
    hook.fail(failure({ origin: 'unhandledRejection' }));
    hook.fail(failure({ severity: 'client', reported: false, status: 400 }));
    expect(flushes).toBe(0);
  });

  it("carries the failing unit's request and trace ids from its context", () => {
    const { capture, handle, requestContext } = setup();
    const ids = requestContext.run(
      () =>
        trace.getTracer('spec').startActiveSpan('GET', (span) => {
          new ErrorLineHook(handle).fail(failure({}));
          span.end();
          return span.spanContext();
        }),
      { requestId: 'req-9' },
    );
    expect(onlyRecord(capture)).toMatchObject({ request_id: 'req-9', trace_id: ids.traceId, span_id: ids.spanId });
  });

  it('scrubs the error message and stack', () => {
    const { capture, handle } = setup();
    new ErrorLineHook(handle).fail(failure({ error: new Error('no user jane@example.com'), message: 'no user jane@example.com' }));
    expect(capture.text()).not.toContain('jane@example.com');
    expect(onlyRecord(capture).msg).toBe('no user [REDACTED:email]');
  });
});

describe("a unit's own fields (a message's pattern, a job's id, queue and attempt)", () => {
  const jobDriver: WorkDriver = { ...driver, kind: 'job', spanKind: SpanKind.CONSUMER, completedMessage: 'job completed' };

  it('are on every line written inside the unit, with its ids', () => {
    const { capture, handle, requestContext } = setup();
    const unit = new UnitOfWork(jobDriver, 'req-7', undefined, 'emails', performance.now(), undefined);
    unit.fields = { job_id: '12', queue: 'emails', attempt: 2 };

    requestContext.enter(unit, () => handle.logger.info('sending'));

    expect(onlyRecord(capture)).toMatchObject({ msg: 'sending', request_id: 'req-7', job_id: '12', queue: 'emails', attempt: 2 });
  });

  it('are on its completion line', () => {
    const { capture, handle } = setup();
    const unit = finishedUnit({ spanContext: SPAN }, jobDriver);
    unit.fields = { job_id: '12', queue: 'emails', attempt: 2 };

    new RequestLineHook(handle).finish(unit);

    expect(onlyRecord(capture)).toMatchObject({
      msg: 'job completed',
      request_id: 'req-42',
      trace_id: SPAN.traceId,
      job_id: '12',
      attempt: 2,
    });
  });
});
