/*
 * The pipeline's parts: resource, sampler, span processors, exporter, Sentry,
 * instrumentations, and the tracer provider that carries them. The provider is
 * made and owned here, so that flushing and shutting down reach the very
 * provider spans go to, whoever else registers globals in the process.
 */
import { context, type ContextManager, propagation, type TextMapPropagator, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { type Instrumentation, registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import {
  defaultResource,
  type DetectedResourceAttributes,
  detectResources,
  envDetector,
  hostDetector,
  type Resource,
  resourceFromAttributes,
} from '@opentelemetry/resources';
import type { NodeSDK } from '@opentelemetry/sdk-node';
import { NoopSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

import type { TelemetryConfig } from '../config/telemetry-config';
import type { Scrubber } from '../shared/scrubber';
import { JsonConsoleSpanExporter } from './console-span-exporter';
import { ExportSpanProcessor, type ExportStats, type FailureDetail, statusOfError, type WarningLogger } from './export-processor';
import { OtlpResponseObserver } from './otlp-response-observer';
import { createSampler } from './samplers';
import { ScrubbingSpanProcessor } from './scrubbing-span-processor';
import { type ErrorReporter, initSentry } from './sentry';

/** The started pipeline: what `Telemetry` flushes, shuts down and hands the module. */
export interface Pipeline {
  /** Sentry, when `SENTRY_DSN` is set (it reports errors even when the SDK is disabled). */
  readonly reporter: ErrorReporter | undefined;
  /** Swaps in the scrubber every span and Sentry event goes through. */
  setScrubber(scrubber: Scrubber): void;
  /** The export's counters (zeros when nothing is exported). */
  exportStats(): ExportStats;
  /** Where the export's warnings go (`diag` until then). */
  setLogger(logger: WarningLogger): void;
  /**
   * Exports every finished span: flushes the tracer provider this pipeline made, the one spans go to.
   * Rejects when spans were left after `timeoutMs` or a failed export.
   */
  forceFlush(timeoutMs: number): Promise<void>;
  /** Flushes (within `timeoutMs`) and stops the tracer provider, NodeSDK's providers and Sentry. */
  shutdown(timeoutMs: number): Promise<void>;
  /** Disables the instrumentations and unregisters the API globals this pipeline registered. */
  unregister(): void;
}

/**
 * Builds the pipeline from `config` and registers it with the `@opentelemetry/api`
 * globals. `identity` is the service's resource attributes, some possibly still
 * promises (see `deferredIdentity`).
 */
export function startPipeline(config: TelemetryConfig, identity: DetectedResourceAttributes): Pipeline {
  const scrubbing = new ScrubbingSpanProcessor();
  const sentryConfig = config.sentry;
  const sentry = sentryConfig
    ? initSentry(sentryConfig, { environment: config.environment, release: config.serviceVersion }, () => scrubbing.scrubber)
    : undefined;
  const closeSentry = () => (sentry && sentryConfig ? sentry.reporter.close(sentryConfig.flushTimeoutMillis) : undefined);
  const common = { reporter: sentry?.reporter, setScrubber: (scrubber: Scrubber) => scrubbing.setScrubber(scrubber) };
  const idle = { exportStats: () => NO_EXPORT, setLogger: () => undefined };

  if (config.disabled) {
    return {
      ...common,
      ...idle,
      forceFlush: () => Promise.resolve(),
      async shutdown() {
        await closeSentry();
      },
      unregister: () => undefined,
    };
  }

  const instrumentations = createInstrumentations();
  const resource = defaultResource()
    .merge(detectResources({ detectors: [hostDetector, envDetector] }))
    .merge(resourceFromAttributes(identity));
  const target = createExportTarget(config);
  const exporting = target
    ? new ExportSpanProcessor(target.exporter, {
        ...config.batch,
        endpoint: target.endpoint,
        ...(target.observer ? { describeFailure: describeWith(target.observer) } : {}),
      })
    : undefined;
  if (target?.observer && exporting) {
    const processor = exporting;
    target.observer.onErrorAnswer = (detail) => processor.collectorFailed(detail);
  }
  const provider = new NodeTracerProvider({
    resource,
    sampler: sentry?.sampler ?? createSampler(config),
    // The scrubber runs first so that exporters only ever see scrubbed attributes.
    // A no-op processor still makes spans real: trace ids in logs are worth
    // having even when nothing is exported.
    spanProcessors: [
      scrubbing,
      // Not the SDK's BatchSpanProcessor: see export-processor.ts for why.
      exporting ?? new NoopSpanProcessor(),
      ...(sentry?.spanProcessor ? [sentry.spanProcessor] : []),
    ],
  });
  const contextManager = sentry?.contextManager ?? new AsyncLocalStorageContextManager();
  const propagator =
    sentry?.propagator ?? new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] });

  let sdk: NodeSDK | undefined;
  if (config.sdkMetrics || config.sdkLogs) {
    sdk = startNodeSdk(config, resource, contextManager, propagator);
    trace.setGlobalTracerProvider(provider);
  } else {
    provider.register({ contextManager, propagator });
  }
  registerInstrumentations({ instrumentations, tracerProvider: provider });
  // Sentry checks the globals it needs, so only once they are registered.
  sentry?.validate();

  return {
    ...common,
    exportStats: () => exporting?.stats() ?? NO_EXPORT,
    setLogger: (logger) => exporting?.setLogger(logger),
    async forceFlush(timeoutMs) {
      // The processor first, given the time: the provider's flush swallows its errors.
      await exporting?.forceFlush(timeoutMs);
      await provider.forceFlush();
    },
    async shutdown(timeoutMs) {
      // The processor's own deadline comes a little before the caller's, so
      // that it counts and reports what was left before the caller gives up.
      const ending = exporting?.shutdown(timeoutMs - Math.min(100, timeoutMs / 10));
      await Promise.all([ending?.then(() => provider.shutdown()) ?? provider.shutdown(), sdk?.shutdown(), closeSentry()]);
    },
    unregister() {
      target?.observer?.close();
      for (const instrumentation of instrumentations) instrumentation.disable();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}

function createInstrumentations(): Instrumentation[] {
  return [
    // Server spans are the module's own (one per request, named by route);
    // this instrumentation covers outgoing calls and their propagation only.
    new HttpInstrumentation({ disableIncomingRequestInstrumentation: true }),
    new UndiciInstrumentation(),
    new PgInstrumentation({ requireParentSpan: true }),
    new IORedisInstrumentation({ requireParentSpan: true }),
  ];
}

/** What the export reports before anything is exported, and when nothing is. */
const NO_EXPORT: ExportStats = Object.freeze({
  exported: 0,
  dropped: Object.freeze({ queue_full: 0, export_failed: 0, shutdown: 0 }),
  exportFailures: 0,
  queueLength: 0,
});

/** The exporter, where it sends spans (for warnings) and, for OTLP, the watcher of the collector's answers. */
interface ExportTarget {
  exporter: SpanExporter;
  endpoint: string;
  observer?: OtlpResponseObserver;
}

/**
 * The exporter `OTEL_TRACES_EXPORTER` and `OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL`
 * name; `undefined` for `none`. Both OTLP exporters read the other
 * `OTEL_EXPORTER_OTLP_*` variables (headers, compression) themselves.
 */
function createExportTarget(config: TelemetryConfig): ExportTarget | undefined {
  if (config.exporter === 'none') return undefined;
  if (config.exporter === 'console') return { exporter: new JsonConsoleSpanExporter(), endpoint: 'console (stderr)' };
  const options = { url: config.tracesUrl, timeoutMillis: config.batch.exportTimeoutMillis };
  // The URL the exporter will post to: the exporters fall back to env (and then localhost) themselves.
  const endpoint = config.tracesUrl ?? 'http://localhost:4318/v1/traces';
  const observer = new OtlpResponseObserver(endpoint);
  if (config.otlpProtocol === 'http/json') {
    // Required only when asked for, as NodeSDK is: protobuf is the default, and
    // an application that never sends JSON should not load its exporter.
    const json = require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http');
    return { exporter: new json.OTLPTraceExporter(options), endpoint, observer };
  }
  return { exporter: new OTLPTraceExporter(options), endpoint, observer };
}

/** A failure's HTTP status and Retry-After: the collector's answer as seen on the wire, else the error's own `code`. */
function describeWith(observer: OtlpResponseObserver): (error: Error | undefined) => FailureDetail {
  return (error) => {
    const seen = observer.take();
    return seen.status !== undefined ? seen : statusOfError(error);
  };
}

/**
 * NodeSDK, loaded only when `OTEL_METRICS_EXPORTER` or `OTEL_LOGS_EXPORTER`
 * asks for the SDK's own metric or log pipelines, which it sets up from env.
 * Traces stay on the pipeline's provider: given no span processor, NodeSDK makes
 * no tracer provider, so there is one provider to flush, not two to tell apart.
 * It registers the context manager and the propagator, as the provider does in
 * the other path.
 */
function startNodeSdk(config: TelemetryConfig, resource: Resource, contextManager: ContextManager, propagator: TextMapPropagator): NodeSDK {
  const { NodeSDK } = require('@opentelemetry/sdk-node') as typeof import('@opentelemetry/sdk-node');
  const sdk = new NodeSDK({
    autoDetectResources: false,
    resource,
    spanProcessors: [],
    contextManager,
    textMapPropagator: propagator,
    ...(config.sdkMetrics ? {} : { metricReaders: [] }),
    ...(config.sdkLogs ? {} : { logRecordProcessors: [] }),
  });
  sdk.start();
  return sdk;
}
