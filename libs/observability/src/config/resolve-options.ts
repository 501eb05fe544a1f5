import { ObservabilityConfigError } from '../shared/observability.errors';
import { ENV, type Env, readEnv } from './env';
import { resolveHealthOptions } from './health-options';
import { flag, optionKeys, optionObject, pickEnum, port, rejectUnknownKeys, section, text, urlPath, wholeNumber } from './option-readers';
import { DEFAULTS } from './options.defaults';
import type {
  ErrorsOptions,
  HttpOptions,
  LogFormat,
  LoggingOptions,
  LogLevel,
  MetricsOptions,
  ObservabilityModuleOptions,
  RedactionOptions,
  RedactionPattern,
  ResolvedObservabilityOptions,
  TracingOptions,
} from './options.interface';

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const LOG_FORMATS: readonly LogFormat[] = ['json', 'pretty'];

// `isGlobal` is an extra of the ConfigurableModuleBuilder: it reaches the options object too.
const TOP_KEYS = optionKeys<ObservabilityModuleOptions & { isGlobal?: boolean }>({
  serviceName: true,
  serviceVersion: true,
  environment: true,
  http: true,
  tracing: true,
  logging: true,
  metrics: true,
  errors: true,
  redaction: true,
  health: true,
  isGlobal: true,
});
const HTTP_KEYS = optionKeys<HttpOptions>({ ignorePaths: true, requestIdHeader: true });
const TRACING_KEYS = optionKeys<TracingOptions>({ enabled: true });
const LOGGING_KEYS = optionKeys<LoggingOptions>({ enabled: true, level: true, format: true, requestLog: true, destination: true });
const METRICS_KEYS = optionKeys<MetricsOptions>({
  enabled: true,
  path: true,
  port: true,
  host: true,
  auth: true,
  http: true,
  runtime: true,
  prefix: true,
  maxLabelSets: true,
  exemplars: true,
});
// A union has no common keys to check against: listed by hand.
const AUTH_KEYS = ['bearerToken', 'username', 'password'] as const;
const ERRORS_KEYS = optionKeys<ErrorsOptions>({ enabled: true, reportStatuses: true, captureUnhandled: true, unhandledRejections: true });
const UNHANDLED_REJECTIONS: readonly Resolved['errors']['unhandledRejections'][] = ['throw', 'warn'];
const REDACTION_KEYS = optionKeys<RedactionOptions>({ enabled: true, keys: true, patterns: true, censor: true });
const PATTERN_KEYS = optionKeys<RedactionPattern>({ name: true, pattern: true });

type Resolved = ResolvedObservabilityOptions;

/**
 * The one place options are validated and merged with env and defaults:
 * explicit option, then environment variable, then default. Throws
 * {@link ObservabilityConfigError} naming the first bad value, and on any key
 * it does not know (with a "did you mean" for a near miss).
 */
export function resolveOptions(options: ObservabilityModuleOptions | undefined, env: Env): ResolvedObservabilityOptions {
  const o = options ?? {};
  if (typeof o !== 'object' || o === null) {
    throw new ObservabilityConfigError('options', o, 'an object (or nothing)');
  }
  rejectUnknownKeys(o, '', TOP_KEYS);

  const resolved: Resolved = {
    serviceName: text(o.serviceName, 'serviceName') ?? readEnv(env, ENV.serviceName) ?? DEFAULTS.serviceName,
    serviceVersion: text(o.serviceVersion, 'serviceVersion') ?? readEnv(env, ENV.serviceVersion) ?? DEFAULTS.serviceVersion,
    environment: text(o.environment, 'environment') ?? readEnv(env, ENV.environment) ?? DEFAULTS.environment,
    http: resolveHttp(o.http),
    tracing: resolveTracing(o.tracing),
    logging: resolveLogging(o.logging, env),
    metrics: resolveMetrics(o.metrics),
    errors: resolveErrors(o.errors),
    redaction: resolveRedaction(o.redaction),
    health: resolveHealthOptions(o.health, env),
  };
  checkSidePorts(resolved.metrics, resolved.health);
  return resolved;
}

/**
 * `/metrics` and the health probes on one port: the second server could not
 * listen. Checked here so that it stops start-up naming both options; a side
 * port equal to the application's own port is only known when the application
 * listens (see `SidePortServer.reserve`). Port 0 picks a free port for each.
 */
function checkSidePorts(metrics: Resolved['metrics'], health: Resolved['health']): void {
  if (!metrics.enabled || !health.enabled || metrics.port === undefined || metrics.port === 0 || health.port !== metrics.port) return;
  throw new ObservabilityConfigError(
    'health.port',
    health.port,
    `a port other than metrics.port (${metrics.port}): /metrics and the health probes each need a port of their own`,
  );
}

function resolveHttp(raw: HttpOptions | undefined): Resolved['http'] {
  // Not a switch: the per-request hook serves every pillar, so `http: false` means nothing.
  const http = raw === undefined ? {} : optionObject<HttpOptions>(raw, 'http', HTTP_KEYS, 'an options object');
  const requestIdHeader = http.requestIdHeader ?? DEFAULTS.requestIdHeader;
  if (typeof requestIdHeader !== 'string' || !/^[A-Za-z0-9-]{1,64}$/.test(requestIdHeader)) {
    throw new ObservabilityConfigError('http.requestIdHeader', requestIdHeader, 'a header name of letters, digits and dashes');
  }
  const ignorePaths = http.ignorePaths ?? [...DEFAULTS.ignorePaths];
  if (!Array.isArray(ignorePaths) || !ignorePaths.every((p) => p instanceof RegExp || (typeof p === 'string' && p.startsWith('/')))) {
    throw new ObservabilityConfigError('http.ignorePaths', ignorePaths, 'an array of paths starting with "/" or RegExps');
  }
  return { ignorePaths, requestIdHeader: requestIdHeader.toLowerCase() };
}

function resolveTracing(raw: TracingOptions | boolean | undefined): Resolved['tracing'] {
  const tracing = section(raw, 'tracing', TRACING_KEYS);
  return { enabled: flag(tracing.enabled, 'tracing.enabled') };
}

function resolveLogging(raw: LoggingOptions | boolean | undefined, env: Env): Resolved['logging'] {
  const logging = section(raw, 'logging', LOGGING_KEYS);
  const destination = logging.destination;
  if (destination !== undefined && typeof destination !== 'string' && typeof destination?.write !== 'function') {
    throw new ObservabilityConfigError('logging.destination', destination, 'a file path or a stream with a write() method');
  }
  return {
    enabled: flag(logging.enabled, 'logging.enabled'),
    level: pickEnum<LogLevel>(logging.level, 'logging.level', LOG_LEVELS, DEFAULTS.logLevel, { env, name: ENV.logLevel }),
    format: pickEnum<LogFormat>(logging.format, 'logging.format', LOG_FORMATS, DEFAULTS.logFormat, { env, name: ENV.logFormat }),
    requestLog: flag(logging.requestLog, 'logging.requestLog'),
    destination,
  };
}

function resolveMetrics(raw: MetricsOptions | boolean | undefined): Resolved['metrics'] {
  const metrics = section(raw, 'metrics', METRICS_KEYS);
  const prefix = metrics.prefix ?? '';
  if (typeof prefix !== 'string' || !/^([a-zA-Z_:][a-zA-Z0-9_:]*)?$/.test(prefix)) {
    throw new ObservabilityConfigError(
      'metrics.prefix',
      prefix,
      'a metric name prefix of letters, digits, "_" and ":" (not starting with a digit)',
    );
  }
  return {
    enabled: flag(metrics.enabled, 'metrics.enabled'),
    path: urlPath(metrics.path, 'metrics.path', DEFAULTS.metricsPath),
    port: port(metrics.port, 'metrics.port'),
    host: text(metrics.host, 'metrics.host') ?? DEFAULTS.metricsHost,
    auth: metricsAuth(metrics.auth),
    http: flag(metrics.http, 'metrics.http'),
    runtime: flag(metrics.runtime, 'metrics.runtime'),
    prefix,
    maxLabelSets: wholeNumber(metrics.maxLabelSets, 'metrics.maxLabelSets', 1, DEFAULTS.maxLabelSets),
    exemplars: flag(metrics.exemplars, 'metrics.exemplars'),
  };
}

/** Credentials: every message shows `'[given]'` instead of a value. */
function metricsAuth(raw: MetricsOptions['auth']): MetricsOptions['auth'] {
  if (raw === undefined) return undefined;
  const accepted = '{ bearerToken } or { username, password } with non-empty strings';
  const auth = optionObject<{ bearerToken?: unknown; username?: unknown; password?: unknown }>(
    raw,
    'metrics.auth',
    AUTH_KEYS,
    accepted,
    true,
  );
  if (!nonEmpty(auth.bearerToken) && !(nonEmpty(auth.username) && nonEmpty(auth.password))) {
    throw new ObservabilityConfigError('metrics.auth', '[given]', accepted);
  }
  return raw;
}

function resolveErrors(raw: ErrorsOptions | boolean | undefined): Resolved['errors'] {
  const errors = section(raw, 'errors', ERRORS_KEYS);
  const statuses = errors.reportStatuses;
  let reportStatuses: (status: number) => boolean;
  if (statuses === undefined) reportStatuses = reportServerErrors;
  else if (typeof statuses === 'function') reportStatuses = statuses;
  else if (Array.isArray(statuses) && statuses.every((s) => Number.isInteger(s) && s >= 100 && s <= 599)) {
    const set = new Set(statuses);
    reportStatuses = (status) => set.has(status);
  } else {
    throw new ObservabilityConfigError(
      'errors.reportStatuses',
      statuses,
      'an array of HTTP status codes (100-599) or a function (status) => boolean',
    );
  }
  return {
    enabled: flag(errors.enabled, 'errors.enabled'),
    reportStatuses,
    captureUnhandled: flag(errors.captureUnhandled, 'errors.captureUnhandled'),
    unhandledRejections: pickEnum(
      errors.unhandledRejections,
      'errors.unhandledRejections',
      UNHANDLED_REJECTIONS,
      DEFAULTS.unhandledRejections,
    ),
  };
}

function resolveRedaction(raw: RedactionOptions | boolean | undefined): Resolved['redaction'] {
  const redaction = section(raw, 'redaction', REDACTION_KEYS);
  const keys = redaction.keys ?? [];
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string' && k.length > 0)) {
    throw new ObservabilityConfigError('redaction.keys', keys, 'an array of non-empty key names');
  }
  const patterns: RedactionPattern[] = redaction.patterns ?? [];
  const shape = 'an array of { name, pattern } with global RegExps (the g flag)';
  if (!Array.isArray(patterns)) throw new ObservabilityConfigError('redaction.patterns', patterns, shape);
  patterns.forEach((item, i) => {
    const p = optionObject<Partial<RedactionPattern>>(
      item,
      `redaction.patterns[${i}]`,
      PATTERN_KEYS,
      '{ name, pattern } with a global RegExp (the g flag)',
    );
    if (typeof p.name !== 'string' || p.name === '')
      throw new ObservabilityConfigError(`redaction.patterns[${i}].name`, p.name, 'a non-empty string');
    if (!(p.pattern instanceof RegExp) || !p.pattern.global) {
      throw new ObservabilityConfigError(`redaction.patterns[${i}].pattern`, p.pattern, 'a RegExp with the g flag, such as /\\d{4}/g');
    }
  });
  return {
    enabled: flag(redaction.enabled, 'redaction.enabled'),
    keys,
    patterns,
    censor: text(redaction.censor, 'redaction.censor') ?? DEFAULTS.redactionCensor,
  };
}

/** The default report policy: every 5xx. One function, so resolved defaults compare equal. */
function reportServerErrors(status: number): boolean {
  return status >= 500 && status <= 599;
}

function nonEmpty(value: unknown): boolean {
  return typeof value === 'string' && value.length > 0;
}
