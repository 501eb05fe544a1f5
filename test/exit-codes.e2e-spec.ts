import { createServer, type Server } from 'node:net';
import { dirname, join } from 'node:path';

import { Controller, Get } from '@nestjs/common';
import { ObservabilityModule, type ObservabilityModuleOptions } from 'nestjs-observability';
import { type LogRecord, SentryReceiver } from 'nestjs-observability/testing';

import { ADAPTERS, bootstrapApp } from './utils/bootstrap';
import { HELLO_MAIN, runToExit } from './utils/child-app';
import { freePort } from './utils/free-port';

const PRELOAD = ['--require', 'nestjs-observability/register'];

/** stdout lines parsed as JSON (other lines skipped). */
function records(stdout: string): LogRecord[] {
  return stdout.split('\n').flatMap((line) => {
    try {
      return [JSON.parse(line) as LogRecord];
    } catch {
      return [];
    }
  });
}

describe('exit codes', () => {
  let holder: Server;
  let taken: number;
  let sentry: SentryReceiver;

  beforeAll(async () => {
    holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    taken = (holder.address() as { port: number }).port;
    sentry = await SentryReceiver.start();
  });

  afterAll(async () => {
    await new Promise((resolve) => holder.close(resolve));
    await sentry.close();
  });

  it('exits 1 when the app cannot listen (EADDRINUSE), after logging, reporting and flushing the rejection', async () => {
    const { code, stdout, stderr } = await runToExit([...PRELOAD, HELLO_MAIN], {
      PORT: String(taken),
      HOST: '127.0.0.1',
      SENTRY_DSN: sentry.dsn,
    });
    const lines = records(stdout).filter((r) => String(r.msg).startsWith('unhandled promise rejection: '));
    const seen = `stdout:\n${stdout}\nstderr:\n${stderr}`;
    // A process manager reads 0 as a clean stop: a failed start must not look like one.
    expect({ code, seen: code === 1 ? '' : seen }).toEqual({ code: 1, seen: '' });
    expect({ lines: lines.map((r) => [r.level, r.msg]), seen: lines.length === 1 ? '' : seen }).toEqual({
      lines: [['fatal', `unhandled promise rejection: listen EADDRINUSE: address already in use 127.0.0.1:${taken}`]],
      seen: '',
    });
    expect(lines[0].err).toMatchObject({ code: 'EADDRINUSE' });
    // Reported, and sent before the exit: the receiver holds it already.
    expect(sentry.events.map((e) => e.level)).toEqual(['fatal']);
    expect(sentry.text()).toContain('EADDRINUSE');
    // Rethrown as Node does: the error on stderr, and nothing half-started.
    expect(stderr).toContain('EADDRINUSE');
    expect(stdout).not.toContain('listening on');
  });
});

@Controller()
class PingController {
  @Get('ping')
  ping() {
    return { pong: true };
  }
}

describe.each(ADAPTERS)('a side port that is also the application port, on %s', (adapter) => {
  it.each([
    [
      'metrics.port',
      (port: number) => ({ metrics: { port, host: '127.0.0.1' } }),
      (port: number) =>
        `Cannot serve metrics on metrics.port ${port}: it is the application's own port (app.listen(${port})). Give metrics.port a port of its own, or leave it unset to serve /metrics on the application's port.`,
    ],
    [
      'health.port',
      (port: number) => ({ health: { port, host: '127.0.0.1' } }),
      (port: number) =>
        `Cannot serve health probes on health.port ${port}: it is the application's own port (app.listen(${port})). Give health.port a port of its own, or leave it unset.`,
    ],
  ])('stops app.listen() with an error naming %s and the port', async (_option, options, message) => {
    const port = await freePort();
    const app = await bootstrapApp(adapter, {
      imports: [ObservabilityModule.forRoot({ tracing: false, logging: false, ...options(port) })],
      controllers: [PingController],
    });
    try {
      await expect(app.listen(port, '127.0.0.1')).rejects.toThrow(message(port));
    } finally {
      await app.close();
    }
  });
});

/** The built hello app's module: `main()` runs it with options of a test's own. */
const HELLO_MODULE = join(dirname(HELLO_MAIN), 'app.module.js');

/**
 * A main.ts for `node -e`, as the hello app's (`void bootstrap()` included),
 * with `options` for the module: listens on PORT, then runs `then` (JavaScript
 * that sees `app` and `url`).
 */
function main(options: ObservabilityModuleOptions, then = ''): string {
  return `
    require('reflect-metadata');
    const { NestFactory } = require('@nestjs/core');
    const { ObservabilityLogger } = require('nestjs-observability');
    const { AppModule } = require(${JSON.stringify(HELLO_MODULE)});
    async function bootstrap() {
      const app = await NestFactory.create(AppModule.register(${JSON.stringify(options)}), { bufferLogs: true });
      app.useLogger(app.get(ObservabilityLogger));
      await app.listen(Number(process.env.PORT), '127.0.0.1');
      const url = 'http://127.0.0.1:' + app.getHttpServer().address().port;
      ${then}
    }
    void bootstrap();`;
}

describe('unhandled rejections of a running app, run with the preload', () => {
  let sentry: SentryReceiver;

  beforeAll(async () => {
    sentry = await SentryReceiver.start();
  });
  beforeEach(() => sentry.clear());
  afterAll(async () => {
    await sentry.close();
  });

  it("with errors.unhandledRejections: 'warn', logs and reports a failed background job and keeps serving", async () => {
    const then = `
      await fetch(url + '/demo/background-failure', { method: 'POST' });
      await new Promise((resolve) => setTimeout(resolve, 200));
      const res = await fetch(url + '/users/1');
      app.get(ObservabilityLogger).log('still serving: ' + res.status, 'Test');
      await app.close();`;
    const { code, stdout, stderr } = await runToExit([...PRELOAD, '-e', main({ errors: { unhandledRejections: 'warn' } }, then)], {
      PORT: '0',
      SENTRY_DSN: sentry.dsn,
    });
    const seen = records(stdout)
      .filter((r) => r.level !== 'info' || String(r.msg).startsWith('still serving'))
      .map((r) => [r.level, r.msg]);
    expect({ code, seen, stderr }).toEqual({
      code: 0,
      seen: [
        ['error', 'unhandled promise rejection: nightly export failed for [REDACTED:email]'],
        ['info', 'still serving: 200'],
      ],
      stderr: '',
    });
    expect(sentry.events.map((e) => [e.level, (e.tags as Record<string, string>).origin])).toEqual([['error', 'unhandledRejection']]);
  });

  it('by default, ends the process with code 1 after logging at fatal and reporting a failed background job', async () => {
    const then = `await fetch(url + '/demo/background-failure', { method: 'POST' });`;
    const { code, stdout, stderr } = await runToExit([...PRELOAD, '-e', main({}, then)], { PORT: '0', SENTRY_DSN: sentry.dsn });
    const seen = records(stdout)
      .filter((r) => r.level !== 'info')
      .map((r) => [r.level, r.msg]);
    expect({ code, seen }).toEqual({
      code: 1,
      seen: [['fatal', 'unhandled promise rejection: nightly export failed for [REDACTED:email]']],
    });
    expect(stderr).toContain('Error: nightly export failed for ops@example.com');
    expect(sentry.events.map((e) => [e.level, (e.tags as Record<string, string>).origin])).toEqual([['fatal', 'unhandledRejection']]);
  });

  it("exits 1 naming metrics.port when it is the app's own port, instead of answering every route with 404", async () => {
    const port = await freePort();
    const { code, stdout } = await runToExit([...PRELOAD, '-e', main({ metrics: { port } })], { PORT: String(port) });
    const seen = records(stdout)
      .filter((r) => r.level === 'fatal')
      .map((r) => r.msg);
    expect({ code, seen }).toEqual({
      code: 1,
      seen: [
        `unhandled promise rejection: Cannot serve metrics on metrics.port ${port}: it is the application's own port (app.listen(${port})). Give metrics.port a port of its own, or leave it unset to serve /metrics on the application's port.`,
      ],
    });
  });
});
