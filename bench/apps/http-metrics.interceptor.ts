import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Histogram } from 'prom-client';
import { finalize, type Observable } from 'rxjs';

/** Name of the request histogram of the hand-assembled stack. */
export const HTTP_DURATION_METRIC = 'http_request_duration_seconds';

interface RequestLike {
  method?: string;
  /** Fastify's matched route. */
  routeOptions?: { url?: string };
  /** Express's matched route. */
  route?: { path?: string };
}

/**
 * The per-request metric of the hand-assembled stack: a prom-client histogram
 * observed by a global interceptor, the usual @willsoto/nestjs-prometheus recipe.
 */
@Injectable()
export class HttpMetricsInterceptor implements NestInterceptor {
  constructor(@InjectMetric(HTTP_DURATION_METRIC) private readonly histogram: Histogram<string>) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.switchToHttp();
    const end = this.histogram.startTimer();
    return next.handle().pipe(
      finalize(() => {
        const request = http.getRequest<RequestLike>();
        const response = http.getResponse<{ statusCode?: number }>();
        end({
          method: request.method ?? 'GET',
          route: request.routeOptions?.url ?? request.route?.path ?? 'unmatched',
          status_code: String(response.statusCode ?? 0),
        });
      }),
    );
  }
}
