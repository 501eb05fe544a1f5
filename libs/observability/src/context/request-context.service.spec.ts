import { context, ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';

import { type InMemoryTracing, useInMemoryTracing } from '../testing/in-memory-tracing';
import { RequestContextService } from './request-context.service';
import { UnitOfWork, type WorkDriver } from './unit-of-work';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const driver: WorkDriver = {
  kind: 'http',
  spanKind: SpanKind.SERVER,
  completedMessage: 'request completed',
  carrier: () => undefined,
  carrierGetter: undefined,
  startName: () => 'GET',
  startAttributes: () => ({}),
  endSpan: () => undefined,
};

const unit = (requestId = 'req-1') => new UnitOfWork(driver, requestId, 'GET', '/users/1', performance.now(), undefined);

describe('RequestContextService.acceptRequestId', () => {
  it.each(['abc', 'A-b_c.9', 'x'.repeat(128), '0af7651916cd43dd8448eb211c80319c'])('accepts %j', (id) => {
    expect(RequestContextService.acceptRequestId(id)).toBe(id);
  });

  it.each([
    ['too long', 'x'.repeat(129)],
    ['empty', ''],
    ['space', 'a b'],
    ['newline', 'a\nb'],
    ['quote', 'a"b'],
    ['slash', 'a/b'],
    ['unicode', 'é'],
  ])('rejects %s', (_label, id) => {
    expect(RequestContextService.acceptRequestId(id)).toBeUndefined();
  });

  it.each([[42], [undefined], [null], [['abc']], [{ id: 'abc' }]])('rejects the non-string %j', (value) => {
    expect(RequestContextService.acceptRequestId(value)).toBeUndefined();
  });
});

/** The behaviour both modes share. */
function sharedBehaviour(make: () => RequestContextService) {
  it('has no context outside any', () => {
    const service = make();
    expect({ get: service.get(), requestId: service.requestId, state: service.state() }).toEqual({
      get: undefined,
      requestId: undefined,
      state: undefined,
    });
  });

  it('run() keeps a valid given id and generates a UUID for none or an invalid one', () => {
    const service = make();
    expect(service.run(() => service.requestId, { requestId: 'job-7' })).toBe('job-7');
    const generated = service.run(() => service.requestId);
    expect(generated).toMatch(UUID);
    const replaced = service.run(() => service.requestId, { requestId: 'bad id\n' });
    expect(replaced).toMatch(UUID);
    expect(replaced).not.toBe(generated);
  });

  it('run() returns what the function returns, and shows a context without HTTP method or route', () => {
    const service = make();
    const seen = service.run(() => ({ ...service.get() }), { requestId: 'r' });
    expect(seen).toMatchObject({ requestId: 'r', method: undefined, route: undefined });
  });

  it('keeps the context across await and timers, and drops it afterwards', async () => {
    const service = make();
    const seen: (string | undefined)[] = [];
    await service.run(
      async () => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        seen.push(service.requestId);
        await new Promise<void>((resolve) =>
          setImmediate(() => {
            seen.push(service.requestId);
            resolve();
          }),
        );
      },
      { requestId: 'async-1' },
    );
    expect(seen).toEqual(['async-1', 'async-1']);
    expect(service.requestId).toBeUndefined();
  });

  it('isolates concurrent contexts from each other', async () => {
    const service = make();
    const work = (id: string, ms: number) =>
      service.run(
        async () => {
          await new Promise((resolve) => setTimeout(resolve, ms));
          return service.requestId;
        },
        { requestId: id },
      );
    await expect(Promise.all([work('a', 15), work('b', 1), work('c', 5)])).resolves.toEqual(['a', 'b', 'c']);
  });

  it('nests: an inner run has its own id and the outer one comes back after it', () => {
    const service = make();
    const seen = service.run(
      () => {
        const inner = service.run(() => service.requestId, { requestId: 'inner' });
        return [inner, service.requestId];
      },
      { requestId: 'outer' },
    );
    expect(seen).toEqual(['inner', 'outer']);
  });

  it('enter() makes the unit the state, passes this and the arguments through, and returns the result', () => {
    const service = make();
    const u = unit('entered');
    const self = { factor: 3 };
    const result = service.enter(
      u,
      function (this: typeof self, a: number, b: number) {
        return { product: this.factor * a * b, state: service.state(), requestId: service.requestId };
      },
      self,
      2,
      5,
    );
    expect(result.product).toBe(30);
    expect(result.state).toBe(u);
    expect(result.requestId).toBe('entered');
    expect(service.state()).toBeUndefined();
  });
}

describe('RequestContextService without an OpenTelemetry context manager (its own AsyncLocalStorage)', () => {
  sharedBehaviour(() => new RequestContextService());

  it('keeps its own storage when asked to use the OpenTelemetry context but no context manager works', () => {
    const service = new RequestContextService();
    service.useOpenTelemetryContext(true);
    // Had it switched to the (no-op) OpenTelemetry context, the state would be lost here.
    expect(service.run(() => service.requestId, { requestId: 'kept' })).toBe('kept');
  });

  it('keeps the state when code switches the OpenTelemetry context', () => {
    const service = new RequestContextService();
    expect(service.run(() => context.with(ROOT_CONTEXT, () => service.requestId), { requestId: 'own' })).toBe('own');
  });
});

describe('RequestContextService with a working OpenTelemetry context manager', () => {
  let tracing: InMemoryTracing;
  beforeAll(() => {
    tracing = useInMemoryTracing();
  });
  afterAll(() => tracing.shutdown());

  const otelService = () => {
    const service = new RequestContextService();
    service.useOpenTelemetryContext(true);
    return service;
  };

  sharedBehaviour(otelService);

  it('carries the state in the OpenTelemetry context (switching to the root context leaves it)', () => {
    const service = otelService();
    const seen = service.run(() => [service.requestId, context.with(ROOT_CONTEXT, () => service.requestId)], { requestId: 'ctx' });
    expect(seen).toEqual(['ctx', undefined]);
  });

  it('stays on its own storage when told not to use the OpenTelemetry context', () => {
    const service = new RequestContextService();
    service.useOpenTelemetryContext(false);
    expect(service.run(() => context.with(ROOT_CONTEXT, () => service.requestId), { requestId: 'own' })).toBe('own');
  });

  it("enters the unit's own OpenTelemetry context: its span is the active one", () => {
    const service = otelService();
    const span = trace.getTracer('spec').startSpan('unit');
    const u = unit();
    u.otelContext = trace.setSpan(ROOT_CONTEXT, span);
    const seen = service.enter(u, () => ({ active: trace.getActiveSpan(), state: service.state() }));
    span.end();
    expect(seen.active).toBe(span);
    expect(seen.state).toBe(u);
    // The span's context now carries the state too, and is what the unit keeps.
    expect(trace.getSpan(u.otelContext!)).toBe(span);
  });

  it('makes the context once per unit: entering again reuses it', () => {
    const service = otelService();
    const u = unit();
    service.enter(u, () => undefined);
    const first = u.otelContext;
    expect(first).toBeDefined();
    service.enter(u, () => undefined);
    expect(u.otelContext).toBe(first);
  });

  it('run() inside an active span keeps that span active', () => {
    const service = otelService();
    const span = trace.getTracer('spec').startSpan('outer');
    const active = context.with(trace.setSpan(context.active(), span), () => service.run(() => trace.getActiveSpan()));
    span.end();
    expect(active).toBe(span);
  });
});
