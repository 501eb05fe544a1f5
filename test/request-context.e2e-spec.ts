import {
  type ArgumentsHost,
  Body,
  type CallHandler,
  type CanActivate,
  Catch,
  Controller,
  type ExceptionFilter,
  type ExecutionContext,
  Get,
  HttpException,
  type INestApplication,
  Injectable,
  Logger as NestLogger,
  type NestInterceptor,
  Param,
  type PipeTransform,
  Post,
  UseFilters,
  UseGuards,
  UseInterceptors,
  UsePipes,
} from '@nestjs/common';
import { ObservabilityModule, RequestContextService, Traced, TracingService } from 'nestjs-observability';
import { type InMemoryTracing, LogCapture, useInMemoryTracing } from 'nestjs-observability/testing';
import { type Observable, tap } from 'rxjs';
import request from 'supertest';

import { ADAPTERS, bootstrapApp } from './utils/bootstrap';

/** What each stage of the Nest pipeline saw of the request context. */
@Injectable()
class Seen {
  readonly stages: Record<string, { requestId?: string; traceId?: string }> = {};
  constructor(
    private readonly context: RequestContextService,
    private readonly tracing: TracingService,
  ) {}
  record(stage: string) {
    this.stages[stage] = { requestId: this.context.requestId, traceId: this.tracing.traceId() };
  }
}

@Injectable()
class RecordingGuard implements CanActivate {
  constructor(private readonly seen: Seen) {}
  canActivate(): boolean {
    this.seen.record('guard');
    return true;
  }
}

@Injectable()
class RecordingInterceptor implements NestInterceptor {
  constructor(private readonly seen: Seen) {}
  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    this.seen.record('interceptor');
    return next.handle().pipe(tap(() => this.seen.record('interceptor-after')));
  }
}

@Injectable()
class RecordingPipe implements PipeTransform {
  constructor(private readonly seen: Seen) {}
  transform(value: unknown) {
    this.seen.record('pipe');
    return value;
  }
}

@Catch(HttpException)
class RecordingFilter implements ExceptionFilter {
  constructor(private readonly seen: Seen) {}
  catch(exception: HttpException, host: ArgumentsHost) {
    this.seen.record('filter');
    const res = host
      .switchToHttp()
      .getResponse<{ status?: (n: number) => unknown; code?: (n: number) => unknown; send: (b: unknown) => void }>();
    // Express and Fastify replies spell the status setter differently.
    const withStatus = (res.status ?? res.code)!.call(res, exception.getStatus()) as { send: (b: unknown) => void };
    withStatus.send({ caught: true });
  }
}

@Injectable()
class WorkService {
  constructor(private readonly seen: Seen) {}
  @Traced()
  async work(): Promise<string> {
    await new Promise((resolve) => setTimeout(resolve, 1));
    this.seen.record('service');
    new NestLogger('WorkService').log('working');
    return 'done';
  }
}

@Controller('ctx')
@UseGuards(RecordingGuard)
@UseInterceptors(RecordingInterceptor)
@UseFilters(RecordingFilter)
class ContextController {
  constructor(
    private readonly seen: Seen,
    private readonly work: WorkService,
  ) {}

  @Get(':id')
  @UsePipes(RecordingPipe)
  async get(@Param('id') id: string) {
    this.seen.record('handler');
    return { id, result: await this.work.work() };
  }

  @Post()
  async post(@Body() body: { name: string }) {
    this.seen.record('handler');
    await this.work.work();
    return { name: body.name };
  }

  @Get('fail/:status')
  fail(@Param('status') status: string) {
    throw new HttpException('nope', Number(status));
  }
}

describe.each(ADAPTERS)('request context in-process, on %s', (adapter) => {
  const logs = new LogCapture();
  let tracing: InMemoryTracing;
  let app: INestApplication;
  let seen: Seen;

  beforeAll(async () => {
    // Registered per block, not at collection time: each block owns the global provider while it runs.
    tracing = useInMemoryTracing();
    app = await bootstrapApp(adapter, {
      imports: [ObservabilityModule.forRoot({ serviceName: 'ctx-test', logging: { destination: logs } })],
      controllers: [ContextController],
      providers: [Seen, WorkService, RecordingGuard, RecordingInterceptor, RecordingPipe],
    });
    seen = app.get(Seen);
  });

  afterAll(async () => {
    await app.close();
    await tracing.shutdown();
  });

  beforeEach(() => {
    tracing.reset();
    logs.clear();
    for (const key of Object.keys(seen.stages)) delete seen.stages[key];
  });

  it('shows one request id and trace id in guard, interceptor, pipe, handler and service', async () => {
    const res = await request(app.getHttpServer()).get('/ctx/5').set('x-request-id', 'req-5').expect(200);
    expect(res.headers['x-request-id']).toBe('req-5');
    const [server] = tracing.spans().filter((s) => s.kind === 1 /* SERVER */);
    expect(server.name).toBe('GET /ctx/:id');
    const expected = { requestId: 'req-5', traceId: server.spanContext().traceId };
    expect(seen.stages).toEqual({
      guard: expected,
      interceptor: expected,
      pipe: expected,
      handler: expected,
      service: expected,
      'interceptor-after': expected,
    });
  });

  it('keeps the context after the body was parsed (POST)', async () => {
    await request(app.getHttpServer()).post('/ctx').send({ name: 'ann' }).set('x-request-id', 'req-post').expect(201, { name: 'ann' });
    const server = tracing.spans().find((s) => s.kind === 1)!;
    expect(server.name).toBe('POST /ctx');
    expect(seen.stages.handler).toEqual({ requestId: 'req-post', traceId: server.spanContext().traceId });
    expect(seen.stages.service).toEqual({ requestId: 'req-post', traceId: server.spanContext().traceId });
    const child = tracing.spans().find((s) => s.name === 'WorkService.work')!;
    expect(child.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
  });

  it("routes Nest's own Logger through pino with the request's ids", async () => {
    await request(app.getHttpServer()).get('/ctx/6').set('x-request-id', 'req-6').expect(200);
    const span = tracing.spans().find((s) => s.name === 'WorkService.work')!;
    expect(logs.find((r) => r.msg === 'working')).toMatchObject({
      level: 'info',
      context: 'WorkService',
      service: 'ctx-test',
      request_id: 'req-6',
      trace_id: span.spanContext().traceId,
      span_id: span.spanContext().spanId,
    });
  });

  it('sees the context in exception filters and records the final status', async () => {
    await request(app.getHttpServer()).get('/ctx/fail/503').set('x-request-id', 'req-fail').expect(503, { caught: true });
    const server = tracing.spans().find((s) => s.kind === 1)!;
    expect(seen.stages.filter).toEqual({ requestId: 'req-fail', traceId: server.spanContext().traceId });
    expect(server.name).toBe('GET /ctx/fail/:status');
    expect(server.attributes['http.response.status_code']).toBe(503);
    expect(server.status.code).toBe(2 /* ERROR */);
    expect(logs.find((r) => r.msg === 'request completed')).toMatchObject({
      status: 503,
      route: '/ctx/fail/:status',
      request_id: 'req-fail',
    });
  });

  it('names unmatched requests by method only, never by the raw path', async () => {
    await request(app.getHttpServer()).get('/no/such/path/123').expect(404);
    const server = tracing.spans().find((s) => s.kind === 1)!;
    expect(server.name).toBe('GET');
    expect(server.attributes['http.route']).toBeUndefined();
    expect(server.attributes['url.path']).toBe('/no/such/path/123');
  });
});

describe('switching pillars off', () => {
  @Controller('plain')
  class PlainController {
    @Get()
    get() {
      return { ok: true };
    }
  }

  it('with tracing off, makes no span but logs with request ids', async () => {
    const tracing = useInMemoryTracing();
    const logs = new LogCapture();
    const app = await bootstrapApp('express', {
      imports: [ObservabilityModule.forRoot({ tracing: false, logging: { destination: logs } })],
      controllers: [PlainController],
    });
    try {
      await request(app.getHttpServer()).get('/plain').set('x-request-id', 'r1').expect(200);
      expect(tracing.spans()).toEqual([]);
      expect(logs.find((r) => r.msg === 'request completed')).toMatchObject({ request_id: 'r1', route: '/plain', status: 200 });
      expect(logs.find((r) => r.msg === 'request completed')?.trace_id).toBeUndefined();
    } finally {
      await app.close();
      await tracing.shutdown();
    }
  });

  it('with everything off, adds nothing per request', async () => {
    const tracing = useInMemoryTracing();
    const logs = new LogCapture();
    const app = await bootstrapApp('express', {
      imports: [ObservabilityModule.forRoot({ tracing: false, metrics: false, logging: { enabled: false, destination: logs } })],
      controllers: [PlainController],
    });
    try {
      const res = await request(app.getHttpServer()).get('/plain').expect(200);
      expect(res.headers['x-request-id']).toBeUndefined();
      expect(app.getHttpServer().listeners('request')).toHaveLength(1);
      await request(app.getHttpServer()).get('/metrics').expect(404);
      expect(tracing.spans()).toEqual([]);
      expect(logs.lines).toEqual([]);
    } finally {
      await app.close();
      await tracing.shutdown();
    }
  });

  it('forRootAsync takes options from a factory', async () => {
    const tracing = useInMemoryTracing();
    const logs = new LogCapture();
    const app = await bootstrapApp('fastify', {
      imports: [
        ObservabilityModule.forRootAsync({ useFactory: async () => ({ serviceName: 'from-factory', logging: { destination: logs } }) }),
      ],
      controllers: [PlainController],
    });
    try {
      await request(app.getHttpServer()).get('/plain').expect(200);
      expect(logs.find((r) => r.msg === 'request completed')).toMatchObject({ service: 'from-factory', route: '/plain' });
    } finally {
      await app.close();
      await tracing.shutdown();
    }
  });

  it('two applications in one process keep their own log destinations', async () => {
    const tracing = useInMemoryTracing();
    const [logsA, logsB] = [new LogCapture(), new LogCapture()];
    const a = await bootstrapApp('express', {
      imports: [ObservabilityModule.forRoot({ serviceName: 'a', logging: { destination: logsA } })],
      controllers: [PlainController],
    });
    const b = await bootstrapApp('express', {
      imports: [ObservabilityModule.forRoot({ serviceName: 'b', logging: { destination: logsB } })],
      controllers: [PlainController],
    });
    try {
      await request(a.getHttpServer()).get('/plain').expect(200);
      await request(b.getHttpServer()).get('/plain').expect(200);
      expect(logsA.filter((r) => r.msg === 'request completed').map((r) => r.service)).toEqual(['a']);
      expect(logsB.filter((r) => r.msg === 'request completed').map((r) => r.service)).toEqual(['b']);
      expect(logsA.text()).not.toContain('"service":"b"');
    } finally {
      await a.close();
      await b.close();
      await tracing.shutdown();
    }
  });
});
