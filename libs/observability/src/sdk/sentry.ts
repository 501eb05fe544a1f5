/*
 * Sentry inside the one OpenTelemetry pipeline: its documented custom-OTel
 * setup (skipOpenTelemetrySetup + its context manager and propagator, and its
 * sampler and span processor when it samples traces). Loaded only when
 * SENTRY_DSN is set: without it nothing of Sentry is required or runs.
 */
import type { ContextManager, TextMapPropagator } from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import type { Sampler, SpanProcessor } from '@opentelemetry/sdk-trace-base';

import { DEFAULTS } from '../config/options.defaults';
import type { SentryConfig } from '../config/telemetry-config';
import type { Scrubber } from '../shared/scrubber';

/** What the module needs of Sentry to report an error. */
export interface ErrorReporter {
  /** Sends one error report; never throws. Returns the event id. */
  capture(error: unknown, context: ErrorReportContext): string | undefined;
  /** Sends what is queued, within `timeoutMs`; resolves false on timeout. */
  close(timeoutMs: number): Promise<boolean>;
}

/** What an error report carries besides the error. */
export interface ErrorReportContext {
  traceId?: string;
  spanId?: string;
  tags: Record<string, string | number | undefined>;
  level?: 'fatal' | 'error' | 'warning';
}

/** The OpenTelemetry parts Sentry brings to the pipeline. */
export interface SentryParts {
  reporter: ErrorReporter;
  contextManager: ContextManager;
  propagator: TextMapPropagator;
  /** Only when Sentry samples traces (`SENTRY_TRACES_SAMPLE_RATE` set). */
  sampler: Sampler | undefined;
  spanProcessor: SpanProcessor | undefined;
  /** Checks the setup once the SDK is started (Sentry logs what is missing). */
  validate(): void;
}

/** Sentry event keys deeper than the log scrubber's default depth are still scrubbed. */
const EVENT_DEPTH = 24;

export function initSentry(
  config: SentryConfig,
  identity: { environment: string | undefined; release: string | undefined },
  scrubber: () => Scrubber,
): SentryParts {
  // Required lazily: nothing of Sentry loads unless a DSN is set.
  const Sentry = require('@sentry/nestjs') as typeof import('@sentry/nestjs');
  const SentryOtel = require('@sentry/opentelemetry') as typeof import('@sentry/opentelemetry');
  const scrub = <T>(event: T): T => scrubber().scrubDeep(event, EVENT_DEPTH);
  const client = Sentry.init({
    dsn: config.dsn,
    environment: identity.environment ?? DEFAULTS.environment,
    release: identity.release,
    tracesSampleRate: config.tracesSampleRate,
    sendDefaultPii: false,
    skipOpenTelemetrySetup: true,
    tracePropagationTargets: config.tracePropagationTargets,
    // Error-report integrations only: the pipeline already instruments HTTP, pg
    // and ioredis, and the module handles uncaught errors itself (it flushes first).
    defaultIntegrations: false,
    integrations: [
      Sentry.eventFiltersIntegration(),
      Sentry.functionToStringIntegration(),
      Sentry.linkedErrorsIntegration(),
      Sentry.dedupeIntegration(),
      Sentry.contextLinesIntegration(),
      Sentry.nodeContextIntegration(),
    ],
    beforeSend: (event) => scrub(event),
    beforeSendTransaction: (event) => scrub(event),
    beforeBreadcrumb: (breadcrumb) => scrub(breadcrumb),
  });
  const tracing = config.tracesSampleRate !== undefined && client !== undefined;
  return {
    reporter: {
      capture(error, context) {
        try {
          return Sentry.captureException(error, (scope) => {
            scope.setLevel(context.level ?? 'error');
            for (const [key, value] of Object.entries(context.tags)) if (value !== undefined) scope.setTag(key, value);
            if (context.traceId && context.spanId) scope.setContext('trace', { trace_id: context.traceId, span_id: context.spanId });
            return scope;
          });
        } catch {
          return undefined;
        }
      },
      close: (timeoutMs) => Sentry.close(timeoutMs).catch(() => false),
    },
    contextManager: new Sentry.SentryContextManager(),
    // W3C first, so downstream services keep getting `traceparent`; Sentry's own
    // headers go only to `tracePropagationTargets`.
    propagator: new CompositePropagator({
      propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator(), new SentryOtel.SentryPropagator()],
    }),
    sampler: tracing ? new SentryOtel.SentrySampler(client) : undefined,
    spanProcessor: tracing ? new SentryOtel.SentrySpanProcessor() : undefined,
    validate: () => Sentry.validateOpenTelemetrySetup(),
  };
}
