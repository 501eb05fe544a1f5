import { execFile, spawnSync } from 'node:child_process';

/** Whether `promtool` (Debian's `prometheus` package) is on PATH. */
export function hasPromtool(): boolean {
  return spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * Suites that need a machine tool or service: under CI it must be there (the
 * suite fails loudly); locally the suite is skipped with the reason printed.
 */
export function requireTool(available: boolean, what: string): boolean {
  if (available) return true;
  if (process.env.CI === 'true') throw new Error(`${what} is required under CI=true but is missing`);
  // eslint-disable-next-line no-console
  console.warn(`SKIPPED: ${what} is not installed here; install it to run this suite (CI installs it).`);
  return false;
}

/** Runs `promtool check metrics` on an exposition text; resolves with its combined output and exit code. */
export function promtoolCheckMetrics(text: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = execFile('promtool', ['check', 'metrics'], (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, output: `${stdout}${stderr}` });
    });
    child.stdin!.end(text);
  });
}
