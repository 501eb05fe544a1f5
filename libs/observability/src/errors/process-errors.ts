import type { ErrorReporter } from '../sdk/sentry';
import type { WorkPipeline } from '../work/work-pipeline';
import { errorType } from './error-type';

/**
 * Errors outside requests. An uncaught exception is logged at fatal, reported
 * and flushed, then rethrown so that the process exits as Node would (exit
 * code 1, the stack on stderr). An unhandled promise rejection does the same by
 * default, as Node's `--unhandled-rejections=throw` does: a `void bootstrap()`
 * whose `app.listen()` failed must not exit 0, which process managers read as a
 * clean stop. With `errors.unhandledRejections: 'warn'` a rejection is logged
 * and reported and the app keeps serving. Logging and reporting are the
 * pillars' hooks: this class only catches.
 * @internal
 */
export class ProcessErrorHandlers {
  private installed = false;

  constructor(
    private readonly pipeline: WorkPipeline,
    private readonly reporter: ErrorReporter | undefined,
    private readonly flushTimeoutMs: number,
    private readonly unhandledRejections: 'throw' | 'warn',
  ) {}

  private readonly onRejection = (reason: unknown): void => {
    const message = `unhandled promise rejection: ${reason instanceof Error ? reason.message : String(reason)}`;
    if (this.unhandledRejections === 'throw') {
      this.end(reason, message, 'unhandledRejection');
      return;
    }
    // The pipeline never throws: reporting must not turn a rejection into a crash.
    this.pipeline.fail({
      error: reason,
      severity: 'server',
      errorType: errorType(reason),
      message,
      unit: undefined,
      status: undefined,
      route: undefined,
      origin: 'unhandledRejection',
      reported: true,
    });
  };

  private readonly onException = (error: unknown): void => {
    this.end(error, `uncaught exception: ${error instanceof Error ? error.message : String(error)}`, 'uncaughtException');
  };

  /** A failure that ends the process: logged at fatal (and flushed), reported, the reports sent, then rethrown. */
  private end(error: unknown, message: string, origin: 'unhandledRejection' | 'uncaughtException'): void {
    // Removed first: the rethrow below must reach Node, not these handlers again.
    this.uninstall();
    this.pipeline.fail({
      error,
      severity: 'fatal',
      errorType: errorType(error),
      message,
      unit: undefined,
      status: undefined,
      route: undefined,
      origin,
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
  }

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
