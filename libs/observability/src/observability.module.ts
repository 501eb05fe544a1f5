import {
  Inject,
  Module,
  type MiddlewareConsumer,
  type NestModule,
  type OnApplicationShutdown,
  Optional,
} from '@nestjs/common';
import { Logger, PARAMS_PROVIDER_TOKEN, PinoLogger } from 'nestjs-pino';
import { resolveOptions } from './config/resolve-options';
import type { ResolvedObservabilityOptions } from './config/options.interface';
import { RequestContextService } from './context/request-context.service';
import { HttpObserver } from './http/http-observer';
import { ObservabilityPinoLogger } from './logging/pino-logger.service';
import { createPino, type PinoHandle } from './logging/pino.factory';
import { Scrubber } from './logging/scrubber';
import { OPTIONS, PINO, SCRUBBER, TELEMETRY } from './observability.constants';
import {
  ASYNC_OPTIONS_TYPE,
  ConfigurableObservabilityModule,
  OBSERVABILITY_MODULE_OPTIONS,
  OPTIONS_TYPE,
} from './observability.module-definition';
import type { Telemetry } from './sdk/telemetry';
import { joinTelemetry } from './sdk/telemetry.provider';
import { TracingService } from './tracing/tracing.service';

/** How long shutdown waits for spans to be exported. */
const FLUSH_TIMEOUT_MS = 5_000;

/**
 * Traces, correlated logs and request context for a Nest application, in one
 * import. Global by default.
 *
 * @example
 * @Module({ imports: [ObservabilityModule.forRoot({ serviceName: 'orders' })] })
 * export class AppModule {}
 *
 * // main.ts, started with `node --require nestjs-observability/register dist/main.js`
 * const app = await NestFactory.create(AppModule, { bufferLogs: true });
 * app.useLogger(app.get(ObservabilityLogger));
 */
@Module({
  providers: [
    {
      provide: OPTIONS,
      useFactory: (options: typeof OPTIONS_TYPE) => resolveOptions(options, process.env),
      inject: [OBSERVABILITY_MODULE_OPTIONS],
    },
    {
      provide: SCRUBBER,
      useFactory: ({ redaction }: ResolvedObservabilityOptions) => new Scrubber(redaction),
      inject: [OPTIONS],
    },
    RequestContextService,
    {
      provide: PINO,
      useFactory: createPino,
      inject: [OPTIONS, RequestContextService, SCRUBBER],
    },
    {
      provide: TELEMETRY,
      useFactory: (options: ResolvedObservabilityOptions, scrubber: Scrubber, pino: PinoHandle, requestContext: RequestContextService) => {
        const telemetry = joinTelemetry(options, scrubber, pino.logger);
        requestContext.useOpenTelemetryContext(options.tracing.enabled);
        return telemetry ?? null;
      },
      inject: [OPTIONS, SCRUBBER, PINO, RequestContextService],
    },
    {
      provide: PARAMS_PROVIDER_TOKEN,
      useFactory: (pino: PinoHandle) => ({ pinoHttp: { logger: pino.logger }, renameContext: 'context' }),
      inject: [PINO],
    },
    { provide: PinoLogger, useClass: ObservabilityPinoLogger },
    Logger,
    TracingService,
    HttpObserver,
  ],
  exports: [TracingService, RequestContextService, Logger, PinoLogger, PARAMS_PROVIDER_TOKEN],
})
export class ObservabilityModule extends ConfigurableObservabilityModule implements NestModule, OnApplicationShutdown {
  constructor(
    private readonly httpObserver: HttpObserver,
    @Inject(PINO) private readonly pino: PinoHandle,
    @Optional() @Inject(TELEMETRY) private readonly telemetry: Telemetry | null,
  ) {
    super();
  }

  /** Options are validated when the application is created; bad ones stop it with one message. */
  static forRoot(options: typeof OPTIONS_TYPE = {}) {
    return super.forRoot(options);
  }

  /** Options from a factory (`ConfigService` and the like); `isGlobal` stays a synchronous extra. */
  static forRootAsync(options: typeof ASYNC_OPTIONS_TYPE) {
    return super.forRootAsync(options);
  }

  /**
   * Runs while Nest registers middleware: after its body parsers, before any
   * middleware or route, the point where the per-request hook must go in.
   */
  configure(_consumer: MiddlewareConsumer): void {
    this.httpObserver.install();
  }

  /** Exports every finished span and writes out buffered log lines. */
  async onApplicationShutdown(): Promise<void> {
    if (this.telemetry) {
      const flushed = await this.telemetry.shutdown(FLUSH_TIMEOUT_MS);
      if (!flushed) this.pino.logger.warn(`nestjs-observability: spans not exported within ${FLUSH_TIMEOUT_MS} ms at shutdown`);
    }
    this.pino.flush();
  }
}
