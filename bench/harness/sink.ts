import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';

import type { SinkCommand, SinkReply } from './sink.process';
import type { Tally } from './telemetry-count';

/**
 * The harness's handle on the sink process: where exporters send, and the
 * counts since the last {@link take}.
 */
export class Sink {
  private nextId = 1;
  private readonly pending = new Map<number, (tally: Tally) => void>();

  private constructor(
    private readonly child: ChildProcess,
    /** `http://127.0.0.1:<port>`: the OTLP base URL; Sentry's DSN host. */
    readonly url: string,
  ) {
    child.on('message', (reply: SinkReply) => {
      if (reply.type !== 'tally') return;
      this.pending.get(reply.id)?.(reply.tally);
      this.pending.delete(reply.id);
    });
  }

  /** Forks the sink; it inherits this process's CPU affinity. */
  static start(): Promise<Sink> {
    const child = fork(join(__dirname, 'sink.process.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`sink exited during start-up (code ${code})`));
      child.once('exit', onExit);
      child.once('message', (reply: SinkReply) => {
        if (reply.type !== 'ready') return;
        child.off('exit', onExit);
        resolve(new Sink(child, `http://127.0.0.1:${reply.port}`));
      });
    });
  }

  /** The sink process's pid, to account for its CPU time. */
  get pid(): number {
    return this.child.pid!;
  }

  /** A Sentry DSN whose envelopes land here. */
  get sentryDsn(): string {
    return this.url.replace('http://', 'http://bench@') + '/1';
  }

  /** The counts since the previous call; the sink starts counting afresh. */
  take(): Promise<Tally> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('sink did not answer within 10 s')), 10_000);
      this.pending.set(id, (tally) => {
        clearTimeout(timer);
        resolve(tally);
      });
      this.child.send({ type: 'take', id } satisfies SinkCommand);
    });
  }

  /** Stops the sink process. */
  stop(): Promise<void> {
    if (this.child.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.disconnect();
    });
  }
}
