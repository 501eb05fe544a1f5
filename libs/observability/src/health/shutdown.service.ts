import type { Server } from 'node:http';
import { Server as NetServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleDestroy,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Logger } from 'pino';

import type { ResolvedHealthOptions } from '../config/options.interface';
import { ShutdownBudget } from '../work/shutdown-budget';
import { LOG, type LogHandle } from '../work/work.constants';
import { HEALTH_OPTIONS } from './health.constants';

type Phase = 'serving' | 'shutting-down' | 'closed';

/** The signals Nest's `enableShutdownHooks()` turns into `app.close()` that start the sequence. */
const SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];
/** How often idle connections are closed while the server closes; the first time, too: a fresh connection's request gets that long to arrive. */
const IDLE_SWEEP_MS = 50;
/** The most of the budget kept for flushing spans, log lines and error reports. */
const MAX_FLUSH_RESERVE_MS = 2_000;

/**
 * The shutdown sequence. Nest closes an application in this order:
 * `onModuleDestroy` → `beforeApplicationShutdown` → the HTTP server closes
 * (in-flight requests finish) → `onApplicationShutdown` (where the module
 * flushes spans, log lines and error reports), and runs those hooks from the
 * root module down to the global modules, so the hooks of this library run
 * late. Readiness therefore flips in a signal listener of its own, the moment
 * the signal arrives; the hooks add the drain delay and close the server
 * (Nest's own close then finds it closed).
 * @internal
 */
@Injectable()
export class ShutdownService implements OnApplicationBootstrap, OnModuleDestroy, BeforeApplicationShutdown, OnApplicationShutdown {
  private phase: Phase = 'serving';
  private signal: string | undefined;
  private startedAt = 0;
  private listening = false;
  private readonly logger: Logger;
  private readonly flushReserveMs: number;
  private readonly beginListeners: (() => void)[] = [];
  private readonly onSignal = (signal: NodeJS.Signals) => this.handleSignal(signal);

  constructor(
    @Inject(HEALTH_OPTIONS) private readonly options: ResolvedHealthOptions,
    private readonly adapterHost: HttpAdapterHost,
    @Inject(LOG) log: LogHandle,
    private readonly budget: ShutdownBudget,
  ) {
    this.logger = log.logger;
    const { drainDelayMs, timeoutMs } = options.shutdown;
    this.flushReserveMs = Math.min(MAX_FLUSH_RESERVE_MS, Math.floor((timeoutMs - drainDelayMs) / 2));
  }

  /** Whether the application is shutting down: readiness fails from the signal on. */
  get shuttingDown(): boolean {
    return this.phase !== 'serving';
  }

  /** Calls `listener` once, when the sequence begins. */
  onBegin(listener: () => void): void {
    this.beginListeners.push(listener);
  }

  /** Listens for SIGTERM / SIGINT so that readiness fails the moment one arrives. */
  onApplicationBootstrap(): void {
    if (!this.options.enabled || !this.options.shutdown.enabled || this.listening) return;
    this.listening = true;
    for (const signal of SIGNALS) process.on(signal, this.onSignal);
  }

  /**
   * Starts the sequence: readiness fails from now on, responses ask clients to
   * close their connections. Called by the signal listener, or by the first
   * hook of `app.close()`; later calls do nothing.
   */
  begin(signal?: string): void {
    if (this.phase !== 'serving' || !this.options.enabled) return;
    this.phase = 'shutting-down';
    this.signal = signal;
    this.startedAt = performance.now();
    this.budget.begin(this.options.shutdown.timeoutMs);
    for (const listener of this.beginListeners) listener();
    const drainMs = this.drainMs();
    this.logger.info(
      { signal, drain_delay_ms: drainMs, timeout_ms: this.options.shutdown.timeoutMs },
      `nestjs-observability: ${signal ?? 'app.close()'}: shutting down; readiness fails from now on` +
        (drainMs > 0 ? `, the server keeps serving for ${drainMs} ms (health.shutdown.drainDelayMs) before it closes` : ''),
    );
  }

  /** Keeps serving for the drain delay, so that load balancers stop routing here first. */
  async onModuleDestroy(): Promise<void> {
    this.begin();
    const wait = this.startedAt + this.drainMs() - performance.now();
    if (wait > 0) await sleep(wait);
  }

  /**
   * Closes the HTTP server, just before Nest would: it stops accepting, lets
   * requests in progress finish, and resolves when the last connection is
   * gone, so that every request's span and log line exist before the flush.
   * Connections still open when only the flush's share of the budget is left
   * are cut, so that a slow client cannot hold the process.
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.begin();
    if (!this.options.enabled || !this.options.shutdown.enabled) return;
    const server = this.adapterHost?.httpAdapter?.getHttpServer() as Server | undefined;
    if (!server?.listening) return;
    const closingAt = performance.now();
    // net's close, not http's: http.Server#close() also closes idle connections at
    // once, and a connection accepted a moment ago is idle until its first request
    // is read; closing it would reset a request the client has already sent.
    const closed = new Promise<void>((resolve) => NetServer.prototype.close.call(server, () => resolve()));
    // Then, repeatedly, close the connections that are idle: kept alive between
    // requests, or opened and never used. The others finish their request; their
    // responses say Connection: close.
    const sweep = setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_MS);
    const cut = setTimeout(
      () => {
        this.logger.warn(
          { elapsed_ms: round(performance.now() - this.startedAt), timeout_ms: this.options.shutdown.timeoutMs },
          'nestjs-observability: connections still open near the end of health.shutdown.timeoutMs; closing them so that telemetry can still be flushed',
        );
        server.closeAllConnections();
      },
      Math.max(0, this.budget.remainingMs() - this.flushReserveMs),
    );
    await closed;
    clearInterval(sweep);
    clearTimeout(cut);
    this.logger.info(
      { close_ms: round(performance.now() - closingAt), elapsed_ms: round(performance.now() - this.startedAt) },
      'nestjs-observability: HTTP server closed; in-flight requests finished',
    );
  }

  /** Stops listening for signals: Nest re-raises the signal next, and it must find no listener of ours. */
  onApplicationShutdown(): void {
    this.removeSignalListeners();
    this.phase = 'closed';
  }

  private handleSignal(signal: NodeJS.Signals): void {
    // Only the first signal matters; Nest ignores repeats too.
    this.removeSignalListeners();
    if (process.listenerCount(signal) === 0) {
      // No `app.enableShutdownHooks()`: nobody will close the app. Keep Node's
      // default (terminate now) rather than swallowing the signal.
      this.logger.warn(
        { signal },
        `nestjs-observability: ${signal} received but app.enableShutdownHooks() was not called; exiting without the graceful shutdown sequence`,
      );
      this.logger.flush();
      process.kill(process.pid, signal);
      return;
    }
    this.begin(signal);
  }

  /** The drain applies to SIGTERM (what orchestrators send); SIGINT is a human at a terminal, `app.close()` a program. */
  private drainMs(): number {
    return this.options.shutdown.enabled && this.signal === 'SIGTERM' ? this.options.shutdown.drainDelayMs : 0;
  }

  private removeSignalListeners(): void {
    if (!this.listening) return;
    this.listening = false;
    for (const signal of SIGNALS) process.removeListener(signal, this.onSignal);
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
