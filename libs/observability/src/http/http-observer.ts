import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

import { Inject, Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { type Attributes, type Span, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import {
  ATTR_CLIENT_ADDRESS,
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_REQUEST_METHOD_ORIGINAL,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_NETWORK_PROTOCOL_VERSION,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_PATH,
  ATTR_URL_QUERY,
  ATTR_URL_SCHEME,
} from '@opentelemetry/semantic-conventions';

import type { ResolvedObservabilityOptions } from '../config/options.interface';
import { RequestContextService } from '../context/request-context.service';
import { UnitOfWork, type WorkDriver } from '../context/unit-of-work';
import { isKnownMethod, spanMethod } from '../shared/http-methods';
import { callListener, interceptRequests, type RequestListener } from '../shared/request-listener';
import type { Scrubber } from '../shared/scrubber';
import { ATTR_REQUEST_ID, OPTIONS, SCRUBBER } from '../work/work.constants';
import { WorkPipeline } from '../work/work-pipeline';

/** The unit of work rides on the response object, the one thing every later stage can reach. */
const UNIT = Symbol('nestjs-observability.request');
type ObservedResponse = ServerResponse & { [UNIT]?: UnitOfWork };

const WRAPPED = Symbol('nestjs-observability.wrapped');
/** A Host header: a DNS name or IPv4 address (at most 253 characters) or a bracketed IPv6 address, then an optional port. */
const HOST = /^([A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]{2,45}\])(?::(\d{1,5}))?$/;

/**
 * The HTTP driver of the unit of work, and the library's one per-request hook.
 * It wraps the HTTP server's request listener, so it sees each request before
 * any middleware (body parser, middie, Nest middleware) and the request's
 * context covers all of them. It starts a unit of work per request, lets the
 * switched-on pillars do their part (span, RED metrics, request line) through
 * the pipeline, and tells them what HTTP means (span name and attributes).
 *
 * Routes are known only after routing, so the unit finishes when the response
 * closes: by then the status is final too (after exception filters).
 * @internal
 */
@Injectable()
export class HttpObserver implements WorkDriver {
  readonly kind = 'http';
  readonly spanKind = SpanKind.SERVER;
  readonly completedMessage = 'request completed';
  readonly carrierGetter = undefined;
  private readonly requestIdHeader: string;
  private readonly isIgnored: (path: string) => boolean;
  private readonly onClose: (this: ObservedResponse) => void;
  /** Whether units get a request id and a context (a pillar needs them: tracing, logging). */
  private readonly contextual: boolean;

  constructor(
    @Inject(OPTIONS) options: ResolvedObservabilityOptions,
    private readonly adapterHost: HttpAdapterHost,
    private readonly requestContext: RequestContextService,
    @Inject(SCRUBBER) private readonly scrubber: Scrubber,
    private readonly pipeline: WorkPipeline,
  ) {
    this.contextual = options.tracing.enabled || options.logging.enabled;
    this.requestIdHeader = options.http.requestIdHeader;
    this.isIgnored = ignoreMatcher(options.http.ignorePaths);
    const observer = this;
    // One listener function for every response: `this` is the response, so no closure per request.
    this.onClose = function (this: ObservedResponse) {
      observer.finish(this);
    };
  }

  /**
   * Hooks into the HTTP server and the adapter when any pillar observes units
   * of work. Called from the module's `configure()`: after Nest's body parsers,
   * before any middleware or route.
   */
  install(): void {
    const adapter = this.adapterHost?.httpAdapter;
    if (!adapter || !this.pipeline.observing) return;
    const server = adapter.getHttpServer() as Server | undefined;
    if (!server || !interceptRequests(server, WRAPPED, (listener, srv, req, res) => this.handle(listener, srv, req, res))) return;

    const instance = adapter.getInstance() as AdapterInstance;
    if (adapter.getType() === 'fastify') {
      // Fastify knows the route before parsing; the body is parsed in stream
      // callbacks, outside the request's context, so it is entered again before the handler.
      instance.addHook('onRequest', (request: FastifyRequestLike, reply: FastifyReplyLike, done: () => void) => {
        const unit = (reply.raw as ObservedResponse)[UNIT];
        if (unit) unit.route = request.routeOptions?.url;
        done();
      });
      instance.addHook('preHandler', (_request: unknown, reply: FastifyReplyLike, done: () => void) => {
        this.reenter((reply.raw as ObservedResponse)[UNIT], done);
      });
    } else {
      // Express parsed the body in stream callbacks too: enter the context again.
      instance.use((_req: unknown, res: ObservedResponse, next: () => void) => this.reenter(res[UNIT], next));
    }
  }

  private reenter(unit: UnitOfWork | undefined, next: () => void): void {
    if (unit && this.contextual && this.requestContext.state() !== unit) this.requestContext.enter(unit, next);
    else next();
  }

  private handle(listener: RequestListener, server: Server, req: IncomingMessage, res: ObservedResponse): void {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const rawPath = q === -1 ? url : url.slice(0, q);
    if (this.isIgnored(rawPath)) {
      callListener(listener, server, req, res);
      return;
    }
    if (!this.contextual) {
      // Metrics only: no request id, no context to enter, just the timing.
      const unit = new UnitOfWork(this, '', req.method, rawPath, performance.now(), req);
      this.pipeline.start(unit);
      res[UNIT] = unit;
      res.on('close', this.onClose);
      callListener(listener, server, req, res);
      return;
    }
    const requestId = RequestContextService.acceptRequestId(req.headers[this.requestIdHeader]) ?? randomUUID();
    res.setHeader(this.requestIdHeader, requestId);
    const unit = new UnitOfWork(this, requestId, req.method, this.scrubber.scrubString(rawPath), performance.now(), req);
    this.pipeline.start(unit);
    res[UNIT] = unit;
    // `on`, not `once`: a response closes once, and `once` would allocate a wrapper per request.
    res.on('close', this.onClose);
    this.requestContext.enter(unit, callListener, undefined, listener, server, req, res);
  }

  private finish(res: ObservedResponse): void {
    const unit = res[UNIT];
    if (!unit) return;
    res[UNIT] = undefined;
    unit.route ??= expressRoute(res.req);
    const status = res.statusCode;
    unit.status = status;
    unit.durationMs = performance.now() - unit.start;
    // The client went away before the response was written.
    unit.aborted = !res.writableFinished;
    unit.errorType = status >= 500 ? String(status) : unit.aborted ? 'aborted' : undefined;
    this.pipeline.finish(unit);
    unit.source = undefined;
  }

  carrier(unit: UnitOfWork): unknown {
    return (unit.source as IncomingMessage).headers;
  }

  startName(unit: UnitOfWork): string {
    return spanMethod(unit.method);
  }

  startAttributes(unit: UnitOfWork): Attributes {
    const req = unit.source as IncomingMessage;
    const method = req.method ?? 'GET';
    const known = isKnownMethod(method);
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const attributes: Attributes = {
      [ATTR_HTTP_REQUEST_METHOD]: known ? method : '_OTHER',
      [ATTR_URL_PATH]: unit.path,
      [ATTR_URL_SCHEME]: (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http',
      [ATTR_NETWORK_PROTOCOL_VERSION]: req.httpVersion,
      [ATTR_REQUEST_ID]: unit.requestId,
    };
    if (!known) attributes[ATTR_HTTP_REQUEST_METHOD_ORIGINAL] = method;
    if (q !== -1 && q < url.length - 1) attributes[ATTR_URL_QUERY] = this.scrubber.scrubQuery(url.slice(q + 1));
    // The Host header is the client's to write: only a plausible host name and port become attributes.
    const host = HOST.exec(req.headers.host ?? '');
    if (host !== null) {
      attributes[ATTR_SERVER_ADDRESS] = host[1];
      const port = host[2] === undefined ? 0 : Number(host[2]);
      if (port >= 1 && port <= 65535) attributes[ATTR_SERVER_PORT] = port;
    }
    const client = req.socket.remoteAddress;
    if (client) attributes[ATTR_CLIENT_ADDRESS] = client;
    return attributes;
  }

  endSpan(unit: UnitOfWork, span: Span): void {
    if (unit.route !== undefined) {
      span.updateName(`${spanMethod(unit.method)} ${unit.route}`);
      span.setAttribute(ATTR_HTTP_ROUTE, unit.route);
    }
    span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, unit.status);
    if (unit.errorType !== undefined) span.setAttribute(ATTR_ERROR_TYPE, unit.errorType);
    // Server spans are errors for 5xx only; a 4xx is the client's (HTTP conventions).
    if (unit.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  }
}

/** Express leaves the matched route on the request; unmatched requests have none. */
function expressRoute(req: IncomingMessage | undefined): string | undefined {
  const path = (req as { route?: { path?: unknown } } | undefined)?.route?.path;
  return typeof path === 'string' ? path : undefined;
}

function ignoreMatcher(patterns: readonly (string | RegExp)[]): (path: string) => boolean {
  const exact = new Set<string>();
  const prefixes: string[] = [];
  const regexps: RegExp[] = [];
  for (const p of patterns) {
    if (p instanceof RegExp) regexps.push(p);
    else {
      const trimmed = p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
      exact.add(trimmed);
      prefixes.push(`${trimmed}/`);
    }
  }
  if (exact.size === 0 && regexps.length === 0) return () => false;
  return (path) => exact.has(path) || prefixes.some((prefix) => path.startsWith(prefix)) || regexps.some((r) => r.test(path));
}

interface FastifyRequestLike {
  routeOptions?: { url?: string };
}
interface FastifyReplyLike {
  raw: ServerResponse;
}
interface AdapterInstance {
  addHook(name: string, hook: (...args: never[]) => void): void;
  use(middleware: (req: never, res: never, next: () => void) => void): void;
}
