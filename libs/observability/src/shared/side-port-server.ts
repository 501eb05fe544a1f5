import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A small HTTP server on a port of its own, for endpoints that must not share
 * the application's port (`metrics.port`, `health.port`). Start-up failures
 * (port in use, bad host) reject with the caller's message; once listening, an
 * error is reported through `onError` and never thrown, so a side port cannot
 * take the process down.
 * @internal
 */
export class SidePortServer {
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

  /** Cuts open connections (scrapers and probes keep them alive) and stops listening. */
  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
