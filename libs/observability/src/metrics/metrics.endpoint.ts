import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { ResolvedObservabilityOptions } from '../config/options.interface';
import { OPENMETRICS_CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE, renderExposition } from './exposition';

/**
 * The scrape endpoint. It answers before Nest's router (from the server hook,
 * or on its own port), so the application's global guards, interceptors and
 * filters never see a scrape; only the optional auth of `metrics.auth` applies.
 * @internal
 */
export class MetricsEndpoint {
  private server: Server | undefined;
  private readonly expected: Buffer | undefined;

  constructor(
    private readonly options: ResolvedObservabilityOptions['metrics'],
    private readonly registries: readonly Registry[],
    private readonly logger: Logger,
  ) {
    const auth = options.auth;
    if (auth && 'bearerToken' in auth) this.expected = Buffer.from(`Bearer ${auth.bearerToken}`);
    else if (auth) this.expected = Buffer.from(`Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`);
  }

  /** Whether the application's own server answers scrapes (no separate port). */
  get onApplicationPort(): boolean {
    return this.options.port === undefined;
  }

  get path(): string {
    return this.options.path;
  }

  /** The separate port, once listening. */
  get port(): number | undefined {
    return (this.server?.address() as AddressInfo | null)?.port;
  }

  /** Answers one scrape; never throws. */
  serve(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (!this.authorized(req.headers.authorization)) {
      const scheme = this.options.auth && 'bearerToken' in this.options.auth ? 'Bearer' : 'Basic';
      res.writeHead(401, { 'www-authenticate': `${scheme} realm="metrics"` }).end();
      return;
    }
    const openMetrics = (req.headers.accept ?? '').includes('application/openmetrics-text');
    renderExposition(this.registries, openMetrics).then(
      (body) => {
        res.writeHead(200, { 'content-type': openMetrics ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_CONTENT_TYPE });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (error: unknown) => {
        this.logger.error({ err: error }, 'nestjs-observability: rendering /metrics failed');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics unavailable\n');
      },
    );
  }

  /** Starts the separate port, when one is configured. */
  async listen(): Promise<void> {
    if (this.onApplicationPort || this.server) return;
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (path === this.options.path) this.serve(req, res);
      else res.writeHead(404).end();
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private authorized(header: string | undefined): boolean {
    if (!this.expected) return true;
    if (typeof header !== 'string') return false;
    const given = Buffer.from(header);
    return given.length === this.expected.length && timingSafeEqual(given, this.expected);
  }
}
