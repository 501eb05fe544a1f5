import type { DetectedResourceAttributes } from '@opentelemetry/resources';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';

import { DEFAULTS } from '../config/options.defaults';
import type { TelemetryConfig } from '../config/telemetry-config';
import type { ServiceIdentity } from './telemetry.interface';

/** `deployment.environment.name` (incubating in semantic-conventions, so spelled out). */
export const ATTR_DEPLOYMENT_ENVIRONMENT_NAME = 'deployment.environment.name';

/**
 * How long spans wait for the module to name the service. Long enough for an
 * application to boot; short enough that a script using only the preload
 * still exports within a few batches.
 */
export const IDENTITY_WAIT_MS = 5_000;

/** The service identity of the resource, part of it possibly still to come. */
export interface DeferredIdentity {
  /** Whether some attribute still waits for {@link DeferredIdentity.settle}. */
  readonly pending: boolean;
  /** Fills in what env did not set (`undefined`: the defaults). Only the first call counts. */
  settle(identity: ServiceIdentity | undefined): void;
  /** `service.name`, `service.version` and `deployment.environment.name`: values from env, promises for the rest. */
  readonly attributes: DetectedResourceAttributes;
}

/**
 * Resource attributes env did not set wait for the module's options, so that
 * `forRoot({ serviceName })` names the service even though the pipeline started
 * first. Spans wait in the batch queue until then; a timer bounds the wait in
 * case no module ever reports (a script that only uses the preload).
 */
export function deferredIdentity(
  config: Pick<TelemetryConfig, 'serviceName' | 'serviceVersion' | 'environment'>,
  waitMs: number = IDENTITY_WAIT_MS,
): DeferredIdentity {
  const fromEnv = {
    serviceName: config.serviceName,
    serviceVersion: config.serviceVersion,
    environment: config.environment,
  };
  let settleFn: ((identity: ServiceIdentity | undefined) => void) | undefined;
  let pending = fromEnv.serviceName === undefined || fromEnv.serviceVersion === undefined || fromEnv.environment === undefined;
  const settled = pending
    ? new Promise<Partial<ServiceIdentity>>((resolve) => {
        const timer = setTimeout(() => settleFn?.(undefined), waitMs);
        // The wait must not keep a finished script alive.
        timer.unref();
        settleFn = (identity) => {
          clearTimeout(timer);
          pending = false;
          settleFn = undefined;
          resolve(identity ?? {});
        };
      })
    : Promise.resolve<Partial<ServiceIdentity>>({});
  const pick = (key: keyof ServiceIdentity, fallback: string) => fromEnv[key] ?? settled.then((identity) => identity[key] ?? fallback);
  return {
    get pending() {
      return pending;
    },
    settle: (identity) => settleFn?.(identity),
    attributes: {
      [ATTR_SERVICE_NAME]: pick('serviceName', DEFAULTS.serviceName),
      [ATTR_SERVICE_VERSION]: pick('serviceVersion', DEFAULTS.serviceVersion),
      [ATTR_DEPLOYMENT_ENVIRONMENT_NAME]: pick('environment', DEFAULTS.environment),
    },
  };
}
