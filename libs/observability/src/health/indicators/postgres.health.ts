import type { HealthCheckOutcome, HealthIndicator } from '../../config/health-indicator.interface';
import type { IndicatorOptions } from './indicator.options';

/**
 * What the indicator needs of a PostgreSQL client: a `pg` `Pool` or `Client`
 * (or anything with the same `query`), so the library takes no dependency on `pg`.
 */
export interface PostgresQueryable {
  query(text: string): Promise<unknown>;
}

/**
 * Up when `SELECT 1` succeeds on the application's own pool within the
 * timeout. Through the pool, so it also fails when no connection can be had
 * in time (pool exhausted, server down). Down reports say `connection refused`,
 * `authentication failed`, `timed out after 1000 ms` …, never a host or user.
 *
 * Give the pool a `connectionTimeoutMillis`: the check stops waiting after its
 * timeout, but only the pool can stop a connection attempt that hangs.
 *
 * TypeORM users can use Terminus's own indicator instead:
 * `health.register('database', () => typeOrmHealthIndicator.pingCheck('database'))`.
 *
 * @example
 * health.register(new PostgresHealthIndicator(pool)); // { "postgres": { "status": "up" } }
 */
export class PostgresHealthIndicator implements HealthIndicator {
  readonly name: string;
  readonly timeoutMs: number | undefined;

  /** @param client a `pg` Pool (or Client) */
  constructor(
    private readonly client: PostgresQueryable,
    options: IndicatorOptions = {},
  ) {
    this.name = options.name ?? 'postgres';
    this.timeoutMs = options.timeoutMs;
  }

  async check(): Promise<HealthCheckOutcome> {
    await this.client.query('SELECT 1');
    return { status: 'up' };
  }
}
