import { OtlpReceiver } from 'nestjs-observability/testing';

import { ChildApp, HELLO_MAIN, runToExit } from './utils/child-app';

describe('start-up', () => {
  it('refuses to start on a bad sampler, naming the variable, the value and what is accepted', async () => {
    const { code, stderr, stdout } = await runToExit(['--require', 'nestjs-observability/register', HELLO_MAIN], {
      OTEL_TRACES_SAMPLER: 'bogus',
      PORT: '0',
    });
    expect(code).not.toBe(0);
    expect(stderr).toContain(
      'Invalid OTEL_TRACES_SAMPLER: "bogus". Expected one of always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio.',
    );
    // Nothing half-starts: the app never got to listen.
    expect(stdout).not.toContain('listening on');
  });

  it('refuses to start on a bad LOG_LEVEL, read by the module', async () => {
    const { code, stdout, stderr } = await runToExit(['--require', 'nestjs-observability/register', HELLO_MAIN], {
      LOG_LEVEL: 'loud',
      PORT: '0',
    });
    expect(code).not.toBe(0);
    expect(stdout + stderr).toContain('Invalid LOG_LEVEL: "loud". Expected one of fatal, error, warn, info, debug, trace, silent.');
    expect(stdout).not.toContain('listening on');
  });

  it('without the preload, starts the pipeline late and warns once with the fix', async () => {
    const receiver = await OtlpReceiver.start();
    const app = await ChildApp.start({ preload: false, env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint } });
    try {
      const warnings = app.records.filter((r) => r.level === 'warn' && String(r.msg).includes('nestjs-observability'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0].msg).toContain('started late, by ObservabilityModule');
      expect(warnings[0].msg).toContain('node --require nestjs-observability/register dist/main.js');
      expect(warnings[0].loaded_before).toEqual(expect.arrayContaining(['@nestjs/core']));
      // Tracing still works: the server spans are the module's own.
      await fetch(`${app.url}/users/1`);
      const spans = await receiver.waitForSpans((s) => s.some((x) => x.name === 'GET /users/:id'));
      expect(spans.find((s) => s.name === 'GET /users/:id')?.resource['service.name']).toBe('hello');
    } finally {
      await app.stop();
      await receiver.close();
    }
  });

  it('with the preload, says nothing about it and exits on SIGTERM as Node would, after closing', async () => {
    const app = await ChildApp.start();
    const exit = await app.stop();
    expect(app.records.filter((r) => r.level === 'warn')).toEqual([]);
    // Nest closes the app, then re-raises the signal: killed by SIGTERM, not by our SIGKILL.
    expect(exit).toEqual({ code: null, signal: 'SIGTERM' });
    expect(app.stderr).toBe('');
  });
});

describe('shutdown', () => {
  it('exports the spans and writes the log lines of the last requests before exiting', async () => {
    const receiver = await OtlpReceiver.start();
    // A long batch delay: only the shutdown flush can deliver the span in time.
    const app = await ChildApp.start({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_BSP_SCHEDULE_DELAY: '60000' } });
    try {
      const res = await fetch(`${app.url}/users/9`);
      const requestId = res.headers.get('x-request-id');
      await app.stop();
      const spans = await receiver.waitForSpans((s) => s.some((x) => x.name === 'GET /users/:id'), 2_000);
      const server = spans.find((x) => x.name === 'GET /users/:id')!;
      expect(app.records.find((r) => r.msg === 'request completed')).toMatchObject({ request_id: requestId, trace_id: server.traceId });
    } finally {
      await app.stop();
      await receiver.close();
    }
  });
});
