import { ObservabilityConfigError } from '../shared/observability.errors';
import { type Env, readEnv } from './env';

/**
 * The readers every section of the options goes through, so that one rule
 * (and one message) holds for every `enabled`, every path, every port. Each
 * takes the option path it reads (`metrics.port`) and throws
 * {@link ObservabilityConfigError} naming it, the value and what is accepted.
 */

/** The names of an options interface, checked against it: adding an option without listing it fails to compile. */
export function optionKeys<T extends object>(keys: Record<keyof T, true>): readonly string[] {
  return Object.keys(keys);
}

/**
 * Throws on the first key of `value` that is not in `known`: a misspelt option
 * would otherwise be dropped and its setting left at the default without a word.
 * A near miss (`levl`) gets a "did you mean" (`level`). The value of a key that
 * looks secret, or of any key when `secret` is set, prints as `'[given]'`.
 */
export function rejectUnknownKeys(value: object, path: string, known: readonly string[], secret = false): void {
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const meant = closestKey(key, known);
    const full = path === '' ? key : `${path}.${key}`;
    const hidden = secret || SECRET_KEY.test(key) || (meant !== undefined && SECRET_KEY.test(meant));
    const hint =
      (meant === undefined ? 'Remove it or use one of the options listed.' : `Did you mean ${path === '' ? meant : `${path}.${meant}`}?`) +
      ' Unknown options are rejected, not ignored, so that a typo cannot leave a setting at its default.';
    throw new ObservabilityConfigError(
      full,
      hidden ? '[given]' : (value as Record<string, unknown>)[key],
      `one of the options ${known.join(', ')}`,
      'option',
      {
        hint,
      },
    );
  }
}

/**
 * A section that may be switched with a boolean: `true`/`undefined` → `{}`,
 * `false` → `{ enabled: false }`, an object is checked for unknown keys and kept.
 */
export function section<T extends { enabled?: boolean }>(value: T | boolean | undefined, path: string, known: readonly string[]): T {
  if (value === undefined || value === true) return {} as T;
  if (value === false) return { enabled: false } as T;
  const object = plainObject(value, path, 'true, false or an options object');
  rejectUnknownKeys(object, path, known);
  return object as T;
}

/** An object option (not an array, not null), checked for unknown keys. */
export function optionObject<T extends object>(
  value: unknown,
  path: string,
  known: readonly string[],
  accepted: string,
  secret = false,
): T {
  const object = plainObject(value, path, accepted, secret);
  rejectUnknownKeys(object, path, known, secret);
  return object as T;
}

/** An on/off option. @default true when unset */
export function flag(value: boolean | undefined, path: string, fallback = true): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new ObservabilityConfigError(path, value, 'true or false');
  return value;
}

/**
 * A non-blank string, or `undefined` when unset (the caller picks env or default).
 * A `secret` value prints as `'[given]'` when rejected.
 */
export function text(value: string | undefined, path: string, accepted = 'a non-empty string', secret = false): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '') throw new ObservabilityConfigError(path, secret ? '[given]' : value, accepted);
  return value;
}

/**
 * One of `accepted`: the option, else the environment variable (read
 * case-insensitively, `LOG_LEVEL=WARN`), else `fallback`. An env value that the
 * option overrides is not checked.
 */
export function pickEnum<T extends string>(
  value: T | undefined,
  path: string,
  accepted: readonly T[],
  fallback: T,
  fromEnv?: { env: Env; name: string },
): T {
  if (value !== undefined) {
    if (!accepted.includes(value)) throw new ObservabilityConfigError(path, value, `one of ${accepted.join(', ')}`);
    return value;
  }
  const raw = fromEnv && readEnv(fromEnv.env, fromEnv.name);
  if (fromEnv && raw !== undefined) {
    // The message shows the value as given, not lower-cased.
    const lower = raw.toLowerCase() as T;
    if (!accepted.includes(lower)) throw new ObservabilityConfigError(fromEnv.name, raw, `one of ${accepted.join(', ')}`, 'env');
    return lower;
  }
  return fallback;
}

/**
 * A whole number of at least `min`, or `fallback` when unset. `unit` goes in
 * the message (`a whole number of milliseconds, at least 1`).
 */
export function wholeNumber(value: number | undefined, path: string, min: number, fallback: number, unit?: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min) throw new ObservabilityConfigError(path, value, wholeNumberText(min, unit));
  return value;
}

/**
 * {@link wholeNumber} that falls back to an environment variable of digits
 * only (`1e4` and `10.0` are typos in a deployment file, not numbers).
 */
export function envWholeNumber(
  value: number | undefined,
  path: string,
  fromEnv: { env: Env; name: string },
  min: number,
  fallback: number,
  unit?: string,
): number {
  if (value !== undefined) return wholeNumber(value, path, min, fallback, unit);
  const raw = readEnv(fromEnv.env, fromEnv.name);
  if (raw === undefined) return fallback;
  const parsed = Number(raw);
  if (!/^\d+$/.test(raw) || parsed < min) throw new ObservabilityConfigError(fromEnv.name, raw, wholeNumberText(min, unit), 'env');
  return parsed;
}

/** A TCP port (0 picks a free one), or `undefined` when unset. */
export function port(value: number | undefined, path: string): number | undefined {
  if (value !== undefined && (!Number.isInteger(value) || value < 0 || value > 65535)) {
    throw new ObservabilityConfigError(path, value, 'a port number from 0 to 65535');
  }
  return value;
}

/**
 * A request path the library serves itself (`/metrics`, `/health/ready`), or
 * `fallback` when unset. No trailing `/`: the endpoints match paths exactly.
 */
export function urlPath(value: string | undefined, path: string, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !URL_PATH.test(value) || (value.length > 1 && value.endsWith('/'))) {
    throw new ObservabilityConfigError(path, value, 'a path starting with "/" (letters, digits, ".", "_", "-", "/"; no trailing "/")');
  }
  return value;
}

/**
 * The known key closest to `key`, if it is close enough to be a typo of it:
 * at most 2 edits (a swap of neighbours counts as one), ignoring case, and
 * fewer than half the key's letters, so `port` is not offered for `host`.
 */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  const given = key.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const distance = editDistance(given, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  if (best === undefined || bestDistance > 2 || bestDistance >= Math.max(given.length, best.length) / 2) return undefined;
  return best;
}

const URL_PATH = /^\/[\w./-]*$/;

/** Keys whose values are credentials: never printed, even misspelt. */
const SECRET_KEY = /token|passw|secret|credential/i;

function plainObject(value: unknown, path: string, accepted: string, secret = false): object {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ObservabilityConfigError(path, secret ? '[given]' : value, accepted);
  }
  return value;
}

function wholeNumberText(min: number, unit: string | undefined): string {
  return unit === undefined ? `a whole number of at least ${min}` : `a whole number of ${unit}, at least ${min}`;
}

/** Optimal string alignment distance: Levenshtein plus the swap of two neighbours (`Nmae` → `Name`) as one edit. */
function editDistance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) rows[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      rows[i][j] = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) rows[i][j] = Math.min(rows[i][j], rows[i - 2][j - 2] + 1);
    }
  }
  return rows[a.length][b.length];
}
