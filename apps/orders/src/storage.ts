import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import { PinoLogger } from 'nestjs-observability';
import { Pool } from 'pg';

import type { OrdersConfig } from './orders.config';

export const ORDERS_CONFIG = Symbol('ORDERS_CONFIG');
export const PG_POOL = Symbol('PG_POOL');
export const REDIS = Symbol('REDIS');

/** The application's PostgreSQL pool. Timeouts keep a dead server from holding requests forever. */
export function createPool(config: OrdersConfig): Pool {
  return new Pool({ ...config.postgres, max: 10, connectionTimeoutMillis: 2_000, idleTimeoutMillis: 30_000 });
}

/**
 * The cache's Redis client. Commands fail fast rather than queue while
 * disconnected (`enableOfflineQueue: false`) or hang on a frozen server
 * (`commandTimeout`): the cache is an optimisation, never a reason to fail a request.
 */
export function createRedis(config: OrdersConfig): Redis {
  return new Redis(config.redisUrl, { enableOfflineQueue: false, commandTimeout: 500, maxRetriesPerRequest: 1 });
}

/**
 * Owns the connections' life: reports their errors once per outage and closes
 * them at `onApplicationShutdown`. Not earlier: Nest closes the HTTP server
 * just before that hook, so in-flight requests keep their connections to the end.
 */
@Injectable()
export class StorageLifecycle implements OnApplicationShutdown {
  private redisDown = false;

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(REDIS) private readonly redis: Redis,
    private readonly logger: PinoLogger,
  ) {
    logger.setContext(StorageLifecycle.name);
    // An idle client's error (server restarted) must not crash the process.
    pool.on('error', (error) => this.logger.warn({ err: error }, 'idle PostgreSQL connection failed'));
    // ioredis reports every reconnect attempt: one line per outage is enough.
    redis.on('error', (error) => {
      if (this.redisDown) return;
      this.redisDown = true;
      this.logger.warn({ err: error }, 'Redis connection failed; the cache is bypassed until it is back');
    });
    redis.on('ready', () => {
      if (this.redisDown) this.logger.info('Redis connection back');
      this.redisDown = false;
    });
  }

  async onApplicationShutdown(): Promise<void> {
    // disconnect, not quit: a frozen server would never answer QUIT, and the cache holds nothing to save.
    this.redis.disconnect();
    // pool.end() waits for checked-out clients; bounded so that a stuck query cannot hold the exit.
    await Promise.race([this.pool.end(), new Promise((resolve) => setTimeout(resolve, 1_000).unref())]);
  }
}
