/**
 * Variant `sentry`, preload: @sentry/nestjs as its guide sets it up
 * (`instrument.ts` before anything else), with tracing of every request.
 * The DSN points at the bench sink on 127.0.0.1, which answers 200.
 */
import * as Sentry from '@sentry/nestjs';

Sentry.init({
  dsn: process.env.SENTRY_DSN,
  tracesSampleRate: 1,
});
