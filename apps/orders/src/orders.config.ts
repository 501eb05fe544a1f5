/** Settings of the orders app, read once from the environment before Nest starts. */
export interface OrdersConfig {
  port: number;
  host: string;
  adapter: 'express' | 'fastify';
  /** Given to `pg`'s Pool: a connection string, or nothing (then `pg` reads the PG* variables itself). */
  postgres: { connectionString?: string };
  /** Which variable(s) the PostgreSQL settings came from, for error messages. */
  postgresSource: string;
  redisUrl: string;
}

/**
 * A missing or malformed variable. The message names the variable and what is
 * accepted; it never repeats a value that may hold a password.
 */
export class OrdersConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads DATABASE_URL (or the PG* variables `pg` understands), REDIS_URL, PORT,
 * HOST and HTTP_ADAPTER. Throws {@link OrdersConfigError} on the first bad one.
 */
export function readOrdersConfig(env: Env): OrdersConfig {
  return {
    port: port(env),
    host: value(env, 'HOST') ?? '127.0.0.1',
    adapter: adapter(env),
    ...postgres(env),
    redisUrl: redisUrl(env),
  };
}

function value(env: Env, name: string): string | undefined {
  const raw = env[name]?.trim();
  return raw === '' ? undefined : raw;
}

function port(env: Env): number {
  const raw = value(env, 'PORT');
  if (raw === undefined) return 3001;
  const parsed = Number(raw);
  if (!/^\d+$/.test(raw) || parsed > 65535)
    throw new OrdersConfigError(`Invalid PORT: "${raw}". Expected a port number from 0 to 65535 (0 picks a free one).`);
  return parsed;
}

function adapter(env: Env): 'express' | 'fastify' {
  const raw = value(env, 'HTTP_ADAPTER') ?? 'express';
  if (raw !== 'express' && raw !== 'fastify') throw new OrdersConfigError(`Invalid HTTP_ADAPTER: "${raw}". Expected express or fastify.`);
  return raw;
}

function postgres(env: Env): Pick<OrdersConfig, 'postgres' | 'postgresSource'> {
  const url = value(env, 'DATABASE_URL');
  if (url !== undefined) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      parsed = undefined;
    }
    if (
      !parsed ||
      (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') ||
      parsed.hostname === '' ||
      parsed.pathname.length < 2
    ) {
      throw new OrdersConfigError(
        'Invalid DATABASE_URL: expected postgres://user[:password]@host[:port]/database (the value is not shown: it may hold a password).',
      );
    }
    return { postgres: { connectionString: url }, postgresSource: 'DATABASE_URL' };
  }
  if (value(env, 'PGHOST') === undefined || value(env, 'PGDATABASE') === undefined) {
    throw new OrdersConfigError(
      'Missing DATABASE_URL: set it to postgres://user:password@host:5432/database, or set PGHOST and PGDATABASE (with PGUSER, PGPASSWORD, PGPORT as needed).',
    );
  }
  const pgPort = value(env, 'PGPORT');
  if (pgPort !== undefined && (!/^\d+$/.test(pgPort) || Number(pgPort) < 1 || Number(pgPort) > 65535)) {
    throw new OrdersConfigError(`Invalid PGPORT: "${pgPort}". Expected a port number from 1 to 65535.`);
  }
  // pg reads PGHOST, PGPORT, PGUSER, PGPASSWORD and PGDATABASE itself.
  return { postgres: {}, postgresSource: 'PGHOST/PGDATABASE' };
}

function redisUrl(env: Env): string {
  const url = value(env, 'REDIS_URL');
  if (url === undefined)
    throw new OrdersConfigError('Missing REDIS_URL: set it to redis://[:password@]host:6379[/db] (rediss:// for TLS).');
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') || parsed.hostname === '') {
    throw new OrdersConfigError(
      'Invalid REDIS_URL: expected redis://[:password@]host:6379[/db] or rediss://… (the value is not shown: it may hold a password).',
    );
  }
  return url;
}
