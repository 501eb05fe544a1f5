/**
 * Variant `otel-stack`, preload: the tracing half of the stack a user
 * assembles by hand without this library. Started with
 *   node --require dist/bench/apps/otel-stack.instrument.js dist/bench/apps/otel-stack.main.js
 * so the instrumentations hook `http`, Fastify and Nest before they load.
 *
 * The exporter takes its endpoint from OTEL_EXPORTER_OTLP_ENDPOINT and the SDK
 * wraps it in a BatchSpanProcessor with its defaults (queue 2048, batches of
 * 512, every 5 s): what a user gets without tuning.
 */
import { FastifyOtelInstrumentation } from '@fastify/otel';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { NestInstrumentation } from '@opentelemetry/instrumentation-nestjs-core';
import { NodeSDK } from '@opentelemetry/sdk-node';

/** The process's SDK; the app shuts it down so that buffered spans are exported. */
export const sdk = new NodeSDK({
  serviceName: 'bench-otel-stack',
  traceExporter: new OTLPTraceExporter(),
  instrumentations: [
    new HttpInstrumentation(),
    // Registers itself on every Fastify instance, so Nest's adapter needs no change.
    new FastifyOtelInstrumentation({ registerOnInitialization: true }),
    new NestInstrumentation(),
  ],
});
sdk.start();
