import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { type Attributes, isSpanContextValid, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, trace } from '@opentelemetry/api';
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
import type { Logger } from 'pino';
import type { ResolvedObservabilityOptions } from '../config/options.interface';
import { RequestState } from '../context/request-context';
import { RequestContextService } from '../context/request-context.service';
import { type PinoHandle, PRE_SCRUBBED } from '../logging/pino.factory';
import type { Scrubber } from '../shared/scrubber';
import type { HttpServerMetrics } from '../metrics/http-server.metrics';
import type { MetricsEndpoint } from '../metrics/metrics.endpoint';
import { UNMATCHED_ROUTE } from '../metrics/metrics.constants';
import { HTTP_METRICS, METRICS_ENDPOINT, OPTIONS, PINO, SCRUBBER } from '../observability.constants';
import { ATTR_REQUEST_ID, TRACER_NAME, TRACER_VERSION } from '../tracing/tracing.constants';
import { callListener, interceptRequests, type RequestListener } from '../shared/request-listener';

/** The per-request state rides on the response object, the one thing every later stage can reach. */
const STATE = Symbol('nestjs-observability.request');
type ObservedResponse = ServerResponse & { [STATE]?: RequestState };

/** Methods the HTTP semantic conventions name; anything else is `_OTHER`. */
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH', 'QUERY']);
const WRAPPED = Symbol('nestjs-observability.wrapped');

/**
 * The one per-request hook of the library. It wraps the HTTP server's request
 * listener, so it sees each request before any middleware (body parser,
 * middie, Nest middleware) and its context covers all of them; it makes the
 * request context, the one server span and the request log line.
 *
 * Routes are known only after routing, so the span is named when the response
 * closes: by then the status is final too (after exception filters).
 * @internal
 */
@Injectable()
export class HttpObserver {
  private readonly tracer = trace.getTracer(TRACER_NAME, TRACER_VERSION);
  private readonly logger: Logger;
  private readonly tracing: boolean;
  private readonly requestLog: boolean;
  private readonly requestIdHeader: string;
  private readonly isIgnored: (path: string) => boolean;
  private readonly onClose: (this: ObservedResponse) => void;
  /** Whether requests get a request id and a context (tracing or logging is on). */
  private readonly contextual: boolean;
  /** The scrape endpoint, when it is served on the application's port. */
  private readonly scrapes: MetricsEndpoint | null;

  constructor(
    @Inject(OPTIONS) private readonly options: ResolvedObservabilityOptions,
    private readonly adapterHost: HttpAdapterHost,
    private readonly requestContext: RequestContextService,
    @Inject(PINO) pino: PinoHandle,
    @Inject(SCRUBBER) private readonly scrubber: Scrubber,
    @Inject(HTTP_METRICS) private readonly metrics: HttpServerMetrics | null,
    @Inject(METRICS_ENDPOINT) endpoint: MetricsEndpoint | null,
  ) {
    this.scrapes = endpoint?.onApplicationPort ? endpoint : null;
    this.logger = pino.logger;
    this.tracing = options.tracing.enabled;
    this.requestLog = options.logging.enabled && options.logging.requestLog;
    this.contextual = this.tracing || options.logging.enabled;
    this.requestIdHeader = options.http.requestIdHeader;
    this.isIgnored = ignoreMatcher(options.http.ignorePaths);
    const observer = this;
    // One listener function for every response: `this` is the response, so no closure per request.
    this.onClose = function (this: ObservedResponse) {
      observer.finish(this);
    };
  }

  /** Whether any pillar needs the per-request hook. */
  get active(): boolean {
    return this.tracing || this.options.logging.enabled || this.metrics !== null || this.scrapes !== null;
  }

  /**
   * Hooks into the HTTP server and the adapter. Called from the module's
   * `configure()`: after Nest's body parsers, before any middleware or route.
   */
  install(): void {
    const adapter = this.adapterHost?.httpAdapter;
    if (!adapter || !this.active) return;
    const server = adapter.getHttpServer() as Server | undefined;
    if (!server || !interceptRequests(server, WRAPPED, (listener, srv, req, res) => this.handle(listener, srv, req, res))) return;

    const instance = adapter.getInstance() as AdapterInstance;
    if (adapter.getType() === 'fastify') {
      // Fastify knows the route before parsing; the body is parsed in stream
      // callbacks, outside the request's context, so it is entered again before the handler.
      instance.addHook('onRequest', (request: FastifyRequestLike, reply: FastifyReplyLike, done: () => void) => {
        const state = (reply.raw as ObservedResponse)[STATE];
        if (state) state.route = request.routeOptions?.url;
        done();
      });
      instance.addHook('preHandler', (_request: unknown, reply: FastifyReplyLike, done: () => void) => {
        this.reenter((reply.raw as ObservedResponse)[STATE], done);
      });
    } else {
      // Express parsed the body in stream callbacks too: enter the context again.
      instance.use((_req: unknown, res: ObservedResponse, next: () => void) => this.reenter(res[STATE], next));
    }
  }

  private reenter(state: RequestState | undefined, next: () => void): void {
    if (state && this.requestContext.state() !== state) this.requestContext.enter(state, next);
    else next();
  }

  private handle(listener: RequestListener, server: Server, req: IncomingMessage, res: ObservedResponse): void {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const rawPath = q === -1 ? url : url.slice(0, q);
    if (this.scrapes !== null && rawPath === this.scrapes.path) {
      this.scrapes.serve(req, res);
      return;
    }
    if (this.isIgnored(rawPath)) {
      callListener(listener, server, req, res);
      return;
    }
    if (!this.contextual) {
      // Metrics only: no request id, no context to enter, just the timing.
      const state = new RequestState('', req.method, rawPath, performance.now());
      this.metrics!.active++;
      res[STATE] = state;
      res.on('close', this.onClose);
      callListener(listener, server, req, res);
      return;
    }
    const incomingId = req.headers[this.requestIdHeader];
    const requestId = RequestContextService.acceptRequestId(incomingId) ?? randomUUID();
    res.setHeader(this.requestIdHeader, requestId);
    const state = new RequestState(requestId, req.method, this.scrubber.scrubString(rawPath), performance.now());

    if (this.tracing) {
      const parent = propagation.extract(ROOT_CONTEXT, req.headers);
      const span = this.tracer.startSpan(
        spanMethod(req.method),
        { kind: SpanKind.SERVER, attributes: this.startAttributes(req, state, q === -1 ? undefined : url.slice(q + 1)) },
        parent,
      );
      state.span = span;
      state.otelContext = trace.setSpan(parent, span);
    }
    if (this.metrics !== null) this.metrics.active++;
    res[STATE] = state;
    // `on`, not `once`: a response closes once, and `once` would allocate a wrapper per request.
    res.on('close', this.onClose);
    this.requestContext.enter(state, callListener, undefined, listener, server, req, res);
  }

  private startAttributes(req: IncomingMessage, state: RequestState, query: string | undefined): Attributes {
    const method = req.method ?? 'GET';
    const known = KNOWN_METHODS.has(method);
    const host = req.headers.host;
    const colon = host ? host.lastIndexOf(':') : -1;
    const attributes: Attributes = {
      [ATTR_HTTP_REQUEST_METHOD]: known ? method : '_OTHER',
      [ATTR_URL_PATH]: state.path,
      [ATTR_URL_SCHEME]: (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http',
      [ATTR_NETWORK_PROTOCOL_VERSION]: req.httpVersion,
      [ATTR_REQUEST_ID]: state.requestId,
    };
    if (!known) attributes[ATTR_HTTP_REQUEST_METHOD_ORIGINAL] = method;
    if (query) attributes[ATTR_URL_QUERY] = this.scrubber.scrubQuery(query);
    if (host) {
      attributes[ATTR_SERVER_ADDRESS] = colon > 0 && !host.endsWith(']') ? host.slice(0, colon) : host;
      if (colon > 0 && !host.endsWith(']')) attributes[ATTR_SERVER_PORT] = Number(host.slice(colon + 1));
    }
    const client = req.socket.remoteAddress;
    if (client) attributes[ATTR_CLIENT_ADDRESS] = client;
    return attributes;
  }

  private finish(res: ObservedResponse): void {
    const state = res[STATE];
    if (!state) return;
    res[STATE] = undefined;
    const route = state.route ?? expressRoute(res.req);
    state.route = route;
    const status = res.statusCode;
    const durationMs = performance.now() - state.start;
    const span = state.span;
    if (span) {
      if (span.isRecording()) {
        if (route !== undefined) {
          span.updateName(`${spanMethod(state.method)} ${route}`);
          span.setAttribute(ATTR_HTTP_ROUTE, route);
        }
        span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
        if (status >= 500) {
          span.setAttribute(ATTR_ERROR_TYPE, String(status));
          span.setStatus({ code: SpanStatusCode.ERROR });
        } else if (!res.writableFinished) {
          // The client went away before the response was written.
          span.setAttribute(ATTR_ERROR_TYPE, 'aborted');
        }
      }
      span.end();
    }
    const candidate = span?.spanContext();
    // A disabled pipeline hands out invalid (all-zero) ids: those are not worth a field.
    const spanContext = candidate && isSpanContextValid(candidate) ? candidate : undefined;
    const metrics = this.metrics;
    if (metrics !== null) {
      metrics.active--;
      const sampled = spanContext !== undefined && (spanContext.traceFlags & TraceFlags.SAMPLED) !== 0;
      metrics.record(
        methodLabel(state.method),
        route ?? UNMATCHED_ROUTE,
        status,
        durationMs / 1000,
        sampled ? spanContext.traceId : undefined,
        sampled ? spanContext.spanId : undefined,
      );
    }
    if (this.requestLog) {
      this.logger.info(
        {
          // Every value here is an id, a number, a route template or the path scrubbed on arrival.
          [PRE_SCRUBBED]: true,
          request_id: state.requestId,
          trace_id: spanContext?.traceId,
          span_id: spanContext?.spanId,
          method: state.method,
          route,
          path: state.path,
          status,
          duration_ms: Math.round(durationMs * 1000) / 1000,
          aborted: res.writableFinished ? undefined : true,
        },
        'request completed',
      );
    }
  }
}

/** `http_request_method` label: the method, or `_OTHER` for one the conventions do not name. */
function methodLabel(method: string | undefined): string {
  return method && KNOWN_METHODS.has(method) ? method : '_OTHER';
}

/** Span names per the HTTP conventions: `GET`, or `HTTP` for a method they do not name. */
function spanMethod(method: string | undefined): string {
  return method && KNOWN_METHODS.has(method) ? method : 'HTTP';
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
