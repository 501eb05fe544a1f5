import { type DynamicModule, Module } from '@nestjs/common';
import { ObservabilityModule, type ObservabilityModuleOptions } from 'nestjs-observability';

import { OrdersCache } from './orders.cache';
import type { OrdersConfig } from './orders.config';
import { OrdersController } from './orders.controller';
import { OrdersHealth } from './orders.health';
import { OrdersRepository } from './orders.repository';
import { OrdersService } from './orders.service';
import { createPool, createRedis, ORDERS_CONFIG, PG_POOL, REDIS, StorageLifecycle } from './storage';

/** The orders app's module; `options` lets tests point logs at a capture. */
@Module({})
export class AppModule {
  static register(config: OrdersConfig, options: ObservabilityModuleOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [ObservabilityModule.forRoot({ serviceName: 'orders', ...options })],
      controllers: [OrdersController],
      providers: [
        { provide: ORDERS_CONFIG, useValue: config },
        { provide: PG_POOL, useFactory: createPool, inject: [ORDERS_CONFIG] },
        { provide: REDIS, useFactory: createRedis, inject: [ORDERS_CONFIG] },
        StorageLifecycle,
        OrdersRepository,
        OrdersCache,
        OrdersService,
        OrdersHealth,
      ],
    };
  }
}
