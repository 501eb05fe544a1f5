import { isSpanContextValid, trace } from '@opentelemetry/api';

import { fillProcessSlot, readProcessSlot, releaseProcessSlot } from './process-slot';
import { getTelemetry, startTelemetry, type Telemetry } from './telemetry';

const started: Telemetry[] = [];

afterEach(async () => {
  await Promise.all(started.splice(0).map((telemetry) => telemetry.shutdown(1_000)));
  expect(getTelemetry()).toBeUndefined();
});

function start(startedBy: 'preload' | 'module' = 'preload'): Telemetry {
  const telemetry = startTelemetry({ OTEL_SERVICE_NAME: 'slot-spec', SERVICE_VERSION: '1', DEPLOYMENT_ENVIRONMENT: 'test' }, startedBy);
  started.push(telemetry);
  return telemetry;
}

describe('the process slot', () => {
  it('holds one pipeline: a second start returns the running one, as it was started', () => {
    const first = start('preload');

    const second = start('module');

    expect(second).toBe(first);
    expect(second.startedBy).toBe('preload');
    expect(getTelemetry()).toBe(first);
  });

  it('is freed by shutdown, so that the next start makes a new pipeline', async () => {
    const first = start();
    await first.shutdown(1_000);

    expect(getTelemetry()).toBeUndefined();
    expect(isSpanContextValid(trace.getTracer('spec').startSpan('between').spanContext())).toBe(false);
    const next = start();
    expect(next).not.toBe(first);
    expect(getTelemetry()).toBe(next);
    expect(isSpanContextValid(trace.getTracer('spec').startSpan('after').spanContext())).toBe(true);
  });

  it('does not start on a bad environment, and stays empty', () => {
    expect(() => startTelemetry({ OTEL_TRACES_SAMPLER: 'sometimes' })).toThrow('Invalid OTEL_TRACES_SAMPLER: "sometimes".');
    expect(getTelemetry()).toBeUndefined();
  });

  it('is shared by every copy of the library in the process (a bundle, a test registry)', () => {
    const first = start();
    let fromOtherCopy: Telemetry | undefined;
    jest.isolateModules(() => {
      // A fresh registry loads the sdk files a second time, as a second copy of the package would.
      const copy = jest.requireActual<typeof import('./telemetry')>('./telemetry');
      fromOtherCopy = copy.startTelemetry({}, 'module');
    });

    expect(fromOtherCopy).toBe(first);
  });

  it('is released only by the pipeline that holds it', () => {
    const holder = start();
    const stranger = { ...holder };

    releaseProcessSlot(stranger);
    expect(readProcessSlot()).toBe(holder);

    releaseProcessSlot(holder);
    expect(readProcessSlot()).toBeUndefined();
    // Put back so that afterEach's shutdown finds the process as the pipeline left it.
    fillProcessSlot(holder);
  });
});
