/**
 * The one error type this library throws. Every message says what failed, which
 * option or environment variable was involved, and how to fix it.
 */
export class ObservabilityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * Thrown at start-up when an option or environment variable holds a value the
 * library cannot use. Nothing is started when this is thrown.
 */
export class ObservabilityConfigError extends ObservabilityError {
  /**
   * @param source the option path (`logging.level`) or variable (`LOG_LEVEL`)
   * @param value the value that was given
   * @param accepted what would have been accepted
   * @param kind whether `source` is an option or an environment variable
   */
  constructor(
    readonly source: string,
    readonly value: unknown,
    readonly accepted: string,
    readonly kind: 'option' | 'env' = 'option',
  ) {
    super(
      `Invalid ${source}: ${formatValue(value)}. Expected ${accepted}. ` +
        (kind === 'env'
          ? `Fix or unset the environment variable ${source}.`
          : `Fix the "${source}" option passed to ObservabilityModule.forRoot().`),
    );
  }
}

function formatValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value instanceof RegExp) return String(value);
  if (value === undefined) return 'undefined';
  try {
    // RegExps would print as {}: show their source, so the bad one can be found.
    return JSON.stringify(value, (_key, v: unknown) => (v instanceof RegExp ? String(v) : v)) ?? String(value);
  } catch {
    return String(value);
  }
}
