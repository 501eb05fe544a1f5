import { Controller, Get, type INestApplication } from '@nestjs/common';
import { ObservabilityModule } from 'nestjs-observability';
import { LogCapture, SentryReceiver } from 'nestjs-observability/testing';
import request from 'supertest';

import { startTelemetry } from '../libs/observability/src/sdk/telemetry';
import { ADAPTERS, bootstrapApp } from './utils/bootstrap';

@Controller('s')
class SwitchesController {
  @Get('ok')
  ok() {
    return { ok: true };
  }
  @Get('fail')
  fail() {
    throw new Error('kaboom');
  }
}

/**
 * Each pillar can be switched off on its own; what is off is absent, and what is
 * on keeps working without it.
 */
describe.each(ADAPTERS)('pillar switches, on %s', (adapter) => {
  describe('everything a request could touch switched off', () => {
    let app: INestApplication;
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);

    beforeAll(async () => {
      process.on('uncaughtException', onUncaught);
      app = await bootstrapApp(adapter, {
        imports: [ObservabilityModule.forRoot({ tracing: false, logging: false, metrics: { http: false }, health: false })],
        controllers: [SwitchesController],
      });
    });
    afterAll(async () => {
      await app?.close();
      process.off('uncaughtException', onUncaught);
    });

    it('serves every request (found, not found, failing) and throws nothing in the per-request hook', async () => {
      const server = app.getHttpServer();
      const statuses = [];
      for (const path of ['/s/ok', '/nowhere', '/s/fail', '/s/ok']) statuses.push((await request(server).get(path)).status);
      expect({ statuses, uncaught: uncaught.map(String) }).toEqual({ statuses: [200, 404, 500, 200], uncaught: [] });
    });

    it('still serves /metrics (runtime metrics are on) without an http_server series', async () => {
      const res = await request(app.getHttpServer()).get('/metrics').expect(200);
      expect(res.text).toContain('process_cpu_user_seconds_total');
      expect(res.text).not.toContain('http_server_request_duration_seconds');
    });
  });

  describe('SENTRY_DSN set and tracing switched off', () => {
    let sentry: SentryReceiver;
    let app: INestApplication;
    let telemetry: ReturnType<typeof startTelemetry>;
    const logs = new LogCapture();

    beforeAll(async () => {
      sentry = await SentryReceiver.start();
      // What the preload does when SENTRY_DSN is set: Sentry joins the process's pipeline.
      telemetry = startTelemetry({ SENTRY_DSN: sentry.dsn, OTEL_TRACES_EXPORTER: 'none' }, 'preload');
      app = await bootstrapApp(adapter, {
        imports: [ObservabilityModule.forRoot({ serviceName: 'switches', tracing: false, logging: { destination: logs } })],
        controllers: [SwitchesController],
      });
    });
    afterAll(async () => {
      await app?.close();
      await telemetry?.shutdown(2_000);
      await sentry?.close();
    });

    it('reports a 5xx to Sentry with the request id and route', async () => {
      const res = await request(app.getHttpServer()).get('/s/fail').set('x-request-id', 'r-no-tracing').expect(500);
      expect(res.body).toEqual({ statusCode: 500, message: 'Internal server error', requestId: 'r-no-tracing' });
      const events = await sentry.waitForEvents((e) => e.length >= 1, 5_000);
      expect(events.map((e) => e.tags)).toEqual([
        expect.objectContaining({ request_id: 'r-no-tracing', route: '/s/fail', service: 'switches' }),
      ]);
    });
  });
});
