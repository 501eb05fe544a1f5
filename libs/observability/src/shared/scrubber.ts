/** A value pattern the scrubber replaces wherever it appears in a string. */
export interface RedactionPattern {
  /** Shown in the censor text: `[REDACTED:email]`. */
  name: string;
  /** Must be global (`g` flag). */
  pattern: RegExp;
}

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

/**
 * Built-in value patterns: bearer/basic credentials, JWTs, card numbers, e-mail
 * addresses. They are scanned as one alternation (one pass per string), so each
 * is written to be correct under the shared `g` flag, case spelled out where it matters.
 */
const DEFAULT_PATTERNS: RedactionPattern[] = [
  { name: 'credential', pattern: /\b(?:[Bb]earer|[Bb]asic|BEARER|BASIC)\s+[A-Za-z0-9\-._~+/]+=*/g },
  { name: 'jwt', pattern: /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+/g },
  // Runs of 13+ digits, optionally grouped by spaces or dashes; which part is a card is decided by `cardWindow`.
  { name: 'card', pattern: /\b\d(?:[ -]?\d){12,}\b/g },
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
  /** User patterns keep their own flags (`s`, `u`, case), so they run one by one after the built-ins. */
  private readonly custom: readonly { pattern: RegExp; censor: string }[];
  /** Per pattern: `[REDACTED:email]`, so a reader knows what was there. */
  private readonly patternCensors: readonly string[];
  /** What a sensitive key's value is replaced with. */
  readonly censor: string;
  private readonly keyCache = new Map<string, boolean>();

  constructor(policy: ScrubberPolicy) {
    this.enabled = policy.enabled;
    this.censor = policy.censor;
    this.fragments = [...DEFAULT_KEY_FRAGMENTS, ...policy.keys.map(normalizeKey)];
    const label = (name: string) => (this.censor.endsWith(']') ? `${this.censor.slice(0, -1)}:${name}]` : this.censor);
    this.names = DEFAULT_PATTERNS.map((p) => p.name);
    this.patternCensors = this.names.map(label);
    this.combined = new RegExp(DEFAULT_PATTERNS.map((p) => `(${stripGroups(p.pattern.source)})`).join('|'), 'g');
    this.custom = policy.patterns.map((p) => ({
      pattern: p.pattern.global ? new RegExp(p.pattern.source, p.pattern.flags) : new RegExp(p.pattern.source, `${p.pattern.flags}g`),
      censor: label(p.name),
    }));
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
    if (!this.enabled) return value;
    let out = value;
    if (value.length >= MIN_PATTERN_LENGTH) {
      this.combined.lastIndex = 0;
      if (this.combined.test(value)) {
        out = value.replace(this.combined, (match: string, ...groups: unknown[]) => {
          const index = groups.findIndex((g, i) => i < this.names.length && g !== undefined);
          if (this.names[index] !== 'card') return this.patternCensors[index] ?? this.censor;
          const card = cardWindow(match);
          return card ? `${match.slice(0, card.start)}${this.patternCensors[index]}${match.slice(card.end)}` : match;
        });
      }
    }
    for (const { pattern, censor } of this.custom) {
      pattern.lastIndex = 0;
      out = out.replace(pattern, censor);
    }
    return out;
  }

  /**
   * A scrubbed copy of any value: sensitive keys censored, strings pattern-scrubbed,
   * errors turned into `{ type, message, stack }`. The input is never modified.
   */
  scrub<T>(value: T): T {
    return this.enabled ? (this.walk(value, 0, MAX_DEPTH) as T) : value;
  }

  /** {@link scrub} for deep documents (an error report's stack frames), down to `maxDepth` levels. */
  scrubDeep<T>(value: T, maxDepth: number): T {
    return this.enabled ? (this.walk(value, 0, maxDepth) as T) : value;
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
        // Re-encoded: a decoded `&` or `=` must not read as another parameter.
        return scrubbed === decoded
          ? pair
          : `${rawKey}=${encodeURIComponent(scrubbed).replace(/%5B/g, '[').replace(/%5D/g, ']').replace(/%3A/g, ':')}`;
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

  private walk(value: unknown, depth: number, maxDepth: number): unknown {
    if (typeof value === 'string') return this.scrubString(value);
    if (value === null || typeof value !== 'object') return value;
    if (depth >= maxDepth) return '[Truncated]';
    if (Array.isArray(value)) return value.map((v) => this.walk(v, depth + 1, maxDepth));
    if (value instanceof Error) {
      // Same prototype, so that `instanceof` and the constructor name (pino's
      // `err.type`) survive; only the copy's text is scrubbed.
      const out = Object.create(Object.getPrototypeOf(value) as object) as Record<string, unknown>;
      this.copyEntries(value, out, depth, maxDepth);
      Object.defineProperty(out, 'message', {
        value: this.scrubString(value.message),
        enumerable: false,
        writable: true,
        configurable: true,
      });
      if (value.stack)
        Object.defineProperty(out, 'stack', {
          value: this.scrubString(value.stack),
          enumerable: false,
          writable: true,
          configurable: true,
        });
      if ('cause' in value && value.cause !== undefined) out.cause = this.walk(value.cause, depth + 1, maxDepth);
      return out;
    }
    if (value instanceof Date || Buffer.isBuffer(value)) return value;
    const out: Record<string, unknown> = {};
    this.copyEntries(value as Record<string, unknown>, out, depth, maxDepth);
    return out;
  }

  private copyEntries(from: object, to: Record<string, unknown>, depth: number, maxDepth: number): void {
    for (const key of Object.keys(from)) {
      const v = (from as Record<string, unknown>)[key];
      to[key] = this.isSensitiveKey(key) && v !== undefined && v !== null ? this.censor : this.walk(v, depth + 1, maxDepth);
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

/**
 * The part of a digit run that is a card number, if any: a single group of
 * 13–19 digits, or consecutive groups of 3–6 digits (4-4-4-4, 4-6-5) adding up
 * to 13–19, that passes the Luhn check. So `4111 1111 1111 1111 123` (card and
 * CVV) is caught, while a UUID's long groups or an order id failing Luhn are kept.
 */
function cardWindow(run: string): { start: number; end: number } | undefined {
  const groups: { start: number; end: number }[] = [];
  const re = /\d+/g;
  for (let m = re.exec(run); m !== null; m = re.exec(run)) groups.push({ start: m.index, end: m.index + m[0].length });
  for (let i = 0; i < groups.length; i++) {
    const single = groups[i].end - groups[i].start;
    if (single >= 13 && single <= 19 && luhn(run.slice(groups[i].start, groups[i].end))) return groups[i];
    let digits = 0;
    for (let j = i; j < groups.length; j++) {
      const size = groups[j].end - groups[j].start;
      if (size < 3 || size > 6) break;
      digits += size;
      if (digits > 19) break;
      if (j > i && digits >= 13 && luhn(run.slice(groups[i].start, groups[j].end))) return { start: groups[i].start, end: groups[j].end };
    }
  }
  return undefined;
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
