import type { HealthCheckReturn, HealthIndicator } from '../config/health-indicator.interface';
import { IndicatorRunner } from './indicator-runner';

/** An indicator whose calls the test settles by hand. */
function manual(name = 'dep') {
  const calls: { resolve: (value: HealthCheckReturn) => void; reject: (error: unknown) => void; signal: AbortSignal }[] = [];
  const indicator: HealthIndicator = {
    name,
    check: (signal) =>
      new Promise((resolve, reject) => {
        calls.push({ resolve, reject, signal });
      }),
  };
  return { indicator, calls };
}

describe('IndicatorRunner', () => {
  it('reports down with the timeout when the check never settles, without waiting longer', async () => {
    const { indicator, calls } = manual();
    const started = performance.now();
    await expect(new IndicatorRunner(indicator, 50).run()).resolves.toEqual({ status: 'down', message: 'timed out after 50 ms' });
    expect(performance.now() - started).toBeLessThan(500);
    // The check was told to give up.
    expect(calls[0].signal.aborted).toBe(true);
  });

  it('joins a call still pending instead of starting another, and starts afresh once it settled', async () => {
    const { indicator, calls } = manual();
    const runner = new IndicatorRunner(indicator, 20);
    await runner.run();
    await runner.run();
    expect(calls).toHaveLength(1);
    calls[0].resolve(true);
    await new Promise((resolve) => setImmediate(resolve));
    const next = runner.run();
    expect(calls).toHaveLength(2);
    calls[1].resolve({ status: 'up', queued: 1 });
    await expect(next).resolves.toEqual({ status: 'up', queued: 1 });
  });

  it('turns a throw, a rejection and a synchronous throw into a safe down', async () => {
    const rejecting: HealthIndicator = {
      name: 'a',
      check: () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:5432'), { code: 'ECONNREFUSED' })),
    };
    const throwing: HealthIndicator = {
      name: 'b',
      check: () => {
        throw new Error('password authentication failed for user "app"');
      },
    };
    await expect(new IndicatorRunner(rejecting, 100).run()).resolves.toEqual({ status: 'down', message: 'connection refused' });
    await expect(new IndicatorRunner(throwing, 100).run()).resolves.toEqual({
      status: 'down',
      message: 'password authentication failed for user [user]',
    });
  });
});
