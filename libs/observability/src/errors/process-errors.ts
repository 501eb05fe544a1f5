import type { ErrorReporter } from '../sdk/sentry';
import type { WorkPipeline } from '../work/work-pipeline';
import { errorType } from './error-type';

/**
 * Errors outside requests: unhandled promise rejections (an event handler, a
 * scheduled job) are logged and reported and the app keeps serving; an
 * uncaught exception is logged at fatal, reported and flushed, then rethrown
 * so that the process exits as Node would (exit code 1, the stack on stderr).
 * Logging and reporting are the pillars' hooks: this class only catches.
 * @internal
 */
export class ProcessErrorHandlers {
  private installed = false;

  constructor(
    private readonly pipeline: WorkPipeline,
    private readonly reporter: ErrorReporter | undefined,
    private readonly flushTimeoutMs: number,
  ) {}

  private readonly onRejection = (reason: unknown): void => {
    // The pipeline never throws: reporting must not turn a rejection into a crash.
    this.pipeline.fail({
      error: reason,
      severity: 'server',
      errorType: errorType(reason),
      message: `unhandled promise rejection: ${reason instanceof Error ? reason.message : String(reason)}`,
      unit: undefined,
      status: undefined,
      route: undefined,
      origin: 'unhandledRejection',
      reported: true,
    });
  };

  private readonly onException = (error: unknown): void => {
    this.uninstall();
    this.pipeline.fail({
      error,
      severity: 'fatal',
      errorType: errorType(error),
      message: `uncaught exception: ${error instanceof Error ? error.message : String(error)}`,
      unit: undefined,
      status: undefined,
      route: undefined,
      origin: 'uncaughtException',
      reported: true,
    });
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
}
