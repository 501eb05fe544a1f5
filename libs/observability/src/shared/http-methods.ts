/** Methods the HTTP semantic conventions name; anything else is `_OTHER`. */
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH', 'QUERY']);

/** Whether the HTTP semantic conventions name this method. */
export function isKnownMethod(method: string | undefined): method is string {
  return method !== undefined && KNOWN_METHODS.has(method);
}

/** `http.request.method` / the `http_request_method` label: the method, or `_OTHER`. */
export function methodLabel(method: string | undefined): string {
  return isKnownMethod(method) ? method : '_OTHER';
}

/** Span names per the HTTP conventions: `GET`, or `HTTP` for a method they do not name. */
export function spanMethod(method: string | undefined): string {
  return isKnownMethod(method) ? method : 'HTTP';
}
