import { createServer } from 'node:net';

import { BadRequestException, Controller, Get, type INestApplication, NotFoundException } from '@nestjs/common';
import { type ClientProxy, ClientProxyFactory, MessagePattern, RpcException, Transport } from '@nestjs/microservices';
import { ObservabilityModule, type ObservabilityModuleOptions } from 'nestjs-observability';
import { type InMemoryTracing, LogCapture, useInMemoryTracing } from 'nestjs-observability/testing';
import { firstValueFrom } from 'rxjs';
import request from 'supertest';

import { ADAPTERS, bootstrapApp } from './utils/bootstrap';

@Controller('f')
class FailingController {
  @Get('unknown')
  unknown() {
    throw new TypeError("Cannot read properties of undefined (reading 'id') for ann@x.io");
  }
  @Get('missing')
  missing() {
    throw new NotFoundException('no such order');
  }
  @Get('invalid')
  invalid() {
    throw new BadRequestException(['name must be a string']);
  }
  @Get('validation')
  validation() {
    // What a ValidationPipe throws: one message per failed constraint.
    throw new BadRequestException(['name must be a string', 'email must be an email, not ann@x.io']);
  }
  @MessagePattern('rpc.fail')
  rpcFail() {
    throw new Error('ledger offline at 10.0.0.7');
  }
  @MessagePattern('rpc.reject')
  rpcReject() {
    throw new RpcException({ code: 'OUT_OF_STOCK' });
  }
}

const metricsText = async (app: INestApplication) => (await request(app.getHttpServer()).get('/metrics')).text;

describe.each(ADAPTERS)('the exception filter in-process, on %s', (adapter) => {
  let tracing: InMemoryTracing;
  let app: INestApplication;
  const logs = new LogCapture();

  beforeAll(async () => {
    tracing = useInMemoryTracing();
    app = await bootstrapApp(adapter, {
      imports: [ObservabilityModule.forRoot({ serviceName: 'f', logging: { destination: logs } })],
      controllers: [FailingController],
    });
  });
  afterAll(async () => {
    await app.close();
    await tracing.shutdown();
  });
  beforeEach(() => {
    logs.clear();
    tracing.reset();
  });

  it('answers an unknown error with a safe body, one error line with the stack, an errored span and a count', async () => {
    const res = await request(app.getHttpServer()).get('/f/unknown').set('x-request-id', 'r-unknown').expect(500);
    expect(res.body).toEqual({ statusCode: 500, message: 'Internal server error', requestId: 'r-unknown' });
    const errors = logs.filter((r) => r.level === 'error');
    expect(errors).toHaveLength(1);
    const server = tracing.spans().find((s) => s.kind === 1)!;
    expect(errors[0]).toMatchObject({
      request_id: 'r-unknown',
      trace_id: server.spanContext().traceId,
      route: '/f/unknown',
      status: 500,
      error_type: 'TypeError',
      msg: "Cannot read properties of undefined (reading 'id') for [REDACTED:email]",
      err: { type: 'TypeError', message: "Cannot read properties of undefined (reading 'id') for [REDACTED:email]" },
    });
    expect((errors[0].err as { stack: string }).stack).toContain('FailingController.unknown');
    expect(server.status.code).toBe(2);
    expect(server.events.map((e) => e.name)).toEqual(['exception']);
    expect(JSON.stringify(server.events)).not.toContain('ann@x.io');
    expect(await metricsText(app)).toContain('app_errors_total{error_type="TypeError"} 1');
  });

  it('leaves 4xx bodies as Nest gives them, with one warn line and no error line', async () => {
    const notFound = await request(app.getHttpServer()).get('/f/missing').expect(404);
    expect(notFound.body).toEqual({ statusCode: 404, message: 'no such order', error: 'Not Found' });
    const invalid = await request(app.getHttpServer()).get('/f/invalid').expect(400);
    expect(invalid.body).toEqual({ statusCode: 400, message: ['name must be a string'], error: 'Bad Request' });
    expect(logs.filter((r) => r.level === 'warn').map((r) => [r.status, r.msg])).toEqual([
      [404, 'no such order'],
      [400, 'Bad Request Exception'],
    ]);
    expect(logs.filter((r) => r.level === 'error')).toEqual([]);
    expect(
      tracing
        .spans()
        .filter((s) => s.kind === 1)
        .map((s) => s.status.code),
    ).toEqual([0, 0]);
  });

  it("puts the messages of a 4xx body on its warn line, scrubbed like every line, and the client's body unchanged", async () => {
    const res = await request(app.getHttpServer()).get('/f/validation').set('x-request-id', 'r-invalid').expect(400);
    expect(res.body).toEqual({
      statusCode: 400,
      message: ['name must be a string', 'email must be an email, not ann@x.io'],
      error: 'Bad Request',
    });
    const warns = logs.filter((r) => r.level === 'warn');
    expect(warns.map((r) => ({ request_id: r.request_id, status: r.status, msg: r.msg, messages: r.messages }))).toEqual([
      {
        request_id: 'r-invalid',
        status: 400,
        msg: 'Bad Request Exception',
        messages: ['name must be a string', 'email must be an email, not [REDACTED:email]'],
      },
    ]);
    expect(logs.text()).not.toContain('ann@x.io');
  });

  it('adds no messages field when the body says no more than the line does', async () => {
    await request(app.getHttpServer()).get('/f/missing').expect(404);
    const warns = logs.filter((r) => r.level === 'warn');
    expect(warns.map((r) => [r.msg, 'messages' in r])).toEqual([['no such order', false]]);
  });
});

describe('exception filter options', () => {
  @Controller('g')
  class G {
    @Get('boom')
    boom() {
      throw new Error('internal detail');
    }
    @Get('missing')
    missing() {
      throw new NotFoundException('gone');
    }
  }

  const boot = async (options: ObservabilityModuleOptions, logs: LogCapture) =>
    bootstrapApp('express', {
      imports: [ObservabilityModule.forRoot({ tracing: false, ...options, logging: { destination: logs } })],
      controllers: [G],
    });

  it('with errors: false, leaves Nest its default handling', async () => {
    const logs = new LogCapture();
    const app = await boot({ errors: false }, logs);
    try {
      const res = await request(app.getHttpServer()).get('/g/boom').expect(500);
      expect(res.body).toEqual({ statusCode: 500, message: 'Internal server error' });
    } finally {
      await app.close();
    }
  });

  it('reports the statuses it is told to, keeping the 4xx body', async () => {
    const logs = new LogCapture();
    const app = await boot({ errors: { reportStatuses: [404, 500] } }, logs);
    try {
      const res = await request(app.getHttpServer()).get('/g/missing').expect(404);
      expect(res.body).toEqual({ statusCode: 404, message: 'gone', error: 'Not Found' });
      expect(logs.filter((r) => r.level === 'error').map((r) => r.msg)).toEqual(['gone']);
      expect(await metricsText(app)).toContain('app_errors_total{error_type="NotFoundException"} 1');
    } finally {
      await app.close();
    }
  });

  it('refuses a bad reportStatuses at start-up', async () => {
    const logs = new LogCapture();
    await expect(boot({ errors: { reportStatuses: [700] } }, logs)).rejects.toThrow(
      'Invalid errors.reportStatuses: [700]. Expected an array of HTTP status codes (100-599) or a function (status) => boolean.',
    );
  });
});

describe('the exception filter in an RPC (TCP microservice) context', () => {
  let app: INestApplication;
  let client: ClientProxy;
  const logs = new LogCapture();

  beforeAll(async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as { port: number };
    await new Promise((resolve) => probe.close(resolve));
    app = await bootstrapApp('express', {
      imports: [ObservabilityModule.forRoot({ tracing: false, logging: { destination: logs } })],
      controllers: [FailingController],
    });
    app.connectMicroservice({ transport: Transport.TCP, options: { host: '127.0.0.1', port } }, { inheritAppConfig: true });
    await app.startAllMicroservices();
    client = ClientProxyFactory.create({ transport: Transport.TCP, options: { host: '127.0.0.1', port } });
    await client.connect();
  });
  afterAll(async () => {
    await client.close();
    await app.close();
  });

  it('answers an unknown error with a generic error and logs it once', async () => {
    await expect(firstValueFrom(client.send('rpc.fail', {}))).rejects.toEqual({ status: 'error', message: 'Internal server error' });
    const errors = logs.filter((r) => r.level === 'error');
    expect(errors.map((r) => [r.msg, r.error_type])).toEqual([['ledger offline at 10.0.0.7', 'Error']]);
  });

  it("passes an RpcException's own error through, as a warning", async () => {
    await expect(firstValueFrom(client.send('rpc.reject', {}))).rejects.toEqual({ code: 'OUT_OF_STOCK' });
    expect(logs.filter((r) => r.level === 'warn' && r.error_type === 'RpcException')).toHaveLength(1);
  });
});
