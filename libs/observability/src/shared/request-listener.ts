import type { IncomingMessage, Server, ServerResponse } from 'node:http';

/** The HTTP server's `request` listener: the Express app, or Fastify's handler. */
export type RequestListener = (this: Server, req: IncomingMessage, res: ServerResponse) => void;

/** Gets each request first, with the listener it stands in front of. */
export type RequestInterceptor = (listener: RequestListener, server: Server, req: IncomingMessage, res: ServerResponse) => void;

/**
 * Calls the adapter's listener as the server would. Never `listener.bind`/`.call`
 * on it directly: an Express app is a function whose own `bind` is the HTTP BIND route.
 */
export function callListener(listener: RequestListener, server: Server, req: IncomingMessage, res: ServerResponse): void {
  Reflect.apply(listener, server, [req, res]);
}

/**
 * Puts `interceptor` in front of the server's request listener, so it sees every
 * request before any middleware, body parser or router. Once per `marker`: a
 * second call with the same marker (an app initialised twice) changes nothing.
 * Returns whether it was installed.
 */
export function interceptRequests(server: Server, marker: symbol, interceptor: RequestInterceptor): boolean {
  const marked = server as Server & { [key: symbol]: true | undefined };
  if (marked[marker]) return false;
  const [listener] = server.listeners('request') as RequestListener[];
  if (!listener) return false;
  marked[marker] = true;
  server.removeListener('request', listener);
  server.prependListener('request', function (this: Server, req: IncomingMessage, res: ServerResponse) {
    interceptor(listener, this, req, res);
  });
  return true;
}
