import type { TelemetryConfig } from '../config/telemetry-config';
import type { Scrubber } from '../shared/scrubber';
import type { ErrorReporter } from './sentry';

/** Who started the pipeline: the preload (right) or the module, late (works, with a warning). */
export type TelemetryStarter = 'preload' | 'module';

/** The service identity spans carry; settled once the module knows its options. */
export interface ServiceIdentity {
  serviceName: string;
  serviceVersion: string;
  environment: string;
}

/** The running pipeline, one per process. */
export interface Telemetry {
  readonly config: TelemetryConfig;
  readonly startedBy: TelemetryStarter;
  /** Instrumented modules that were already loaded when the pipeline started. */
  readonly loadedBefore: readonly string[];
  /** Whether the resource still waits for the module to name the service. */
  readonly identityPending: boolean;
  /** Settles `service.name` / version / environment that env did not set. Only the first call counts. */
  setServiceIdentity(identity: ServiceIdentity): void;
  /** Swaps in the scrubber built from the module's options. */
  setScrubber(scrubber: Scrubber): void;
  /** Sentry, when `SENTRY_DSN` is set. */
  readonly reporter: ErrorReporter | undefined;
  /** Exports every finished span; resolves false if `timeoutMs` passed first. */
  flush(timeoutMs: number): Promise<boolean>;
  /** Flushes and stops the pipeline; later calls return the same promise. */
  shutdown(timeoutMs: number): Promise<boolean>;
}
