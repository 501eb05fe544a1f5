import 'reflect-metadata';

import type { AddressInfo } from 'node:net';

import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { ObservabilityLogger } from 'nestjs-observability';

import { AppModule } from './app.module';
import { OrdersConfigError, readOrdersConfig } from './orders.config';

/**
 * The orders app: orders in PostgreSQL, read through a Redis cache. Start it
 * with the preload so that `pg` and `ioredis` are instrumented:
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test REDIS_URL=redis://127.0.0.1:6379 \
 *   node --require nestjs-observability/register dist/apps/orders/main.js
 * `HTTP_ADAPTER=fastify` serves it on Fastify instead of Express.
 */
async function bootstrap(): Promise<void> {
  // Before Nest: a missing or bad variable stops here, with one line naming it.
  const config = readOrdersConfig(process.env);
  const module = AppModule.register(config);
  const app =
    config.adapter === 'fastify'
      ? await NestFactory.create(module, new FastifyAdapter(), { bufferLogs: true, abortOnError: false })
      : await NestFactory.create(module, { bufferLogs: true, abortOnError: false });
  app.useLogger(app.get(ObservabilityLogger));
  // SIGTERM: readiness fails at once, the server drains, telemetry is flushed, then the process exits.
  app.enableShutdownHooks();
  await app.listen(config.port, config.host);
  const { port } = app.getHttpServer().address() as AddressInfo;
  app.get(ObservabilityLogger).log(`orders app listening on http://127.0.0.1:${port}`, 'Bootstrap');
}

bootstrap().catch((error: unknown) => {
  // A configuration error is one line for a human; anything else keeps its stack.
  console.error(error instanceof OrdersConfigError ? `orders: ${error.message}` : error);
  // The app never started: exit now rather than wait on the connections it opened.
  process.exit(1);
});
