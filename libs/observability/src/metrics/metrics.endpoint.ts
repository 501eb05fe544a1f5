import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

import type { OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { HttpAdapterHost } from '@nestjs/core';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';

import type { ResolvedObservabilityOptions } from '../config/options.interface';
import { ObservabilityError } from '../shared/observability.errors';
import { callListener, interceptRequests } from '../shared/request-listener';
import { SidePortServer } from '../shared/side-port-server';
import { OPENMETRICS_CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE, renderExposition } from './exposition';

const WRAPPED = Symbol('nestjs-observability.metrics-endpoint');

/**
 * The scrape endpoint. It answers before Nest's router (from the server hook,
 * or on its own port), so the application's global guards, interceptors and
 * filters never see a scrape; only the optional auth of `metrics.auth` applies.
 * On the application's port it stands in front of every other hook (it is
 * installed last, at bootstrap), so a scrape is never a unit of work.
 * @internal
 */
export class MetricsEndpoint implements OnApplicationBootstrap, OnApplicationShutdown {
  private server: SidePortServer | undefined;
  private readonly expected: Buffer | undefined;

  constructor(
    private readonly options: ResolvedObservabilityOptions['metrics'],
    private readonly registries: readonly Registry[],
    private readonly logger: Logger,
    private readonly adapterHost: HttpAdapterHost | undefined,
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
    return this.server?.port;
  }

  /** Answers scrapes on the application's port, or opens the separate one. */
  async onApplicationBootstrap(): Promise<void> {
    if (!this.onApplicationPort) return this.listen();
    const server = this.adapterHost?.httpAdapter?.getHttpServer() as Server | undefined;
    if (!server) return;
    const path = this.options.path;
    interceptRequests(server, WRAPPED, (listener, srv, req, res) => {
      const url = req.url;
      // Cheap for every other request: one prefix test.
      if (url !== undefined && url.startsWith(path) && (url.length === path.length || url[path.length] === '?')) this.serve(req, res);
      else callListener(listener, srv, req, res);
    });
  }

  onApplicationShutdown(): Promise<void> {
    return this.close();
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
    const { port, host, path } = this.options;
    if (port === undefined || this.server) return;
    this.server = await SidePortServer.listen(
      port,
      host,
      (req, res) => {
        if ((req.url ?? '/').split('?')[0] === path) this.serve(req, res);
        else res.writeHead(404).end();
      },
      (error) =>
        new ObservabilityError(
          `Cannot serve metrics on metrics.port ${port} (host ${host}): ${error.code ?? error.message}. Pick a free port, or leave metrics.port unset to serve ${path} on the application's port.`,
        ),
      (error) => this.logger.error({ err: error }, 'nestjs-observability: the metrics port failed'),
    );
    const application = this.adapterHost?.httpAdapter?.getHttpServer() as Server | undefined;
    this.server.reserve(
      application,
      () =>
        new ObservabilityError(
          `Cannot serve metrics on metrics.port ${port}: it is the application's own port (app.listen(${port})). Give metrics.port a port of its own, or leave it unset to serve ${path} on the application's port.`,
        ),
    );
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    await server?.close();
  }

  private authorized(header: string | undefined): boolean {
    if (!this.expected) return true;
    if (typeof header !== 'string') return false;
    const given = Buffer.from(header);
    return given.length === this.expected.length && timingSafeEqual(given, this.expected);
  }
}
