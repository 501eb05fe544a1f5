/** `error.type` / the `error_type` label: the error's class name, or the thrown value's type. */
export function errorType(exception: unknown): string {
  if (exception instanceof Error) return exception.constructor?.name || exception.name || 'Error';
  return typeof exception;
}
