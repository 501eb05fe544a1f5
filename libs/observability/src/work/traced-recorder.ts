/*
 * The contract between `@Traced({ metric: true })` (tracing) and the recorder
 * that turns its timings into metrics (metrics): the decorator runs before
 * dependency injection, so the metrics pillar hands each instance its recorder.
 */

/**
 * Where `@Traced({ metric: true })` finds its recorder: set by the metrics
 * pillar on each provider instance at start-up, so every application records
 * into its own registry and the decorator keeps no state of its own.
 * @internal
 */
export const TRACED_RECORDER = Symbol.for('nestjs-observability.traced-recorder');
/** Class metadata: some method of the class asked for metrics. @internal */
export const TRACED_METRICS = 'nestjs-observability:traced-metrics';

/** Records one traced operation. @internal */
export interface TracedRecorder {
  record(operation: string, seconds: number, error: unknown, failed: boolean): void;
}
