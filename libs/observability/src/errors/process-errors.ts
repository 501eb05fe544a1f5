import { isSpanContextValid, trace } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { PinoHandle } from '../logging/pino.factory';
import type { ErrorReporter } from '../sdk/sentry';

/**
 * Errors outside requests: unhandled promise rejections (an event handler, a
 * scheduled job) are logged and reported and the app keeps serving; an
 * uncaught exception is logged at fatal, reported and flushed, then rethrown
 * so that the process exits as Node would (exit code 1, the stack on stderr).
 * @internal
 */
export class ProcessErrorHandlers {
  private installed = false;
  private readonly logger: Logger;

  constructor(
    private readonly pino: PinoHandle,
    private readonly reporter: ErrorReporter | undefined,
    private readonly flushTimeoutMs: number,
  ) {
    this.logger = pino.logger;
  }

  private readonly onRejection = (reason: unknown): void => {
    try {
      this.logger.error({ err: reason }, `unhandled promise rejection: ${reason instanceof Error ? reason.message : String(reason)}`);
      this.report(reason, 'error');
    } catch {
      // Reporting must not turn a rejection into a crash.
    }
  };

  private readonly onException = (error: unknown): void => {
    this.uninstall();
    try {
      this.logger.fatal({ err: error }, `uncaught exception: ${error instanceof Error ? error.message : String(error)}`);
      this.pino.flush();
      this.report(error, 'fatal');
    } catch {
      // Fall through to the rethrow.
    }
    const rethrow = () => {
      // Rethrown outside any handler of ours: Node prints it and exits with code 1.
      setImmediate(() => {
        throw error;
      });
    };
    if (this.reporter) void this.reporter.close(this.flushTimeoutMs).then(rethrow, rethrow);
    else rethrow();
  };

  install(): void {
    if (this.installed) return;
    this.installed = true;
    process.on('unhandledRejection', this.onRejection);
    process.on('uncaughtException', this.onException);
  }

  uninstall(): void {
    if (!this.installed) return;
    this.installed = false;
    process.off('unhandledRejection', this.onRejection);
    process.off('uncaughtException', this.onException);
  }

  private report(error: unknown, level: 'fatal' | 'error'): void {
    const spanContext = trace.getActiveSpan()?.spanContext();
    const valid = spanContext && isSpanContextValid(spanContext);
    this.reporter?.capture(error, {
      level,
      traceId: valid ? spanContext.traceId : undefined,
      spanId: valid ? spanContext.spanId : undefined,
      tags: { origin: level === 'fatal' ? 'uncaughtException' : 'unhandledRejection' },
    });
  }
}
