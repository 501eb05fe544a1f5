import { ProxyTracerProvider, trace } from '@opentelemetry/api';
import type { Logger } from 'pino';

import type { ResolvedObservabilityOptions } from '../config/options.interface';
import type { Scrubber } from '../shared/scrubber';
import { getTelemetry, startTelemetry, type Telemetry } from './telemetry';

/**
 * Joins the module to the process's pipeline. The right way to start it is the
 * preload; if the application did not use it, the pipeline is started here so
 * that tracing still works, and one warning names what was missed and the fix.
 * Returns `undefined` when tracing is off or another setup owns the global
 * tracer provider (then the module uses that one as it is).
 */
export function joinTelemetry(
  options: ResolvedObservabilityOptions,
  scrubber: Scrubber,
  logger: Logger,
  env: NodeJS.ProcessEnv = process.env,
): Telemetry | undefined {
  if (!options.tracing.enabled) return undefined;
  let telemetry = getTelemetry();
  if (!telemetry) {
    if (isForeignProviderRegistered()) {
      logger.debug('nestjs-observability: a tracer provider is already registered; the module uses it as it is');
      return undefined;
    }
    telemetry = startTelemetry(env, 'module');
  }
  telemetry.setServiceIdentity({
    serviceName: options.serviceName,
    serviceVersion: options.serviceVersion,
    environment: options.environment,
  });
  telemetry.setScrubber(scrubber);
  // Export failures, recoveries and spans lost at shutdown are then written as application log lines.
  telemetry.setLogger(logger);

  const missed = telemetry.loadedBefore.filter((name) => name === 'pg' || name === 'pg-pool' || name === 'ioredis');
  if (telemetry.startedBy === 'module' || missed.length > 0) {
    const what =
      telemetry.startedBy === 'module'
        ? 'the OpenTelemetry pipeline was started late, by ObservabilityModule'
        : 'the OpenTelemetry pipeline started after some instrumented modules were loaded';
    logger.warn(
      { loaded_before: telemetry.loadedBefore },
      `nestjs-observability: ${what}; ${missed.length > 0 ? `these modules are not instrumented: ${missed.join(', ')}` : 'outgoing calls made by modules loaded before it may not be traced'}. ` +
        'Fix: start the application with `node --require nestjs-observability/register dist/main.js` ' +
        "(or make `import 'nestjs-observability/register'` the first line of main.ts).",
    );
  }
  return telemetry;
}

function isForeignProviderRegistered(): boolean {
  const provider = trace.getTracerProvider();
  if (!(provider instanceof ProxyTracerProvider)) return true;
  // A fresh proxy's delegate is the API's no-op provider: anything else was registered by someone.
  return provider.getDelegate() !== new ProxyTracerProvider().getDelegate();
}
