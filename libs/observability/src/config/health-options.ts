import { ObservabilityConfigError } from '../shared/observability.errors';
import { ENV, type Env, readEnv } from './env';
import type { HealthIndicator } from './health-indicator.interface';
import { envWholeNumber, flag, optionKeys, pickEnum, port, section, text, urlPath, wholeNumber } from './option-readers';
import { DEFAULTS } from './options.defaults';
import type { HealthDetailsVisibility, HealthOptions, ResolvedHealthOptions, ShutdownOptions } from './options.interface';

/** Indicator names: JSON keys of the bodies and values of the gauge's `indicator` label. */
export const INDICATOR_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

const VISIBILITIES: readonly HealthDetailsVisibility[] = ['always', 'authorized', 'never'];
const HEALTH_KEYS = optionKeys<HealthOptions>({
  enabled: true,
  path: true,
  livePath: true,
  readyPath: true,
  timeoutMs: true,
  indicators: true,
  details: true,
  token: true,
  port: true,
  host: true,
  shutdown: true,
});
const SHUTDOWN_KEYS = optionKeys<ShutdownOptions>({ enabled: true, drainDelayMs: true, timeoutMs: true });

/**
 * Validates the `health` option and merges it with the environment and the
 * defaults: explicit option, then environment variable, then default. Throws
 * {@link ObservabilityConfigError} naming the first bad value.
 */
export function resolveHealthOptions(raw: HealthOptions | boolean | undefined, env: Env): ResolvedHealthOptions {
  const defaults = DEFAULTS.health;
  const o = section<HealthOptions>(raw, 'health', HEALTH_KEYS);
  const shutdown = section<ShutdownOptions>(o.shutdown, 'health.shutdown', SHUTDOWN_KEYS);

  const path = urlPath(o.path, 'health.path', defaults.path);
  const livePath = urlPath(o.livePath, 'health.livePath', defaults.livePath);
  const readyPath = urlPath(o.readyPath, 'health.readyPath', defaults.readyPath);
  if (livePath === path) throw new ObservabilityConfigError('health.livePath', livePath, `a path other than health.path ("${path}")`);
  if (readyPath === path || readyPath === livePath) {
    throw new ObservabilityConfigError(
      'health.readyPath',
      readyPath,
      `a path other than health.path ("${path}") and health.livePath ("${livePath}")`,
    );
  }

  const timeoutMs = wholeNumber(o.timeoutMs, 'health.timeoutMs', 1, defaults.timeoutMs, 'milliseconds');
  const indicators = indicatorList(o.indicators);
  const details = pickEnum<HealthDetailsVisibility>(o.details, 'health.details', VISIBILITIES, defaults.details);
  const token = text(o.token, 'health.token', 'a non-empty string', true) ?? readEnv(env, ENV.healthDetailsToken);
  // 'authorized' with neither a token nor a port shows details to nobody: the
  // default, so that nothing of the dependencies is public until asked for.
  const internalPort = port(o.port, 'health.port');
  const host = text(o.host, 'health.host', 'a non-empty host name or address') ?? defaults.host;

  const drainEnv = { env, name: ENV.shutdownDrainDelay };
  const timeoutEnv = { env, name: ENV.shutdownTimeout };
  const shutdownTimeoutMs = envWholeNumber(
    shutdown.timeoutMs,
    'health.shutdown.timeoutMs',
    timeoutEnv,
    1,
    defaults.shutdownTimeoutMs,
    'milliseconds',
  );
  const drainDelayMs = envWholeNumber(
    shutdown.drainDelayMs,
    'health.shutdown.drainDelayMs',
    drainEnv,
    0,
    defaults.drainDelayMs,
    'milliseconds',
  );
  if (drainDelayMs >= shutdownTimeoutMs) {
    // A drain as long as the whole budget would leave nothing for closing and
    // flushing. Blame the value that was set: the drain delay, else the timeout.
    const fewer = `fewer milliseconds than the shutdown timeout (${shutdownTimeoutMs})`;
    const more = `more milliseconds than the drain delay (${drainDelayMs})`;
    if (shutdown.drainDelayMs !== undefined) throw new ObservabilityConfigError('health.shutdown.drainDelayMs', drainDelayMs, fewer);
    const drainFromEnv = readEnv(env, ENV.shutdownDrainDelay);
    if (drainFromEnv !== undefined) throw new ObservabilityConfigError(ENV.shutdownDrainDelay, drainFromEnv, fewer, 'env');
    if (shutdown.timeoutMs !== undefined) throw new ObservabilityConfigError('health.shutdown.timeoutMs', shutdownTimeoutMs, more);
    throw new ObservabilityConfigError(ENV.shutdownTimeout, readEnv(env, ENV.shutdownTimeout), more, 'env');
  }

  return {
    enabled: flag(o.enabled, 'health.enabled'),
    path,
    livePath,
    readyPath,
    timeoutMs,
    indicators,
    details,
    token,
    port: internalPort,
    host,
    shutdown: { enabled: flag(shutdown.enabled, 'health.shutdown.enabled'), drainDelayMs, timeoutMs: shutdownTimeoutMs },
  };
}

/**
 * The one check of an indicator's shape, for `health.indicators` and for
 * `HealthService.register()`: a valid name, a `check` function, a whole
 * `timeoutMs` if any. Unknown keys are allowed: indicators are class instances
 * with their own fields. Uniqueness is the caller's business (a list or the registry).
 *
 * @param value what was given as an indicator
 * @param path where it was given: `health.indicators[0]`, or `indicator` for an argument
 * @param call for an argument, the method it was passed to (`HealthService.register()`)
 * @returns the value, typed
 * @throws ObservabilityConfigError naming `${path}.name`, `.check` or `.timeoutMs`
 */
export function checkIndicator(value: unknown, path: string, call?: string): HealthIndicator {
  const kind = call === undefined ? 'option' : 'argument';
  const indicator = (value ?? {}) as Partial<HealthIndicator>;
  const { name, timeoutMs } = indicator;
  if (typeof name !== 'string' || !INDICATOR_NAME.test(name)) {
    throw new ObservabilityConfigError(`${path}.name`, name, 'a name of 1-64 letters, digits, "_", "-" or "."', kind, { call });
  }
  if (typeof indicator.check !== 'function') {
    throw new ObservabilityConfigError(
      `${path}.check`,
      indicator.check,
      'a function (use a built-in indicator or implement HealthIndicator)',
      kind,
      {
        call,
      },
    );
  }
  if (timeoutMs !== undefined && (!Number.isInteger(timeoutMs) || timeoutMs < 1)) {
    throw new ObservabilityConfigError(`${path}.timeoutMs`, timeoutMs, 'a whole number of milliseconds, at least 1', kind, { call });
  }
  return indicator as HealthIndicator;
}

function indicatorList(value: HealthIndicator[] | undefined): HealthIndicator[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new ObservabilityConfigError('health.indicators', value, 'an array of health indicators');
  const names = new Set<string>();
  value.forEach((item, i) => {
    const { name } = checkIndicator(item, `health.indicators[${i}]`);
    if (names.has(name)) throw new ObservabilityConfigError(`health.indicators[${i}].name`, name, 'a name no other indicator has');
    names.add(name);
  });
  // A copy: the resolved options of one application must not change with the caller's array.
  return [...value];
}
