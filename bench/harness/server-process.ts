import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { get } from 'node:http';
import { createServer } from 'node:net';

import type { BenchAppStats } from '../apps/bench-stats.service';

/** How to start one bench app process. */
export interface ServerSpec {
  /** Node options before the entry file (`--require …`, `--cpu-prof`). */
  nodeArgs: string[];
  /** The entry file (built JavaScript). */
  entry: string;
  /** The whole environment of the process (PORT is added). */
  env: Record<string, string>;
  /** Working directory; `--require` of a package name resolves from here. */
  cwd: string;
  /** Pin the process to this CPU (`taskset -c`), or run it unpinned. */
  cpu: number | undefined;
  /** The app's stdout and stderr go here, for when it fails. */
  outputFile: string;
  /** Where the app writes {@link BenchAppStats} at shutdown. */
  statsFile: string;
  /** The route that is probed for start-up and loaded. */
  path: string;
  port: number;
}

/** One started bench app. */
export interface RunningServer {
  readonly pid: number;
  readonly url: string;
  /** Milliseconds from spawn to the first 200 of the measured route. */
  readonly startupMs: number;
  /** SIGTERM, then waits for the exit (the stack flushes on the way). */
  stop(timeoutMs?: number): Promise<StoppedServer>;
}

/** What the app reported once it exited. */
export interface StoppedServer {
  code: number | null;
  signal: NodeJS.Signals | null;
  stats: BenchAppStats | undefined;
  /** Milliseconds from SIGTERM to exit: the shutdown flush. */
  stopMs: number;
}

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ): asked once, 100 if getconf is missing. */
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;

/** A free TCP port on 127.0.0.1 (the OS picks it; it is released for the app to take). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Spawns the app and resolves once the measured route answered 200, polling it
 * every few milliseconds: start-up as a user's readiness probe sees it.
 * Rejects (after killing the process) if it exits or is not ready in time.
 */
export async function startServer(spec: ServerSpec, timeoutMs = 60_000): Promise<RunningServer> {
  const out = openSync(spec.outputFile, 'w');
  const node = [...spec.nodeArgs, spec.entry];
  const env = { ...spec.env, PORT: String(spec.port) };
  const started = performance.now();
  const child =
    spec.cpu === undefined
      ? spawn(process.execPath, node, { cwd: spec.cwd, env, stdio: ['ignore', out, out] })
      : // taskset execs node in place: the pid is node's, and the few hundred µs it adds count as start-up.
        spawn('taskset', ['-c', String(spec.cpu), process.execPath, ...node], { cwd: spec.cwd, env, stdio: ['ignore', out, out] });
  closeSync(out);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const url = `http://127.0.0.1:${spec.port}${spec.path}`;
  try {
    await waitForOk(url, child, started + timeoutMs);
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    throw new Error(`${(error as Error).message}\n--- output of ${spec.entry} (${spec.outputFile}):\n${tail(spec.outputFile)}`, {
      cause: error,
    });
  }
  const startupMs = performance.now() - started;
  return {
    pid: child.pid!,
    url,
    startupMs,
    async stop(stopTimeoutMs = 30_000) {
      const signalled = performance.now();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
      const exit = await exited;
      clearTimeout(timer);
      const stopMs = performance.now() - signalled;
      const stats = existsSync(spec.statsFile) ? (JSON.parse(readFileSync(spec.statsFile, 'utf8')) as BenchAppStats) : undefined;
      return { ...exit, stats, stopMs };
    },
  };
}

async function waitForOk(url: string, child: ChildProcess, deadline: number): Promise<void> {
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the app exited before answering (code ${child.exitCode}, signal ${child.signalCode})`);
    }
    if (performance.now() > deadline) throw new Error(`the app did not answer 200 on ${url} in time`);
    const status = await probe(url);
    if (status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, status === undefined ? 5 : 20));
  }
}

/** One GET on a fresh connection; the status, or undefined if nothing answered. */
function probe(url: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = get(url, { agent: false, timeout: 2_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
      res.on('error', () => resolve(undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
}

/** CPU time (user + system, all threads) the process has used, in microseconds. */
export function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1_000_000) / CLOCK_TICKS;
}

/** Resident set size of the process, in bytes. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

function tail(file: string): string {
  try {
    const text = readFileSync(file, 'utf8');
    return text.length > 4_000 ? `…${text.slice(-4_000)}` : text;
  } catch {
    return '(no output)';
  }
}

/**
 * CPU time the whole machine spent busy (user, nice, system, steal; all CPUs),
 * in microseconds. Interrupt time is left out: loopback traffic is processed
 * there on behalf of the processes under test, not of anyone else.
 */
export function machineBusyMicros(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
  const [user, nice, system, , , , , steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return ((user + nice + system + (steal || 0)) * 1_000_000) / CLOCK_TICKS;
}
