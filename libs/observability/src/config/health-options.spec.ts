import { ObservabilityConfigError } from '../shared/observability.errors';
import type { HealthIndicator } from './health-indicator.interface';
import { checkIndicator, resolveHealthOptions } from './health-options';
import type { HealthOptions } from './options.interface';

/** Options a JavaScript caller or a bad config file could pass. */
const untyped = (options: Record<string, unknown>) => options as HealthOptions;
const indicator = (name: string): HealthIndicator => ({ name, check: () => true });

describe('resolveHealthOptions', () => {
  it('fills every field when neither options nor env say anything', () => {
    expect(resolveHealthOptions(undefined, {})).toEqual({
      enabled: true,
      path: '/health',
      livePath: '/health/live',
      readyPath: '/health/ready',
      timeoutMs: 1000,
      indicators: [],
      details: 'authorized',
      token: undefined,
      port: undefined,
      host: '0.0.0.0',
      shutdown: { enabled: true, drainDelayMs: 5000, timeoutMs: 10000 },
    });
  });

  it('treats true and {} like no options, and false as switched off', () => {
    expect(resolveHealthOptions(true, {})).toEqual(resolveHealthOptions(undefined, {}));
    expect(resolveHealthOptions({}, {})).toEqual(resolveHealthOptions(undefined, {}));
    expect(resolveHealthOptions(false, {})).toMatchObject({ enabled: false, shutdown: { enabled: true } });
    expect(resolveHealthOptions({ shutdown: false }, {}).shutdown).toEqual({ enabled: false, drainDelayMs: 5000, timeoutMs: 10000 });
  });

  it('keeps what was given', () => {
    const indicators = [indicator('db'), indicator('cache')];
    expect(
      resolveHealthOptions(
        {
          path: '/healthz',
          livePath: '/livez',
          readyPath: '/readyz',
          timeoutMs: 250,
          indicators,
          details: 'authorized',
          token: 's3cret',
          port: 0,
          host: '127.0.0.1',
          shutdown: { drainDelayMs: 0, timeoutMs: 3000 },
        },
        {},
      ),
    ).toEqual({
      enabled: true,
      path: '/healthz',
      livePath: '/livez',
      readyPath: '/readyz',
      timeoutMs: 250,
      indicators,
      details: 'authorized',
      token: 's3cret',
      port: 0,
      host: '127.0.0.1',
      shutdown: { enabled: true, drainDelayMs: 0, timeoutMs: 3000 },
    });
  });

  it('reads the token, the drain delay and the shutdown timeout from env, and lets options win', () => {
    const env = { HEALTH_DETAILS_TOKEN: 'from-env', SHUTDOWN_DRAIN_DELAY_MS: '1500', SHUTDOWN_TIMEOUT_MS: '4000' };
    const fromEnv = resolveHealthOptions({ details: 'authorized' }, env);
    expect([fromEnv.token, fromEnv.shutdown]).toEqual(['from-env', { enabled: true, drainDelayMs: 1500, timeoutMs: 4000 }]);
    const explicit = resolveHealthOptions({ token: 'given', shutdown: { drainDelayMs: 10, timeoutMs: 20 } }, env);
    expect([explicit.token, explicit.shutdown]).toEqual(['given', { enabled: true, drainDelayMs: 10, timeoutMs: 20 }]);
  });

  it("keeps details from the application port by default: 'authorized', with neither a token nor an internal port", () => {
    // Nobody sees details until a token or health.port is set: the secure default needs no setting to start.
    expect(resolveHealthOptions({}, {})).toMatchObject({ details: 'authorized', token: undefined, port: undefined });
    expect(resolveHealthOptions({ details: 'authorized' }, {})).toMatchObject({ details: 'authorized', token: undefined, port: undefined });
    expect(resolveHealthOptions({}, { HEALTH_DETAILS_TOKEN: 'from-env' })).toMatchObject({ details: 'authorized', token: 'from-env' });
    expect(resolveHealthOptions({ details: 'always' }, {}).details).toBe('always');
  });

  it('gives each call its own indicators array', () => {
    const given = [indicator('db')];
    const resolved = resolveHealthOptions({ indicators: given }, {});
    resolved.indicators.push(indicator('other'));
    expect(given).toHaveLength(1);
  });

  describe('invalid values, each named with the value and what is accepted', () => {
    it.each([
      [
        { path: 'health' },
        'Invalid health.path: "health". Expected a path starting with "/" (letters, digits, ".", "_", "-", "/"; no trailing "/").',
      ],
      [
        { readyPath: '/health/ready/' },
        'Invalid health.readyPath: "/health/ready/". Expected a path starting with "/" (letters, digits, ".", "_", "-", "/"; no trailing "/").',
      ],
      [{ livePath: '/health' }, 'Invalid health.livePath: "/health". Expected a path other than health.path ("/health").'],
      [
        { readyPath: '/health/live' },
        'Invalid health.readyPath: "/health/live". Expected a path other than health.path ("/health") and health.livePath ("/health/live").',
      ],
      [{ timeoutMs: 0 }, 'Invalid health.timeoutMs: 0. Expected a whole number of milliseconds, at least 1.'],
      [{ timeoutMs: 1.5 }, 'Invalid health.timeoutMs: 1.5. Expected a whole number of milliseconds, at least 1.'],
      [{ details: 'public' }, 'Invalid health.details: "public". Expected one of always, authorized, never.'],
      [{ token: '' }, 'Invalid health.token: "[given]". Expected a non-empty string.'],
      [{ port: 70000 }, 'Invalid health.port: 70000. Expected a port number from 0 to 65535.'],
      [{ host: ' ' }, 'Invalid health.host: " ". Expected a non-empty host name or address.'],
      [
        { shutdown: { drainDelayMs: -1 } },
        'Invalid health.shutdown.drainDelayMs: -1. Expected a whole number of milliseconds, at least 0.',
      ],
      [{ shutdown: { timeoutMs: 0 } }, 'Invalid health.shutdown.timeoutMs: 0. Expected a whole number of milliseconds, at least 1.'],
      [
        { shutdown: { drainDelayMs: 10000 } },
        'Invalid health.shutdown.drainDelayMs: 10000. Expected fewer milliseconds than the shutdown timeout (10000).',
      ],
      [
        { shutdown: { timeoutMs: 3000 } },
        'Invalid health.shutdown.timeoutMs: 3000. Expected more milliseconds than the drain delay (5000).',
      ],
      [{ shutdown: 'yes' }, 'Invalid health.shutdown: "yes". Expected true, false or an options object.'],
      [
        { pathz: '/x' },
        'Invalid health.pathz: "/x". Expected one of the options enabled, path, livePath, readyPath, timeoutMs, indicators, details, token, port, host, shutdown.',
      ],
      [{ shutdown: { drain: 1 } }, 'Invalid health.shutdown.drain: 1. Expected one of the options enabled, drainDelayMs, timeoutMs.'],
      [{ enabled: 'no' }, 'Invalid health.enabled: "no". Expected true or false.'],
      [{ indicators: {} }, 'Invalid health.indicators: {}. Expected an array of health indicators.'],
      [
        { indicators: [{ name: 'a b', check: () => true }] },
        'Invalid health.indicators[0].name: "a b". Expected a name of 1-64 letters, digits, "_", "-" or ".".',
      ],
      [
        { indicators: [{ name: 'db' }] },
        'Invalid health.indicators[0].check: undefined. Expected a function (use a built-in indicator or implement HealthIndicator).',
      ],
      [
        { indicators: [indicator('db'), indicator('db')] },
        'Invalid health.indicators[1].name: "db". Expected a name no other indicator has.',
      ],
    ])('rejects %j', (options, message) => {
      const resolve = () => resolveHealthOptions(untyped(options), {});
      expect(resolve).toThrow(ObservabilityConfigError);
      expect(resolve).toThrow(
        `${message} Fix the "${message.slice(8, message.indexOf(':'))}" option passed to ObservabilityModule.forRoot().`,
      );
    });

    it.each([
      [
        { SHUTDOWN_DRAIN_DELAY_MS: 'soon' },
        'Invalid SHUTDOWN_DRAIN_DELAY_MS: "soon". Expected a whole number of milliseconds, at least 0.',
      ],
      [{ SHUTDOWN_TIMEOUT_MS: '1e4' }, 'Invalid SHUTDOWN_TIMEOUT_MS: "1e4". Expected a whole number of milliseconds, at least 1.'],
      [
        { SHUTDOWN_DRAIN_DELAY_MS: '12000' },
        'Invalid SHUTDOWN_DRAIN_DELAY_MS: "12000". Expected fewer milliseconds than the shutdown timeout (10000).',
      ],
      [{ SHUTDOWN_TIMEOUT_MS: '2000' }, 'Invalid SHUTDOWN_TIMEOUT_MS: "2000". Expected more milliseconds than the drain delay (5000).'],
    ])('rejects the environment %j, naming the variable', (env, message) => {
      const name = Object.keys(env)[0];
      expect(() => resolveHealthOptions({}, env)).toThrow(`${message} Fix or unset the environment variable ${name}.`);
    });

    it('never shows the token it rejects', () => {
      expect(() => resolveHealthOptions(untyped({ token: 42 }), {})).toThrow('Invalid health.token: "[given]".');
    });
  });
});

describe('checkIndicator', () => {
  const register = 'passed to HealthService.register().';

  it('returns a valid indicator as it is, with or without its own timeout', () => {
    const db = { name: 'db', check: () => true };
    const slow = { name: 'slow', timeoutMs: 5000, check: () => true, extra: 'a field of the class' };
    expect([checkIndicator(db, 'indicator'), checkIndicator(slow, 'indicator')]).toEqual([db, slow]);
  });

  it('names the option path when it checks health.indicators', () => {
    expect(() => checkIndicator({ name: 'db', check: () => true, timeoutMs: 0 }, 'health.indicators[2]')).toThrow(
      'Invalid health.indicators[2].timeoutMs: 0. Expected a whole number of milliseconds, at least 1. ' +
        'Fix the "health.indicators[2].timeoutMs" option passed to ObservabilityModule.forRoot().',
    );
  });

  it.each<[string, unknown, string]>([
    [
      'a name with a space',
      { name: 'a b', check: () => true },
      `Invalid indicator.name: "a b". Expected a name of 1-64 letters, digits, "_", "-" or ".". Fix the "indicator.name" argument ${register}`,
    ],
    [
      'no indicator at all',
      undefined,
      `Invalid indicator.name: undefined. Expected a name of 1-64 letters, digits, "_", "-" or ".". Fix the "indicator.name" argument ${register}`,
    ],
    [
      'no check',
      { name: 'db' },
      `Invalid indicator.check: undefined. Expected a function (use a built-in indicator or implement HealthIndicator). Fix the "indicator.check" argument ${register}`,
    ],
    [
      'a fractional timeout',
      { name: 'db', check: () => true, timeoutMs: 1.5 },
      `Invalid indicator.timeoutMs: 1.5. Expected a whole number of milliseconds, at least 1. Fix the "indicator.timeoutMs" argument ${register}`,
    ],
  ])('rejects %s given to HealthService.register(), naming the argument and the method', (_case, value, message) => {
    const check = () => checkIndicator(value, 'indicator', 'HealthService.register()');
    expect(check).toThrow(ObservabilityConfigError);
    expect(check).toThrow(message);
  });
});
