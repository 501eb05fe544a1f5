import { ObservabilityConfigError, ObservabilityError } from '../shared/observability.errors';
import type { ObservabilityModuleOptions } from './options.interface';
import { resolveOptions } from './resolve-options';

/** Options that are not well typed on purpose: what a JavaScript caller or a bad config file could pass. */
const untyped = (options: Record<string, unknown>) => options as ObservabilityModuleOptions;

describe('resolveOptions', () => {
  describe('defaults', () => {
    it('fills every field when neither options nor env say anything', () => {
      expect(resolveOptions(undefined, {})).toEqual({
        serviceName: 'unknown_service:node',
        serviceVersion: 'unknown',
        environment: 'development',
        http: { ignorePaths: ['/health', '/metrics'], requestIdHeader: 'x-request-id' },
        tracing: { enabled: true },
        logging: { enabled: true, level: 'info', format: 'json', requestLog: true, destination: undefined },
        metrics: {
          enabled: true,
          path: '/metrics',
          port: undefined,
          host: '0.0.0.0',
          auth: undefined,
          http: true,
          runtime: true,
          prefix: '',
          maxLabelSets: 1000,
          exemplars: true,
        },
        errors: { enabled: true, reportStatuses: expect.any(Function), captureUnhandled: true, unhandledRejections: 'throw' },
        redaction: { enabled: true, keys: [], patterns: [], censor: '[REDACTED]' },
        health: {
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
        },
      });
    });

    it('treats an empty options object like no options', () => {
      expect(resolveOptions({}, {})).toEqual(resolveOptions(undefined, {}));
    });

    it('gives each call its own ignorePaths array, so one app cannot change the default of another', () => {
      const first = resolveOptions({}, {});
      first.http.ignorePaths.push('/changed');
      expect(resolveOptions({}, {}).http.ignorePaths).toEqual(['/health', '/metrics']);
    });

    it('treats blank environment variables as unset', () => {
      const resolved = resolveOptions({}, { OTEL_SERVICE_NAME: '   ', LOG_LEVEL: '', LOG_FORMAT: ' ' });
      expect(resolved.serviceName).toBe('unknown_service:node');
      expect(resolved.logging.level).toBe('info');
      expect(resolved.logging.format).toBe('json');
    });
  });

  describe('environment', () => {
    const env = {
      OTEL_SERVICE_NAME: 'orders',
      SERVICE_VERSION: '2.3.4',
      DEPLOYMENT_ENVIRONMENT: 'production',
      LOG_LEVEL: 'debug',
      LOG_FORMAT: 'pretty',
    };

    it('takes service name, version, environment, log level and format from env when options leave them out', () => {
      const resolved = resolveOptions({}, env);
      expect({
        serviceName: resolved.serviceName,
        serviceVersion: resolved.serviceVersion,
        environment: resolved.environment,
        level: resolved.logging.level,
        format: resolved.logging.format,
      }).toEqual({ serviceName: 'orders', serviceVersion: '2.3.4', environment: 'production', level: 'debug', format: 'pretty' });
    });

    it('accepts LOG_LEVEL and LOG_FORMAT in any case and with surrounding spaces', () => {
      const resolved = resolveOptions({}, { LOG_LEVEL: ' WARN ', LOG_FORMAT: 'JSON' });
      expect(resolved.logging.level).toBe('warn');
      expect(resolved.logging.format).toBe('json');
    });

    it('lets explicit options win over env', () => {
      const resolved = resolveOptions(
        {
          serviceName: 'billing',
          serviceVersion: '9.9.9',
          environment: 'staging',
          logging: { level: 'error', format: 'json' },
        },
        env,
      );
      expect({
        serviceName: resolved.serviceName,
        serviceVersion: resolved.serviceVersion,
        environment: resolved.environment,
        level: resolved.logging.level,
        format: resolved.logging.format,
      }).toEqual({ serviceName: 'billing', serviceVersion: '9.9.9', environment: 'staging', level: 'error', format: 'json' });
    });

    it('does not validate an env value that an explicit option overrides', () => {
      expect(resolveOptions({ logging: { level: 'warn' } }, { LOG_LEVEL: 'loud' }).logging.level).toBe('warn');
    });
  });

  describe('switches and sections', () => {
    it('switches tracing off with tracing: false and leaves the other pillars on', () => {
      const resolved = resolveOptions({ tracing: false }, {});
      expect(resolved.tracing).toEqual({ enabled: false });
      expect(resolved.logging.enabled).toBe(true);
      expect(resolved.redaction.enabled).toBe(true);
    });

    it('switches logging off with logging: false and keeps the level and format defaults', () => {
      const resolved = resolveOptions({ logging: false }, {});
      expect(resolved.logging).toEqual({ enabled: false, level: 'info', format: 'json', requestLog: true, destination: undefined });
      expect(resolved.tracing.enabled).toBe(true);
    });

    it('switches metrics off with metrics: false and leaves the other pillars on', () => {
      const resolved = resolveOptions({ metrics: false }, {});
      expect(resolved.metrics.enabled).toBe(false);
      expect([resolved.tracing.enabled, resolved.logging.enabled]).toEqual([true, true]);
    });

    it('switches redaction off with redaction: false', () => {
      expect(resolveOptions({ redaction: false }, {}).redaction.enabled).toBe(false);
    });

    it('treats true like an empty section', () => {
      expect(resolveOptions({ tracing: true, logging: true, metrics: true, redaction: true }, {})).toEqual(resolveOptions({}, {}));
    });

    it('switches a pillar off with { enabled: false } as well', () => {
      const resolved = resolveOptions({ tracing: { enabled: false }, logging: { enabled: false, requestLog: false } }, {});
      expect(resolved.tracing.enabled).toBe(false);
      expect(resolved.logging.enabled).toBe(false);
      expect(resolved.logging.requestLog).toBe(false);
    });

    it('keeps http, redaction and destination settings that were given', () => {
      const destination = { write: () => undefined };
      const patterns = [{ name: 'iban', pattern: /\bDE\d{20}\b/g }];
      const resolved = resolveOptions(
        {
          http: { ignorePaths: ['/ready', /^\/internal\//], requestIdHeader: 'X-Correlation-ID' },
          logging: { destination },
          redaction: { keys: ['pin'], patterns, censor: '***' },
        },
        {},
      );
      expect(resolved.http).toEqual({ ignorePaths: ['/ready', /^\/internal\//], requestIdHeader: 'x-correlation-id' });
      expect(resolved.logging.destination).toBe(destination);
      expect(resolved.redaction).toEqual({ enabled: true, keys: ['pin'], patterns, censor: '***' });
    });

    it('accepts the isGlobal extra of the module', () => {
      expect(() => resolveOptions(untyped({ isGlobal: false }), {})).not.toThrow();
    });
  });

  describe('invalid values', () => {
    it('rejects LOG_LEVEL=loud with the exact message naming the variable, the value and the accepted levels', () => {
      expect(() => resolveOptions({}, { LOG_LEVEL: 'loud' })).toThrow(
        new ObservabilityConfigError('LOG_LEVEL', 'loud', 'one of fatal, error, warn, info, debug, trace, silent', 'env'),
      );
      expect(() => resolveOptions({}, { LOG_LEVEL: 'loud' })).toThrow(
        'Invalid LOG_LEVEL: "loud". Expected one of fatal, error, warn, info, debug, trace, silent. ' +
          'Fix or unset the environment variable LOG_LEVEL.',
      );
    });

    it("rejects logging.level 'loud' with the exact message naming the option, the value and the accepted levels", () => {
      expect(() => resolveOptions(untyped({ logging: { level: 'loud' } }), {})).toThrow(
        'Invalid logging.level: "loud". Expected one of fatal, error, warn, info, debug, trace, silent. ' +
          'Fix the "logging.level" option passed to ObservabilityModule.forRoot().',
      );
    });

    it('rejects LOG_FORMAT=xml with the exact message', () => {
      expect(() => resolveOptions({}, { LOG_FORMAT: 'xml' })).toThrow(
        'Invalid LOG_FORMAT: "xml". Expected one of json, pretty. Fix or unset the environment variable LOG_FORMAT.',
      );
    });

    it('rejects an unknown top-level option, naming it, its value and the known options', () => {
      expect(() => resolveOptions(untyped({ serviceNmae: 'orders' }), {})).toThrow(
        'Invalid serviceNmae: "orders". Expected one of the options serviceName, serviceVersion, environment, http, ' +
          'tracing, logging, metrics, errors, redaction, health, isGlobal. Fix the "serviceNmae" option passed to ObservabilityModule.forRoot().',
      );
    });

    it('calls an unknown upper-case key an option, not an environment variable', () => {
      // A user who copies OTEL_SERVICE_NAME into the options object must be told to fix the option.
      expect(() => resolveOptions(untyped({ OTEL_SERVICE_NAME: 'orders' }), {})).toThrow(
        'Fix the "OTEL_SERVICE_NAME" option passed to ObservabilityModule.forRoot().',
      );
    });

    it('rejects an ignorePaths entry that does not start with "/", showing the value and the accepted shape', () => {
      expect(() => resolveOptions({ http: { ignorePaths: ['/ready', 'health'] } }, {})).toThrow(
        'Invalid http.ignorePaths: ["/ready","health"]. Expected an array of paths starting with "/" or RegExps. ' +
          'Fix the "http.ignorePaths" option passed to ObservabilityModule.forRoot().',
      );
    });

    it('rejects a redaction pattern without the g flag, naming the option and what is accepted', () => {
      expect(() => resolveOptions({ redaction: { patterns: [{ name: 'pin', pattern: /\d{4}/ }] } }, {})).toThrow(
        'Invalid redaction.patterns[0].pattern: /\\d{4}/. Expected a RegExp with the g flag, such as /\\d{4}/g. ' +
          'Fix the "redaction.patterns[0].pattern" option passed to ObservabilityModule.forRoot().',
      );
    });

    it('shows the offending non-global RegExp in the redaction.patterns message', () => {
      // JSON.stringify turns a RegExp nested in the array into {}, which hides which pattern is wrong.
      expect(() => resolveOptions({ redaction: { patterns: [{ name: 'pin', pattern: /\d{4}/ }] } }, {})).toThrow('/\\d{4}/');
    });

    it('rejects an http.requestIdHeader with a space', () => {
      expect(() => resolveOptions({ http: { requestIdHeader: 'x request id' } }, {})).toThrow(
        'Invalid http.requestIdHeader: "x request id". Expected a header name of letters, digits and dashes. ' +
          'Fix the "http.requestIdHeader" option passed to ObservabilityModule.forRoot().',
      );
    });

    it.each<[string, Record<string, unknown>, string]>([
      ['a non-object options value', { tracing: 'yes' }, 'Invalid tracing: "yes". Expected true, false or an options object.'],
      ['an empty service name', { serviceName: '  ' }, 'Invalid serviceName: "  ". Expected a non-empty string.'],
      ['a non-boolean enabled flag', { logging: { enabled: 'no' } }, 'Invalid logging.enabled: "no". Expected true or false.'],
      [
        'an empty redaction key',
        { redaction: { keys: ['pin', ''] } },
        'Invalid redaction.keys: ["pin",""]. Expected an array of non-empty key names.',
      ],
      [
        'a destination without write()',
        { logging: { destination: 42 } },
        'Invalid logging.destination: 42. Expected a file path or a stream with a write() method.',
      ],
      ['an empty censor', { redaction: { censor: '' } }, 'Invalid redaction.censor: "". Expected a non-empty string.'],
      [
        'an unknown unhandled-rejection mode',
        { errors: { unhandledRejections: 'crash' } },
        'Invalid errors.unhandledRejections: "crash". Expected one of throw, warn. Fix the "errors.unhandledRejections" option passed to ObservabilityModule.forRoot().',
      ],
    ])('rejects %s', (_case, options, message) => {
      expect(() => resolveOptions(untyped(options), {})).toThrow(message);
    });

    it('throws ObservabilityConfigError (an ObservabilityError) that carries source, value and accepted', () => {
      expect(() => resolveOptions({}, { LOG_FORMAT: 'xml' })).toThrow(ObservabilityConfigError);
      expect(() => resolveOptions({}, { LOG_FORMAT: 'xml' })).toThrow(ObservabilityError);
      expect(() => resolveOptions({}, { LOG_FORMAT: 'xml' })).toThrow(
        expect.objectContaining({ name: 'ObservabilityConfigError', source: 'LOG_FORMAT', value: 'xml', accepted: 'one of json, pretty' }),
      );
    });
  });

  describe('errors.unhandledRejections', () => {
    it("follows Node's default (throw) unless told to warn", () => {
      expect(resolveOptions({}, {}).errors.unhandledRejections).toBe('throw');
      expect(resolveOptions({ errors: { unhandledRejections: 'warn' } }, {}).errors.unhandledRejections).toBe('warn');
      expect(resolveOptions({ errors: { unhandledRejections: 'throw' } }, {}).errors.unhandledRejections).toBe('throw');
    });
  });

  describe('side ports', () => {
    it('refuses metrics.port equal to health.port, naming both options and the port', () => {
      const resolve = () => resolveOptions({ metrics: { port: 9464 }, health: { port: 9464 } }, {});
      expect(resolve).toThrow(ObservabilityConfigError);
      expect(resolve).toThrow(
        'Invalid health.port: 9464. Expected a port other than metrics.port (9464): /metrics and the health probes each need a port of their own. ' +
          'Fix the "health.port" option passed to ObservabilityModule.forRoot().',
      );
    });

    it('accepts different ports, two free ports picked by 0, and a port shared with a switched-off pillar', () => {
      expect(resolveOptions({ metrics: { port: 9464 }, health: { port: 9465 } }, {})).toMatchObject({
        metrics: { port: 9464 },
        health: { port: 9465 },
      });
      expect(resolveOptions({ metrics: { port: 0 }, health: { port: 0 } }, {})).toMatchObject({
        metrics: { port: 0 },
        health: { port: 0 },
      });
      expect(() => resolveOptions({ metrics: { enabled: false, port: 9464 }, health: { port: 9464 } }, {})).not.toThrow();
      expect(() => resolveOptions({ metrics: { port: 9464 }, health: { enabled: false, port: 9464 } }, {})).not.toThrow();
    });
  });

  describe('unknown keys', () => {
    const rejected = 'Unknown options are rejected, not ignored, so that a typo cannot leave a setting at its default.';

    it('rejects logging.levl with a did-you-mean, as it rejects health.pth (regression: logging keys were not checked)', () => {
      expect(() => resolveOptions(untyped({ logging: { levl: 'debug' } }), {})).toThrow(
        'Invalid logging.levl: "debug". Expected one of the options enabled, level, format, requestLog, destination. ' +
          'Fix the "logging.levl" option passed to ObservabilityModule.forRoot(). Did you mean logging.level? ' +
          rejected,
      );
      expect(() => resolveOptions(untyped({ health: { pth: '/x' } }), {})).toThrow(
        'Fix the "health.pth" option passed to ObservabilityModule.forRoot(). Did you mean health.path? ' + rejected,
      );
    });

    it.each<[string, Record<string, unknown>, string, string, string]>([
      ['top level', { serviceNmae: 'orders' }, 'serviceNmae', '"orders"', 'serviceName'],
      ['http', { http: { requestIdHeadr: 'x-id' } }, 'http.requestIdHeadr', '"x-id"', 'http.requestIdHeader'],
      ['tracing', { tracing: { enable: false } }, 'tracing.enable', 'false', 'tracing.enabled'],
      ['logging', { logging: { Level: 'debug' } }, 'logging.Level', '"debug"', 'logging.level'],
      ['metrics', { metrics: { prot: 9464 } }, 'metrics.prot', '9464', 'metrics.port'],
      ['metrics.auth', { metrics: { auth: { bearerTokn: 's3cret' } } }, 'metrics.auth.bearerTokn', '"[given]"', 'metrics.auth.bearerToken'],
      ['errors', { errors: { reportStatus: [500] } }, 'errors.reportStatus', '[500]', 'errors.reportStatuses'],
      ['redaction', { redaction: { key: ['pin'] } }, 'redaction.key', '["pin"]', 'redaction.keys'],
      [
        'redaction.patterns items',
        { redaction: { patterns: [{ name: 'pin', patern: /\d{4}/g }] } },
        'redaction.patterns[0].patern',
        '/\\d{4}/g',
        'redaction.patterns[0].pattern',
      ],
      ['health', { health: { livepath: '/live' } }, 'health.livepath', '"/live"', 'health.livePath'],
      [
        'health.shutdown',
        { health: { shutdown: { drainDelay: 100 } } },
        'health.shutdown.drainDelay',
        '100',
        'health.shutdown.drainDelayMs',
      ],
    ])(
      'rejects a misspelt key in %s, naming it, its value and the key it was probably meant to be',
      (_section, options, path, shown, meant) => {
        expect(() => resolveOptions(untyped(options), {})).toThrow(`Invalid ${path}: ${shown}. Expected one of the options `);
        expect(() => resolveOptions(untyped(options), {})).toThrow(
          `Fix the "${path}" option passed to ObservabilityModule.forRoot(). Did you mean ${meant}? ${rejected}`,
        );
      },
    );

    it('lists the accepted keys and asks to remove the key when none is close', () => {
      expect(() => resolveOptions(untyped({ logging: { colour: 'red' } }), {})).toThrow(
        'Invalid logging.colour: "red". Expected one of the options enabled, level, format, requestLog, destination. ' +
          'Fix the "logging.colour" option passed to ObservabilityModule.forRoot(). Remove it or use one of the options listed. ' +
          rejected,
      );
    });

    it('lists the keys of metrics.auth and never shows the value given there', () => {
      expect(() => resolveOptions(untyped({ metrics: { auth: { token: 's3cret' } } }), {})).toThrow(
        'Invalid metrics.auth.token: "[given]". Expected one of the options bearerToken, username, password. ',
      );
    });

    it('hides the value of a misspelt secret key', () => {
      const resolve = () => resolveOptions(untyped({ health: { tokn: 's3cret' } }), {});
      expect(resolve).toThrow('Invalid health.tokn: "[given]".');
      expect(resolve).toThrow('Did you mean health.token?');
    });

    it('throws ObservabilityConfigError carrying the unknown path and its value', () => {
      expect(() => resolveOptions(untyped({ errors: { enabld: true } }), {})).toThrow(
        expect.objectContaining({ name: 'ObservabilityConfigError', source: 'errors.enabld', value: true, kind: 'option' }),
      );
    });

    it('still accepts isGlobal, an extra of the module builder, next to the options', () => {
      expect(() => resolveOptions(untyped({ isGlobal: true, logging: { level: 'debug' } }), {})).not.toThrow();
    });
  });
});
