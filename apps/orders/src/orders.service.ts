import { Injectable, NotFoundException } from '@nestjs/common';
import { PinoLogger, Traced } from 'nestjs-observability';

import { OrdersCache } from './orders.cache';
import { type Order, OrdersRepository } from './orders.repository';

/** Where an order was read from. */
export type Source = 'cache' | 'database';

@Injectable()
export class OrdersService {
  constructor(
    private readonly repository: OrdersRepository,
    private readonly cache: OrdersCache,
    private readonly logger: PinoLogger,
  ) {
    logger.setContext(OrdersService.name);
  }

  @Traced()
  async place(item: string, quantity: number): Promise<Order> {
    const order = await this.repository.insert(item, quantity);
    this.logger.info({ order_id: order.id }, 'order placed');
    return order;
  }

  @Traced()
  async find(id: number): Promise<{ order: Order; source: Source }> {
    const cached = await this.cache.get(id);
    if (cached) return { order: cached, source: 'cache' };
    const order = await this.repository.find(id);
    if (!order) throw new NotFoundException(`order ${id} not found`);
    await this.cache.set(order);
    return { order, source: 'database' };
  }
}
