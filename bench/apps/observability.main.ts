/**
 * Variants `full`, `sampled` and `logs+metrics`: the bench app with
 * nestjs-observability, started as its README says:
 *   node --require nestjs-observability/register dist/bench/apps/observability.main.js
 * The pipeline (exporter endpoint, sampler) comes from the environment the
 * harness sets; `BENCH_TRACING=off` gives the module `tracing: false`.
 */
import { ObservabilityLogger, ObservabilityModule } from 'nestjs-observability';

import { BenchAppModule } from './bench-app.module';
import { requiredEnv, run, serve } from './serve';

run(() =>
  serve(
    BenchAppModule.with({
      imports: [
        ObservabilityModule.forRoot({
          serviceName: 'bench',
          tracing: process.env.BENCH_TRACING !== 'off',
          logging: { destination: requiredEnv('BENCH_LOG_FILE') },
        }),
      ],
    }),
    { logger: (app) => app.get(ObservabilityLogger) },
  ),
);
