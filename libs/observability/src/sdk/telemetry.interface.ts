import type { TelemetryConfig } from '../config/telemetry-config';
import type { Scrubber } from '../shared/scrubber';
import type { ExportStats, WarningLogger } from './export-processor';
import type { ErrorReporter } from './sentry';

export type { DropReason, ExportStats, WarningLogger } from './export-processor';

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
  /**
   * The span export's counters: spans exported, dropped by reason (`queue_full`,
   * `export_failed`, `shutdown`), failed exports, queue length. Zeros when
   * nothing is exported (`OTEL_TRACES_EXPORTER=none`, SDK disabled).
   */
  exportStats(): ExportStats;
  /**
   * Where the export writes its warnings (export failing, working again, spans
   * not exported at shutdown); `diag` until the module hands over its logger.
   */
  setLogger(logger: WarningLogger): void;
  /** Exports every finished span; resolves false if `timeoutMs` passed first. */
  flush(timeoutMs: number): Promise<boolean>;
  /** Flushes and stops the pipeline; later calls return the same promise. */
  shutdown(timeoutMs: number): Promise<boolean>;
}
