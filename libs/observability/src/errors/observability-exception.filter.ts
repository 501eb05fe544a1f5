import { STATUS_CODES } from 'node:http';
import { type ArgumentsHost, Catch, HttpException, Inject, Injectable, Optional } from '@nestjs/common';
import { BaseExceptionFilter, HttpAdapterHost } from '@nestjs/core';
import { isSpanContextValid, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { type Observable, throwError } from 'rxjs';
import type { ResolvedObservabilityOptions } from '../config/options.interface';
import { RequestContextService } from '../context/request-context.service';
import type { PinoHandle } from '../logging/pino.factory';
import type { Scrubber } from '../shared/scrubber';
import { MetricsService } from '../metrics/metrics.service';
import { OPTIONS, PINO, SCRUBBER, TELEMETRY } from '../observability.constants';
import type { Telemetry } from '../sdk/telemetry';

/** Counts server errors by error class. */
export const APP_ERRORS = 'app_errors_total';

/** The body a client gets for a server error: no stack, no internal message. */
export interface SafeErrorBody {
  statusCode: number;
  message: string;
  requestId: string | undefined;
}

/**
 * The module's global exception filter, for HTTP (Express and Fastify) and RPC.
 *
 * - 4xx `HttpException`s: the body Nest would give, one `warn` line, no report.
 * - 5xx `HttpException`s and any other error: a safe body (`statusCode`, a generic
 *   message, `requestId`), one `error` line with the stack, an error report
 *   linked to the active trace and tagged with route and request id,
 *   `app_errors_total{error_type}`, and the exception on the server span.
 *
 * It never throws: if anything in it fails, the client still gets a 500.
 * Filters of your own, on controllers or routes, run instead of it.
 */
@Catch()
@Injectable()
export class ObservabilityExceptionFilter extends BaseExceptionFilter {
  private readonly logger: Logger;
  private readonly errors;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(OPTIONS) private readonly options: ResolvedObservabilityOptions,
    @Inject(PINO) pino: PinoHandle,
    @Inject(SCRUBBER) private readonly scrubber: Scrubber,
    private readonly requestContext: RequestContextService,
    metrics: MetricsService,
    @Optional() @Inject(TELEMETRY) private readonly telemetry: Telemetry | null,
  ) {
    super(adapterHost.httpAdapter);
    this.logger = pino.logger;
    this.errors = metrics.counter({ name: APP_ERRORS, help: 'Server errors (5xx and unhandled) by error class.', labelNames: ['error_type'] });
  }

  override catch(exception: unknown, host: ArgumentsHost): Observable<unknown> | void {
    if (!this.options.errors.enabled) return super.catch(exception, host);
    try {
      if (host.getType() === 'rpc') return this.catchRpc(exception);
      if (host.getType() === 'http') return this.catchHttp(exception, host);
      this.serverError(exception, undefined, undefined);
    } catch (failure) {
      this.lastResort(host, failure);
    }
  }

  private catchHttp(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const req = http.getRequest<{ route?: { path?: unknown }; routeOptions?: { url?: string } }>();
    const status = exception instanceof HttpException ? exception.getStatus() : 500;
    const route = routeOf(req);
    const clientError = exception instanceof HttpException && status < 500;
    if (clientError && !this.options.errors.reportStatuses(status)) {
      this.logger.warn({ status, route, error_type: errorType(exception) }, messageOf(exception));
      return super.catch(exception, host);
    }
    const requestId = this.serverError(exception, status, route);
    // A reported 4xx keeps the body Nest gives it; only server errors get the safe body.
    if (clientError) return super.catch(exception, host);
    const adapter = this.adapterHost.httpAdapter;
    const res = http.getResponse<unknown>();
    if (!adapter.isHeadersSent(res)) {
      const body: SafeErrorBody = { statusCode: status, message: genericMessage(status), requestId };
      adapter.reply(res, body, status);
    } else {
      // Headers went out (a stream failed midway): all that is left is to end it.
      adapter.end(res);
    }
  }

  private catchRpc(exception: unknown): Observable<never> {
    const rpcError = (exception as { getError?: () => unknown })?.getError;
    if (typeof rpcError === 'function' && (exception as Error).constructor?.name === 'RpcException') {
      // An RpcException is the handler's own answer, like a 4xx.
      const error = rpcError.call(exception);
      this.logger.warn({ error_type: 'RpcException' }, typeof error === 'string' ? error : messageOf(exception));
      return throwError(() => (typeof error === 'object' && error !== null ? error : { status: 'error', message: error }));
    }
    const requestId = this.serverError(exception, undefined, undefined);
    return throwError(() => ({ status: 'error', message: genericMessage(500), requestId }));
  }

  /** Logs, counts, marks the span and reports one server error; returns the request id. */
  private serverError(exception: unknown, status: number | undefined, route: string | undefined): string | undefined {
    const requestId = this.requestContext.requestId;
    const type = errorType(exception);
    this.logger.error({ err: exception, status, route, error_type: type }, messageOf(exception));
    this.errors.inc({ error_type: type });
    const span = trace.getActiveSpan();
    const spanContext = span?.spanContext();
    if (span) {
      span.recordException(this.scrubber.scrub(exception instanceof Error ? exception : new Error(String(exception))));
      // A reported 4xx is still the client's error, not the server's (HTTP conventions).
      if (status === undefined || status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    }
    this.telemetry?.reporter?.capture(exception, {
      traceId: spanContext && isSpanContextValid(spanContext) ? spanContext.traceId : undefined,
      spanId: spanContext && isSpanContextValid(spanContext) ? spanContext.spanId : undefined,
      tags: { route, request_id: requestId, 'http.response.status_code': status, service: this.options.serviceName },
    });
    return requestId;
  }

  private lastResort(host: ArgumentsHost, failure: unknown): void {
    try {
      this.logger.error({ err: failure }, 'nestjs-observability: the exception filter failed');
      if (host.getType() === 'http') {
        const res = host.switchToHttp().getResponse<unknown>();
        const adapter = this.adapterHost.httpAdapter;
        if (!adapter.isHeadersSent(res)) adapter.reply(res, { statusCode: 500, message: genericMessage(500) }, 500);
      }
    } catch {
      // Nothing more can be done without risking a throw out of the filter.
    }
  }
}

function genericMessage(status: number): string {
  return status === 500 ? 'Internal server error' : (STATUS_CODES[status] ?? 'Internal server error');
}

function errorType(exception: unknown): string {
  if (exception instanceof Error) return exception.constructor?.name || exception.name || 'Error';
  return typeof exception;
}

function messageOf(exception: unknown): string {
  if (exception instanceof Error) return exception.message;
  return typeof exception === 'string' ? exception : 'non-error thrown';
}

function routeOf(req: { route?: { path?: unknown }; routeOptions?: { url?: string } } | undefined): string | undefined {
  const express = req?.route?.path;
  if (typeof express === 'string') return express;
  return req?.routeOptions?.url;
}
