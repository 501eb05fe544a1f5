/**
 * Variant `nestjs-otel`: nestjs-otel's recommended setup. The SDK comes from
 * the preload (`nestjs-otel.instrument.ts`); the module is registered with host
 * metrics as its README shows, and Nest logs through nestjs-pino as its
 * README's bootstrap does (request lines into a file, like the other stacks).
 */
import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { OpenTelemetryModule } from 'nestjs-otel';
import { Logger, LoggerModule } from 'nestjs-pino';
import pino from 'pino';

import { BenchAppModule } from './bench-app.module';
import { otelSDK } from './nestjs-otel.instrument';
import { requiredEnv, run, serve } from './serve';

/** Exports buffered spans at shutdown (the README does it in a SIGTERM handler). */
@Injectable()
class OtelShutdown implements OnApplicationShutdown {
  async onApplicationShutdown(): Promise<void> {
    await otelSDK.shutdown();
  }
}

run(() =>
  serve(
    BenchAppModule.with({
      imports: [
        OpenTelemetryModule.forRoot({ metrics: { hostMetrics: true } }),
        LoggerModule.forRoot({ pinoHttp: [{}, pino.destination(requiredEnv('BENCH_LOG_FILE'))] }),
      ],
      providers: [OtelShutdown],
    }),
    { logger: (app) => app.get(Logger) },
  ),
);
