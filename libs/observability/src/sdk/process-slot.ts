import type { Telemetry } from './telemetry.interface';

// The pipeline is per process, not per copy of this file: the preload and the
// application can load two copies (a bundler, a test runner's registry), and
// both must see the one pipeline. A global symbol is the one shared slot, and
// the only state of the library that lives outside a provider.
const SLOT = Symbol.for('nestjs-observability.telemetry');
type Slot = { [SLOT]?: Telemetry };

/** The pipeline started in this process, if any. */
export function readProcessSlot(): Telemetry | undefined {
  return (globalThis as Slot)[SLOT];
}

/** Makes `telemetry` the process's pipeline. */
export function fillProcessSlot(telemetry: Telemetry): void {
  (globalThis as Slot)[SLOT] = telemetry;
}

/**
 * Frees the slot if `telemetry` holds it, so that a later application in the
 * same process (a test suite, a hot reload) starts a pipeline of its own.
 */
export function releaseProcessSlot(telemetry: Telemetry): void {
  if (readProcessSlot() === telemetry) delete (globalThis as Slot)[SLOT];
}
