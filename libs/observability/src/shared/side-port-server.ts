import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The side ports an application server may not listen on, with the error each gives. */
const RESERVED = Symbol('nestjs-observability.side-ports');

type ReservingServer = Server & { [RESERVED]?: Map<number, () => Error> };

/**
 * A small HTTP server on a port of its own, for endpoints that must not share
 * the application's port (`metrics.port`, `health.port`). Start-up failures
 * (port in use, bad host) reject with the caller's message; once listening, an
 * error is reported through `onError` and never thrown, so a side port cannot
 * take the process down.
 * @internal
 */
export class SidePortServer {
  private release: (() => void) | undefined;

  private constructor(private readonly server: Server) {}

  /** Listens on `port` (0 picks a free one) at `host`; rejects with `failure(error)` if it cannot. */
  static listen(
    port: number,
    host: string,
    handler: (req: IncomingMessage, res: ServerResponse) => void,
    failure: (error: NodeJS.ErrnoException) => Error,
    onError: (error: Error) => void,
  ): Promise<SidePortServer> {
    const server = createServer(handler);
    return new Promise((resolve, reject) => {
      const failed = (error: NodeJS.ErrnoException) => reject(failure(error));
      server.once('error', failed);
      server.listen(port, host, () => {
        server.off('error', failed);
        server.on('error', onError);
        resolve(new SidePortServer(server));
      });
    });
  }

  /** The port it listens on. */
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /**
   * Makes the application's server fail to listen on this port, with
   * `conflict()` as its error. Side ports open while the application starts,
   * before `app.listen()`: without this, `app.listen()` on the same port fails
   * with a bare EADDRINUSE that names no option, while the side port, still
   * listening, answers every request of the application with 404. The port is
   * checked before binding, so the hosts do not matter. The error goes out as
   * a failed bind does, through the server's `error` event, which
   * `app.listen()` turns into its rejection on Express and Fastify alike.
   */
  reserve(application: Server | undefined, conflict: () => Error): void {
    // No HTTP server (a microservice-only application): nothing else listens.
    if (application === undefined) return;
    const server = application as ReservingServer;
    let reserved = server[RESERVED];
    if (reserved === undefined) {
      const ports = new Map<number, () => Error>();
      server[RESERVED] = ports;
      reserved = ports;
      const listen = server.listen;
      // An own property, in front of the prototype's: both adapters call `server.listen(...)` on this object.
      server.listen = function (this: Server, ...args: unknown[]) {
        const port = requestedPort(args[0]);
        const conflict = port === undefined ? undefined : ports.get(port);
        if (conflict === undefined) return Reflect.apply(listen, this, args) as Server;
        process.nextTick(() => this.emit('error', conflict()));
        return this;
      } as Server['listen'];
    }
    const port = this.port;
    reserved.set(port, conflict);
    this.release = () => server[RESERVED]?.delete(port);
  }

  /** Cuts open connections (scrapers and probes keep them alive) and stops listening. */
  close(): Promise<void> {
    this.release?.();
    this.release = undefined;
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * The TCP port `server.listen()` was asked for: `listen(port, …)` (a number or
 * a numeric string) or `listen({ port, … })`. Undefined for a pipe path, a
 * handle, or port 0 (a free port, which cannot be a side port).
 */
function requestedPort(first: unknown): number | undefined {
  const given = typeof first === 'object' && first !== null ? (first as { port?: unknown }).port : first;
  const port = typeof given === 'string' && /^\d+$/.test(given) ? Number(given) : given;
  return typeof port === 'number' && Number.isInteger(port) && port > 0 ? port : undefined;
}
