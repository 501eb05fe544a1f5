import { existsSync } from 'node:fs';

import { ChildApp, HELLO_MAIN } from './utils/child-app';

/** The child-process suites run the built app: say how to get it rather than fail on a missing file. */
beforeAll(() => {
  if (!existsSync(HELLO_MAIN)) throw new Error(`${HELLO_MAIN} is missing: run \`npm run build\`.`);
});

/** The shutdown budget the app is given (health.shutdown.timeoutMs). */
const BUDGET_MS = 3_000;
/** Far more request lines than the pipe (64 KiB) and this side's read buffer hold. */
const REQUESTS = 2_000;

/** Sends `count` GETs, `concurrency` at a time; resolves with the statuses seen (status → count). */
async function load(url: string, count: number, concurrency = 16): Promise<Record<string, number>> {
  const statuses: Record<string, number> = {};
  let sent = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (sent < count) {
        sent++;
        const status = await fetch(url).then(
          async (res) => (await res.arrayBuffer(), String(res.status)),
          (error: Error) => error.message,
        );
        statuses[status] = (statuses[status] ?? 0) + 1;
      }
    }),
  );
  return statuses;
}

/** The lines of stdout that are not one whole JSON record. */
function unparsable(app: ChildApp): string[] {
  const bad = app.lines.filter((line) => {
    try {
      return typeof JSON.parse(line) !== 'object';
    } catch {
      return true;
    }
  });
  return app.unterminated === '' ? bad : [...bad, `(unterminated) ${app.unterminated}`];
}

describe('logging to a stdout whose reader stalls', () => {
  it('serves, exits on SIGTERM within the shutdown budget, and leaves no record cut', async () => {
    const app = await ChildApp.start({ env: { SHUTDOWN_TIMEOUT_MS: String(BUDGET_MS) } });
    try {
      app.pauseStdout();
      // Request lines pile up behind the stalled pipe; serving must not wait for them.
      expect(await load(`${app.url}/`, REQUESTS)).toEqual({ 200: REQUESTS });

      const started = performance.now();
      const exit = await app.stop(15_000);
      const tookMs = Math.round(performance.now() - started);
      app.resumeStdout();
      await app.stdoutEnded(5_000);

      // Exited as on a clean SIGTERM (Nest re-raises it after closing), not by the SIGKILL after 15 s.
      expect({ exit, stderr: app.stderr }).toEqual({ exit: { code: null, signal: 'SIGTERM' }, stderr: '' });
      // The budget, plus what a process needs to exit.
      expect({ tookMs, withinBudget: tookMs < BUDGET_MS + 1_000 }).toEqual({ tookMs, withinBudget: true });
      // Lines the stall kept back are dropped whole: none is cut, none glued to the next.
      expect(unparsable(app)).toEqual([]);
      const requestLines = app.records.filter((r) => r.msg === 'request completed');
      expect(requestLines.length).toBeGreaterThan(0);
      expect(requestLines.length).toBeLessThanOrEqual(REQUESTS);
      // For humans reading a run (REPORT_TIMINGS=1); assertions do not depend on it.
      if (process.env.REPORT_TIMINGS) {
        process.stdout.write(`stalled stdout: ${JSON.stringify({ exited_after_ms: tookMs, request_lines_read: requestLines.length })}\n`);
      }
    } finally {
      app.resumeStdout();
      await app.stop();
    }
  }, 40_000);

  it('writes every line once the reader resumes during the shutdown, and exits then', async () => {
    const app = await ChildApp.start({ env: { SHUTDOWN_TIMEOUT_MS: String(BUDGET_MS) } });
    try {
      app.pauseStdout();
      expect(await load(`${app.url}/`, REQUESTS)).toEqual({ 200: REQUESTS });

      const exited = app.stop(15_000);
      // The reader comes back while the shutdown waits for the log buffer to drain.
      await new Promise((resolve) => setTimeout(resolve, 500));
      app.resumeStdout();
      const exit = await exited;
      await app.stdoutEnded(5_000);

      expect({ exit, stderr: app.stderr }).toEqual({ exit: { code: null, signal: 'SIGTERM' }, stderr: '' });
      expect(unparsable(app)).toEqual([]);
      const requestIds = app.records.filter((r) => r.msg === 'request completed').map((r) => r.request_id);
      expect({ lines: requestIds.length, distinct: new Set(requestIds).size }).toEqual({ lines: REQUESTS, distinct: REQUESTS });
      expect(app.records.filter((r) => r.level === 'warn')).toEqual([]);
    } finally {
      app.resumeStdout();
      await app.stop();
    }
  }, 40_000);
});
