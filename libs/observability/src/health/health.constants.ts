/** Internal injection tokens and names of the health pillar; not exported from the package. */
export const HEALTH_OPTIONS = 'OBSERVABILITY:HEALTH_OPTIONS';

/** Gauge of each indicator's last state: 1 up, 0 down. */
export const HEALTH_INDICATOR_STATUS = 'health_indicator_status';

/**
 * A call still pending this long is given up on and a fresh one started. Until
 * then later checks wait on it instead of adding calls to a dependency that
 * already does not answer (a frozen Redis would otherwise queue one PING per probe).
 */
export const STALE_CALL_MS = 30_000;
