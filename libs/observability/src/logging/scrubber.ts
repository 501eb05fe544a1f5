import type { RedactionPattern } from '../config/options.interface';

/** Key fragments whose values are always replaced (compared lower-case, without `-`/`_`/spaces). */
const DEFAULT_KEY_FRAGMENTS = [
  'authorization',
  'cookie',
  'password',
  'passwd',
  'secret',
  'token',
  'apikey',
  'privatekey',
  'session',
  'credential',
] as const;

/** Built-in value patterns: bearer/basic credentials, JWTs, card numbers, e-mail addresses. */
const DEFAULT_PATTERNS: RedactionPattern[] = [
  { name: 'credential', pattern: /\b(?:Bearer|Basic)\s+[A-Za-z0-9\-._~+/]+=*/gi },
  { name: 'jwt', pattern: /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+/g },
  { name: 'card', pattern: /\b\d(?:[ -]?\d){12,18}\b/g },
  { name: 'email', pattern: /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g },
];

/** What the scrubber needs to know; the module's `redaction` options resolve to this. */
export interface ScrubberPolicy {
  enabled: boolean;
  keys: readonly string[];
  patterns: readonly RedactionPattern[];
  censor: string;
}

/** Strings shorter than this cannot hold any of the built-in patterns; skipping them keeps log lines cheap. */
const MIN_PATTERN_LENGTH = 6;
const MAX_DEPTH = 8;
/** Key verdicts are cached; the cap keeps memory bounded when keys are data (ids as keys). */
const KEY_CACHE_LIMIT = 4096;

/**
 * The one redaction policy of the library: the same instance scrubs log
 * records, span attributes and error reports, by key and by value.
 *
 * @example
 * const scrubber = new Scrubber({ enabled: true, keys: ['pin'], patterns: [], censor: '[REDACTED]' });
 * scrubber.scrub({ user: 'a@b.io', pin: '1234' }); // { user: '[REDACTED:email]', pin: '[REDACTED]' }
 */
export class Scrubber {
  readonly enabled: boolean;
  private readonly fragments: readonly string[];
  private readonly combined: RegExp;
  private readonly names: readonly string[];
  /** Per pattern: `[REDACTED:email]`, so a reader knows what was there. */
  private readonly patternCensors: readonly string[];
  /** What a sensitive key's value is replaced with. */
  readonly censor: string;
  private readonly keyCache = new Map<string, boolean>();

  constructor(policy: ScrubberPolicy) {
    this.enabled = policy.enabled;
    this.censor = policy.censor;
    this.fragments = [...DEFAULT_KEY_FRAGMENTS, ...policy.keys.map(normalizeKey)];
    const patterns = [...DEFAULT_PATTERNS, ...policy.patterns];
    this.names = patterns.map((p) => p.name);
    this.patternCensors = this.names.map((name) =>
      this.censor.endsWith(']') ? `${this.censor.slice(0, -1)}:${name}]` : this.censor,
    );
    // One alternation scans a string once, whatever the number of patterns.
    const flags = patterns.some((p) => p.pattern.ignoreCase) ? 'gi' : 'g';
    this.combined = new RegExp(patterns.map((p) => `(${stripGroups(p.pattern.source)})`).join('|'), flags);
  }

  /** The policy with nothing but the built-in keys and patterns. */
  static withDefaults(): Scrubber {
    return new Scrubber({ enabled: true, keys: [], patterns: [], censor: '[REDACTED]' });
  }

  /** Whether values under this key are always replaced. */
  isSensitiveKey(key: string): boolean {
    if (!this.enabled) return false;
    let verdict = this.keyCache.get(key);
    if (verdict === undefined) {
      const normalized = normalizeKey(key);
      verdict = this.fragments.some((f) => normalized.includes(f));
      if (this.keyCache.size >= KEY_CACHE_LIMIT) this.keyCache.clear();
      this.keyCache.set(key, verdict);
    }
    return verdict;
  }

  /** Replaces every value pattern found in the string. */
  scrubString(value: string): string {
    if (!this.enabled || value.length < MIN_PATTERN_LENGTH) return value;
    this.combined.lastIndex = 0;
    if (!this.combined.test(value)) return value;
    return value.replace(this.combined, (match: string, ...groups: unknown[]) => {
      const index = groups.findIndex((g, i) => i < this.names.length && g !== undefined);
      if (this.names[index] === 'card' && !luhn(match)) return match;
      return this.patternCensors[index] ?? this.censor;
    });
  }

  /**
   * A scrubbed copy of any value: sensitive keys censored, strings pattern-scrubbed,
   * errors turned into `{ type, message, stack }`. The input is never modified.
   */
  scrub<T>(value: T): T {
    return this.enabled ? (this.walk(value, 0) as T) : value;
  }

  /** Scrubs a query string (`a=1&token=x`): sensitive keys censored, values pattern-scrubbed. */
  scrubQuery(query: string): string {
    if (!this.enabled || query === '') return query;
    return query
      .split('&')
      .map((pair) => {
        const eq = pair.indexOf('=');
        const rawKey = eq === -1 ? pair : pair.slice(0, eq);
        if (eq === -1) return this.scrubString(pair);
        if (this.isSensitiveKey(safeDecode(rawKey))) return `${rawKey}=${this.censor}`;
        const rawValue = pair.slice(eq + 1);
        const decoded = safeDecode(rawValue);
        const scrubbed = this.scrubString(decoded);
        return scrubbed === decoded ? pair : `${rawKey}=${scrubbed}`;
      })
      .join('&');
  }

  /** Scrubs a URL or path with an optional query (`/a/b?token=x`). */
  scrubUrl(url: string): string {
    if (!this.enabled) return url;
    const q = url.indexOf('?');
    if (q === -1) return this.scrubString(url);
    return `${this.scrubString(url.slice(0, q))}?${this.scrubQuery(url.slice(q + 1))}`;
  }

  private walk(value: unknown, depth: number): unknown {
    if (typeof value === 'string') return this.scrubString(value);
    if (value === null || typeof value !== 'object') return value;
    if (depth >= MAX_DEPTH) return '[Truncated]';
    if (Array.isArray(value)) return value.map((v) => this.walk(v, depth + 1));
    if (value instanceof Error) {
      const out: Record<string, unknown> = { type: value.name, message: this.scrubString(value.message) };
      if (value.stack) out.stack = this.scrubString(value.stack);
      this.copyEntries(value, out, depth);
      return out;
    }
    if (value instanceof Date || Buffer.isBuffer(value)) return value;
    const out: Record<string, unknown> = {};
    this.copyEntries(value as Record<string, unknown>, out, depth);
    return out;
  }

  private copyEntries(from: object, to: Record<string, unknown>, depth: number): void {
    for (const key of Object.keys(from)) {
      const v = (from as Record<string, unknown>)[key];
      to[key] = this.isSensitiveKey(key) && v !== undefined && v !== null ? this.censor : this.walk(v, depth + 1);
    }
  }
}

function normalizeKey(key: string): string {
  return key.toLowerCase().replace(/[-_\s.]/g, '');
}

/** Turns capturing groups into non-capturing ones so that group indexes map to pattern indexes. */
function stripGroups(source: string): string {
  return source.replace(/\\\\|\\\(|\((?!\?)/g, (m) => (m === '(' ? '(?:' : m));
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return value;
  }
}

/** Card numbers pass the Luhn check; other long digit runs (ids, timestamps) are kept. */
function luhn(candidate: string): boolean {
  const digits = candidate.replace(/\D/g, '');
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}
