import { BadRequestException, Body, Controller, Get, HttpCode, Param, ParseIntPipe, Post, Res } from '@nestjs/common';

import type { Order } from './orders.repository';
import { OrdersService } from './orders.service';

/** The response, on Express or Fastify: both have `header()`. */
interface HeaderSetter {
  header(name: string, value: string): unknown;
}

@Controller('orders')
export class OrdersController {
  constructor(private readonly orders: OrdersService) {}

  /** `{ "item": "book", "quantity": 2 }` → 201 with the stored order. */
  @Post()
  @HttpCode(201)
  place(@Body() body: unknown): Promise<Order> {
    const { item, quantity } = (body ?? {}) as { item?: unknown; quantity?: unknown };
    if (typeof item !== 'string' || item.trim() === '' || item.length > 100) {
      throw new BadRequestException('item must be a non-empty string of at most 100 characters');
    }
    if (typeof quantity !== 'number' || !Number.isInteger(quantity) || quantity < 1 || quantity > 1000) {
      throw new BadRequestException('quantity must be a whole number from 1 to 1000');
    }
    return this.orders.place(item.trim(), quantity);
  }

  /** The order, from the cache when it is there (`x-cache: hit`), else from the database (`x-cache: miss`). */
  @Get(':id')
  async find(@Param('id', ParseIntPipe) id: number, @Res({ passthrough: true }) res: HeaderSetter): Promise<Order> {
    const { order, source } = await this.orders.find(id);
    res.header('x-cache', source === 'cache' ? 'hit' : 'miss');
    return order;
  }
}
