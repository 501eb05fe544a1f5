import type { HealthCheckOutcome, HealthDetailValue } from '../config/health-indicator.interface';

/**
 * What a health body may say about a failure: fixed words for the errors
 * dependencies commonly raise, chosen by error code, so that no driver message
 * (which names hosts, ports and users) reaches a probe's body.
 */
const CODE_MESSAGES: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection reset',
  ECONNABORTED: 'connection aborted',
  ETIMEDOUT: 'connection timed out',
  ESOCKETTIMEDOUT: 'connection timed out',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_HEADERS_TIMEOUT: 'no response headers in time',
  UND_ERR_SOCKET: 'connection reset',
  // PostgreSQL SQLSTATE codes (pg puts them in `code`).
  '28P01': 'authentication failed',
  '28000': 'authentication failed',
  '3D000': 'database does not exist',
  '53300': 'too many connections',
  '57P01': 'server shutting down',
  '57P03': 'server not accepting connections yet',
};

// Order matters: URLs first (they hold hosts, users and passwords), then the parts on their own.
const REDACTIONS: readonly [RegExp, string][] = [
  [/\b[a-z][a-z0-9+.-]*:\/\/[^\s'"<>]+/gi, '[url]'],
  [/[^\s'"<>@]+@[^\s'"<>@]+/g, '[redacted]'],
  [/\b(user|role|username)(\s*[=:]?\s*)("[^"]*"|'[^']*'|[^\s,;:)]+)/gi, '$1$2[user]'],
  [/\[?(?<![\w:])(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}\]?(?::\d{1,5})?/gi, '[address]'],
  [/\b(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?\b/g, '[address]'],
  [/\b[a-z0-9][a-z0-9.-]*:\d{2,5}\b/gi, '[address]'],
  [/(?:\/[\w.@~-]+){2,}\/?/g, '[path]'],
];
const MAX_LENGTH = 200;

/**
 * Makes free text fit for a health body: first line only (no stack), URLs,
 * addresses, `host:port`, user names, e-mail-like tokens and file paths
 * replaced, at most 200 characters.
 */
export function sanitizeText(text: string): string {
  let out = text.split('\n', 1)[0].trim();
  for (const [pattern, replacement] of REDACTIONS) out = out.replace(pattern, replacement);
  return out.length > MAX_LENGTH ? `${out.slice(0, MAX_LENGTH)}…` : out;
}

/** A short, safe description of why a check failed. */
export function describeError(error: unknown): string {
  const code = errorCode(error);
  if (code !== undefined && CODE_MESSAGES[code] !== undefined) return CODE_MESSAGES[code];
  if (error instanceof Error) return sanitizeText(error.message) || error.name;
  return 'check failed';
}

/** The error's code, or that of its cause (`fetch failed`) or first inner error (AggregateError). */
export function errorCode(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; current && typeof current === 'object' && depth < 3; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    const inner = (current as { errors?: unknown }).errors;
    current = Array.isArray(inner) && inner.length > 0 ? inner[0] : (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Turns whatever a check returned into an outcome with only primitive,
 * sanitized values. `name` picks the entry of a Terminus result.
 */
export function toOutcome(value: unknown, name: string): HealthCheckOutcome {
  if (value === true) return { status: 'up' };
  if (value === false) return { status: 'down', message: 'check failed' };
  if (value === null || typeof value !== 'object') return { status: 'down', message: 'check returned no outcome' };
  const record = value as Record<string, unknown>;
  if (record.status === 'up' || record.status === 'down') return withSafeData(record.status, record);
  // A Terminus result: { [key]: { status, ...data } }.
  const entry = (record[name] ?? Object.values(record)[0]) as Record<string, unknown> | undefined;
  if (entry && typeof entry === 'object') {
    if (entry.status === 'up' || entry.status === 'down') return withSafeData(entry.status, entry);
    // Degraded still serves: it must not take the instance out of rotation.
    if (entry.status === 'degraded') return { ...withSafeData('up', entry), degraded: true };
  }
  return { status: 'down', message: 'check returned no outcome' };
}

function withSafeData(status: 'up' | 'down', data: Record<string, unknown>): HealthCheckOutcome {
  const outcome: HealthCheckOutcome = { status };
  for (const [key, raw] of Object.entries(data)) {
    if (key === 'status') continue;
    const value = safeValue(raw);
    if (value !== undefined) outcome[key] = value;
  }
  return outcome;
}

function safeValue(value: unknown): HealthDetailValue | undefined {
  if (typeof value === 'string') return sanitizeText(value);
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'boolean' || value === null) return value;
  // Objects, arrays and functions are left out: they could carry anything.
  return undefined;
}
