import { ObservabilityConfigError } from '../shared/observability.errors';
import { resolveHealthOptions } from '../health/health.options';
import { ENV, type Env, readEnv } from './env';
import { DEFAULTS } from './options.defaults';
import type {
  LogFormat,
  LogLevel,
  ObservabilityModuleOptions,
  RedactionPattern,
  ResolvedObservabilityOptions,
} from './options.interface';

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const LOG_FORMATS: readonly LogFormat[] = ['json', 'pretty'];
const KNOWN_KEYS = ['serviceName', 'serviceVersion', 'environment', 'http', 'tracing', 'logging', 'metrics', 'errors', 'redaction', 'health', 'isGlobal'];

/**
 * The one place options are validated and merged with env and defaults:
 * explicit option, then environment variable, then default. Throws
 * {@link ObservabilityConfigError} naming the first bad value.
 */
export function resolveOptions(options: ObservabilityModuleOptions | undefined, env: Env): ResolvedObservabilityOptions {
  const o = options ?? {};
  if (typeof o !== 'object' || o === null) {
    throw new ObservabilityConfigError('options', o, 'an object (or nothing)');
  }
  for (const key of Object.keys(o)) {
    if (!KNOWN_KEYS.includes(key)) {
      throw new ObservabilityConfigError(key, (o as Record<string, unknown>)[key], `one of the options ${KNOWN_KEYS.join(', ')}`);
    }
  }

  const tracing = section(o.tracing, 'tracing');
  const logging = section(o.logging, 'logging');
  const redaction = section(o.redaction, 'redaction');
  const metrics = section(o.metrics, 'metrics');
  const errors = section(o.errors, 'errors');
  const statuses = errors.reportStatuses;
  let reportStatuses: (status: number) => boolean;
  if (statuses === undefined) reportStatuses = reportServerErrors;
  else if (typeof statuses === 'function') reportStatuses = statuses;
  else if (Array.isArray(statuses) && statuses.every((s) => Number.isInteger(s) && s >= 100 && s <= 599)) {
    const set = new Set(statuses);
    reportStatuses = (status) => set.has(status);
  } else {
    throw new ObservabilityConfigError('errors.reportStatuses', statuses, 'an array of HTTP status codes (100-599) or a function (status) => boolean');
  }
  const http = o.http ?? {};

  const level = pickEnum<LogLevel>(logging.level, 'logging.level', readEnv(env, ENV.logLevel), ENV.logLevel, LOG_LEVELS, DEFAULTS.logLevel);
  const format = pickEnum<LogFormat>(logging.format, 'logging.format', readEnv(env, ENV.logFormat), ENV.logFormat, LOG_FORMATS, DEFAULTS.logFormat);

  const requestIdHeader = http.requestIdHeader ?? DEFAULTS.requestIdHeader;
  if (typeof requestIdHeader !== 'string' || !/^[A-Za-z0-9-]{1,64}$/.test(requestIdHeader)) {
    throw new ObservabilityConfigError('http.requestIdHeader', requestIdHeader, 'a header name of letters, digits and dashes');
  }
  const ignorePaths = http.ignorePaths ?? [...DEFAULTS.ignorePaths];
  if (!Array.isArray(ignorePaths) || !ignorePaths.every((p) => p instanceof RegExp || (typeof p === 'string' && p.startsWith('/')))) {
    throw new ObservabilityConfigError('http.ignorePaths', ignorePaths, 'an array of paths starting with "/" or RegExps');
  }

  const keys = redaction.keys ?? [];
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string' && k.length > 0)) {
    throw new ObservabilityConfigError('redaction.keys', keys, 'an array of non-empty key names');
  }
  const patterns: RedactionPattern[] = redaction.patterns ?? [];
  if (!Array.isArray(patterns)) {
    throw new ObservabilityConfigError('redaction.patterns', patterns, 'an array of { name, pattern } with global RegExps (the g flag)');
  }
  patterns.forEach((p, i) => {
    if (typeof p?.name !== 'string' || p.name === '') throw new ObservabilityConfigError(`redaction.patterns[${i}].name`, p?.name, 'a non-empty string');
    if (!(p.pattern instanceof RegExp) || !p.pattern.global) {
      throw new ObservabilityConfigError(`redaction.patterns[${i}].pattern`, p.pattern, 'a RegExp with the g flag, such as /\\d{4}/g');
    }
  });

  const destination = logging.destination;
  if (destination !== undefined && typeof destination !== 'string' && typeof destination?.write !== 'function') {
    throw new ObservabilityConfigError('logging.destination', destination, 'a file path or a stream with a write() method');
  }

  const metricsPath = metrics.path ?? DEFAULTS.metricsPath;
  if (typeof metricsPath !== 'string' || !/^\/[\w./-]*$/.test(metricsPath)) {
    throw new ObservabilityConfigError('metrics.path', metricsPath, 'a path starting with "/"');
  }
  const port = metrics.port;
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
    throw new ObservabilityConfigError('metrics.port', port, 'a port number from 0 to 65535');
  }
  const maxLabelSets = metrics.maxLabelSets ?? DEFAULTS.maxLabelSets;
  if (!Number.isInteger(maxLabelSets) || maxLabelSets < 1) {
    throw new ObservabilityConfigError('metrics.maxLabelSets', maxLabelSets, 'a whole number of at least 1');
  }
  const prefix = metrics.prefix ?? '';
  if (typeof prefix !== 'string' || !/^([a-zA-Z_:][a-zA-Z0-9_:]*)?$/.test(prefix)) {
    throw new ObservabilityConfigError('metrics.prefix', prefix, 'a metric name prefix of letters, digits, "_" and ":" (not starting with a digit)');
  }
  const auth = metrics.auth;
  if (
    auth !== undefined &&
    !nonEmpty((auth as { bearerToken?: unknown }).bearerToken) &&
    !(nonEmpty((auth as { username?: unknown }).username) && nonEmpty((auth as { password?: unknown }).password))
  ) {
    throw new ObservabilityConfigError('metrics.auth', '[given]', '{ bearerToken } or { username, password } with non-empty strings');
  }

  return {
    serviceName: text(o.serviceName, 'serviceName') ?? readEnv(env, ENV.serviceName) ?? DEFAULTS.serviceName,
    serviceVersion: text(o.serviceVersion, 'serviceVersion') ?? readEnv(env, ENV.serviceVersion) ?? DEFAULTS.serviceVersion,
    environment: text(o.environment, 'environment') ?? readEnv(env, ENV.environment) ?? DEFAULTS.environment,
    http: { ignorePaths, requestIdHeader: requestIdHeader.toLowerCase() },
    tracing: { enabled: flag(tracing.enabled, 'tracing.enabled') },
    logging: {
      enabled: flag(logging.enabled, 'logging.enabled'),
      level,
      format,
      requestLog: flag(logging.requestLog, 'logging.requestLog'),
      destination,
    },
    metrics: {
      enabled: flag(metrics.enabled, 'metrics.enabled'),
      path: metricsPath,
      port,
      host: text(metrics.host, 'metrics.host') ?? DEFAULTS.metricsHost,
      auth,
      http: flag(metrics.http, 'metrics.http'),
      runtime: flag(metrics.runtime, 'metrics.runtime'),
      prefix,
      maxLabelSets,
      exemplars: flag(metrics.exemplars, 'metrics.exemplars'),
    },
    errors: {
      enabled: flag(errors.enabled, 'errors.enabled'),
      reportStatuses,
      captureUnhandled: flag(errors.captureUnhandled, 'errors.captureUnhandled'),
    },
    redaction: {
      enabled: flag(redaction.enabled, 'redaction.enabled'),
      keys,
      patterns,
      censor: text(redaction.censor, 'redaction.censor') ?? DEFAULTS.redactionCensor,
    },
    health: resolveHealthOptions(o.health, env),
  };
}

/** The default report policy: every 5xx. One function, so resolved defaults compare equal. */
function reportServerErrors(status: number): boolean {
  return status >= 500 && status <= 599;
}

function nonEmpty(value: unknown): boolean {
  return typeof value === 'string' && value.length > 0;
}

/** `true`/`undefined` → `{}`, `false` → `{ enabled: false }`, an object stays. */
function section<T extends { enabled?: boolean }>(value: T | boolean | undefined, name: string): T {
  if (value === undefined || value === true) return {} as T;
  if (value === false) return { enabled: false } as T;
  if (typeof value !== 'object' || value === null) {
    throw new ObservabilityConfigError(name, value, 'true, false or an options object');
  }
  return value;
}

function flag(value: boolean | undefined, name: string): boolean {
  if (value === undefined) return true;
  if (typeof value !== 'boolean') throw new ObservabilityConfigError(name, value, 'true or false');
  return value;
}

function text(value: string | undefined, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '') throw new ObservabilityConfigError(name, value, 'a non-empty string');
  return value;
}

function pickEnum<T extends string>(
  option: T | undefined,
  optionName: string,
  envValue: string | undefined,
  envName: string,
  accepted: readonly T[],
  fallback: T,
): T {
  if (option !== undefined) {
    if (!accepted.includes(option)) throw new ObservabilityConfigError(optionName, option, `one of ${accepted.join(', ')}`);
    return option;
  }
  if (envValue !== undefined) {
    // Case-insensitive (LOG_LEVEL=WARN), but the message shows the value as given.
    const lower = envValue.toLowerCase() as T;
    if (!accepted.includes(lower)) throw new ObservabilityConfigError(envName, envValue, `one of ${accepted.join(', ')}`, 'env');
    return lower;
  }
  return fallback;
}
