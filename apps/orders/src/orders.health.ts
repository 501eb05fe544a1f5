import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type Redis from 'ioredis';
import { HealthService, PostgresHealthIndicator, RedisHealthIndicator } from 'nestjs-observability';
import type { Pool } from 'pg';

import { PG_POOL, REDIS } from './storage';

/** Readiness follows the app's own connections: `/health/ready` fails when PostgreSQL or Redis does. */
@Injectable()
export class OrdersHealth implements OnModuleInit {
  constructor(
    private readonly health: HealthService,
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(REDIS) private readonly redis: Redis,
  ) {}

  onModuleInit(): void {
    this.health.register(new PostgresHealthIndicator(this.pool));
    this.health.register(new RedisHealthIndicator(this.redis));
  }
}
