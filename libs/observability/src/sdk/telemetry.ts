/*
 * The process-wide OpenTelemetry pipeline. Imports nothing from `@nestjs/*`:
 * it must run before Nest, the HTTP adapter, `pg` and `ioredis` are loaded.
 */
import { context, diag, propagation, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { defaultResource, detectResources, envDetector, hostDetector, type Resource, resourceFromAttributes } from '@opentelemetry/resources';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { type Instrumentation, registerInstrumentations } from '@opentelemetry/instrumentation';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  NoopSpanProcessor,
  ParentBasedSampler,
  type Sampler,
  type SpanProcessor,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { Env } from '../config/env';
import { DEFAULTS } from '../config/options.defaults';
import { resolveTelemetryConfig, type TelemetryConfig } from '../config/telemetry-config';
import type { Scrubber } from '../shared/scrubber';
import { ScrubbingSpanProcessor } from './scrubbing-span-processor';
import { type ErrorReporter, initSentry, type SentryParts } from './sentry';

/** `deployment.environment.name` (incubating in semantic-conventions, so spelled out). */
const ATTR_DEPLOYMENT_ENVIRONMENT_NAME = 'deployment.environment.name';

/** Modules whose spans are lost if they were loaded before the pipeline started. */
const INSTRUMENTED_MODULES = ['pg', 'pg-pool', 'ioredis', '@nestjs/core', 'express', 'fastify'];

/** Who started the pipeline: the preload (right) or the module, late (works, with a warning). */
export type TelemetryStarter = 'preload' | 'module';

/** The service identity spans carry; settled once the module knows its options. */
export interface ServiceIdentity {
  serviceName: string;
  serviceVersion: string;
  environment: string;
}

/** The running pipeline, one per process. */
export interface Telemetry {
  readonly config: TelemetryConfig;
  readonly startedBy: TelemetryStarter;
  /** Instrumented modules that were already loaded when the pipeline started. */
  readonly loadedBefore: readonly string[];
  /** Whether the resource still waits for the module to name the service. */
  readonly identityPending: boolean;
  /** Settles `service.name` / version / environment that env did not set. Only the first call counts. */
  setServiceIdentity(identity: ServiceIdentity): void;
  /** Swaps in the scrubber built from the module's options. */
  setScrubber(scrubber: Scrubber): void;
  /** Sentry, when `SENTRY_DSN` is set. */
  readonly reporter: ErrorReporter | undefined;
  /** Exports every finished span; resolves false if `timeoutMs` passed first. */
  flush(timeoutMs: number): Promise<boolean>;
  /** Flushes and stops the pipeline; later calls return the same promise. */
  shutdown(timeoutMs: number): Promise<boolean>;
}

// The pipeline is per process, not per copy of this file: the preload and the
// application can load two copies (a bundler, a test runner's registry), and
// both must see the one pipeline. A global symbol is the one shared slot.
const SLOT = Symbol.for('nestjs-observability.telemetry');
type Slot = { [SLOT]?: Telemetry };

/** The running pipeline, if one was started in this process. */
export function getTelemetry(): Telemetry | undefined {
  return (globalThis as Slot)[SLOT];
}

/**
 * Starts the pipeline once per process; later calls return the running one.
 * Throws {@link ObservabilityConfigError} on bad environment, before starting anything.
 */
export function startTelemetry(env: Env = process.env, startedBy: TelemetryStarter = 'preload'): Telemetry {
  const existing = getTelemetry();
  if (existing) return existing;
  const config = resolveTelemetryConfig(env);
  const telemetry = createTelemetry(config, startedBy);
  (globalThis as Slot)[SLOT] = telemetry;
  return telemetry;
}

function createTelemetry(config: TelemetryConfig, startedBy: TelemetryStarter): Telemetry {
  const loadedBefore = loadedInstrumentedModules();
  const identity = deferredIdentity(config);
  const scrubbing = new ScrubbingSpanProcessor();
  const exportProcessor = createExportProcessor(config);
  const sentry = config.sentry
    ? initSentry(config.sentry, { environment: config.environment, release: config.serviceVersion }, () => scrubbing.scrubber)
    : undefined;
  const instrumentations = [
    // Server spans are the module's own (one per request, named by route);
    // this instrumentation covers outgoing calls and their propagation only.
    new HttpInstrumentation({ disableIncomingRequestInstrumentation: true }),
    new UndiciInstrumentation(),
    new PgInstrumentation({ requireParentSpan: true }),
    new IORedisInstrumentation({ requireParentSpan: true }),
  ];

  const resource = defaultResource()
    .merge(detectResources({ detectors: [hostDetector, envDetector] }))
    .merge(resourceFromAttributes(identity.attributes));
  const sampler = sentry?.sampler ?? createSampler(config);
  // The scrubber runs first so that exporters only ever see scrubbed attributes.
  // A no-op processor still registers the provider: trace ids in logs are worth
  // having even when nothing is exported.
  const spanProcessors = [scrubbing, exportProcessor ?? new NoopSpanProcessor(), ...(sentry?.spanProcessor ? [sentry.spanProcessor] : [])];
  const sdk = config.sdkMetrics || config.sdkLogs
    ? startNodeSdk(config, { resource, sampler, spanProcessors, instrumentations, sentry })
    : startTracerProvider(config, { resource, sampler, spanProcessors, instrumentations, sentry });
  sentry?.validate();

  let shutdownPromise: Promise<boolean> | undefined;
  const telemetry: Telemetry = {
    config,
    startedBy,
    loadedBefore,
    get identityPending() {
      return identity.pending;
    },
    setServiceIdentity: identity.settle,
    setScrubber: (scrubber) => scrubbing.setScrubber(scrubber),
    reporter: sentry?.reporter,
    flush(timeoutMs) {
      identity.settle(undefined);
      const provider = trace.getTracerProvider() as { getDelegate?: () => { forceFlush?: () => Promise<void> } };
      const delegate = provider.getDelegate?.() ?? (provider as { forceFlush?: () => Promise<void> });
      if (typeof delegate.forceFlush !== 'function') return Promise.resolve(true);
      return withTimeout(delegate.forceFlush(), timeoutMs);
    },
    shutdown(timeoutMs) {
      identity.settle(undefined);
      if (shutdownPromise) return shutdownPromise;
      const closing = Promise.all([sdk.shutdown(), sentry?.reporter.close(config.sentry!.flushTimeoutMillis)]);
      shutdownPromise = withTimeout(closing, timeoutMs).then((flushed) => {
        // Leave the process as it was found, so that a later application in the
        // same process (a test suite, a hot reload) starts a pipeline of its own.
        for (const instrumentation of instrumentations) instrumentation.disable();
        if (getTelemetry() === telemetry) {
          delete (globalThis as Slot)[SLOT];
          trace.disable();
          context.disable();
          propagation.disable();
        }
        return flushed;
      });
      return shutdownPromise;
    },
  };
  return telemetry;
}

interface PipelineParts {
  resource: Resource;
  sampler: Sampler;
  spanProcessors: SpanProcessor[];
  instrumentations: Instrumentation[];
  sentry: SentryParts | undefined;
}

/**
 * The pipeline as a tracer provider, a context manager, a propagator and the
 * instrumentations — what NodeSDK would assemble, without loading its metric
 * and log SDKs and every exporter it bundles (measured: about 120 ms of
 * start-up and 9 MB of RSS).
 */
function startTracerProvider(config: TelemetryConfig, parts: PipelineParts): { shutdown(): Promise<void> } {
  if (config.disabled) return { shutdown: () => Promise.resolve() };
  const provider = new NodeTracerProvider({ resource: parts.resource, sampler: parts.sampler, spanProcessors: parts.spanProcessors });
  provider.register({
    contextManager: parts.sentry?.contextManager ?? new AsyncLocalStorageContextManager(),
    propagator:
      parts.sentry?.propagator ?? new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  });
  registerInstrumentations({ instrumentations: parts.instrumentations, tracerProvider: provider });
  return { shutdown: () => provider.shutdown() };
}

/**
 * NodeSDK, loaded only when `OTEL_METRICS_EXPORTER` or `OTEL_LOGS_EXPORTER`
 * asks for the SDK's own metric or log pipelines, which it sets up from env.
 */
function startNodeSdk(config: TelemetryConfig, parts: PipelineParts): { shutdown(): Promise<void> } {
  const { NodeSDK } = require('@opentelemetry/sdk-node') as typeof import('@opentelemetry/sdk-node');
  const sdk = new NodeSDK({
    autoDetectResources: false,
    resource: parts.resource,
    sampler: parts.sampler,
    spanProcessors: parts.spanProcessors,
    ...(parts.sentry ? { contextManager: parts.sentry.contextManager, textMapPropagator: parts.sentry.propagator } : {}),
    instrumentations: parts.instrumentations,
    ...(config.sdkMetrics ? {} : { metricReaders: [] }),
    ...(config.sdkLogs ? {} : { logRecordProcessors: [] }),
  });
  sdk.start();
  return sdk;
}

function createSampler(config: TelemetryConfig): Sampler {
  const ratio = new TraceIdRatioBasedSampler(config.samplerRatio);
  switch (config.sampler) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return ratio;
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: ratio });
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}

function createExportProcessor(config: TelemetryConfig): SpanProcessor | undefined {
  if (config.exporter === 'none') return undefined;
  const exporter =
    config.exporter === 'console'
      ? new ConsoleSpanExporter()
      : new OTLPTraceExporter({ url: config.tracesUrl, timeoutMillis: config.batch.exportTimeoutMillis });
  return new BatchSpanProcessor(exporter, config.batch);
}

/**
 * Resource attributes env did not set wait for the module's options, so that
 * `forRoot({ serviceName })` names the service even though the pipeline started
 * first. Spans wait in the batch queue until then; a timer bounds the wait in
 * case no module ever reports (a script that only uses the preload).
 */
function deferredIdentity(config: TelemetryConfig) {
  const fromEnv = {
    serviceName: config.serviceName,
    serviceVersion: config.serviceVersion,
    environment: config.environment,
  };
  let settleFn: ((identity: ServiceIdentity | undefined) => void) | undefined;
  let pending = fromEnv.serviceName === undefined || fromEnv.serviceVersion === undefined || fromEnv.environment === undefined;
  const settled = pending
    ? new Promise<Partial<ServiceIdentity>>((resolve) => {
        const timer = setTimeout(() => settleFn?.(undefined), 5_000);
        timer.unref();
        settleFn = (identity) => {
          clearTimeout(timer);
          pending = false;
          settleFn = undefined;
          resolve(identity ?? {});
        };
      })
    : Promise.resolve<Partial<ServiceIdentity>>({});
  const pick = (key: keyof ServiceIdentity, fallback: string) =>
    fromEnv[key] ?? settled.then((identity) => identity[key] ?? fallback);
  return {
    get pending() {
      return pending;
    },
    settle: (identity: ServiceIdentity | undefined) => settleFn?.(identity),
    attributes: {
      [ATTR_SERVICE_NAME]: pick('serviceName', DEFAULTS.serviceName),
      [ATTR_SERVICE_VERSION]: pick('serviceVersion', DEFAULTS.serviceVersion),
      [ATTR_DEPLOYMENT_ENVIRONMENT_NAME]: pick('environment', DEFAULTS.environment),
    },
  };
}

function loadedInstrumentedModules(): string[] {
  const loaded = new Set<string>();
  for (const file of Object.keys(require.cache)) {
    // Greedy `.*` so that the innermost node_modules names the package.
    const match = /.*[\\/]node_modules[\\/]((?:@[^\\/]+[\\/])?[^\\/]+)[\\/]/.exec(file);
    const name = match?.[1]?.replace(/\\/g, '/');
    if (name && INSTRUMENTED_MODULES.includes(name)) loaded.add(name);
  }
  return [...loaded].sort();
}

function withTimeout(promise: Promise<unknown>, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    timer.unref();
    promise.then(
      () => {
        clearTimeout(timer);
        resolve(true);
      },
      (error: unknown) => {
        clearTimeout(timer);
        diag.error('nestjs-observability: telemetry flush failed', error);
        resolve(false);
      },
    );
  });
}
