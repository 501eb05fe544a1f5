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
 * The same fragments as they are written in free text (`db password=…`, `x-api-key: …`,
 * `"client_secret":"…"`), for the key=value scan of strings.
 */
const DEFAULT_KEY_SOURCE = 'authorization|cookie|passw(?:or)?d|secret|token|api[-_ ]?key|private[-_ ]?key|session|credential';

/**
 * Keys whose values are ids, kept as they are (exact names, normalised like the
 * sensitive fragments): a span id or a client's request id can look like a card
 * number, and a scrubbed id breaks correlation. A sensitive key still wins.
 */
const ID_KEYS: ReadonlySet<string> = new Set(
  [
    'trace_id',
    'span_id',
    'parent_span_id',
    'request_id',
    'x-request-id',
    'http.request.id',
    'correlation_id',
    'x-correlation-id',
    'trace.id',
    'span.id',
    'http.route',
    'route',
    'job_id',
    'messaging.message.id',
  ].map(normalizeKey),
);

const enum KeyKind {
  Plain,
  Sensitive,
  Id,
}

/**
 * Built-in value patterns: bearer/basic credentials, JWTs, card numbers, e-mail
 * addresses. They are scanned as one alternation (one pass per string), so each
 * is written to be correct under the shared `g` flag, case spelled out where it matters.
 */
const DEFAULT_PATTERNS: RedactionPattern[] = [
  { name: 'credential', pattern: /\b(?:[Bb]earer|[Bb]asic|BEARER|BASIC)\s+[A-Za-z0-9\-._~+/]+=*/g },
  { name: 'jwt', pattern: /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+/g },
  // Runs of 13+ digits, optionally grouped by spaces or dashes; which parts are cards is decided by `censorCards`.
  { name: 'card', pattern: /\b\d(?:[ -]?\d){12,}\b/g },
  // The local part starts a token: tried only there, not again at each of its characters (the same
  // matches, since the leftmost one wins), so a long id or hex token costs one pass, not a quadratic one.
  { name: 'email', pattern: /(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g },
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
/** The longest key the key=value scan looks at, on either side of the sensitive fragment. */
const MAX_PAIR_KEY_AFFIX = 64;
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
  private readonly keyCache = new Map<string, KeyKind>();
  /** Cheap pre-check of the key=value scan: does the string name a sensitive key at all? */
  private readonly pairHint: RegExp;
  /** `key=value`, `key: value`, `"key":"value"` with a sensitive key: key, separator, opening quote (`"` or `'`). */
  private readonly pairs: RegExp;
  private readonly censorPair = (_match: string, key: string, separator: string, double?: string, single?: string): string =>
    `${key}${separator}${double ?? single ?? ''}${this.censor}`;
  private readonly censorPattern = (match: string, ...rest: unknown[]): string => {
    const index = rest.findIndex((g, i) => i < this.names.length && g !== undefined);
    if (this.names[index] !== 'card') return this.patternCensors[index] ?? this.censor;
    return censorCards(match, rest[this.names.length] as number, rest[this.names.length + 1] as string, this.patternCensors[index]!);
  };

  constructor(policy: ScrubberPolicy) {
    this.enabled = policy.enabled;
    this.censor = policy.censor;
    const customKeys = policy.keys.map(normalizeKey);
    this.fragments = [...DEFAULT_KEY_FRAGMENTS, ...customKeys];
    // Custom keys are matched in free text as they are in objects: `-`, `_`, `.` or a space may sit between letters.
    const keySource = [DEFAULT_KEY_SOURCE, ...customKeys.filter((k) => k !== '').map((k) => [...k].map(escapeRegExp).join('[-_. ]?'))].join(
      '|',
    );
    this.pairHint = new RegExp(keySource, 'i');
    // The key starts a word (so only word starts are tried); a colon needs a space after it or a quote
    // before it, so that `/v1/sessions:batchCreate` or `token:42` in a path is no pair. An auth scheme
    // (`Bearer abc`) is part of the value; a quoted value runs to its closing quote.
    const affix = String.raw`[\w.-]{0,${MAX_PAIR_KEY_AFFIX}}`;
    this.pairs = new RegExp(
      String.raw`(?<![\w.-])(${affix}?(?:${keySource})${affix})` +
        String.raw`([ \t]*=[ \t]*|[ \t]*:[ \t]+|\\?["'][ \t]*[:=][ \t]*)` +
        String.raw`(?:(\\?")[^"\\\n]+|(\\?')[^'\\\n]+|(?:(?:bearer|basic|digest|negotiate|token)[ \t]+)?[^\s&,;"'\\]+)`,
      'gi',
    );
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
    return this.enabled && this.keyKind(key) === KeyKind.Sensitive;
  }

  /**
   * Whether this key holds an id (`trace_id`, `span_id`, `request_id`, `http.request.id`,
   * `http.route`, …) whose string value is kept as it is. A sensitive key is never an id key.
   */
  isIdKey(key: string): boolean {
    return this.enabled && this.keyKind(key) === KeyKind.Id;
  }

  /**
   * Replaces every value pattern found in the string, and the value of every
   * `key=value` / `key: value` / `"key":"value"` pair with a sensitive key. A
   * whole string shaped like a W3C trace id (32 lowercase hex) or a span id with a
   * hex letter (16) is kept. An all-decimal 16-digit value is not: alone, it cannot
   * be told from a card number, so it is kept only under an id key (`span_id`).
   */
  scrubString(value: string): string {
    if (!this.enabled || isTraceOrSpanId(value)) return value;
    let out = value;
    if (value.length >= MIN_PATTERN_LENGTH) {
      // Most strings have neither `=` nor `:`, or name no sensitive key: the scan is skipped.
      if ((value.includes('=') || value.includes(':')) && this.pairHint.test(value)) out = out.replace(this.pairs, this.censorPair);
      this.combined.lastIndex = 0;
      if (this.combined.test(out)) out = out.replace(this.combined, this.censorPattern);
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
      const kind = this.keyKind(key);
      to[key] =
        kind === KeyKind.Sensitive && v !== undefined && v !== null
          ? this.censor
          : kind === KeyKind.Id && typeof v === 'string'
            ? v
            : this.walk(v, depth + 1, maxDepth);
    }
  }

  private keyKind(key: string): KeyKind {
    let kind = this.keyCache.get(key);
    if (kind === undefined) {
      const normalized = normalizeKey(key);
      kind = this.fragments.some((f) => normalized.includes(f)) ? KeyKind.Sensitive : ID_KEYS.has(normalized) ? KeyKind.Id : KeyKind.Plain;
      if (this.keyCache.size >= KEY_CACHE_LIMIT) this.keyCache.clear();
      this.keyCache.set(key, kind);
    }
    return kind;
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

function escapeRegExp(char: string): string {
  return char.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * A W3C trace id (32 lowercase hex: no card has 32 digits) or a span id (16
 * lowercase hex) with at least one letter: an all-decimal 16-digit string could
 * be a card, and only its key (`span_id`) can say it is not.
 */
function isTraceOrSpanId(value: string): boolean {
  if (value.length !== 16 && value.length !== 32) return false;
  let letter = value.length === 32;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 97 && c <= 102) letter = true;
    else if (!(c >= 48 && c <= 57)) return false;
  }
  return letter;
}

/**
 * `run` (a match of the card pattern at `offset` in `text`) with every card number
 * in it replaced. A card is a single group of 13–19 digits, or groups joined by
 * one and the same separator, the first of 4 digits and the others of 3–6
 * (4-4-4-4, 4-6-5, 4-6-4), that passes the Luhn check, has a known issuer prefix
 * and length, and is not part of a longer token (a UUID, a traceparent, a hex id).
 * So `4111 1111 1111 1111 123` (card and CVV) is caught, while order ids, timestamps
 * and ids that happen to pass Luhn are kept.
 */
function censorCards(run: string, offset: number, text: string, censor: string): string {
  const groups: { start: number; end: number }[] = [];
  const re = /\d+/g;
  for (let m = re.exec(run); m !== null; m = re.exec(run)) groups.push({ start: m.index, end: m.index + m[0].length });
  let out = '';
  let copied = 0;
  let i = 0;
  while (i < groups.length) {
    const last = cardEnd(run, groups, i, offset, text);
    if (last === -1) {
      i++;
      continue;
    }
    out += `${run.slice(copied, groups[i]!.start)}${censor}`;
    copied = groups[last]!.end;
    i = last + 1;
  }
  return copied === 0 ? run : out + run.slice(copied);
}

/** The index of the last group of a card starting at group `i`, or -1. */
function cardEnd(run: string, groups: readonly { start: number; end: number }[], i: number, offset: number, text: string): number {
  const first = groups[i]!;
  const size = first.end - first.start;
  if (size >= 13 && size <= 19) return isCard(run.slice(first.start, first.end), offset + first.start, offset + first.end, text) ? i : -1;
  if (size !== 4) return -1;
  const separator = run[first.end];
  let digits = size;
  for (let j = i + 1; j < groups.length; j++) {
    const group = groups[j]!;
    const groupSize = group.end - group.start;
    if (groupSize < 3 || groupSize > 6 || run[group.start - 1] !== separator) return -1;
    digits += groupSize;
    if (digits > 19) return -1;
    if (digits >= 13 && isCard(run.slice(first.start, group.end), offset + first.start, offset + group.end, text)) return j;
  }
  return -1;
}

/** Whether `text[start, end)` (digits and separators) is a card number standing on its own. */
function isCard(candidate: string, start: number, end: number, text: string): boolean {
  if (joined(text, start - 1, -1) || joined(text, end, 1)) return false;
  const digits = candidate.replace(/\D/g, '');
  return hasCardPrefix(digits) && luhn(digits);
}

/** Whether the character at `at` joins a card candidate to a longer token: a letter or digit, or a dash before one. */
function joined(text: string, at: number, step: 1 | -1): boolean {
  const isAlnum = (i: number) => /[0-9A-Za-z]/.test(text.charAt(i));
  return isAlnum(at) || (text.charAt(at) === '-' && isAlnum(at + step));
}

/**
 * Known issuer prefixes with their lengths: Visa 4 (13, 16, 19), Mastercard 51–55
 * and 2221–2720 (16), Amex 34/37 (15), Diners 300–305/3095/36/38/39 (14–19), JCB
 * 3528–3589 (16–19), Maestro 50/56–69 (13–19, which covers Discover 6011/644–649/65
 * and UnionPay 62). Ids starting 0, 1, 7, 8, 9 or another 2/3 are no card.
 */
function hasCardPrefix(digits: string): boolean {
  const n = digits.length;
  const p2 = Number(digits.slice(0, 2));
  const p3 = Number(digits.slice(0, 3));
  const p4 = Number(digits.slice(0, 4));
  if (digits.charCodeAt(0) === 52) return n === 13 || n === 16 || n === 19;
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return n === 16;
  if (p2 === 34 || p2 === 37) return n === 15;
  if ((p3 >= 300 && p3 <= 305) || p4 === 3095 || p2 === 36 || p2 === 38 || p2 === 39) return n >= 14;
  if (p4 >= 3528 && p4 <= 3589) return n >= 16;
  return p2 === 50 || (p2 >= 56 && p2 <= 69);
}

/** Card numbers pass the Luhn check; other long digit runs (ids, timestamps) are kept. */
function luhn(digits: string): boolean {
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
