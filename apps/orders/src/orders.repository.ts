import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { Pool } from 'pg';

import { type OrdersConfig, OrdersConfigError } from './orders.config';
import { ORDERS_CONFIG, PG_POOL } from './storage';

/** An order as the API shows it. */
export interface Order {
  id: number;
  item: string;
  quantity: number;
  createdAt: string;
}

interface OrderRow {
  id: string;
  item: string;
  quantity: number;
  created_at: Date;
}

/** The `orders` table, created at start-up when missing. */
@Injectable()
export class OrdersRepository implements OnModuleInit {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(ORDERS_CONFIG) private readonly config: OrdersConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    try {
      await this.pool.query(`CREATE TABLE IF NOT EXISTS orders (
        id bigserial PRIMARY KEY,
        item text NOT NULL,
        quantity integer NOT NULL CHECK (quantity > 0),
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    } catch (error) {
      // Two instances starting together can race on IF NOT EXISTS; the table is there either way.
      const code = (error as { code?: string }).code;
      if (code === '23505' || code === '42P07') return;
      throw new OrdersConfigError(
        `Cannot create the orders table with the PostgreSQL settings from ${this.config.postgresSource}: ${(error as Error).message}. Check the variable and that the server is up.`,
      );
    }
  }

  async insert(item: string, quantity: number): Promise<Order> {
    const { rows } = await this.pool.query<OrderRow>(
      'INSERT INTO orders (item, quantity) VALUES ($1, $2) RETURNING id, item, quantity, created_at',
      [item, quantity],
    );
    return toOrder(rows[0]);
  }

  async find(id: number): Promise<Order | undefined> {
    const { rows } = await this.pool.query<OrderRow>('SELECT id, item, quantity, created_at FROM orders WHERE id = $1', [id]);
    return rows[0] && toOrder(rows[0]);
  }
}

function toOrder(row: OrderRow): Order {
  // bigserial arrives as a string; the demo's ids stay far below 2^53.
  return { id: Number(row.id), item: row.item, quantity: row.quantity, createdAt: row.created_at.toISOString() };
}
