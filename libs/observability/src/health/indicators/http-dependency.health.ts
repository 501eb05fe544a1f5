import type { HealthCheckOutcome, HealthIndicator } from '../../config/health-indicator.interface';
import { ObservabilityError } from '../../shared/observability.errors';
import type { IndicatorOptions } from './indicator.options';

/** Options of {@link HttpDependencyHealthIndicator}. */
export interface HttpDependencyOptions extends IndicatorOptions {
  /** Required: the key in the bodies (the URL never appears there). */
  name: string;
  /** The URL to request, typically the dependency's own health endpoint. */
  url: string | URL;
  /** @default 'GET' */
  method?: 'GET' | 'HEAD';
  /** Headers to send (an API key, say). They are never shown. @default none */
  headers?: Record<string, string>;
  /** Which statuses count as up. @default any 2xx or 3xx */
  expectStatus?: (status: number) => boolean;
}

/**
 * Up when a downstream HTTP dependency answers with an expected status within
 * the timeout; the request is aborted when the time is up. Bodies show the
 * status code, never the URL. Redirects are not followed.
 *
 * Mind what readiness means: when every instance depends on the same
 * downstream service, its outage takes them all out of rotation at once.
 *
 * @example
 * health.register(new HttpDependencyHealthIndicator({ name: 'payments', url: 'http://payments:8080/health/ready' }));
 * // { "payments": { "status": "up", "statusCode": 200 } }
 */
export class HttpDependencyHealthIndicator implements HealthIndicator {
  readonly name: string;
  readonly timeoutMs: number | undefined;
  private readonly url: URL;

  constructor(private readonly options: HttpDependencyOptions) {
    this.name = options.name;
    this.timeoutMs = options.timeoutMs;
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new ObservabilityError(
        `HttpDependencyHealthIndicator "${options.name}": the url is not an absolute URL; use one such as http://payments:8080/health.`,
      );
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new ObservabilityError(`HttpDependencyHealthIndicator "${options.name}": the url must be http or https, not ${url.protocol}`);
    }
    this.url = url;
  }

  async check(signal: AbortSignal): Promise<HealthCheckOutcome> {
    const response = await fetch(this.url, {
      method: this.options.method ?? 'GET',
      headers: this.options.headers,
      signal,
      redirect: 'manual',
    });
    // The body is not needed; leaving it unread would hold the connection.
    await response.body?.cancel();
    const statusCode = response.status;
    const up = this.options.expectStatus ? this.options.expectStatus(statusCode) : statusCode >= 200 && statusCode < 400;
    return up ? { status: 'up', statusCode } : { status: 'down', statusCode, message: `unexpected status ${statusCode}` };
  }
}
