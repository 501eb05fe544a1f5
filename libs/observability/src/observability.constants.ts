/** Internal injection tokens; not exported from the package. */
export const OPTIONS = 'OBSERVABILITY:OPTIONS';
export const PINO = 'OBSERVABILITY:PINO';
export const SCRUBBER = 'OBSERVABILITY:SCRUBBER';
export const TELEMETRY = 'OBSERVABILITY:TELEMETRY';
