import type { HealthCheckOutcome, HealthIndicator } from '../../config/health-indicator.interface';
import type { IndicatorOptions } from './indicator.options';

/**
 * What the indicator needs of a Redis client: an `ioredis` client (`status`),
 * or a node-redis v4+ client (`isReady`), so the library depends on neither.
 */
export interface RedisPingable {
  ping(): Promise<unknown>;
  /** ioredis: `'ready'` when connected. */
  readonly status?: string;
  /** node-redis: true when connected. */
  readonly isReady?: boolean;
}

/**
 * Up when the application's own Redis client is connected and answers `PING`
 * within the timeout. A client that is not connected is down at once (no PING
 * is queued behind a reconnect); a server that accepts connections and never
 * answers (frozen, overloaded) is down after the timeout.
 *
 * @example
 * health.register(new RedisHealthIndicator(redis)); // { "redis": { "status": "up" } }
 */
export class RedisHealthIndicator implements HealthIndicator {
  readonly name: string;
  readonly timeoutMs: number | undefined;

  constructor(
    private readonly client: RedisPingable,
    options: IndicatorOptions = {},
  ) {
    this.name = options.name ?? 'redis';
    this.timeoutMs = options.timeoutMs;
  }

  async check(): Promise<HealthCheckOutcome> {
    const { status, isReady } = this.client;
    if ((status !== undefined && status !== 'ready') || isReady === false) return { status: 'down', message: 'not connected' };
    await this.client.ping();
    return { status: 'up' };
  }
}
