import 'reflect-metadata';

import type { DynamicModule, INestApplication, LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';

/** How a variant's main starts its app. */
export interface ServeOptions {
  /** The logger Nest's own `Logger` should write through, once the app exists. */
  logger?: (app: INestApplication) => LoggerService;
}

/**
 * Starts a bench app the way a user's main.ts does: on the adapter named by
 * `HTTP_ADAPTER` (fastify unless `express`), with shutdown hooks so that
 * SIGTERM flushes what the stack buffers, on 127.0.0.1:`PORT`.
 */
export async function serve(module: DynamicModule, options: ServeOptions = {}): Promise<void> {
  const bufferLogs = options.logger !== undefined;
  let app: INestApplication;
  if (process.env.HTTP_ADAPTER === 'express') {
    app = await NestFactory.create(module, { bufferLogs });
  } else {
    // Required here, not imported at the top: an Express variant must not load Fastify at all.
    const { FastifyAdapter } = require('@nestjs/platform-fastify') as typeof import('@nestjs/platform-fastify');
    app = await NestFactory.create(module, new FastifyAdapter(), { bufferLogs });
  }
  if (options.logger) app.useLogger(options.logger(app));
  app.enableShutdownHooks();
  await app.listen(Number(requiredEnv('PORT')), '127.0.0.1');
}

/** An environment variable the harness always sets; its absence is a harness bug. */
export function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`bench app: ${name} is not set (the harness sets it)`);
  return value;
}

/** Starts `main` and makes a failed start visible: the harness sees the exit. */
export function run(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
