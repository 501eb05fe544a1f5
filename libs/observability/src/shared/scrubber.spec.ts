import { randomBytes, randomUUID } from 'node:crypto';

import { Scrubber, type ScrubberPolicy } from './scrubber';

const policy = (overrides: Partial<ScrubberPolicy> = {}): ScrubberPolicy => ({
  enabled: true,
  keys: [],
  patterns: [],
  censor: '[REDACTED]',
  ...overrides,
});

/** Freezes a value and everything under it, so a write to the input throws. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}

// Luhn-valid test card numbers.
const VISA = '4111111111111111';
const MASTERCARD = '5555555555554444';
const JWT = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U';

describe('Scrubber', () => {
  const scrubber = Scrubber.withDefaults();

  describe('sensitive keys', () => {
    it.each([
      'authorization',
      'Authorization',
      'Cookie',
      'set-cookie',
      'x-api-key',
      'userPassword',
      'refresh_token',
      'client_secret',
      'sessionId',
      'privateKey',
    ])('censors the value under %s', (key) => {
      expect(scrubber.scrub({ [key]: 'value-1234567', keep: 'visible' })).toEqual({ [key]: '[REDACTED]', keep: 'visible' });
    });

    it('censors sensitive keys at any depth, inside arrays too', () => {
      const input = {
        request: { headers: { Authorization: 'Basic abc', 'x-api-key': 'k', accept: 'application/json' } },
        users: [{ name: 'ann', userPassword: 'hunter2' }],
        deep: { a: { b: { c: { client_secret: 's3cr3t', ok: 1 } } } },
      };
      expect(scrubber.scrub(input)).toEqual({
        request: { headers: { Authorization: '[REDACTED]', 'x-api-key': '[REDACTED]', accept: 'application/json' } },
        users: [{ name: 'ann', userPassword: '[REDACTED]' }],
        deep: { a: { b: { c: { client_secret: '[REDACTED]', ok: 1 } } } },
      });
    });

    it('censors a whole object under a sensitive key', () => {
      expect(scrubber.scrub({ session: { id: 'abc', user: 'ann' } })).toEqual({ session: '[REDACTED]' });
    });

    it('leaves null and undefined under a sensitive key as they are', () => {
      expect(scrubber.scrub({ password: null, token: undefined })).toEqual({ password: null, token: undefined });
    });

    it('answers isSensitiveKey the same way', () => {
      expect(['X-Api-Key', 'refresh_token', 'name'].map((k) => scrubber.isSensitiveKey(k))).toEqual([true, true, false]);
    });
  });

  describe('value patterns', () => {
    it.each([
      ['a Bearer token', 'auth Bearer abc.def-ghi_123', 'auth [REDACTED:credential]'],
      ['Basic credentials', 'sent Basic dXNlcjpwYXNzd29yZA==', 'sent [REDACTED:credential]'],
      ['a JWT', `jwt=${JWT} end`, 'jwt=[REDACTED:jwt] end'],
      ['a card number', `card ${VISA} ok`, 'card [REDACTED:card] ok'],
      ['a card number with spaces', 'card 4111 1111 1111 1111 ok', 'card [REDACTED:card] ok'],
      ['a card number with dashes', 'card 5555-5555-5555-4444 ok', 'card [REDACTED:card] ok'],
      ['an e-mail address', 'mail ann.lee+x@mail.example.com now', 'mail [REDACTED:email] now'],
      ['several values in one string', `from ann@x.io paid ${MASTERCARD}`, 'from [REDACTED:email] paid [REDACTED:card]'],
    ])('replaces %s', (_case, input, expected) => {
      expect(scrubber.scrubString(input)).toBe(expected);
    });

    it('scrubs strings nested in objects and arrays', () => {
      expect(scrubber.scrub({ msg: 'hi ann@x.io', list: ['Bearer abcdef', 42, true] })).toEqual({
        msg: 'hi [REDACTED:email]',
        list: ['[REDACTED:credential]', 42, true],
      });
    });

    it.each([
      ['a Luhn-invalid 16-digit number', 'order 4111111111111112'],
      ['a UUID', 'id 550e8400-e29b-41d4-a716-446655440000'],
      ['a UUID whose groups are all digits', 'id 12345678-1234-4129-8123-123456789012'],
      ['a 32-hex trace id', 'trace 4bf92f3577b34da6a3ce929d0e0e4736'],
      ['an ISO timestamp', 'at 2024-01-15T10:30:00.000Z'],
      ['an ISO timestamp with offset', 'at 2024-01-15 10:30:00+01:00'],
    ])('keeps %s', (_case, input) => {
      expect(scrubber.scrubString(input)).toBe(input);
    });

    it.each([
      ['followed by a CVV', `pay ${'4111 1111 1111 1111'} 123`],
      ['followed by the expiry', 'card 4111 1111 1111 1111 12/27'],
      ['preceded by a quantity', `total 2 ${VISA}`],
    ])('still replaces a Luhn-valid card number %s', (_case, input) => {
      const out = scrubber.scrubString(input);
      expect(out).not.toMatch(/4111[ -]?1111[ -]?1111[ -]?1111/);
      expect(out).toContain('[REDACTED:card]');
    });
  });

  describe('ids', () => {
    // All-decimal, Luhn-valid, Visa prefix: a card number by shape, and a valid span id or request id too.
    const DECIMAL_ID = VISA;

    it.each([
      'trace_id',
      'span_id',
      'parent_span_id',
      'request_id',
      'traceId',
      'spanId',
      'requestId',
      'trace.id',
      'span.id',
      'http.request.id',
      'x-request-id',
      'job_id',
      'messaging.message.id',
    ])('keeps the value under the id key %s as it is', (key) => {
      expect(scrubber.scrub({ [key]: DECIMAL_ID })).toEqual({ [key]: DECIMAL_ID });
    });

    it('keeps a route template under route and http.route', () => {
      const route = '/cards/:card/owner/:email';
      expect(scrubber.scrub({ route, 'http.route': route })).toEqual({ route, 'http.route': route });
    });

    it('exempts exact id keys only, not keys that contain one', () => {
      expect(scrubber.scrub({ note_request_id: `card ${VISA}` })).toEqual({ note_request_id: 'card [REDACTED:card]' });
    });

    it('still censors an id-like key that is sensitive: a sensitive key wins', () => {
      const custom = new Scrubber(policy({ keys: ['request'] }));
      expect(custom.scrub({ request_id: 'abc-123', span_id: DECIMAL_ID })).toEqual({ request_id: '[REDACTED]', span_id: DECIMAL_ID });
      expect(scrubber.scrub({ token: '4bf92f3577b34da6a3ce929d0e0e4736', session_id: 'abc' })).toEqual({
        token: '[REDACTED]',
        session_id: '[REDACTED]',
      });
      expect(scrubber.isIdKey('request_id')).toBe(true);
      expect(custom.isIdKey('request_id')).toBe(false);
    });

    it('keeps a whole value shaped like a W3C span id (16 lowercase hex with a letter) or trace id (32)', () => {
      for (const id of ['00f067aa0ba902b7', '4bf92f3577b34da6a3ce929d0e0e4736', '00000000000000000000000000000001']) {
        expect(scrubber.scrubString(id)).toBe(id);
        expect(scrubber.scrub({ parent: id })).toEqual({ parent: id });
      }
    });

    it('keeps an all-decimal, card-valid span id under its id key, but redacts the same digits as a bare value', () => {
      // Alone, 16 Luhn-valid digits with a card prefix are a card: a body field like `card` must not leak.
      for (const id of [DECIMAL_ID, '5500005555555559', '4111111111111111']) {
        expect(scrubber.scrub({ span_id: id, request_id: id })).toEqual({ span_id: id, request_id: id });
        expect(scrubber.scrub({ card: id })).toEqual({ card: '[REDACTED:card]' });
        expect(scrubber.scrubString(id)).toBe('[REDACTED:card]');
      }
    });

    it('keeps a card-shaped span id inside a traceparent and a Luhn-valid digit run inside a UUID-like token', () => {
      const traceparent = `00-4bf92f3577b34da6a3ce929d0e0e4736-${DECIMAL_ID}-01`;
      expect(scrubber.scrubString(`parent ${traceparent} ok`)).toBe(`parent ${traceparent} ok`);
      expect(scrubber.scrubString(`id abcdef12-${DECIMAL_ID}`)).toBe(`id abcdef12-${DECIMAL_ID}`);
    });

    it('redacts nothing in a million random span ids, trace ids, UUIDs and digit-only request ids', () => {
      const count = 1_000_000;
      const bytes = randomBytes(count * 24);
      // Random bytes turned into ASCII digits in place: one buffer, sliced, for every decimal id.
      const digits = randomBytes(count * 36);
      for (let i = 0; i < digits.length; i++) digits[i] = 48 + (digits[i]! % 10);
      const decimal = (offset: number, length: number) => digits.toString('latin1', offset, offset + length);
      const seen: string[] = [];
      const note = (path: string, before: unknown, after: unknown) => {
        if (seen.length < 10) seen.push(`${path}: ${JSON.stringify(before)} -> ${JSON.stringify(after)}`);
      };
      let redactions = 0;
      for (let i = 0; i < count; i++) {
        // One in four span ids all-decimal: ~10% of those pass Luhn, and many start like a card.
        const spanId = i % 4 === 0 ? decimal(i * 36, 16) : bytes.toString('hex', i * 24, i * 24 + 8);
        const traceId = bytes.toString('hex', i * 24 + 8, i * 24 + 24);
        // Request ids as clients send them: half digit-only (16–20 digits), half UUIDs.
        const requestId = i % 2 === 0 ? decimal(i * 36 + 16, 16 + (i % 5)) : randomUUID();
        // One record in five also carries the ids in free text: the UUID and a traceparent.
        const inText = i % 5 === 0;
        const msg = inText ? `handled ${requestId.length === 36 ? requestId : 'request'} in 00-${traceId}-${spanId}-01` : 'handled';
        const record = { span_id: spanId, trace_id: traceId, request_id: requestId, msg };
        const out = scrubber.scrub(record);
        if (out.span_id !== spanId || out.trace_id !== traceId || out.request_id !== requestId || out.msg !== msg) {
          redactions++;
          note('scrub', record, out);
        }
        // A bare span id with a hex letter is kept by its shape; an all-decimal one only by its key (above).
        const alone = /[a-f]/.test(spanId) ? scrubber.scrubString(spanId) : spanId;
        if (alone !== spanId) {
          redactions++;
          note('scrubString(span id)', spanId, alone);
        }
        if (inText && requestId.length === 36 && scrubber.scrubString(requestId) !== requestId) {
          redactions++;
          note('scrubString(uuid)', requestId, scrubber.scrubString(requestId));
        }
      }
      expect({ redactions, seen }).toEqual({ redactions: 0, seen: [] });
    });
  });

  describe('card numbers', () => {
    it.each([
      ['grouped by spaces', 'card 4111 1111 1111 1111 declined', 'card [REDACTED:card] declined'],
      ['grouped by dashes', '4111-1111-1111-1111', '[REDACTED:card]'],
      ['a Mastercard in text', 'paid with 5500005555555559 today', 'paid with [REDACTED:card] today'],
      ['an Amex in text', 'amex 378282246310005.', 'amex [REDACTED:card].'],
      ['an Amex grouped 4-6-5', 'amex 3782 822463 10005 ok', 'amex [REDACTED:card] ok'],
      ['a 2-series Mastercard', 'mc 2223003122003222', 'mc [REDACTED:card]'],
      ['a Discover card', 'discover 6011111111111117', 'discover [REDACTED:card]'],
      ['a JCB card', 'jcb 3530111333300000', 'jcb [REDACTED:card]'],
      ['a Diners card (14 digits)', 'diners 30569309025904', 'diners [REDACTED:card]'],
      ['a card in a JSON body', '{"card":"4111 1111 1111 1111"}', '{"card":"[REDACTED:card]"}'],
      ['two cards in one run', 'cards 4111 1111 1111 1111 5555 5555 5555 4444', 'cards [REDACTED:card] [REDACTED:card]'],
    ])('replaces %s', (_case, input, expected) => {
      expect(scrubber.scrubString(input)).toBe(expected);
    });

    it.each([
      ['a Luhn-valid number with no card prefix', 'order 1234567812345670 shipped'],
      ['a Luhn-valid number of the wrong length for its brand (17-digit Visa)', 'ref 41111111111111113'],
      ['a Luhn-valid number joined by dashes to a longer token', 'ref 00-4111111111111111-01'],
      ['a Luhn-valid number inside an alphanumeric run', 'key ab4111111111111111cd'],
      ['a card with mixed separators', 'n 4111 1111-1111 1111'],
    ])('keeps %s', (_case, input) => {
      expect(scrubber.scrubString(input)).toBe(input);
    });
  });

  describe('key=value pairs in free text', () => {
    it.each([
      ['an error message', 'kaboom: db password=hunter2 at 10.0.0.5', 'kaboom: db password=[REDACTED] at 10.0.0.5'],
      ['key: value', 'connect failed, token: abc123 rejected', 'connect failed, token: [REDACTED] rejected'],
      ['JSON in a string', '{"user":"ann","password":"hunter 2","ok":true}', '{"user":"ann","password":"[REDACTED]","ok":true}'],
      ['escaped JSON in a string', '{\\"client_secret\\":\\"s3cr3t\\"}', '{\\"client_secret\\":\\"[REDACTED]\\"}'],
      ['a query string', 'GET /cb?access_token=abc.def&page=2', 'GET /cb?access_token=[REDACTED]&page=2'],
      [
        'a header dump',
        'authorization: Bearer abc.def-ghi; x-api-key=k1, accept: */*',
        'authorization: [REDACTED]; x-api-key=[REDACTED], accept: */*',
      ],
      ['a quoted value', "set db_passwd='p w' then", "set db_passwd='[REDACTED]' then"],
      ['two-word keys', 'api key: k1 private key = k2', 'api key: [REDACTED] private key = [REDACTED]'],
      ['a session cookie in a path', '/login;jsessionid=ABC123', '/login;jsessionid=[REDACTED]'],
      ['case-insensitively', 'PASSWORD=hunter2 Secret: x', 'PASSWORD=[REDACTED] Secret: [REDACTED]'],
    ])('censors the value of %s', (_case, input, expected) => {
      expect(scrubber.scrubString(input)).toBe(expected);
    });

    it.each([
      ['a sensitive word without a value', 'password reset requested by user 42'],
      ['a colon with no space and no quotes (a custom REST method)', '/v1/sessions:batchCreate'],
      ['an empty value', 'empty password="" given'],
      ['other keys', 'user=ann page=2 ratio: 0.5'],
    ])('keeps %s', (_case, input) => {
      expect(scrubber.scrubString(input)).toBe(input);
    });

    it('censors custom keys in free text, matched ignoring - and _', () => {
      const custom = new Scrubber(policy({ keys: ['x-tenant-code'] }));
      expect(custom.scrubString('tenant X_Tenant_Code=acme, user=ann')).toBe('tenant X_Tenant_Code=[REDACTED], user=ann');
    });

    it('scrubs the message and stack of an error', () => {
      const error = new Error('kaboom: db password=hunter2 at 10.0.0.5');
      const out = scrubber.scrub(error);
      expect(out.message).toBe('kaboom: db password=[REDACTED] at 10.0.0.5');
      expect(out.stack).toContain('Error: kaboom: db password=[REDACTED] at 10.0.0.5\n    at ');
    });
  });

  describe('copies', () => {
    it('never modifies the input object', () => {
      const input = deepFreeze({
        password: 'p',
        nested: { email: 'ann@x.io', list: ['Bearer abcdef', { token: 't' }] },
        error: new Error('failed for ann@x.io'),
      });
      const before = JSON.stringify(input);
      const out = scrubber.scrub(input);
      expect(JSON.stringify(input)).toBe(before);
      expect(out).not.toBe(input);
      expect(out.nested).not.toBe(input.nested);
    });

    it('keeps Dates and Buffers as they are', () => {
      const date = new Date('2024-01-15T10:30:00.000Z');
      const buffer = Buffer.from('ann@x.io');
      const out = scrubber.scrub({ date, buffer });
      expect(out.date).toBe(date);
      expect(out.buffer).toBe(buffer);
    });

    it('returns primitives unchanged', () => {
      expect([scrubber.scrub(42), scrubber.scrub(null), scrubber.scrub(undefined), scrubber.scrub(true)]).toEqual([
        42,
        null,
        undefined,
        true,
      ]);
    });
  });

  describe('errors', () => {
    it('copies an Error with its prototype, message and stack scrubbed, plus its own fields', () => {
      const error = Object.assign(new TypeError('lookup failed for ann@x.io'), { code: 'E_LOOKUP', token: 'abc' });
      const out = scrubber.scrub({ err: error }).err as unknown as TypeError & Record<string, unknown>;
      expect(out).toBeInstanceOf(TypeError);
      expect(out).not.toBe(error);
      expect(out.constructor.name).toBe('TypeError');
      expect(out.message).toBe('lookup failed for [REDACTED:email]');
      expect(out.stack).toContain('TypeError: lookup failed for [REDACTED:email]\n    at ');
      expect({ ...out }).toEqual({ code: 'E_LOOKUP', token: '[REDACTED]' });
      expect(error.message).toBe('lookup failed for ann@x.io');
    });
  });

  describe('depth', () => {
    it('replaces what lies too deep with [Truncated] and keeps the levels above', () => {
      type Node = { level: number; child?: Node };
      let deep: Node = { level: 50 };
      for (let level = 49; level >= 0; level--) deep = { level, child: deep };
      const out = scrubber.scrub(deep);
      const levels: number[] = [];
      let node: unknown = out;
      while (node !== null && typeof node === 'object') {
        levels.push((node as Node).level);
        node = (node as Node).child;
      }
      expect(levels).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      expect(node).toBe('[Truncated]');
    });

    it('survives a circular structure', () => {
      const circular: Record<string, unknown> = { name: 'loop', password: 'p' };
      circular.self = circular;
      const out = scrubber.scrub(circular);
      expect(out).toMatchObject({ name: 'loop', password: '[REDACTED]', self: { name: 'loop', password: '[REDACTED]' } });
      expect(JSON.stringify(out)).toContain('"[Truncated]"');
    });
  });

  describe('query strings and URLs', () => {
    it("scrubs 'a=1&token=abc&q=me%40x.io' by key and by decoded value", () => {
      expect(scrubber.scrubQuery('a=1&token=abc&q=me%40x.io')).toBe('a=1&token=[REDACTED]&q=[REDACTED:email]');
    });

    it('leaves a clean query byte for byte as it was', () => {
      expect(scrubber.scrubQuery('page=2&sort=name%20asc&flag')).toBe('page=2&sort=name%20asc&flag');
      expect(scrubber.scrubQuery('')).toBe('');
    });

    it('matches encoded keys after decoding', () => {
      expect(scrubber.scrubQuery('api%5Fkey=zzz&x=1')).toBe('api%5Fkey=[REDACTED]&x=1');
    });

    it('scrubs the path and the query of a URL', () => {
      expect(scrubber.scrubUrl('/users/ann@x.io/orders?access_token=abc&page=2')).toBe(
        '/users/[REDACTED:email]/orders?access_token=[REDACTED]&page=2',
      );
      expect(scrubber.scrubUrl('/orders/42')).toBe('/orders/42');
    });
  });

  describe('policy', () => {
    it('returns the input unchanged when disabled', () => {
      const off = new Scrubber(policy({ enabled: false }));
      const input = { password: 'p', msg: 'ann@x.io' };
      expect(off.scrub(input)).toBe(input);
      expect(off.scrub(input)).toEqual({ password: 'p', msg: 'ann@x.io' });
      expect(off.scrubString('Bearer abcdef')).toBe('Bearer abcdef');
      expect(off.scrubQuery('token=abc')).toBe('token=abc');
      expect(off.scrubUrl('/a?token=abc')).toBe('/a?token=abc');
      expect(off.isSensitiveKey('password')).toBe(false);
    });

    it('censors custom keys, matched case-insensitively and ignoring - and _, on top of the built-in ones', () => {
      const custom = new Scrubber(policy({ keys: ['pin', 'x-tenant-code'] }));
      expect(custom.scrub({ PIN: '1234', user_pin: '5678', X_Tenant_Code: 'acme', password: 'p', name: 'ann' })).toEqual({
        PIN: '[REDACTED]',
        user_pin: '[REDACTED]',
        X_Tenant_Code: '[REDACTED]',
        password: '[REDACTED]',
        name: 'ann',
      });
    });

    it('replaces custom patterns with their name, on top of the built-in ones', () => {
      const custom = new Scrubber(policy({ patterns: [{ name: 'iban', pattern: /\bDE\d{20}\b/g }] }));
      expect(custom.scrubString('to DE89370400440532013000 from ann@x.io')).toBe('to [REDACTED:iban] from [REDACTED:email]');
    });

    it('keeps the group-to-name mapping when a custom pattern has capturing groups', () => {
      const custom = new Scrubber(
        policy({
          patterns: [
            { name: 'order', pattern: /\b(ORD)-(\d{6})\b/g },
            { name: 'ticket', pattern: /\bTKT-\d{4}\b/g },
          ],
        }),
      );
      expect(custom.scrubString('ORD-123456 and TKT-1234')).toBe('[REDACTED:order] and [REDACTED:ticket]');
    });

    it('honours the flags of a custom pattern (s: a multi-line private key)', () => {
      const custom = new Scrubber(
        policy({ patterns: [{ name: 'pem', pattern: /-----BEGIN PRIVATE KEY-----.+?-----END PRIVATE KEY-----/gs }] }),
      );
      expect(custom.scrubString('key: -----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----')).toBe('key: [REDACTED:pem]');
    });

    it('keeps a case-sensitive custom pattern case-sensitive', () => {
      const custom = new Scrubber(policy({ patterns: [{ name: 'aws', pattern: /\bAKIA[0-9A-Z]{16}\b/g }] }));
      expect(custom.scrubString('AKIAIOSFODNN7EXAMPLE')).toBe('[REDACTED:aws]');
      expect(custom.scrubString('akiaiosfodnn7example is a word')).toBe('akiaiosfodnn7example is a word');
    });

    it('uses a custom censor with brackets for keys and, with the pattern name, for values', () => {
      const custom = new Scrubber(policy({ censor: '[HIDDEN]' }));
      expect(custom.scrub({ token: 't', msg: 'ann@x.io' })).toEqual({ token: '[HIDDEN]', msg: '[HIDDEN:email]' });
    });

    it('uses a custom censor without brackets as it is, for keys and values alike', () => {
      const custom = new Scrubber(policy({ censor: '***' }));
      expect(custom.scrub({ token: 't', msg: `ann@x.io paid ${VISA}` })).toEqual({ token: '***', msg: '*** paid ***' });
      expect(custom.scrubQuery('token=abc')).toBe('token=***');
    });
  });
});
