import { HttpException, Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { type HealthCheckResult, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { context } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';

import type { HealthCheckFunction, HealthCheckOutcome, HealthIndicator } from '../config/health-indicator.interface';
import { checkIndicator } from '../config/health-options';
import type { ResolvedHealthOptions } from '../config/options.interface';
import { ObservabilityError } from '../shared/observability.errors';
import { LOG, type LogHandle, METRICS_REGISTRY } from '../work/work.constants';
import { HEALTH_INDICATOR_STATUS, HEALTH_OPTIONS } from './health.constants';
import { IndicatorRunner } from './indicator-runner';
import { ShutdownService } from './shutdown.service';

/**
 * The result of one health check, in Terminus's shape: `info` holds the
 * indicators that are up, `error` those that are down, `details` all of them.
 */
export interface HealthReport {
  status: 'ok' | 'error' | 'shutting_down';
  info: Record<string, HealthCheckOutcome>;
  error: Record<string, HealthCheckOutcome>;
  details: Record<string, HealthCheckOutcome>;
}

/** Options of {@link HealthService.register} for a check given as a function. */
export interface RegisterCheckOptions {
  /** Overrides `health.timeoutMs` for this check. */
  timeoutMs?: number;
}

/**
 * The registry of health indicators and the check that `/health/ready` and
 * `/health` run. Checks run in parallel, each within its timeout; concurrent
 * probes share one run; each indicator's state is exported as the gauge
 * `health_indicator_status{indicator}` (1 up, 0 down) and each change of state
 * is logged once. A check never throws and never hangs.
 *
 * @example
 * @Injectable()
 * export class OrdersHealth implements OnModuleInit {
 *   constructor(private readonly health: HealthService, @Inject(PG_POOL) private readonly pool: Pool) {}
 *   onModuleInit() {
 *     this.health.register(new PostgresHealthIndicator(this.pool));
 *     this.health.register('payments-queue', async () => ({ status: 'up', queued: await queue.size() }));
 *   }
 * }
 */
@Injectable()
export class HealthService implements OnApplicationShutdown {
  private readonly runners = new Map<string, IndicatorRunner>();
  private readonly logger: Logger;
  private readonly gauge: Gauge<'indicator'> | undefined;
  private running: Promise<HealthReport> | undefined;

  /** Made by Nest's dependency injection; inject `HealthService`, never construct it. @internal */
  constructor(
    @Inject(HEALTH_OPTIONS) private readonly options: ResolvedHealthOptions,
    private readonly terminus: HealthCheckService,
    private readonly results: HealthIndicatorService,
    private readonly shutdown: ShutdownService,
    @Inject(METRICS_REGISTRY) registry: Registry,
    @Inject(LOG) log: LogHandle,
  ) {
    this.logger = log.logger;
    // On the application's registry, served by the metrics pillar when it is on.
    this.gauge = options.enabled
      ? ((registry.getSingleMetric(HEALTH_INDICATOR_STATUS) as Gauge<'indicator'> | undefined) ??
        new Gauge({
          name: HEALTH_INDICATOR_STATUS,
          help: 'State of each health indicator at its last check: 1 up, 0 down.',
          labelNames: ['indicator'],
          registers: [registry],
        }))
      : undefined;
    for (const indicator of options.indicators) this.register(indicator);
  }

  /** Whether the application is shutting down (readiness fails). */
  get shuttingDown(): boolean {
    return this.shutdown.shuttingDown;
  }

  /** Names of the registered indicators, in registration order. */
  get names(): string[] {
    return [...this.runners.keys()];
  }

  /**
   * Adds an indicator; throws {@link ObservabilityError} on a bad name, check or
   * timeout (the `ObservabilityConfigError` the `health.indicators` option throws) or a taken name.
   * @example
   * health.register(new RedisHealthIndicator(redis));
   * health.register('search', async (signal) => (await fetch(url, { signal })).ok, { timeoutMs: 500 });
   */
  register(indicator: HealthIndicator): void;
  register(name: string, check: HealthCheckFunction, options?: RegisterCheckOptions): void;
  register(indicatorOrName: HealthIndicator | string, check?: HealthCheckFunction, options: RegisterCheckOptions = {}): void {
    // The same check as the `health.indicators` option, so both accept the same indicators.
    const indicator = checkIndicator(
      typeof indicatorOrName === 'string' ? { name: indicatorOrName, timeoutMs: options.timeoutMs, check } : indicatorOrName,
      'indicator',
      'HealthService.register()',
    );
    const { name, timeoutMs } = indicator;
    if (this.runners.has(name)) {
      throw new ObservabilityError(`A health indicator named "${name}" is already registered; give each indicator its own name.`);
    }
    this.runners.set(name, new IndicatorRunner(indicator, timeoutMs ?? this.options.timeoutMs));
  }

  /** Removes an indicator (and releases what it holds); false when none has that name. */
  unregister(name: string): boolean {
    const runner = this.runners.get(name);
    if (!runner) return false;
    this.runners.delete(name);
    runner.indicator.dispose?.();
    return true;
  }

  /**
   * Runs every indicator, each within its timeout; concurrent calls share one
   * run. Never throws. While shutting down it answers `shutting_down` at once
   * and checks nothing.
   */
  check(): Promise<HealthReport> {
    if (this.shutdown.shuttingDown) return Promise.resolve(shuttingDownReport());
    this.running ??= this.runAll().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Releases what the indicators hold (timers, histograms). */
  onApplicationShutdown(): void {
    for (const runner of this.runners.values()) runner.indicator.dispose?.();
  }

  private async runAll(): Promise<HealthReport> {
    const runners = [...this.runners.values()];
    try {
      // Checks talk to real dependencies: their client spans (fetch, pg, ioredis)
      // would put a root span in the traces for every probe.
      const outcomes = await context.with(suppressTracing(context.active()), () => Promise.all(runners.map((runner) => runner.run())));
      const report = await this.aggregate(runners, outcomes);
      this.record(runners, outcomes);
      return report;
    } catch (error) {
      this.logger.error({ err: error }, 'nestjs-observability: health check failed unexpectedly');
      return { status: 'error', info: {}, error: {}, details: {} };
    }
  }

  /** Terminus builds the body; it reports a failed check by throwing 503 with the result. */
  private async aggregate(runners: IndicatorRunner[], outcomes: HealthCheckOutcome[]): Promise<HealthReport> {
    const indicators = runners.map((runner, i) => () => {
      const { status, ...data } = outcomes[i];
      const session = this.results.check(runner.name);
      return status === 'up' ? session.up(data) : session.down(data);
    });
    let result: HealthCheckResult;
    try {
      result = await this.terminus.check(indicators);
    } catch (error) {
      if (!(error instanceof HttpException)) throw error;
      result = error.getResponse() as HealthCheckResult;
    }
    return {
      status: result.status === 'ok' || result.status === 'degraded' ? 'ok' : result.status,
      info: (result.info ?? {}) as HealthReport['info'],
      error: (result.error ?? {}) as HealthReport['error'],
      details: result.details as HealthReport['details'],
    };
  }

  private record(runners: IndicatorRunner[], outcomes: HealthCheckOutcome[]): void {
    runners.forEach((runner, i) => {
      const outcome = outcomes[i];
      this.gauge?.set({ indicator: runner.name }, outcome.status === 'up' ? 1 : 0);
      const previous = runner.last;
      runner.last = outcome.status;
      // One line per change, not per probe: a down dependency probed every few seconds would flood the log.
      if (outcome.status === 'down' && previous !== 'down') {
        this.logger.warn(
          { indicator: runner.name, reason: outcome.message },
          `nestjs-observability: health indicator "${runner.name}" is down: ${String(outcome.message ?? 'check failed')}`,
        );
      } else if (outcome.status === 'up' && previous === 'down') {
        this.logger.info({ indicator: runner.name }, `nestjs-observability: health indicator "${runner.name}" is up again`);
      }
    });
  }
}

function shuttingDownReport(): HealthReport {
  return { status: 'shutting_down', info: {}, error: {}, details: {} };
}
