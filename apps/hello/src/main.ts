import 'reflect-metadata';

import type { AddressInfo } from 'node:net';

import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { ObservabilityLogger } from 'nestjs-observability';

import { AppModule } from './app.module';

/**
 * The hello app: needs nothing external. Start it with the preload so that the
 * pipeline is up before Nest loads:
 *   node --require nestjs-observability/register dist/apps/hello/main.js
 * `HTTP_ADAPTER=fastify` serves it on Fastify instead of Express.
 */
async function bootstrap(): Promise<void> {
  const adapter = process.env.HTTP_ADAPTER === 'fastify' ? new FastifyAdapter() : undefined;
  const app = adapter
    ? await NestFactory.create(AppModule.register(), adapter, { bufferLogs: true })
    : await NestFactory.create(AppModule.register(), { bufferLogs: true });
  app.useLogger(app.get(ObservabilityLogger));
  app.enableShutdownHooks();
  await app.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  app.get(ObservabilityLogger).log(`hello app listening on http://127.0.0.1:${port}`, 'Bootstrap');
}

void bootstrap();
