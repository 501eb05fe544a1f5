import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { LogRecord } from 'nestjs-observability/testing';

const ROOT = join(__dirname, '..', '..');
/** The built hello app: child-process suites run what `npm start` runs. */
export const HELLO_MAIN = join(ROOT, 'dist', 'apps', 'hello', 'main.js');

export interface ChildAppOptions {
  /** Entry file (built JavaScript). */
  main?: string;
  env?: Record<string, string | undefined>;
  /** Start with `--require nestjs-observability/register`, as the README says. @default true */
  preload?: boolean;
  /** How long to wait for the "listening" line. */
  startTimeoutMs?: number;
}

/**
 * A sample app run as a user runs it: a child process with the register
 * preload, its stdout parsed as JSON log lines. Instrumentation require-hooks
 * work there, which they do not reliably inside Jest's module registry.
 */
export class ChildApp {
  readonly lines: string[] = [];
  stderr = '';
  url = '';
  /** What stdout ended with after its last newline: a line cut short, if not empty. */
  unterminated = '';
  private exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly stdoutEnd: Promise<void>;

  private constructor(private readonly child: ChildProcess) {
    let pending = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      const parts = pending.split('\n');
      pending = parts.pop() ?? '';
      this.lines.push(...parts.filter((l) => l.trim() !== ''));
    });
    this.stdoutEnd = new Promise((resolve) =>
      child.stdout!.once('end', () => {
        this.unterminated = pending;
        resolve();
      }),
    );
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    this.exit = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  static async start(options: ChildAppOptions = {}): Promise<ChildApp> {
    const args = [...(options.preload === false ? [] : ['--require', 'nestjs-observability/register']), options.main ?? HELLO_MAIN];
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      // No drain delay unless a test asks for one: every stop() sends SIGTERM.
      env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: '0', HOST: '127.0.0.1', SHUTDOWN_DRAIN_DELAY_MS: '0', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const app = new ChildApp(child);
    await app
      .waitForLog((r) => typeof r.msg === 'string' && r.msg.includes(' listening on http://'), options.startTimeoutMs ?? 15_000)
      .then(
        (record) => (app.url = /http:\/\/[\d.]+:\d+/.exec(record.msg as string)![0]),
        async (error: Error) => {
          await app.stop();
          throw new Error(`${error.message}\nstderr:\n${app.stderr}`);
        },
      );
    return app;
  }

  /** The process id, for reading its /proc entries. */
  get pid(): number {
    return this.child.pid!;
  }

  /**
   * Stops reading the app's stdout, as a stalled log shipper does: once the
   * pipe and this side's buffer are full, the app's writes fail with EAGAIN.
   */
  pauseStdout(): void {
    this.child.stdout!.pause();
  }

  /** Reads the app's stdout again. */
  resumeStdout(): void {
    this.child.stdout!.resume();
  }

  /** Resolves when the app's stdout has ended (it exited and everything written was read). */
  stdoutEnded(timeoutMs: number): Promise<void> {
    return Promise.race([
      this.stdoutEnd,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`stdout still open after ${timeoutMs} ms`)), timeoutMs).unref()),
    ]);
  }

  /** Resident set size in bytes, from /proc (Linux). */
  rss(): number {
    const status = readFileSync(`/proc/${this.child.pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
  }

  /** stdout lines parsed as JSON (non-JSON lines are skipped). */
  get records(): LogRecord[] {
    return this.lines.flatMap((line) => {
      try {
        return [JSON.parse(line) as LogRecord];
      } catch {
        return [];
      }
    });
  }

  /** Resolves with the first record matching, polling until `timeoutMs`. */
  async waitForLog(predicate: (record: LogRecord) => boolean, timeoutMs = 5_000): Promise<LogRecord> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.records.find(predicate);
      if (found) return found;
      if (Date.now() > deadline || this.child.exitCode !== null) {
        throw new Error(`no matching log line within ${timeoutMs} ms; lines seen:\n${this.lines.join('\n')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** Waits for the process to exit by itself (or rejects after `timeoutMs`). */
  exited(timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return Promise.race([
      this.exit,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`still running after ${timeoutMs} ms`)), timeoutMs).unref()),
    ]);
  }

  /** SIGTERM, then waits for exit (SIGKILL after `timeoutMs`). Resolves with how it exited. */
  async stop(timeoutMs = 10_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
      const exit = await this.exit;
      clearTimeout(timer);
      return exit;
    }
    return this.exit;
  }
}

/** Runs a command to completion: for start-up failures that must exit. */
export function runToExit(
  args: string[],
  env: Record<string, string>,
  timeoutMs = 15_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
