/**
 * Variant `nestjs-otel`, preload: the SDK setup nestjs-otel's README
 * recommends (its `tracing.ts`): auto-instrumentations, a Prometheus metric
 * reader, AsyncLocalStorage context, Jaeger + W3C + B3 propagators, a
 * BatchSpanProcessor. Two departures, both forced: spans go over OTLP/proto to
 * the bench sink (the README's Jaeger exporter is no longer published), and
 * the Prometheus port is one the harness picked on 127.0.0.1, not 8081.
 * The README starts the SDK first thing in main.ts; a preload is the same
 * thing done reliably (imports in main.ts would load Nest before it).
 */
import { getNodeAutoInstrumentations } from '@opentelemetry/auto-instrumentations-node';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { B3Propagator } from '@opentelemetry/propagator-b3';
import { JaegerPropagator } from '@opentelemetry/propagator-jaeger';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';

/** The process's SDK; the app shuts it down so that buffered spans are exported. */
export const otelSDK = new NodeSDK({
  serviceName: 'bench-nestjs-otel',
  metricReaders: [new PrometheusExporter({ host: '127.0.0.1', port: Number(process.env.BENCH_METRICS_PORT) })],
  spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  contextManager: new AsyncLocalStorageContextManager(),
  textMapPropagator: new CompositePropagator({
    propagators: [new JaegerPropagator(), new W3CTraceContextPropagator(), new W3CBaggagePropagator(), new B3Propagator()],
  }),
  instrumentations: [getNodeAutoInstrumentations()],
});
otelSDK.start();
