import type { DestinationStream } from 'pino';

import type { RedactionPattern } from '../shared/scrubber';
import type { HealthIndicator } from './health-indicator.interface';

export type { RedactionPattern };

/** Log levels, most severe first. */
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** `json` for machines (the default), `pretty` for a human at a terminal. */
export type LogFormat = 'json' | 'pretty';

/**
 * Options of {@link ObservabilityModule.forRoot}. Every field is optional: an
 * unset field takes its environment variable, then the default.
 */
export interface ObservabilityModuleOptions {
  /**
   * `service.name` of spans and the `service` field of log lines.
   * @default process.env.OTEL_SERVICE_NAME, else `unknown_service:node`
   */
  serviceName?: string;
  /**
   * `service.version` and the `version` log field.
   * @default process.env.SERVICE_VERSION, else `unknown`
   */
  serviceVersion?: string;
  /**
   * `deployment.environment.name` and the `environment` log field.
   * @default process.env.DEPLOYMENT_ENVIRONMENT, else `development`
   */
  environment?: string;
  /** What the per-request hook observes. */
  http?: HttpOptions;
  /** Server spans per request and `@Traced`. `false` switches tracing off. @default true */
  tracing?: TracingOptions | boolean;
  /** Structured logs through pino. `false` switches logging off. @default true */
  logging?: LoggingOptions | boolean;
  /** Prometheus metrics: HTTP RED metrics, runtime metrics, `MetricsService`, `/metrics`. @default true */
  metrics?: MetricsOptions | boolean;
  /** The global exception filter, error reports and the handlers of errors outside requests. @default true */
  errors?: ErrorsOptions | boolean;
  /** The scrubber applied to logs, span attributes and error reports. @default true */
  redaction?: RedactionOptions | boolean;
  /** `/health/live`, `/health/ready`, `/health`, their indicators, and the shutdown sequence. `false` switches them off. @default true */
  health?: HealthOptions | boolean;
}

/** Error handling options. Sentry itself is configured by `SENTRY_*` variables (see README). */
export interface ErrorsOptions {
  /** The global exception filter. `false` leaves Nest's default handling. @default true */
  enabled?: boolean;
  /**
   * Which statuses are reported (error report, error line, `app_errors_total`).
   * Unknown errors are always reported. @default every status from 500 to 599
   */
  reportStatuses?: number[] | ((status: number) => boolean);
  /**
   * Log and report unhandled rejections and uncaught exceptions. `false` leaves
   * both to Node (and to handlers of your own).
   * @default true
   */
  captureUnhandled?: boolean;
  /**
   * What an unhandled promise rejection does once it is logged and reported
   * (with `captureUnhandled` on). `'throw'` follows Node's default
   * (`--unhandled-rejections=throw`): logged at `fatal`, reported, flushed, then
   * rethrown as an uncaught exception, so the process exits with code 1 — a
   * `void bootstrap()` whose `app.listen()` fails (port in use) does not exit 0,
   * which process managers read as a clean stop. `'warn'` logs and reports it at
   * `error` and keeps serving: an opt-in for apps that leave promises unawaited.
   * @default 'throw'
   */
  unhandledRejections?: 'throw' | 'warn';
}

/** Metrics options. */
export interface MetricsOptions {
  /** @default true */
  enabled?: boolean;
  /** Path of the scrape endpoint. It is served before Nest's router: global guards do not apply. @default '/metrics' */
  path?: string;
  /**
   * Serve the endpoint on its own port instead of the application's (0 picks a
   * free one). It must differ from `health.port` and from the port the
   * application listens on: start-up stops with an error naming it otherwise.
   * @default the application's port
   */
  port?: number;
  /** Address the separate port binds to. @default '0.0.0.0' */
  host?: string;
  /** Protect the endpoint: a bearer token, or basic credentials. @default none */
  auth?: { bearerToken: string } | { username: string; password: string };
  /** `http_server_request_duration_seconds` and `http_server_active_requests`. @default true */
  http?: boolean;
  /** prom-client's process and runtime metrics (CPU, memory, event-loop delay, GC). @default true */
  runtime?: boolean;
  /** Prefix of the runtime metric names (`myapp_` → `myapp_process_cpu_seconds_total`). @default '' */
  prefix?: string;
  /** Label sets per metric before observations go to the `__overflow__` series. @default 1000 */
  maxLabelSets?: number;
  /** Exemplars (`trace_id`, `span_id`) on histogram buckets observed inside a sampled span. @default true */
  exemplars?: boolean;
}

/** Options of the per-request hook shared by every pillar. */
export interface HttpOptions {
  /**
   * Request paths that no pillar observes (no span, no request log line, no
   * metric). A string matches that path and everything below it; a RegExp is
   * tested against the path without query.
   * @default ['/health', '/metrics']
   */
  ignorePaths?: (string | RegExp)[];
  /**
   * Header that carries the request id in and out. An incoming value is kept
   * when it matches `^[A-Za-z0-9._-]{1,128}$`, otherwise a new id is generated.
   * @default 'x-request-id'
   */
  requestIdHeader?: string;
}

/** Tracing options of the module (the pipeline itself is configured by env, see README). */
export interface TracingOptions {
  /** @default true */
  enabled?: boolean;
}

/** Logging options. */
export interface LoggingOptions {
  /** @default true */
  enabled?: boolean;
  /** @default process.env.LOG_LEVEL, else `info` */
  level?: LogLevel;
  /** @default process.env.LOG_FORMAT, else `json` */
  format?: LogFormat;
  /** One line per completed request with method, route, status and duration. @default true */
  requestLog?: boolean;
  /**
   * Where lines go: a file path, or any pino destination stream (tests use
   * `LogCapture` from `nestjs-observability/testing`).
   * @default standard output, written asynchronously and flushed at shutdown
   */
  destination?: string | DestinationStream;
}

/** Options of the scrubber. */
export interface RedactionOptions {
  /** @default true */
  enabled?: boolean;
  /**
   * Extra key names whose values are always replaced (matched case-insensitively,
   * ignoring `-` and `_`, anywhere in a key: `x-api-key`, `userPassword`).
   * Added to the built-in list: authorization, cookie, set-cookie, password,
   * passwd, secret, token, api key, private key, session, credential.
   * @default []
   */
  keys?: string[];
  /** Extra value patterns, added to the built-in bearer token, card number and email patterns. @default [] */
  patterns?: RedactionPattern[];
  /** @default '[REDACTED]' */
  censor?: string;
}

/** Who sees the per-indicator details of `/health` and `/health/ready`. */
export type HealthDetailsVisibility = 'always' | 'authorized' | 'never';

/**
 * Health probes and graceful shutdown: the `health` option of
 * `ObservabilityModule.forRoot()`. `false` switches both off.
 *
 * The endpoints answer before Nest's router (like `/metrics`): global guards,
 * a global prefix, interceptors and exception filters never apply to them, and
 * no probe makes a span, a request log line or a RED metric.
 *
 * @example
 * ObservabilityModule.forRoot({
 *   serviceName: 'orders',
 *   health: { details: 'authorized', shutdown: { drainDelayMs: 10_000, timeoutMs: 25_000 } },
 * });
 */
export interface HealthOptions {
  /** @default true */
  enabled?: boolean;
  /** Details of every indicator (`status`, `info`, `error`, `details`). @default '/health' */
  path?: string;
  /** Liveness: no dependency is checked; 200 while the process can serve, shutdown included. @default '/health/live' */
  livePath?: string;
  /** Readiness: runs every indicator; 503 when one is down and from the first moment of shutdown. @default '/health/ready' */
  readyPath?: string;
  /** Time each indicator gets before it counts as down (an indicator may set its own). @default 1000 */
  timeoutMs?: number;
  /**
   * Indicators checked from the start. More can be added at run time with
   * `HealthService.register()`, which is where indicators that need an injected
   * client (a `pg` Pool, an ioredis client) usually go.
   * @default []
   */
  indicators?: HealthIndicator[];
  /**
   * Who sees indicator details. `'authorized'` (the default): every request on
   * the internal `port`, and requests bearing `Authorization: Bearer <token>`;
   * everyone else gets only `{"status": …}` — with neither a token nor a port
   * set, nobody sees details, so nothing of the dependencies is public unless
   * asked for. `'always'`: everyone, on every port. `'never'`: nobody, on any port.
   * Bodies never carry hosts, ports, user names, connection strings or stacks either way.
   * @default 'authorized'
   */
  details?: HealthDetailsVisibility;
  /** The bearer token that shows details when `details` is `'authorized'`. @default process.env.HEALTH_DETAILS_TOKEN */
  token?: string;
  /**
   * Also serve the endpoints on this internal port, with details when `details`
   * is `'authorized'` (0 picks a free port). The application's port keeps serving
   * them. It must differ from `metrics.port` and from the port the application
   * listens on: start-up stops with an error naming it otherwise.
   * @default none
   */
  port?: number;
  /** Address the internal port binds to. @default '0.0.0.0' */
  host?: string;
  /** The shutdown sequence on SIGTERM / SIGINT. `false` leaves shutdown to Nest alone. @default true */
  shutdown?: ShutdownOptions | boolean;
}

/**
 * The shutdown sequence, run when `app.enableShutdownHooks()` is on and the
 * process gets SIGTERM or SIGINT: readiness fails at once (liveness stays up),
 * responses ask clients to close their connections, then after the drain delay
 * the server stops accepting and in-flight requests finish; spans, log lines
 * and error reports are flushed; the process exits.
 */
export interface ShutdownOptions {
  /** @default true */
  enabled?: boolean;
  /**
   * How long to keep serving after SIGTERM with readiness failing, so that load
   * balancers stop routing here before the port closes. Not applied on SIGINT
   * (Ctrl-C at a terminal) nor on `app.close()`.
   * @default process.env.SHUTDOWN_DRAIN_DELAY_MS, else 5000
   */
  drainDelayMs?: number;
  /**
   * Budget of the whole sequence, from the signal to the flush. Connections
   * still open when the flush's share is reached are closed, and the flush gets
   * what is left, so a dead collector cannot hold the process.
   * @default process.env.SHUTDOWN_TIMEOUT_MS, else 10000
   */
  timeoutMs?: number;
}

/** Health options after defaults, environment and validation: every field is set. */
export interface ResolvedHealthOptions {
  enabled: boolean;
  path: string;
  livePath: string;
  readyPath: string;
  timeoutMs: number;
  indicators: HealthIndicator[];
  details: HealthDetailsVisibility;
  token: string | undefined;
  port: number | undefined;
  host: string;
  shutdown: { enabled: boolean; drainDelayMs: number; timeoutMs: number };
}

/** Options after defaults, env and validation: every field is set. */
export interface ResolvedObservabilityOptions {
  serviceName: string;
  serviceVersion: string;
  environment: string;
  http: { ignorePaths: (string | RegExp)[]; requestIdHeader: string };
  tracing: { enabled: boolean };
  logging: {
    enabled: boolean;
    level: LogLevel;
    format: LogFormat;
    requestLog: boolean;
    destination: string | DestinationStream | undefined;
  };
  metrics: {
    enabled: boolean;
    path: string;
    port: number | undefined;
    host: string;
    auth: { bearerToken: string } | { username: string; password: string } | undefined;
    http: boolean;
    runtime: boolean;
    prefix: string;
    maxLabelSets: number;
    exemplars: boolean;
  };
  errors: {
    enabled: boolean;
    reportStatuses: (status: number) => boolean;
    captureUnhandled: boolean;
    unhandledRejections: 'throw' | 'warn';
  };
  redaction: { enabled: boolean; keys: string[]; patterns: RedactionPattern[]; censor: string };
  health: ResolvedHealthOptions;
}
