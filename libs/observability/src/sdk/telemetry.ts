/*
 * The process-wide OpenTelemetry pipeline: its entry points and the object the
 * module holds. Nothing under sdk/ imports `@nestjs/*`: the pipeline must run
 * before Nest, the HTTP adapter, `pg` and `ioredis` are loaded.
 *
 *   pipeline.ts         provider, processors, exporter, Sentry, NodeSDK
 *   export-processor.ts the span export: one queue, one export at a time, backoff, counters
 *   console-span-exporter.ts  OTEL_TRACES_EXPORTER=console: one JSON line per span on stderr
 *   otlp-response-observer.ts the collector's HTTP status and Retry-After, which the exporter does not report
 *   samplers.ts         OTEL_TRACES_SAMPLER
 *   service-identity.ts service.name & co., deferred until the module knows them
 *   early-modules.ts    instrumented modules loaded before the pipeline
 *   process-slot.ts     the one pipeline per process
 */
import { diag } from '@opentelemetry/api';

import type { Env } from '../config/env';
import { resolveTelemetryConfig, type TelemetryConfig } from '../config/telemetry-config';
import { loadedInstrumentedModules } from './early-modules';
import { startPipeline } from './pipeline';
import { fillProcessSlot, readProcessSlot, releaseProcessSlot } from './process-slot';
import { deferredIdentity } from './service-identity';
import type { Telemetry, TelemetryStarter } from './telemetry.interface';

export type { DropReason, ExportStats, ServiceIdentity, Telemetry, TelemetryStarter, WarningLogger } from './telemetry.interface';

/** The running pipeline, if one was started in this process. */
export function getTelemetry(): Telemetry | undefined {
  return readProcessSlot();
}

/**
 * Starts the pipeline once per process; later calls return the running one.
 * Throws {@link ObservabilityConfigError} on bad environment, before starting anything.
 */
export function startTelemetry(env: Env = process.env, startedBy: TelemetryStarter = 'preload'): Telemetry {
  const existing = readProcessSlot();
  if (existing) return existing;
  const config = resolveTelemetryConfig(env);
  const telemetry = createTelemetry(config, startedBy);
  fillProcessSlot(telemetry);
  return telemetry;
}

function createTelemetry(config: TelemetryConfig, startedBy: TelemetryStarter): Telemetry {
  const loadedBefore = loadedInstrumentedModules(Object.keys(require.cache));
  const identity = deferredIdentity(config);
  const pipeline = startPipeline(config, identity.attributes);

  let shutdownPromise: Promise<boolean> | undefined;
  const telemetry: Telemetry = {
    config,
    startedBy,
    loadedBefore,
    get identityPending() {
      return identity.pending;
    },
    setServiceIdentity: identity.settle,
    setScrubber: pipeline.setScrubber,
    reporter: pipeline.reporter,
    exportStats: pipeline.exportStats,
    setLogger: pipeline.setLogger,
    flush(timeoutMs) {
      // Spans wait for the identity; a flush means now, so the defaults fill the gaps.
      identity.settle(undefined);
      return withTimeout(pipeline.forceFlush(timeoutMs), timeoutMs);
    },
    shutdown(timeoutMs) {
      identity.settle(undefined);
      shutdownPromise ??= withTimeout(pipeline.shutdown(timeoutMs), timeoutMs).then((flushed) => {
        // Leave the process as it was found, even after a timeout: a later
        // application in the same process starts a pipeline of its own.
        pipeline.unregister();
        releaseProcessSlot(telemetry);
        return flushed;
      });
      return shutdownPromise;
    },
  };
  return telemetry;
}

function withTimeout(promise: Promise<unknown>, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    timer.unref();
    promise.then(
      () => {
        clearTimeout(timer);
        resolve(true);
      },
      (error: unknown) => {
        clearTimeout(timer);
        diag.error('nestjs-observability: telemetry flush failed', error);
        resolve(false);
      },
    );
  });
}
