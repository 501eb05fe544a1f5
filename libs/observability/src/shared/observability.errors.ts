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
 * library cannot use (nothing is started then), and by methods that take the
 * same kind of value later, such as `HealthService.register()`.
 */
export class ObservabilityConfigError extends ObservabilityError {
  /**
   * @param source the option path (`logging.level`), variable (`LOG_LEVEL`) or argument (`indicator.name`)
   * @param value the value that was given
   * @param accepted what would have been accepted
   * @param kind whether `source` is an option, an environment variable or an argument of a method
   * @param more `call`: the method an argument was passed to (`HealthService.register()`);
   *   `hint`: a sentence added after the fix, such as a "did you mean"
   */
  constructor(
    readonly source: string,
    readonly value: unknown,
    readonly accepted: string,
    readonly kind: 'option' | 'env' | 'argument' = 'option',
    more: { call?: string; hint?: string } = {},
  ) {
    super(
      `Invalid ${source}: ${formatValue(value)}. Expected ${accepted}. ${fixFor(source, kind, more.call)}${more.hint ? ` ${more.hint}` : ''}`,
    );
  }
}

function fixFor(source: string, kind: 'option' | 'env' | 'argument', call: string | undefined): string {
  if (kind === 'env') return `Fix or unset the environment variable ${source}.`;
  if (kind === 'argument') return `Fix the "${source}" argument passed to ${call ?? 'the method that threw'}.`;
  return `Fix the "${source}" option passed to ObservabilityModule.forRoot().`;
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
