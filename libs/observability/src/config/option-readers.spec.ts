import { ObservabilityConfigError } from '../shared/observability.errors';
import {
  closestKey,
  envWholeNumber,
  flag,
  optionKeys,
  optionObject,
  pickEnum,
  port,
  rejectUnknownKeys,
  section,
  text,
  urlPath,
  wholeNumber,
} from './option-readers';

const forRoot = (path: string) => `Fix the "${path}" option passed to ObservabilityModule.forRoot().`;
const rejected = 'Unknown options are rejected, not ignored, so that a typo cannot leave a setting at its default.';

describe('option readers', () => {
  describe('closestKey', () => {
    it.each([
      ['levl', ['enabled', 'level', 'format'], 'level'],
      ['serviceNmae', ['serviceName', 'serviceVersion'], 'serviceName'],
      ['LEVEL', ['enabled', 'level'], 'level'],
      ['timeout', ['timeoutMs', 'token'], 'timeoutMs'],
      ['pth', ['path', 'port', 'host'], 'path'],
    ])('offers %s → the near miss among %j', (key, known, meant) => {
      expect(closestKey(key, known)).toBe(meant);
    });

    it.each([
      ['host', ['port']],
      ['colour', ['enabled', 'level', 'format', 'requestLog', 'destination']],
      ['drain', ['enabled', 'drainDelayMs', 'timeoutMs']],
      ['OTEL_SERVICE_NAME', ['serviceName', 'serviceVersion', 'environment']],
    ])('offers nothing for %s among %j: too far to be a typo', (key, known) => {
      expect(closestKey(key, known)).toBeUndefined();
    });
  });

  describe('rejectUnknownKeys', () => {
    it('passes an object of known keys', () => {
      expect(() => rejectUnknownKeys({ level: 'info' }, 'logging', ['level'])).not.toThrow();
    });

    it('names the full path, the value, the keys accepted and the near miss', () => {
      expect(() => rejectUnknownKeys({ level: 'info', frmat: 'json' }, 'logging', ['level', 'format'])).toThrow(
        `Invalid logging.frmat: "json". Expected one of the options level, format. ${forRoot('logging.frmat')} Did you mean logging.format? ${rejected}`,
      );
    });

    it('names a top-level key without a leading dot', () => {
      expect(() => rejectUnknownKeys({ servicename: 'x' }, '', ['serviceName'])).toThrow(
        `Invalid servicename: "x". Expected one of the options serviceName. ${forRoot('servicename')} Did you mean serviceName? ${rejected}`,
      );
    });

    it('prints secret values as "[given]": in a secret section, and for keys that look like credentials', () => {
      expect(() => rejectUnknownKeys({ user: 'admin' }, 'metrics.auth', ['username', 'password'], true)).toThrow(
        'Invalid metrics.auth.user: "[given]".',
      );
      expect(() => rejectUnknownKeys({ apiToken: 'abc' }, 'health', ['path'])).toThrow('Invalid health.apiToken: "[given]".');
      expect(() => rejectUnknownKeys({ tokn: 'abc' }, 'health', ['token'])).toThrow('Invalid health.tokn: "[given]".');
    });
  });

  describe('section', () => {
    it('turns undefined and true into {}, false into { enabled: false }, and keeps an object', () => {
      const given = { enabled: true };
      expect([section(undefined, 's', []), section(true, 's', []), section(false, 's', []), section(given, 's', ['enabled'])]).toEqual([
        {},
        {},
        { enabled: false },
        given,
      ]);
    });

    it.each([['yes'], [null], [[]], [1]])('rejects %j', (value) => {
      expect(() => section(value as never, 'tracing', ['enabled'])).toThrow(
        `Invalid tracing: ${JSON.stringify(value)}. Expected true, false or an options object. ${forRoot('tracing')}`,
      );
    });

    it('rejects an unknown key of the object', () => {
      expect(() => section({ enable: true } as never, 'tracing', ['enabled'])).toThrow('Did you mean tracing.enabled?');
    });
  });

  describe('optionObject', () => {
    it('rejects what is not an object with the shape that would be accepted, hiding a secret', () => {
      expect(() => optionObject('s3cret', 'metrics.auth', ['bearerToken'], '{ bearerToken }', true)).toThrow(
        'Invalid metrics.auth: "[given]". Expected { bearerToken }.',
      );
    });
  });

  describe('scalars', () => {
    it('reads flags, with true as the default', () => {
      expect([flag(undefined, 'a'), flag(false, 'a'), flag(undefined, 'a', false)]).toEqual([true, false, false]);
      expect(() => flag('no' as never, 'logging.enabled')).toThrow('Invalid logging.enabled: "no". Expected true or false.');
    });

    it('reads non-blank text, hiding a secret when it rejects it', () => {
      expect([text(undefined, 'a'), text('x', 'a')]).toEqual([undefined, 'x']);
      expect(() => text(' ', 'metrics.host')).toThrow('Invalid metrics.host: " ". Expected a non-empty string.');
      expect(() => text('', 'health.token', 'a non-empty string', true)).toThrow(
        'Invalid health.token: "[given]". Expected a non-empty string.',
      );
    });

    it('reads whole numbers with and without a unit', () => {
      expect([wholeNumber(undefined, 'a', 1, 7), wholeNumber(3, 'a', 1, 7)]).toEqual([7, 3]);
      expect(() => wholeNumber(0, 'metrics.maxLabelSets', 1, 1000)).toThrow(
        'Invalid metrics.maxLabelSets: 0. Expected a whole number of at least 1.',
      );
      expect(() => wholeNumber(1.5, 'health.timeoutMs', 1, 1000, 'milliseconds')).toThrow(
        'Invalid health.timeoutMs: 1.5. Expected a whole number of milliseconds, at least 1.',
      );
    });

    it('reads a whole number from env only when the option is unset, digits only', () => {
      const fromEnv = { env: { WAIT_MS: '250' }, name: 'WAIT_MS' };
      expect([envWholeNumber(undefined, 'wait', fromEnv, 0, 5), envWholeNumber(9, 'wait', fromEnv, 0, 5)]).toEqual([250, 9]);
      expect(envWholeNumber(undefined, 'wait', { env: {}, name: 'WAIT_MS' }, 0, 5)).toBe(5);
      expect(() => envWholeNumber(undefined, 'wait', { env: { WAIT_MS: '1e3' }, name: 'WAIT_MS' }, 0, 5, 'milliseconds')).toThrow(
        'Invalid WAIT_MS: "1e3". Expected a whole number of milliseconds, at least 0. Fix or unset the environment variable WAIT_MS.',
      );
    });

    it('reads ports from 0 to 65535', () => {
      expect([port(undefined, 'p'), port(0, 'p'), port(65535, 'p')]).toEqual([undefined, 0, 65535]);
      expect(() => port(-1, 'metrics.port')).toThrow('Invalid metrics.port: -1. Expected a port number from 0 to 65535.');
    });

    it('reads request paths without a trailing slash', () => {
      expect([urlPath(undefined, 'p', '/metrics'), urlPath('/', 'p', '/x'), urlPath('/internal/metrics', 'p', '/x')]).toEqual([
        '/metrics',
        '/',
        '/internal/metrics',
      ]);
      expect(() => urlPath('/metrics/', 'metrics.path', '/metrics')).toThrow(
        'Invalid metrics.path: "/metrics/". Expected a path starting with "/" (letters, digits, ".", "_", "-", "/"; no trailing "/").',
      );
    });

    it('picks an enum from the option, else the env (any case), else the fallback', () => {
      const fromEnv = { env: { LOG_FORMAT: 'PRETTY' }, name: 'LOG_FORMAT' };
      const formats = ['json', 'pretty'] as const;
      expect([
        pickEnum('json', 'logging.format', formats, 'json', fromEnv),
        pickEnum(undefined, 'logging.format', formats, 'json', fromEnv),
        pickEnum(undefined, 'logging.format', formats, 'json'),
      ]).toEqual(['json', 'pretty', 'json']);
      expect(() => pickEnum('xml' as never, 'logging.format', formats, 'json')).toThrow(
        `Invalid logging.format: "xml". Expected one of json, pretty. ${forRoot('logging.format')}`,
      );
    });
  });

  it('lists the keys of an options interface in the order given', () => {
    expect(optionKeys<{ b?: number; a?: string }>({ b: true, a: true })).toEqual(['b', 'a']);
  });

  it('throws ObservabilityConfigError from every reader', () => {
    expect(() => port(1.5, 'p')).toThrow(ObservabilityConfigError);
    expect(() => rejectUnknownKeys({ x: 1 }, 's', [])).toThrow(ObservabilityConfigError);
  });
});
