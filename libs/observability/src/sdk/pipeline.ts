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
import { BatchSpanProcessor, ConsoleSpanExporter, NoopSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

import type { TelemetryConfig } from '../config/telemetry-config';
import type { Scrubber } from '../shared/scrubber';
import { createSampler } from './samplers';
import { ScrubbingSpanProcessor } from './scrubbing-span-processor';
import { type ErrorReporter, initSentry } from './sentry';

/** The started pipeline: what `Telemetry` flushes, shuts down and hands the module. */
export interface Pipeline {
  /** Sentry, when `SENTRY_DSN` is set (it reports errors even when the SDK is disabled). */
  readonly reporter: ErrorReporter | undefined;
  /** Swaps in the scrubber every span and Sentry event goes through. */
  setScrubber(scrubber: Scrubber): void;
  /** Exports every finished span: flushes the tracer provider this pipeline made, the one spans go to. */
  forceFlush(): Promise<void>;
  /** Flushes and stops the tracer provider, NodeSDK's providers and Sentry. */
  shutdown(): Promise<void>;
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

  if (config.disabled) {
    return {
      ...common,
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
  const exporter = createSpanExporter(config);
  const provider = new NodeTracerProvider({
    resource,
    sampler: sentry?.sampler ?? createSampler(config),
    // The scrubber runs first so that exporters only ever see scrubbed attributes.
    // A no-op processor still makes spans real: trace ids in logs are worth
    // having even when nothing is exported.
    spanProcessors: [
      scrubbing,
      exporter ? new BatchSpanProcessor(exporter, config.batch) : new NoopSpanProcessor(),
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
    forceFlush: () => provider.forceFlush(),
    async shutdown() {
      await Promise.all([provider.shutdown(), sdk?.shutdown(), closeSentry()]);
    },
    unregister() {
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

/**
 * The exporter `OTEL_TRACES_EXPORTER` and `OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL`
 * name; `undefined` for `none`. Both OTLP exporters read the other
 * `OTEL_EXPORTER_OTLP_*` variables (headers, compression) themselves.
 */
function createSpanExporter(config: TelemetryConfig): SpanExporter | undefined {
  if (config.exporter === 'none') return undefined;
  if (config.exporter === 'console') return new ConsoleSpanExporter();
  const options = { url: config.tracesUrl, timeoutMillis: config.batch.exportTimeoutMillis };
  if (config.otlpProtocol === 'http/json') {
    // Required only when asked for, as NodeSDK is: protobuf is the default, and
    // an application that never sends JSON should not load its exporter.
    const json = require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http');
    return new json.OTLPTraceExporter(options);
  }
  return new OTLPTraceExporter(options);
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
