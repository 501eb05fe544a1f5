/**
 * `node --require nestjs-observability/register dist/main.js`
 *
 * Starts the OpenTelemetry pipeline from environment variables before the
 * application loads, so that `http`, the HTTP adapter, `pg` and `ioredis` are
 * instrumented from their first `require`. Bad configuration throws here and
 * the process does not start.
 */
import { startTelemetry } from './sdk/telemetry';

startTelemetry(process.env, 'preload');
