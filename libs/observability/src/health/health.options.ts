import { type Env, readEnv } from '../config/env';
import { ObservabilityConfigError } from '../shared/observability.errors';
import type { HealthIndicator } from './health-indicator.interface';
import { INDICATOR_NAME } from './health.constants';

/** Who sees the per-indicator details of `/health` and `/health/ready`. */
export type HealthDetailsVisibility = 'always' | 'authorized' | 'never';

/**
 * Health probes and graceful shutdown: the `health` option of
 * `ObservabilityModule.forRoot()`. `false` switches both off.
 *
 * The endpoints answer before Nest's router (like `/metrics`): global guards,
 * a global prefix, interceptors and exception filters never apply to them, and
 * no probe makes a span, a request log line or a RED metric.
 *
 * @example
 * ObservabilityModule.forRoot({
 *   serviceName: 'orders',
 *   health: { details: 'authorized', shutdown: { drainDelayMs: 10_000, timeoutMs: 25_000 } },
 * });
 */
export interface HealthOptions {
  /** @default true */
  enabled?: boolean;
  /** Details of every indicator (`status`, `info`, `error`, `details`). @default '/health' */
  path?: string;
  /** Liveness: no dependency is checked; 200 while the process can serve, shutdown included. @default '/health/live' */
  livePath?: string;
  /** Readiness: runs every indicator; 503 when one is down and from the first moment of shutdown. @default '/health/ready' */
  readyPath?: string;
  /** Time each indicator gets before it counts as down (an indicator may set its own). @default 1000 */
  timeoutMs?: number;
  /**
   * Indicators checked from the start. More can be added at run time with
   * `HealthService.register()`, which is where indicators that need an injected
   * client (a `pg` Pool, an ioredis client) usually go.
   * @default []
   */
  indicators?: HealthIndicator[];
  /**
   * Who sees indicator details. `'always'`: everyone. `'authorized'`: requests
   * bearing `Authorization: Bearer <token>`, and every request on `port`;
   * others get only `{"status": …}`. `'never'`: nobody, on any port.
   * Bodies never carry hosts, ports, user names, connection strings or stacks either way.
   * @default 'always'
   */
  details?: HealthDetailsVisibility;
  /** The bearer token that shows details when `details` is `'authorized'`. @default process.env.HEALTH_DETAILS_TOKEN */
  token?: string;
  /**
   * Also serve the endpoints on this internal port, with details when `details`
   * is `'authorized'` (0 picks a free port). The application's port keeps serving them.
   * @default none
   */
  port?: number;
  /** Address the internal port binds to. @default '0.0.0.0' */
  host?: string;
  /** The shutdown sequence on SIGTERM / SIGINT. `false` leaves shutdown to Nest alone. @default true */
  shutdown?: ShutdownOptions | boolean;
}

/**
 * The shutdown sequence, run when `app.enableShutdownHooks()` is on and the
 * process gets SIGTERM or SIGINT: readiness fails at once (liveness stays up),
 * responses ask clients to close their connections, then after the drain delay
 * the server stops accepting and in-flight requests finish; spans, log lines
 * and error reports are flushed; the process exits.
 */
export interface ShutdownOptions {
  /** @default true */
  enabled?: boolean;
  /**
   * How long to keep serving after SIGTERM with readiness failing, so that load
   * balancers stop routing here before the port closes. Not applied on SIGINT
   * (Ctrl-C at a terminal) nor on `app.close()`.
   * @default process.env.SHUTDOWN_DRAIN_DELAY_MS, else 5000
   */
  drainDelayMs?: number;
  /**
   * Budget of the whole sequence, from the signal to the flush. Connections
   * still open when the flush's share is reached are closed, and the flush gets
   * what is left, so a dead collector cannot hold the process.
   * @default process.env.SHUTDOWN_TIMEOUT_MS, else 10000
   */
  timeoutMs?: number;
}

/** Health options after defaults, environment and validation: every field is set. */
export interface ResolvedHealthOptions {
  enabled: boolean;
  path: string;
  livePath: string;
  readyPath: string;
  timeoutMs: number;
  indicators: HealthIndicator[];
  details: HealthDetailsVisibility;
  token: string | undefined;
  port: number | undefined;
  host: string;
  shutdown: { enabled: boolean; drainDelayMs: number; timeoutMs: number };
}

/** Every default of the health pillar. */
export const HEALTH_DEFAULTS = {
  path: '/health',
  livePath: '/health/live',
  readyPath: '/health/ready',
  timeoutMs: 1_000,
  details: 'always',
  host: '0.0.0.0',
  drainDelayMs: 5_000,
  shutdownTimeoutMs: 10_000,
} as const;

/** Environment variables the health pillar reads. */
export const HEALTH_ENV = {
  token: 'HEALTH_DETAILS_TOKEN',
  drainDelay: 'SHUTDOWN_DRAIN_DELAY_MS',
  shutdownTimeout: 'SHUTDOWN_TIMEOUT_MS',
} as const;

const VISIBILITIES: readonly HealthDetailsVisibility[] = ['always', 'authorized', 'never'];
const KNOWN_KEYS = ['enabled', 'path', 'livePath', 'readyPath', 'timeoutMs', 'indicators', 'details', 'token', 'port', 'host', 'shutdown'];
const SHUTDOWN_KEYS = ['enabled', 'drainDelayMs', 'timeoutMs'];
const PATH = /^\/[\w./-]*$/;

/**
 * Validates the `health` option and merges it with the environment and the
 * defaults: explicit option, then environment variable, then default. Throws
 * {@link ObservabilityConfigError} naming the first bad value.
 */
export function resolveHealthOptions(raw: HealthOptions | boolean | undefined, env: Env): ResolvedHealthOptions {
  const o = section<HealthOptions>(raw, 'health', KNOWN_KEYS);
  const shutdown = section<ShutdownOptions>(o.shutdown, 'health.shutdown', SHUTDOWN_KEYS);

  const path = pathOption(o.path, 'health.path', HEALTH_DEFAULTS.path);
  const livePath = pathOption(o.livePath, 'health.livePath', HEALTH_DEFAULTS.livePath);
  const readyPath = pathOption(o.readyPath, 'health.readyPath', HEALTH_DEFAULTS.readyPath);
  if (livePath === path) throw new ObservabilityConfigError('health.livePath', livePath, `a path other than health.path ("${path}")`);
  if (readyPath === path || readyPath === livePath) {
    throw new ObservabilityConfigError('health.readyPath', readyPath, `a path other than health.path ("${path}") and health.livePath ("${livePath}")`);
  }

  const timeoutMs = wholeNumber(o.timeoutMs, 'health.timeoutMs', 1, HEALTH_DEFAULTS.timeoutMs);
  const indicators = indicatorList(o.indicators);

  const details = o.details ?? HEALTH_DEFAULTS.details;
  if (!VISIBILITIES.includes(details)) throw new ObservabilityConfigError('health.details', details, `one of ${VISIBILITIES.join(', ')}`);

  let token: string | undefined;
  if (o.token !== undefined) {
    if (typeof o.token !== 'string' || o.token.trim() === '') throw new ObservabilityConfigError('health.token', '[given]', 'a non-empty string');
    token = o.token;
  } else {
    token = readEnv(env, HEALTH_ENV.token);
  }

  const port = o.port;
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
    throw new ObservabilityConfigError('health.port', port, 'a port number from 0 to 65535');
  }
  if (details === 'authorized' && token === undefined && port === undefined) {
    throw new ObservabilityConfigError(
      'health.details',
      details,
      `"always" or "never"; "authorized" needs health.token (or ${HEALTH_ENV.token}) or health.port, or nobody could see the details`,
    );
  }
  const host = o.host ?? HEALTH_DEFAULTS.host;
  if (typeof host !== 'string' || host.trim() === '') throw new ObservabilityConfigError('health.host', host, 'a non-empty host name or address');

  const shutdownTimeoutMs = envNumber(shutdown.timeoutMs, 'health.shutdown.timeoutMs', env, HEALTH_ENV.shutdownTimeout, 1, HEALTH_DEFAULTS.shutdownTimeoutMs);
  const drainDelayMs = envNumber(shutdown.drainDelayMs, 'health.shutdown.drainDelayMs', env, HEALTH_ENV.drainDelay, 0, HEALTH_DEFAULTS.drainDelayMs);
  if (drainDelayMs >= shutdownTimeoutMs) {
    // A drain as long as the whole budget would leave nothing for closing and
    // flushing. Blame the value that was set: the drain delay, else the timeout.
    if (shutdown.drainDelayMs !== undefined) {
      throw new ObservabilityConfigError('health.shutdown.drainDelayMs', drainDelayMs, `fewer milliseconds than the shutdown timeout (${shutdownTimeoutMs})`);
    }
    if (readEnv(env, HEALTH_ENV.drainDelay) !== undefined) {
      throw new ObservabilityConfigError(HEALTH_ENV.drainDelay, readEnv(env, HEALTH_ENV.drainDelay), `fewer milliseconds than the shutdown timeout (${shutdownTimeoutMs})`, 'env');
    }
    if (shutdown.timeoutMs !== undefined) {
      throw new ObservabilityConfigError('health.shutdown.timeoutMs', shutdownTimeoutMs, `more milliseconds than the drain delay (${drainDelayMs})`);
    }
    throw new ObservabilityConfigError(HEALTH_ENV.shutdownTimeout, readEnv(env, HEALTH_ENV.shutdownTimeout), `more milliseconds than the drain delay (${drainDelayMs})`, 'env');
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
    port,
    host,
    shutdown: { enabled: flag(shutdown.enabled, 'health.shutdown.enabled'), drainDelayMs, timeoutMs: shutdownTimeoutMs },
  };
}

/** `true`/`undefined` → `{}`, `false` → `{ enabled: false }`, an object is checked for unknown keys. */
function section<T extends { enabled?: boolean }>(value: T | boolean | undefined, name: string, known: readonly string[]): T {
  if (value === undefined || value === true) return {} as T;
  if (value === false) return { enabled: false } as T;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ObservabilityConfigError(name, value, 'true, false or an options object');
  }
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      throw new ObservabilityConfigError(`${name}.${key}`, (value as Record<string, unknown>)[key], `one of the options ${known.join(', ')}`);
    }
  }
  return value;
}

function flag(value: boolean | undefined, name: string): boolean {
  if (value === undefined) return true;
  if (typeof value !== 'boolean') throw new ObservabilityConfigError(name, value, 'true or false');
  return value;
}

function pathOption(value: string | undefined, name: string, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !PATH.test(value) || (value.length > 1 && value.endsWith('/'))) {
    throw new ObservabilityConfigError(name, value, 'a path starting with "/" (letters, digits, ".", "_", "-", "/"; no trailing "/")');
  }
  return value;
}

function wholeNumber(value: number | undefined, name: string, min: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min) throw new ObservabilityConfigError(name, value, `a whole number of milliseconds, at least ${min}`);
  return value;
}

function envNumber(value: number | undefined, name: string, env: Env, envName: string, min: number, fallback: number): number {
  if (value !== undefined) return wholeNumber(value, name, min, fallback);
  const raw = readEnv(env, envName);
  if (raw === undefined) return fallback;
  const parsed = Number(raw);
  if (!/^\d+$/.test(raw) || parsed < min) throw new ObservabilityConfigError(envName, raw, `a whole number of milliseconds, at least ${min}`, 'env');
  return parsed;
}

function indicatorList(value: HealthIndicator[] | undefined): HealthIndicator[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new ObservabilityConfigError('health.indicators', value, 'an array of health indicators');
  const names = new Set<string>();
  value.forEach((indicator, i) => {
    const name = (indicator as Partial<HealthIndicator> | null)?.name;
    if (typeof name !== 'string' || !INDICATOR_NAME.test(name)) {
      throw new ObservabilityConfigError(`health.indicators[${i}].name`, name, 'a name of 1-64 letters, digits, "_", "-" or "."');
    }
    if (typeof indicator.check !== 'function') {
      throw new ObservabilityConfigError(`health.indicators[${i}].check`, indicator.check, 'a function (use a built-in indicator or implement HealthIndicator)');
    }
    if (indicator.timeoutMs !== undefined && (!Number.isInteger(indicator.timeoutMs) || indicator.timeoutMs < 1)) {
      throw new ObservabilityConfigError(`health.indicators[${i}].timeoutMs`, indicator.timeoutMs, 'a whole number of milliseconds, at least 1');
    }
    if (names.has(name)) throw new ObservabilityConfigError(`health.indicators[${i}].name`, name, 'a name no other indicator has');
    names.add(name);
  });
  return [...value];
}
