import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, release, totalmem } from 'node:os';
import { dirname, join } from 'node:path';

/** The library build the run measures. */
export interface LibrarySnapshot {
  /** Where the copy lives (dist/bench/node_modules/nestjs-observability). */
  dir: string;
  version: string;
  commit: string;
  /** Whether libs/observability had uncommitted changes when the copy was taken. */
  dirty: boolean;
  /** SHA-256 (12 hex digits) of the copied build: names exactly what was measured. */
  buildHash: string;
  /** Where `git diff HEAD -- libs/observability` was saved, when the tree was dirty. */
  diffFile: string | undefined;
}

/**
 * Copies the library's build next to the bench apps, where their
 * `require('nestjs-observability')` (and `--require nestjs-observability/register`
 * from that directory) finds it first. Other engineers rebuild the library while
 * a run of several minutes goes on; the copy keeps every round on one build.
 */
export function snapshotLibrary(repoRoot: string, distBench: string, outDir: string): LibrarySnapshot {
  const source = dirname(realpathSync(require.resolve('nestjs-observability/package.json', { paths: [repoRoot] })));
  const dir = join(distBench, 'node_modules', 'nestjs-observability');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  cpSync(join(source, 'package.json'), join(dir, 'package.json'));
  cpSync(join(source, 'dist'), join(dir, 'dist'), { recursive: true, filter: (file) => !file.endsWith('.tsbuildinfo') });
  // Dependencies npm could not hoist live beside the library; the copy must resolve them too.
  if (existsSync(join(source, 'node_modules'))) symlinkSync(join(source, 'node_modules'), join(dir, 'node_modules'), 'dir');
  const version = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  const commit = git(repoRoot, ['rev-parse', '--short', 'HEAD']) || 'unknown';
  const dirty = git(repoRoot, ['status', '--porcelain', '--', 'libs/observability']) !== '';
  let diffFile: string | undefined;
  if (dirty) {
    diffFile = join(outDir, 'library.diff');
    writeFileSync(diffFile, git(repoRoot, ['diff', 'HEAD', '--', 'libs/observability']));
  }
  return { dir, version, commit, dirty, buildHash: hashTree(join(dir, 'dist')), diffFile };
}

function hashTree(root: string): string {
  const hash = createHash('sha256');
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else hash.update(path.slice(root.length)).update(readFileSync(path));
    }
  };
  walk(root);
  return hash.digest('hex').slice(0, 12);
}

function git(cwd: string, args: string[]): string {
  const result = spawnSync('git', args, { cwd, encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : '';
}

/** The machine, as the results state it. */
export interface Machine {
  cpuModel: string;
  cores: number;
  memoryGb: number;
  node: string;
  kernel: string;
}

/** Describes this machine (all of it: not only the CPUs this process may run on). */
export function describeMachine(): Machine {
  return {
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    cores: cpus().length,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    kernel: `Linux ${release()}`,
  };
}

/** How processes are placed on CPUs. */
export interface Pinning {
  /** CPU of the servers; undefined when unpinned. */
  serverCpu: number | undefined;
  /** What the results say about it. */
  description: string;
}

/**
 * With two or more cores and `taskset`, the server under test gets a core of
 * its own (like a one-vCPU container) and the harness, the load generator and
 * the sink share another, so neither steals the other's CPU time.
 */
export function pinProcesses(enabled: boolean): Pinning {
  const cores = availableParallelism();
  if (!enabled) return { serverCpu: undefined, description: 'not pinned (--no-pin)' };
  if (cores < 2) return { serverCpu: undefined, description: `not pinned (${cores} core)` };
  const pinned = spawnSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)], { encoding: 'utf8' });
  if (pinned.status !== 0) return { serverCpu: undefined, description: 'not pinned (taskset unavailable)' };
  return {
    serverCpu: 1,
    description: 'server pinned to CPU 1 (taskset); load generator (autocannon, in the harness process) and sink pinned to CPU 0',
  };
}

/** Installed version of a package, as resolved from the repository root. */
export function installedVersion(repoRoot: string, name: string): string {
  let dir: string;
  try {
    dir = dirname(require.resolve(name, { paths: [repoRoot] }));
  } catch {
    return 'not installed';
  }
  // Walk up from the entry point: some packages' exports hide their package.json.
  for (;;) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const manifest = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (manifest.name === name) return manifest.version ?? 'unknown';
    }
    const up = dirname(dir);
    if (up === dir) return 'unknown';
    dir = up;
  }
}
