/**
 * `nestjs-observability/testing`: what the library's own tests use to check
 * real output, for users to test their instrumentation the same way.
 */
export { type InMemoryTracing, useInMemoryTracing } from './in-memory-tracing';
export { LogCapture, type LogRecord } from './log-capture';
export { type AttributeValue, OtlpReceiver, type OtlpReceiverOptions, type ReceivedSpan, type ReceivedSpanEvent } from './otlp-receiver';
export { type SentryEnvelope, type SentryEnvelopeItem, SentryReceiver, type SentryReceiverOptions } from './sentry-receiver';
