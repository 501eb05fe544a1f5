/** Options every built-in indicator takes. */
export interface IndicatorOptions {
  /** Key in the bodies and `indicator` label of the gauge. Each indicator has its own default. */
  name?: string;
  /** Overrides `health.timeoutMs` for this indicator. @default health.timeoutMs (1000) */
  timeoutMs?: number;
}
