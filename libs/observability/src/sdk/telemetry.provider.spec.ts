import { trace } from '@opentelemetry/api';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import pino from 'pino';

import { resolveOptions } from '../config/resolve-options';
import { Scrubber } from '../shared/scrubber';
import { LogCapture, type LogRecord } from '../testing/log-capture';
import { getTelemetry, startTelemetry, type Telemetry } from './telemetry';
import { joinTelemetry } from './telemetry.provider';

const ENV = { OTEL_SERVICE_NAME: 'join-spec' };
const OPTIONS = resolveOptions({ serviceName: 'orders', serviceVersion: '3.1.0', environment: 'staging' }, {});

const started: Telemetry[] = [];
let logs: LogCapture;

beforeEach(() => {
  logs = new LogCapture();
});

afterEach(async () => {
  await Promise.all(started.splice(0).map((telemetry) => telemetry.shutdown(1_000)));
  expect(getTelemetry()).toBeUndefined();
});

/** A real pino logger into memory; a stream destination is written synchronously, so lines are there at once. */
function logger(): pino.Logger {
  return pino({ level: 'debug', formatters: { level: (label) => ({ level: label }) } }, logs);
}

function join(options = OPTIONS): Telemetry | undefined {
  const telemetry = joinTelemetry(options, Scrubber.withDefaults(), logger(), ENV);
  if (telemetry) started.push(telemetry);
  return telemetry;
}

function warnings(): LogRecord[] {
  return logs.filter((record) => record.level === 'warn');
}

describe('joinTelemetry', () => {
  it('starts the pipeline itself when the preload did not, with one warning that names the fix', () => {
    const telemetry = join();

    expect(telemetry?.startedBy).toBe('module');
    expect(getTelemetry()).toBe(telemetry);
    // Nothing instrumented was loaded in this test's registry, so the warning names no module.
    expect(telemetry?.loadedBefore.filter((name) => ['pg', 'pg-pool', 'ioredis'].includes(name))).toEqual([]);
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toMatchObject({
      loaded_before: telemetry?.loadedBefore,
      msg:
        'nestjs-observability: the OpenTelemetry pipeline was started late, by ObservabilityModule; ' +
        'outgoing calls made by modules loaded before it may not be traced. ' +
        'Fix: start the application with `node --require nestjs-observability/register dist/main.js` ' +
        "(or make `import 'nestjs-observability/register'` the first line of main.ts).",
    });
  });

  it('joins the preload’s pipeline without a word, settling the identity from the options', () => {
    const preloaded = startTelemetry(ENV, 'preload');
    started.push(preloaded);
    expect(preloaded.identityPending).toBe(true);

    const telemetry = join();

    expect(telemetry).toBe(preloaded);
    expect(preloaded.identityPending).toBe(false);
    expect(warnings()).toEqual([]);
  });

  it('names the modules loaded before the preload, and the same fix', () => {
    let telemetry: Telemetry | undefined;
    jest.isolateModules(() => {
      // pg (which loads pg-pool) in the registry before the pipeline starts, as in an
      // application that imports it first. A registry of its own keeps the other tests free of it.
      jest.requireActual('pg');
      const isolated = jest.requireActual<typeof import('./telemetry.provider')>('./telemetry.provider');
      const preloaded = jest.requireActual<typeof import('./telemetry')>('./telemetry').startTelemetry(ENV, 'preload');
      started.push(preloaded);
      telemetry = isolated.joinTelemetry(OPTIONS, Scrubber.withDefaults(), logger(), ENV);
    });

    expect(telemetry?.loadedBefore).toEqual(expect.arrayContaining(['pg', 'pg-pool']));
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]?.msg).toBe(
      'nestjs-observability: the OpenTelemetry pipeline started after some instrumented modules were loaded; ' +
        'these modules are not instrumented: pg, pg-pool. ' +
        'Fix: start the application with `node --require nestjs-observability/register dist/main.js` ' +
        "(or make `import 'nestjs-observability/register'` the first line of main.ts).",
    );
  });

  it('leaves a tracer provider registered by someone else alone', () => {
    const foreign = new BasicTracerProvider();
    trace.setGlobalTracerProvider(foreign);
    try {
      expect(join()).toBeUndefined();
      expect(getTelemetry()).toBeUndefined();
      expect(logs.filter((record) => record.level === 'debug').map((record) => record.msg)).toEqual([
        'nestjs-observability: a tracer provider is already registered; the module uses it as it is',
      ]);
    } finally {
      trace.disable();
    }
  });

  it('starts nothing when tracing is off in the options', () => {
    expect(join(resolveOptions({ tracing: false }, {}))).toBeUndefined();
    expect(getTelemetry()).toBeUndefined();
    expect(logs.lines).toEqual([]);
  });
});
