import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Logger } from 'pino';

import type { ResolvedHealthOptions } from '../config/options.interface';
import { ObservabilityError } from '../shared/observability.errors';
import { callListener, interceptRequests } from '../shared/request-listener';
import { SidePortServer } from '../shared/side-port-server';
import { LOG, type LogHandle } from '../work/work.constants';
import { HEALTH_OPTIONS } from './health.constants';
import { type HealthReport, HealthService } from './health.service';
import { ShutdownService } from './shutdown.service';

type Probe = 'live' | 'ready' | 'health';

const WRAPPED = Symbol('nestjs-observability.health');
const HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-cache, no-store, must-revalidate' } as const;
const OK_BODY = '{"status":"ok"}';
const SHUTTING_DOWN_BODY = '{"status":"shutting_down"}';
const ERROR_BODY = '{"status":"error"}';

/**
 * Serves `/health/live`, `/health/ready` and `/health` from the HTTP server's
 * request hook, before any adapter, middleware or router — like `/metrics`.
 * Global guards (Kubernetes probes carry no credentials), a global prefix,
 * interceptors and exception filters never apply; probes never reach the
 * per-request observer, so they make no span, request log line or RED metric;
 * and the paths may come from `forRootAsync()`. Optionally also serves them on
 * an internal port.
 *
 * During shutdown it also marks every response of the application's port
 * `Connection: close`, so that clients hold no idle keep-alive connection when
 * the server closes (a request sent on one as it closes would fail).
 * @internal
 */
@Injectable()
export class HealthEndpoint implements OnApplicationBootstrap, OnApplicationShutdown {
  private internal: SidePortServer | undefined;
  private readonly logger: Logger;
  /** The paths' common prefix: the one test every other request pays. */
  private readonly prefix: string;
  private readonly probes: ReadonlyMap<string, Probe>;
  private readonly expected: Buffer | undefined;
  /** Probes waiting for a check: answered at once when shutdown begins. */
  private readonly waiting = new Set<ServerResponse>();

  constructor(
    @Inject(HEALTH_OPTIONS) private readonly options: ResolvedHealthOptions,
    private readonly health: HealthService,
    private readonly shutdown: ShutdownService,
    private readonly adapterHost: HttpAdapterHost,
    @Inject(LOG) log: LogHandle,
  ) {
    this.logger = log.logger;
    this.probes = new Map<string, Probe>([
      [options.livePath, 'live'],
      [options.readyPath, 'ready'],
      [options.path, 'health'],
    ]);
    this.prefix = commonPrefix([...this.probes.keys()]);
    this.expected = options.token === undefined ? undefined : Buffer.from(`Bearer ${options.token}`);
    // A probe in progress when the signal arrives must not wait for its check to say 503.
    shutdown.onBegin(() => {
      for (const res of this.waiting) send(res, 503, SHUTTING_DOWN_BODY);
      this.waiting.clear();
    });
  }

  /** The internal port, once listening. */
  get port(): number | undefined {
    return this.internal?.port;
  }

  /**
   * Hooks into the application's server and opens the internal port. Runs
   * after the per-request observer installed its hook (at middleware
   * registration), so this hook sees every request first.
   */
  async onApplicationBootstrap(): Promise<void> {
    if (!this.options.enabled) return;
    const server = this.adapterHost?.httpAdapter?.getHttpServer() as Server | undefined;
    if (server) {
      interceptRequests(server, WRAPPED, (listener, srv, req, res) => {
        if (this.shutdown.shuttingDown) res.setHeader('connection', 'close');
        if (!this.intercept(req, res, false)) callListener(listener, srv, req, res);
      });
    }
    if (this.options.port !== undefined) await this.listen(this.options.port, this.options.host);
  }

  /** Closes the internal port: the last moment a probe could need it. */
  async onApplicationShutdown(): Promise<void> {
    const server = this.internal;
    this.internal = undefined;
    await server?.close();
  }

  private async listen(port: number, host: string): Promise<void> {
    this.internal = await SidePortServer.listen(
      port,
      host,
      (req, res) => {
        if (!this.intercept(req, res, true)) res.writeHead(404, HEADERS).end('{"statusCode":404,"message":"Not Found"}');
      },
      (error) =>
        new ObservabilityError(
          `Cannot serve health probes on health.port ${port} (host ${host}): ${error.code ?? error.message}. Pick a free port, or leave health.port unset.`,
        ),
      // Probes must not take the process down.
      (error) => this.logger.error({ err: error }, 'nestjs-observability: the health port failed'),
    );
    this.internal.reserve(
      this.adapterHost?.httpAdapter?.getHttpServer() as Server | undefined,
      () =>
        new ObservabilityError(
          `Cannot serve health probes on health.port ${port}: it is the application's own port (app.listen(${port})). Give health.port a port of its own, or leave it unset.`,
        ),
    );
  }

  /** Answers a probe and returns true; returns false at once for any other request. */
  private intercept(req: IncomingMessage, res: ServerResponse, internal: boolean): boolean {
    const url = req.url;
    if (url === undefined || !url.startsWith(this.prefix)) return false;
    const q = url.indexOf('?');
    const probe = this.probes.get(q === -1 ? url : url.slice(0, q));
    if (probe === undefined) return false;
    try {
      this.serve(probe, req, res, internal);
    } catch (error) {
      this.logger.error({ err: error }, 'nestjs-observability: answering a health probe failed');
      send(res, 503, ERROR_BODY);
    }
    return true;
  }

  private serve(probe: Probe, req: IncomingMessage, res: ServerResponse, internal: boolean): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...HEADERS, allow: 'GET, HEAD' }).end('{"statusCode":405,"message":"Method Not Allowed"}');
      return;
    }
    // Liveness checks nothing: it fails only when the process cannot answer at all.
    if (probe === 'live') return send(res, 200, OK_BODY);
    if (this.shutdown.shuttingDown) return send(res, 503, SHUTTING_DOWN_BODY);
    const details = this.detailsVisible(req, internal);
    this.waiting.add(res);
    void this.health.check().then((report) => {
      // Already answered when shutdown began meanwhile.
      if (!this.waiting.delete(res)) return;
      send(res, report.status === 'ok' ? 200 : 503, render(probe, report, details));
    });
  }

  private detailsVisible(req: IncomingMessage, internal: boolean): boolean {
    switch (this.options.details) {
      case 'always':
        return true;
      case 'never':
        return false;
      case 'authorized':
        return internal || this.authorized(req.headers.authorization);
    }
  }

  private authorized(header: string | undefined): boolean {
    if (this.expected === undefined || typeof header !== 'string') return false;
    const given = Buffer.from(header);
    return given.length === this.expected.length && timingSafeEqual(given, this.expected);
  }
}

/** Readiness names the failing indicators; `/health` shows them all; hidden details leave only the status. */
function render(probe: Probe, report: HealthReport, details: boolean): string {
  if (!details) return report.status === 'ok' ? OK_BODY : JSON.stringify({ status: report.status });
  if (probe === 'health') return JSON.stringify(report);
  return report.status === 'ok' ? OK_BODY : JSON.stringify({ status: report.status, error: report.error });
}

function send(res: ServerResponse, status: number, body: string): void {
  // The client may have gone away while the check ran.
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { ...HEADERS, 'content-length': Buffer.byteLength(body) }).end(body);
}

function commonPrefix(paths: string[]): string {
  let prefix = paths[0];
  for (const path of paths) {
    while (!path.startsWith(prefix)) prefix = prefix.slice(0, -1);
  }
  return prefix;
}
