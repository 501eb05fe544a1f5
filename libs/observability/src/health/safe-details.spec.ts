import { describeError, sanitizeText, toOutcome } from './safe-details';

describe('sanitizeText', () => {
  it.each([
    ['connect ECONNREFUSED 127.0.0.1:5433', 'connect ECONNREFUSED [address]'],
    ['connect ECONNREFUSED ::1:6379', 'connect ECONNREFUSED [address]'],
    ['getaddrinfo ENOTFOUND db.internal.example:5432', 'getaddrinfo ENOTFOUND [address]'],
    ['cannot reach postgres://admin:hunter2@db:5432/orders now', 'cannot reach [url] now'],
    ['password authentication failed for user "orders_rw"', 'password authentication failed for user [user]'],
    ['role orders_rw does not exist', 'role [user] does not exist'],
    ['mail admin@example.com', 'mail [redacted]'],
    ['no such file /home/alice/app/data.sock', 'no such file [path]'],
    ['Error: boom\n    at Pool.query (/app/node_modules/pg/index.js:1:1)', 'Error: boom'],
    ['timed out after 1000 ms', 'timed out after 1000 ms'],
  ])('%j → %j', (given, expected) => {
    expect(sanitizeText(given)).toBe(expected);
  });

  it('cuts long text to 200 characters', () => {
    expect(sanitizeText('x'.repeat(500))).toBe(`${'x'.repeat(200)}…`);
  });
});

describe('describeError', () => {
  const coded = (code: string, message = `connect ${code} 10.1.2.3:5432`) => Object.assign(new Error(message), { code });

  it.each([
    [coded('ECONNREFUSED'), 'connection refused'],
    [coded('ETIMEDOUT'), 'connection timed out'],
    [coded('ENOTFOUND'), 'host not found'],
    [coded('28P01', 'password authentication failed for user "app"'), 'authentication failed'],
    [coded('3D000', 'database "orders" does not exist'), 'database does not exist'],
    // fetch wraps the network error; Node's happy-eyeballs connect wraps several.
    [new TypeError('fetch failed', { cause: coded('ECONNREFUSED') }), 'connection refused'],
    [new AggregateError([coded('ECONNREFUSED'), coded('ECONNREFUSED')], ''), 'connection refused'],
    [new Error('Connection is closed.'), 'Connection is closed.'],
    [new Error('connect to 10.0.0.7:6379 failed'), 'connect to [address] failed'],
    ['a string', 'check failed'],
  ])('%p → %j', (error, expected) => {
    expect(describeError(error)).toBe(expected);
  });
});

describe('toOutcome', () => {
  it.each([
    [true, { status: 'up' }],
    [false, { status: 'down', message: 'check failed' }],
    [undefined, { status: 'down', message: 'check returned no outcome' }],
    [
      { status: 'up', queued: 3, ok: true, none: null },
      { status: 'up', queued: 3, ok: true, none: null },
    ],
    [
      { status: 'down', message: 'at 10.0.0.1:80', nested: { host: 'x' }, list: [1], ratio: Number.NaN },
      { status: 'down', message: 'at [address]', ratio: null },
    ],
    // Terminus results, as TypeOrmHealthIndicator.pingCheck('db') gives them.
    [{ db: { status: 'up', responseTime: 3 } }, { status: 'up', responseTime: 3 }],
    [
      { db: { status: 'down', message: 'connect ECONNREFUSED 127.0.0.1:5432' } },
      { status: 'down', message: 'connect ECONNREFUSED [address]' },
    ],
    [{ db: { status: 'degraded' } }, { status: 'up', degraded: true }],
    [{ status: 'sideways' }, { status: 'down', message: 'check returned no outcome' }],
  ])('%j → %j', (value, expected) => {
    expect(toOutcome(value, 'db')).toEqual(expected);
  });
});
