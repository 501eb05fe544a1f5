import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

/** The machine's PostgreSQL (trust auth, database `test`); `TEST_DATABASE_URL` points elsewhere. */
export const POSTGRES_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
/** The machine's Redis; `TEST_REDIS_URL` points elsewhere. */
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** What a suite may need from the machine. */
export type Service = 'postgres' | 'redis' | 'redis-server';

const DESCRIPTIONS: Record<Service, string> = {
  postgres: `PostgreSQL at ${POSTGRES_URL}`,
  redis: `Redis at ${REDIS_URL}`,
  'redis-server': 'the redis-server binary',
};

/** Exits 0 when the Redis at the URL given as argument answers PING within a second. */
const REDIS_PING = `const url = new URL(process.argv[1]);
  const socket = require('node:net').connect(Number(url.port || 6379), url.hostname);
  socket.setTimeout(1000, () => process.exit(1));
  socket.on('error', () => process.exit(1));
  socket.on('connect', () => socket.write('PING\\r\\n'));
  socket.on('data', (d) => process.exit(String(d).startsWith('+PONG') ? 0 : 1));`;

/** Exits 0 when the PostgreSQL at the URL given as argument answers SELECT 1 within 3 seconds. */
const POSTGRES_SELECT = `const { Client } = require('pg');
  const client = new Client({ connectionString: process.argv[1], connectionTimeoutMillis: 3000 });
  client.connect().then(() => client.query('SELECT 1')).then(() => process.exit(0), () => process.exit(1));`;

// Each probe runs in a child process so that a suite can decide synchronously,
// at collection time, whether to run: Jest's describe blocks cannot wait.
const PROBES: Record<Service, () => boolean> = {
  postgres: () => nodeProbe(POSTGRES_SELECT, POSTGRES_URL),
  redis: () => nodeProbe(REDIS_PING, REDIS_URL),
  'redis-server': () => spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0,
};

function nodeProbe(script: string, arg: string): boolean {
  return spawnSync(process.execPath, ['-e', script, arg], { cwd: ROOT, stdio: 'ignore', timeout: 5_000 }).status === 0;
}

/**
 * Suites that talk to real services: under CI they must be there (the suite
 * fails loudly, naming what is missing); locally the suite is skipped with the
 * reason printed. Use as `(requireServices('postgres') ? describe : describe.skip)(…)`.
 */
export function requireServices(...services: Service[]): boolean {
  const missing = services.filter((service) => !PROBES[service]());
  if (missing.length === 0) return true;
  const what = missing.map((service) => DESCRIPTIONS[service]).join(' and ');
  if (process.env.CI === 'true') throw new Error(`${what}: required under CI=true but not reachable`);
  // eslint-disable-next-line no-console
  console.warn(`SKIPPED: ${what} not reachable here; start it to run this suite (CI starts it, see .ci/run).`);
  return false;
}

/** A TCP port on 127.0.0.1 that nothing listens on (it was free a moment ago). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * A throw-away `redis-server` on a free loopback port, with no persistence,
 * that a test can freeze (SIGSTOP: the kernel still accepts connections, but
 * nothing answers) and thaw (SIGCONT).
 */
export class RedisServerProcess {
  private output = '';

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {
    child.stdout!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<RedisServerProcess> {
    const port = await freePort();
    const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const server = new RedisServerProcess(child, port);
    const deadline = Date.now() + 10_000;
    while (!nodeProbe(REDIS_PING, server.url)) {
      if (Date.now() > deadline || child.exitCode !== null) {
        await server.stop();
        throw new Error(`redis-server on port ${port} did not answer PING within 10 s; its output:\n${server.output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return server;
  }

  /** Stops the process without closing its sockets. */
  freeze(): void {
    this.child.kill('SIGSTOP');
  }

  thaw(): void {
    this.child.kill('SIGCONT');
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    // A stopped process holds SIGTERM until it runs again.
    this.child.kill('SIGCONT');
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
}
