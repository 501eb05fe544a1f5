/**
 * Variant `otel-stack`: what a user assembles by hand instead of this library.
 * Traces from the preload (`otel-stack.instrument.ts`); logs from nestjs-pino's
 * LoggerModule with its default pino-http request logging, into a file; a
 * prom-client histogram per request through @willsoto/nestjs-prometheus.
 */
import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { makeHistogramProvider, PrometheusModule } from '@willsoto/nestjs-prometheus';
import { Logger, LoggerModule } from 'nestjs-pino';
import pino from 'pino';

import { BenchAppModule } from './bench-app.module';
import { HTTP_DURATION_METRIC, HttpMetricsInterceptor } from './http-metrics.interceptor';
import { sdk } from './otel-stack.instrument';
import { requiredEnv, run, serve } from './serve';

/** Exports buffered spans at shutdown, as a careful user wires it. */
@Injectable()
class OtelShutdown implements OnApplicationShutdown {
  async onApplicationShutdown(): Promise<void> {
    await sdk.shutdown();
  }
}

run(() =>
  serve(
    BenchAppModule.with({
      imports: [LoggerModule.forRoot({ pinoHttp: [{}, pino.destination(requiredEnv('BENCH_LOG_FILE'))] }), PrometheusModule.register()],
      providers: [
        makeHistogramProvider({
          name: HTTP_DURATION_METRIC,
          help: 'HTTP request duration',
          labelNames: ['method', 'route', 'status_code'],
        }),
        { provide: APP_INTERCEPTOR, useClass: HttpMetricsInterceptor },
        OtelShutdown,
      ],
    }),
    { logger: (app) => app.get(Logger) },
  ),
);
