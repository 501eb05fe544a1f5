/**
 * Variant `sentry`: @sentry/nestjs with tracing, its module and global filter.
 * Sentry is started by the preload (`sentry.instrument.ts`).
 */
import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import * as Sentry from '@sentry/nestjs';
import { SentryGlobalFilter, SentryModule } from '@sentry/nestjs/setup';

import { BenchAppModule } from './bench-app.module';
import { run, serve } from './serve';

/** Sends queued transactions before the process exits. */
@Injectable()
class SentryShutdown implements OnApplicationShutdown {
  async onApplicationShutdown(): Promise<void> {
    await Sentry.close(10_000);
  }
}

run(() =>
  serve(
    BenchAppModule.with({
      imports: [SentryModule.forRoot()],
      providers: [{ provide: APP_FILTER, useClass: SentryGlobalFilter }, SentryShutdown],
    }),
  ),
);
