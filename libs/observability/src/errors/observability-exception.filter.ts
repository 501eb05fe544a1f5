import { STATUS_CODES } from 'node:http';

import { type ArgumentsHost, Catch, HttpException, Inject, Injectable } from '@nestjs/common';
import { BaseExceptionFilter, HttpAdapterHost } from '@nestjs/core';
import { type Observable, throwError } from 'rxjs';

import type { ResolvedObservabilityOptions } from '../config/options.interface';
import { RequestContextService } from '../context/request-context.service';
import { LOG, type LogHandle, OPTIONS } from '../work/work.constants';
import { type FailureSeverity, WorkPipeline } from '../work/work-pipeline';
import { errorType } from './error-type';

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
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(OPTIONS) private readonly options: ResolvedObservabilityOptions,
    @Inject(LOG) private readonly log: LogHandle,
    private readonly requestContext: RequestContextService,
    private readonly pipeline: WorkPipeline,
  ) {
    super(adapterHost.httpAdapter);
  }

  override catch(exception: unknown, host: ArgumentsHost): Observable<unknown> | void {
    // Switched off by an async options factory, after the module graph was built.
    if (!this.options.errors.enabled) return super.catch(exception, host);
    try {
      if (host.getType() === 'rpc') return this.catchRpc(exception);
      if (host.getType() === 'http') return this.catchHttp(exception, host);
      this.handled(exception, 'server', undefined, undefined);
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
    // What the client's body says beyond the message (validation messages): the line shows it too.
    const details = clientError ? bodyMessages(exception) : undefined;
    if (clientError && !this.options.errors.reportStatuses(status)) {
      this.handled(exception, 'client', status, route, false, messageOf(exception), details);
      return super.catch(exception, host);
    }
    const requestId = this.handled(exception, clientError ? 'client' : 'server', status, route, true, messageOf(exception), details);
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
    if (typeof rpcError === 'function' && isRpcException(exception)) {
      // An RpcException is the handler's own answer, like a 4xx.
      const error = rpcError.call(exception);
      this.handled(exception, 'client', undefined, undefined, false, typeof error === 'string' ? error : messageOf(exception));
      return throwError(() => (typeof error === 'object' && error !== null ? error : { status: 'error', message: error }));
    }
    const requestId = this.handled(exception, 'server', undefined, undefined);
    return throwError(() => ({ status: 'error', message: genericMessage(500), requestId }));
  }

  /**
   * Hands the error to every switched-on pillar (span, log line, count, report)
   * through the unit-of-work pipeline; returns the request id.
   */
  private handled(
    exception: unknown,
    severity: FailureSeverity,
    status: number | undefined,
    route: string | undefined,
    reported = true,
    message = messageOf(exception),
    details?: string | readonly string[],
  ): string | undefined {
    const unit = this.requestContext.state();
    this.pipeline.fail({
      error: exception,
      severity,
      errorType: errorType(exception),
      message,
      unit,
      status,
      route,
      origin: undefined,
      reported,
      details,
    });
    return unit?.requestId;
  }

  private lastResort(host: ArgumentsHost, failure: unknown): void {
    try {
      this.log.logger.error({ err: failure }, 'nestjs-observability: the exception filter failed');
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

function messageOf(exception: unknown): string {
  if (exception instanceof Error) return exception.message;
  return typeof exception === 'string' ? exception : 'non-error thrown';
}

/**
 * The `message` of a 4xx body when it says more than the exception's own
 * message: the array a `ValidationPipe` (or `new BadRequestException([...])`)
 * gives, or a text other than the message. Read, never rendered: the body is
 * Nest's to send, and it is already built.
 */
function bodyMessages(exception: HttpException): string | readonly string[] | undefined {
  const body = exception.getResponse();
  const message = typeof body === 'object' && body !== null ? (body as { message?: unknown }).message : undefined;
  if (Array.isArray(message)) return message.every((m) => typeof m === 'string') ? (message as string[]) : undefined;
  return typeof message === 'string' && message !== exception.message ? message : undefined;
}

function routeOf(req: { route?: { path?: unknown }; routeOptions?: { url?: string } } | undefined): string | undefined {
  const express = req?.route?.path;
  if (typeof express === 'string') return express;
  return req?.routeOptions?.url;
}

/**
 * `instanceof RpcException` without loading `@nestjs/microservices` (an optional
 * peer): a class named `RpcException` anywhere in the prototype chain, so that
 * subclasses (`class OrderRejected extends RpcException`) count too.
 */
function isRpcException(exception: unknown): boolean {
  for (
    let proto = Object.getPrototypeOf(exception) as object | null;
    proto !== null;
    proto = Object.getPrototypeOf(proto) as object | null
  ) {
    if ((proto as { constructor?: { name?: string } }).constructor?.name === 'RpcException') return true;
  }
  return false;
}
