import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { PinoLogger } from 'nestjs-observability';

import type { Order } from './orders.repository';
import { REDIS } from './storage';

const TTL_SECONDS = 60;

/** Orders by id in Redis. Best effort: a Redis failure is a miss, never an error for the caller. */
@Injectable()
export class OrdersCache {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    private readonly logger: PinoLogger,
  ) {
    logger.setContext(OrdersCache.name);
  }

  async get(id: number): Promise<Order | undefined> {
    try {
      const cached = await this.redis.get(key(id));
      return cached === null ? undefined : (JSON.parse(cached) as Order);
    } catch (error) {
      this.logger.debug({ err: error, order_id: id }, 'cache read failed; reading the database');
      return undefined;
    }
  }

  async set(order: Order): Promise<void> {
    try {
      await this.redis.set(key(order.id), JSON.stringify(order), 'EX', TTL_SECONDS);
    } catch (error) {
      this.logger.debug({ err: error, order_id: order.id }, 'cache write failed');
    }
  }
}

function key(id: number): string {
  return `orders:${id}`;
}
