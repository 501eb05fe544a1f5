/**
 * `nestjs-observability/testing`: what the library's own tests use to check
 * real output, for users to test their instrumentation the same way.
 */
export { useInMemoryTracing, type InMemoryTracing } from './in-memory-tracing';
export { LogCapture, type LogRecord } from './log-capture';
export { OtlpReceiver, type OtlpReceiverOptions, type ReceivedSpan, type ReceivedSpanEvent, type AttributeValue } from './otlp-receiver';
export { SentryReceiver, type SentryEnvelope, type SentryEnvelopeItem, type SentryReceiverOptions } from './sentry-receiver';
