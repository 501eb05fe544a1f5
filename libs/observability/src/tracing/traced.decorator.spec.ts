import {
  type CanActivate,
  Controller,
  type ExecutionContext,
  Get,
  Header,
  type INestApplication,
  Injectable,
  Param,
  RequestMethod,
  UseGuards,
} from '@nestjs/common';
import { GUARDS_METADATA, HEADERS_METADATA, METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { Test } from '@nestjs/testing';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Observable, Subject } from 'rxjs';
import request from 'supertest';

import { type InMemoryTracing, useInMemoryTracing } from '../testing/in-memory-tracing';
import { Traced } from './traced.decorator';
import { ATTR_CODE_FUNCTION, TRACER_NAME } from './tracing.constants';

let tracing: InMemoryTracing;

beforeAll(() => {
  tracing = useInMemoryTracing();
});

afterEach(() => tracing.reset());

afterAll(() => tracing.shutdown());

const describeSpans = (spans: ReadableSpan[]) =>
  spans.length === 0
    ? '(no spans)'
    : spans.map((s) => `${s.name} span=${s.spanContext().spanId} parent=${s.parentSpanContext?.spanId}`).join('\n');

/** The one finished span with this name; fails listing the spans seen otherwise. */
function spanNamed(name: string): ReadableSpan {
  const spans = tracing.spans();
  const matching = spans.filter((s) => s.name === name);
  if (matching.length !== 1) {
    throw new Error(`expected exactly one finished span "${name}", saw:\n${describeSpans(spans)}`);
  }
  return matching[0]!;
}

function spanNames(): string[] {
  return tracing.spans().map((s) => s.name);
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Runs a sync call inside a promise so that `rejects.toBe` can check the very error instance. */
const settle = <T>(fn: () => T) => Promise.resolve().then(fn);

class Orders {
  readonly prefix = 'order-';
  pending = deferred<string>();
  stream = new Subject<number>();

  @Traced()
  find(id: number): string {
    return `${this.prefix}${id}`;
  }

  @Traced('orders.load')
  load(): string {
    return 'loaded';
  }

  @Traced()
  outer(): string {
    return this.inner();
  }

  @Traced()
  inner(): string {
    return 'inner';
  }

  @Traced()
  async outerAsync(): Promise<string> {
    await new Promise((resolve) => setTimeout(resolve, 1));
    return this.inner();
  }

  @Traced()
  waitFor(): Promise<string> {
    return this.pending.promise;
  }

  @Traced()
  values(): Observable<number> {
    return this.stream.asObservable();
  }

  @Traced()
  fail(error: Error): never {
    throw error;
  }

  @Traced()
  async failAsync(error: Error): Promise<never> {
    await Promise.resolve();
    throw error;
  }

  @Traced()
  activeSpanName(): string | undefined {
    return (trace.getActiveSpan() as unknown as ReadableSpan | undefined)?.name;
  }
}

describe('@Traced', () => {
  describe('span names', () => {
    it('names the span Class.method by default and records the function name', () => {
      expect(new Orders().find(1)).toBe('order-1');
      const span = spanNamed('Orders.find');
      expect(span.attributes[ATTR_CODE_FUNCTION]).toBe('Orders.find');
      expect(span.instrumentationScope.name).toBe(TRACER_NAME);
    });

    it('uses a custom name', () => {
      new Orders().load();
      expect(spanNames()).toEqual(['orders.load']);
    });

    it('makes the span active inside the method', () => {
      expect(new Orders().activeSpanName()).toBe('Orders.activeSpanName');
    });

    it('names a static method span after its class', () => {
      class Factory {
        @Traced()
        static create(): string {
          return 'made';
        }
      }
      expect(Factory.create()).toBe('made');
      expect(spanNames()).toEqual(['Factory.create']);
    });

    it('sets the attributes given in the options', () => {
      class Db {
        @Traced('db.query', { attributes: { 'db.system.name': 'postgresql' } })
        query(): number {
          return 1;
        }
      }
      new Db().query();
      expect(spanNamed('db.query').attributes).toEqual({ 'db.system.name': 'postgresql', [ATTR_CODE_FUNCTION]: 'db.query' });
    });
  });

  describe('parent and child', () => {
    it('makes a traced method called by a traced method its child, in the same trace', () => {
      new Orders().outer();
      const outer = spanNamed('Orders.outer');
      const inner = spanNamed('Orders.inner');
      expect(inner.spanContext().traceId).toBe(outer.spanContext().traceId);
      expect(inner.parentSpanContext?.spanId).toBe(outer.spanContext().spanId);
      expect(outer.parentSpanContext).toBeUndefined();
    });

    it('keeps the parent across an await', async () => {
      await new Orders().outerAsync();
      const outer = spanNamed('Orders.outerAsync');
      const inner = spanNamed('Orders.inner');
      expect(inner.parentSpanContext?.spanId).toBe(outer.spanContext().spanId);
      expect(inner.spanContext().traceId).toBe(outer.spanContext().traceId);
    });
  });

  describe('when the span ends', () => {
    it('ends at return for a sync method, with status UNSET', () => {
      new Orders().find(7);
      expect(spanNamed('Orders.find').status.code).toBe(SpanStatusCode.UNSET);
    });

    it('ends an async method only when its promise resolves, and passes the value through', async () => {
      const orders = new Orders();
      const result = orders.waitFor();
      await new Promise((resolve) => setTimeout(resolve, 5));
      expect(spanNames()).toEqual([]);
      orders.pending.resolve('done');
      await expect(result).resolves.toBe('done');
      expect(spanNamed('Orders.waitFor').status.code).toBe(SpanStatusCode.UNSET);
    });

    it('ends an Observable method only when the Observable completes, and passes the values through', () => {
      const orders = new Orders();
      const seen: number[] = [];
      let completed = false;
      orders.values().subscribe({ next: (v) => seen.push(v), complete: () => (completed = true) });
      orders.stream.next(1);
      orders.stream.next(2);
      expect(spanNames()).toEqual([]);
      orders.stream.complete();
      expect({ seen, completed }).toEqual({ seen: [1, 2], completed: true });
      expect(spanNamed('Orders.values').status.code).toBe(SpanStatusCode.UNSET);
    });

    it('ends an Observable span when the subscriber unsubscribes', () => {
      const orders = new Orders();
      const subscription = orders.values().subscribe();
      expect(spanNames()).toEqual([]);
      subscription.unsubscribe();
      expect(spanNames()).toEqual(['Orders.values']);
    });
  });

  describe('errors', () => {
    function expectFailed(span: ReadableSpan, message: string) {
      expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message });
      expect(span.events.map((e) => ({ name: e.name, message: e.attributes?.['exception.message'] }))).toEqual([
        { name: 'exception', message },
      ]);
    }

    it('marks the span ERROR, records the exception and rethrows the same error on throw', async () => {
      const error = new Error('sync boom');
      await expect(settle(() => new Orders().fail(error))).rejects.toBe(error);
      expectFailed(spanNamed('Orders.fail'), 'sync boom');
    });

    it('marks the span ERROR, records the exception and rejects with the same error on rejection', async () => {
      const error = new RangeError('async boom');
      await expect(new Orders().failAsync(error)).rejects.toBe(error);
      const span = spanNamed('Orders.failAsync');
      expectFailed(span, 'async boom');
      expect(span.events[0]?.attributes?.['exception.type']).toBe('RangeError');
    });

    it('marks the span ERROR and passes the same error on when the Observable errors', () => {
      const orders = new Orders();
      const error = new Error('stream boom');
      const errors: unknown[] = [];
      orders.values().subscribe({ error: (e: unknown) => errors.push(e) });
      expect(spanNames()).toEqual([]);
      orders.stream.error(error);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toBe(error);
      expectFailed(spanNamed('Orders.values'), 'stream boom');
    });
  });

  describe('on a class', () => {
    @Traced()
    class Repository {
      constructor(private readonly table: string) {}

      get label(): string {
        return `repo:${this.table}`;
      }

      find(id: number): string {
        return `${this.table}/${id}`;
      }

      @Traced('repository.save')
      save(): string {
        return this.find(1);
      }
    }

    it('traces every method, preserving this', () => {
      expect(new Repository('users').find(3)).toBe('users/3');
      expect(spanNames()).toEqual(['Repository.find']);
    });

    it('leaves getters alone', () => {
      const repository = new Repository('users');
      expect(repository.label).toBe('repo:users');
      expect(typeof Object.getOwnPropertyDescriptor(Repository.prototype, 'label')?.get).toBe('function');
      expect(spanNames()).toEqual([]);
    });

    it('keeps the custom name of a method traced on its own', () => {
      new Repository('users').save();
      const save = spanNamed('repository.save');
      expect(spanNamed('Repository.find').parentSpanContext?.spanId).toBe(save.spanContext().spanId);
      expect(spanNames()).not.toContain('Repository.save');
    });
  });

  describe('with Nest decorators', () => {
    @Injectable()
    class AllowGuard implements CanActivate {
      canActivate(context: ExecutionContext): boolean {
        return context.switchToHttp().getRequest<{ headers: Record<string, string> }>().headers['x-allow'] === 'yes';
      }
    }

    @Controller('above')
    class TracedAboveController {
      @Traced()
      @Get(':id')
      @UseGuards(AllowGuard)
      @Header('x-a', 'b')
      get(@Param('id') id: string) {
        return { id, active: (trace.getActiveSpan() as unknown as ReadableSpan | undefined)?.name };
      }
    }

    @Controller('below')
    class TracedBelowController {
      @Get(':id')
      @UseGuards(AllowGuard)
      @Header('x-a', 'b')
      @Traced('below.get')
      get(@Param('id') id: string) {
        return { id, active: (trace.getActiveSpan() as unknown as ReadableSpan | undefined)?.name };
      }
    }

    @Traced()
    @Controller('whole')
    class TracedClassController {
      @Get(':id')
      @UseGuards(AllowGuard)
      @Header('x-a', 'b')
      get(@Param('id') id: string) {
        return { id, active: (trace.getActiveSpan() as unknown as ReadableSpan | undefined)?.name };
      }
    }

    const handlers = [
      ['@Traced above the route decorators', TracedAboveController.prototype.get],
      ['@Traced below the route decorators', TracedBelowController.prototype.get],
      ['@Traced on the class', TracedClassController.prototype.get],
    ] as const;

    it.each(handlers)('keeps route, method, guard and header metadata with %s', (_case, handler) => {
      expect({
        path: Reflect.getMetadata(PATH_METADATA, handler) as unknown,
        method: Reflect.getMetadata(METHOD_METADATA, handler) as unknown,
        guards: Reflect.getMetadata(GUARDS_METADATA, handler) as unknown,
        headers: Reflect.getMetadata(HEADERS_METADATA, handler) as unknown,
      }).toEqual({ path: ':id', method: RequestMethod.GET, guards: [AllowGuard], headers: [{ name: 'x-a', value: 'b' }] });
    });

    describe('in a running express app', () => {
      let app: INestApplication;

      beforeAll(async () => {
        const moduleRef = await Test.createTestingModule({
          controllers: [TracedAboveController, TracedBelowController, TracedClassController],
        }).compile();
        app = moduleRef.createNestApplication({ logger: false });
        await app.listen(0, '127.0.0.1');
      });

      afterAll(async () => {
        await app?.close();
      });

      it.each([
        ['above', 'TracedAboveController.get'],
        ['below', 'below.get'],
        ['whole', 'TracedClassController.get'],
      ])('serves /%s/:id with its header and guard and makes span %s', async (prefix, spanName) => {
        const res = await request(app.getHttpServer()).get(`/${prefix}/42`).set('x-allow', 'yes');
        expect({ status: res.status, body: res.body as unknown, header: res.headers['x-a'] }).toEqual({
          status: 200,
          body: { id: '42', active: spanName },
          header: 'b',
        });
        expect(spanNamed(spanName).status.code).toBe(SpanStatusCode.UNSET);
      });

      it.each(['above', 'below', 'whole'])('lets the guard on /%s/:id refuse before the handler runs', async (prefix) => {
        const res = await request(app.getHttpServer()).get(`/${prefix}/42`);
        expect(res.status).toBe(403);
        expect(spanNames()).toEqual([]);
      });
    });
  });
});
