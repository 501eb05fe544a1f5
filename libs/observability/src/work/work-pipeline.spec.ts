import { SpanKind } from '@opentelemetry/api';

import { UnitOfWork, type WorkDriver } from '../context/unit-of-work';
import { type WorkFailure, type WorkHook, WorkPipeline } from './work-pipeline';

const driver: WorkDriver = {
  kind: 'job',
  spanKind: SpanKind.CONSUMER,
  completedMessage: 'job completed',
  carrier: () => undefined,
  carrierGetter: undefined,
  startName: () => 'job',
  startAttributes: () => ({}),
  endSpan: () => undefined,
};

const unit = () => new UnitOfWork(driver, 'req-1', undefined, 'nightly', performance.now(), undefined);

function failure(overrides: Partial<WorkFailure> = {}): WorkFailure {
  return {
    error: new Error('boom'),
    severity: 'server',
    errorType: 'Error',
    message: 'boom',
    unit: undefined,
    status: 500,
    route: '/r',
    origin: undefined,
    reported: true,
    ...overrides,
  };
}

/** A hook that writes `name:step` into `calls` at each step it has. */
function recorder(
  name: string,
  order: number,
  calls: string[],
  steps: ('start' | 'finish' | 'fail')[] = ['start', 'finish', 'fail'],
): WorkHook {
  const hook: { order: number; start?: () => void; finish?: () => void; fail?: () => void } = { order };
  for (const step of steps) hook[step] = () => void calls.push(`${name}:${step}`);
  return hook;
}

describe('WorkPipeline', () => {
  it('runs each step in ascending order, whatever the registration order', () => {
    const calls: string[] = [];
    const pipeline = new WorkPipeline();
    pipeline.register(recorder('errors', 40, calls));
    pipeline.register(recorder('tracing', 10, calls));
    pipeline.register(recorder('logging', 30, calls));
    pipeline.register(recorder('metrics', 20, calls));
    const u = unit();
    pipeline.start(u);
    pipeline.finish(u);
    pipeline.fail(failure({ unit: u }));
    expect(calls).toEqual([
      'tracing:start',
      'metrics:start',
      'logging:start',
      'errors:start',
      'tracing:finish',
      'metrics:finish',
      'logging:finish',
      'errors:finish',
      'tracing:fail',
      'metrics:fail',
      'logging:fail',
      'errors:fail',
    ]);
  });

  it('keeps the registration order between hooks of the same order', () => {
    const calls: string[] = [];
    const pipeline = new WorkPipeline();
    pipeline.register(recorder('red', 20, calls, ['finish']));
    pipeline.register(recorder('tracing', 10, calls, ['finish']));
    pipeline.register(recorder('count', 20, calls, ['finish']));
    pipeline.finish(unit());
    expect(calls).toEqual(['tracing:finish', 'red:finish', 'count:finish']);
  });

  it('calls a hook only at the steps it has', () => {
    const calls: string[] = [];
    const pipeline = new WorkPipeline();
    pipeline.register(recorder('a', 10, calls, ['start']));
    pipeline.register(recorder('b', 20, calls, ['finish']));
    pipeline.register(recorder('c', 30, calls, ['fail']));
    const u = unit();
    pipeline.start(u);
    pipeline.finish(u);
    pipeline.fail(failure());
    expect(calls).toEqual(['a:start', 'b:finish', 'c:fail']);
  });

  it('hands every hook the same unit and the same failure object', () => {
    const seen: unknown[] = [];
    const pipeline = new WorkPipeline();
    pipeline.register({ order: 1, start: (u) => seen.push(u), finish: (u) => seen.push(u), fail: (f) => seen.push(f) });
    const u = unit();
    const f = failure({ unit: u });
    pipeline.start(u);
    pipeline.finish(u);
    pipeline.fail(f);
    expect(seen).toHaveLength(3);
    expect(seen[0]).toBe(u);
    expect(seen[1]).toBe(u);
    expect(seen[2]).toBe(f);
  });

  it('takes a hook registered after units already ran into the next unit', () => {
    const calls: string[] = [];
    const pipeline = new WorkPipeline();
    pipeline.register(recorder('late', 30, calls, ['start']));
    pipeline.start(unit());
    pipeline.register(recorder('early', 10, calls, ['start']));
    pipeline.start(unit());
    expect(calls).toEqual(['late:start', 'early:start', 'late:start']);
  });

  describe('observing', () => {
    it('is false with no hooks, and with only failure hooks', () => {
      const pipeline = new WorkPipeline();
      expect(pipeline.observing).toBe(false);
      pipeline.register({ order: 40, fail: () => undefined });
      expect(pipeline.observing).toBe(false);
    });

    it('is true once a hook observes starts or finishes', () => {
      const onStart = new WorkPipeline();
      onStart.register({ order: 20, start: () => undefined });
      const onFinish = new WorkPipeline();
      onFinish.register({ order: 30, finish: () => undefined });
      expect({ start: onStart.observing, finish: onFinish.observing }).toEqual({ start: true, finish: true });
    });
  });

  describe('fail', () => {
    it('never throws, and still runs the hooks after one that throws', () => {
      const calls: string[] = [];
      const pipeline = new WorkPipeline();
      pipeline.register(recorder('first', 10, calls, ['fail']));
      pipeline.register({
        order: 20,
        fail: () => {
          throw new Error('hook failed');
        },
      });
      pipeline.register({
        order: 25,
        fail: () => {
          // A non-Error throw too.
          throw 'string thrown';
        },
      });
      pipeline.register(recorder('last', 30, calls, ['fail']));
      expect(() => pipeline.fail(failure())).not.toThrow();
      expect(calls).toEqual(['first:fail', 'last:fail']);
    });

    it('does nothing without failure hooks', () => {
      const pipeline = new WorkPipeline();
      pipeline.register({ order: 10, start: () => undefined });
      expect(() => pipeline.fail(failure())).not.toThrow();
    });
  });
});

describe('WorkPipeline.produced', () => {
  it('hands a sent message to the hooks that count messages, and survives one that throws', () => {
    const pipeline = new WorkPipeline();
    const seen: string[] = [];
    pipeline.register({
      order: 20,
      produced: () => {
        throw new Error('metrics broke');
      },
    });
    pipeline.register({ order: 30, produced: (m) => seen.push(`${m.system} ${m.destination} ${m.errorType ?? 'ok'}`) });
    pipeline.register({ order: 10, start: () => seen.push('start') });

    pipeline.produced({ system: 'rabbitmq', destination: 'order.placed', errorType: undefined });

    expect(seen).toEqual(['rabbitmq order.placed ok']);
  });
});
