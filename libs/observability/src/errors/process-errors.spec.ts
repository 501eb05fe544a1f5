import type { ErrorReporter } from '../sdk/sentry';
import { type WorkFailure, WorkPipeline } from '../work/work-pipeline';
import { ProcessErrorHandlers } from './process-errors';

type Listener = (...args: unknown[]) => void;

/** A pipeline with one failure hook that keeps what it got. */
function pipelineWithRecorder() {
  const failures: WorkFailure[] = [];
  const pipeline = new WorkPipeline();
  pipeline.register({ order: 30, fail: (f) => void failures.push(f) });
  return { pipeline, failures };
}

const installed: ProcessErrorHandlers[] = [];
afterEach(() => {
  for (const h of installed.splice(0)) h.uninstall();
});

function handlers(
  pipeline: WorkPipeline,
  reporter?: ErrorReporter,
  flushTimeoutMs = 1_500,
  unhandledRejections: 'throw' | 'warn' = 'warn',
) {
  const h = new ProcessErrorHandlers(pipeline, reporter, flushTimeoutMs, unhandledRejections);
  installed.push(h);
  return h;
}

/** The listeners `action` added to the process for `event`. */
function added(event: 'unhandledRejection' | 'uncaughtException', action: () => void): Listener[] {
  const emitter: NodeJS.EventEmitter = process;
  const before = new Set(emitter.listeners(event));
  action();
  return (emitter.listeners(event) as Listener[]).filter((l) => !before.has(l));
}

const counts = () => ({ rejection: process.listenerCount('unhandledRejection'), exception: process.listenerCount('uncaughtException') });

describe('ProcessErrorHandlers', () => {
  it('installs one listener per event, once however often it is called, and removes them', () => {
    const { pipeline } = pipelineWithRecorder();
    const h = handlers(pipeline);
    const before = counts();
    h.install();
    h.install();
    expect(counts()).toEqual({ rejection: before.rejection + 1, exception: before.exception + 1 });
    h.uninstall();
    h.uninstall();
    expect(counts()).toEqual(before);
    h.install();
    expect(counts()).toEqual({ rejection: before.rejection + 1, exception: before.exception + 1 });
  });

  it("with 'warn': hands an unhandled rejection to the pipeline as a reported server failure, and keeps listening", () => {
    const { pipeline, failures } = pipelineWithRecorder();
    const h = handlers(pipeline);
    const [listener] = added('unhandledRejection', () => h.install());
    const reason = new RangeError('queue closed');
    listener!(reason, Promise.resolve());
    expect(failures).toEqual([
      {
        error: reason,
        severity: 'server',
        errorType: 'RangeError',
        message: 'unhandled promise rejection: queue closed',
        unit: undefined,
        status: undefined,
        route: undefined,
        origin: 'unhandledRejection',
        reported: true,
      },
    ]);
    expect(process.listeners('unhandledRejection')).toContain(listener);
  });

  it('describes a rejection with a non-Error reason by its text and type', () => {
    const { pipeline, failures } = pipelineWithRecorder();
    const h = handlers(pipeline);
    const [listener] = added('unhandledRejection', () => h.install());
    listener!('timeout', Promise.resolve());
    listener!(undefined, Promise.resolve());
    expect(failures.map((f) => [f.errorType, f.message])).toEqual([
      ['string', 'unhandled promise rejection: timeout'],
      ['undefined', 'unhandled promise rejection: undefined'],
    ]);
  });

  it('does not throw out of the rejection listener when a hook throws', () => {
    const pipeline = new WorkPipeline();
    pipeline.register({
      order: 40,
      fail: () => {
        throw new Error('reporter broke');
      },
    });
    const h = handlers(pipeline);
    const [listener] = added('unhandledRejection', () => h.install());
    expect(() => listener!(new Error('x'), Promise.resolve())).not.toThrow();
  });

  it("with 'throw' (the default): on an unhandled rejection, removes itself, fails fatally, and flushes the reporter before rethrowing", () => {
    const { pipeline, failures } = pipelineWithRecorder();
    const closes: number[] = [];
    // The flush never settles here, so the rethrow (which would end the process) never happens.
    const reporter: ErrorReporter = {
      capture: () => undefined,
      close: (timeoutMs) => {
        closes.push(timeoutMs);
        return new Promise<boolean>(() => undefined);
      },
    };
    const h = handlers(pipeline, reporter, 1_500, 'throw');
    const before = counts();
    const [listener] = added('unhandledRejection', () => h.install());
    const reason = new Error('listen EADDRINUSE: address already in use 127.0.0.1:3000');
    listener!(reason, Promise.resolve());
    expect(counts()).toEqual(before);
    expect(failures).toEqual([
      {
        error: reason,
        severity: 'fatal',
        errorType: 'Error',
        message: 'unhandled promise rejection: listen EADDRINUSE: address already in use 127.0.0.1:3000',
        unit: undefined,
        status: undefined,
        route: undefined,
        origin: 'unhandledRejection',
        reported: true,
      },
    ]);
    expect(closes).toEqual([1_500]);
  });

  it("with 'throw': rethrows the rejection's reason outside its handler once the reports are sent", async () => {
    const { pipeline } = pipelineWithRecorder();
    let sent!: (done: boolean) => void;
    const reporter: ErrorReporter = { capture: () => undefined, close: () => new Promise<boolean>((resolve) => (sent = resolve)) };
    // The rethrow would end the process: keep what is scheduled and run it here.
    const scheduled: (() => void)[] = [];
    const spy = jest.spyOn(global, 'setImmediate').mockImplementation(((callback: () => void) => {
      scheduled.push(callback);
      return undefined as unknown as NodeJS.Immediate;
    }) as unknown as typeof setImmediate);
    try {
      const h = handlers(pipeline, reporter, 1_500, 'throw');
      const [listener] = added('unhandledRejection', () => h.install());
      const reason = new Error('listen EADDRINUSE');
      listener!(reason, Promise.resolve());
      await Promise.resolve();
      expect(scheduled).toHaveLength(0);
      sent(true);
      await new Promise((resolve) => setTimeout(resolve, 0));
      expect(scheduled).toHaveLength(1);
      expect(scheduled[0]).toThrow(reason);
    } finally {
      spy.mockRestore();
    }
  });

  it('on an uncaught exception: removes itself, fails fatally, and flushes the reporter within its timeout before rethrowing', () => {
    const { pipeline, failures } = pipelineWithRecorder();
    const closes: number[] = [];
    // The flush never settles here, so the rethrow (which would end the process) never happens.
    const reporter: ErrorReporter = {
      capture: () => undefined,
      close: (timeoutMs) => {
        closes.push(timeoutMs);
        return new Promise<boolean>(() => undefined);
      },
    };
    const h = handlers(pipeline, reporter, 1_500);
    const before = counts();
    const [listener] = added('uncaughtException', () => h.install());
    const error = new TypeError('boom');
    listener!(error, 'uncaughtException');
    expect(counts()).toEqual(before);
    expect(failures).toEqual([
      {
        error,
        severity: 'fatal',
        errorType: 'TypeError',
        message: 'uncaught exception: boom',
        unit: undefined,
        status: undefined,
        route: undefined,
        origin: 'uncaughtException',
        reported: true,
      },
    ]);
    expect(closes).toEqual([1_500]);
  });
});
