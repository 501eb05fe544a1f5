import type { ArgumentsHost } from '@nestjs/common';
import type { HttpAdapterHost } from '@nestjs/core';
import { RpcException } from '@nestjs/microservices';
import pino from 'pino';
import { firstValueFrom, isObservable, type Observable } from 'rxjs';

import { resolveOptions } from '../config/resolve-options';
import { RequestContextService } from '../context/request-context.service';
import { LogCapture } from '../testing/log-capture';
import { type WorkFailure, WorkPipeline } from '../work/work-pipeline';
import { ObservabilityExceptionFilter } from './observability-exception.filter';

/** The filter for an RPC transport (no HTTP adapter), its failures recorded by a pipeline hook. */
function setup() {
  const failures: WorkFailure[] = [];
  const pipeline = new WorkPipeline();
  pipeline.register({ order: 30, fail: (f) => void failures.push(f) });
  const requestContext = new RequestContextService();
  const logs = new LogCapture();
  const filter = new ObservabilityExceptionFilter(
    { httpAdapter: undefined } as unknown as HttpAdapterHost,
    resolveOptions({}, {}),
    { logger: pino(logs), flush: () => undefined, close: async () => undefined, droppedLines: 0 },
    requestContext,
    pipeline,
  );
  return { filter, failures, requestContext, logs };
}

const rpcHost = { getType: () => 'rpc' } as unknown as ArgumentsHost;

/** What the observable the filter returned errors with. */
async function errorOf(result: Observable<unknown> | void): Promise<unknown> {
  if (!isObservable(result)) throw new Error(`expected an Observable from the filter, got ${String(result)}`);
  return firstValueFrom(result).then(
    (value) => {
      throw new Error(`expected the observable to error, it emitted ${JSON.stringify(value)}`);
    },
    (error: unknown) => error,
  );
}

describe('ObservabilityExceptionFilter (rpc)', () => {
  it('answers an unexpected error with a safe body and the request id, and reports it as a server failure', async () => {
    const { filter, failures, requestContext } = setup();
    const error = new Error('connection to 10.0.0.5 refused');
    const result = requestContext.run(() => filter.catch(error, rpcHost), { requestId: 'msg-1' });
    await expect(errorOf(result)).resolves.toEqual({ status: 'error', message: 'Internal server error', requestId: 'msg-1' });
    expect(
      failures.map((f) => ({
        error: f.error,
        severity: f.severity,
        errorType: f.errorType,
        reported: f.reported,
        requestId: f.unit?.requestId,
        origin: f.origin,
      })),
    ).toEqual([{ error, severity: 'server', errorType: 'Error', reported: true, requestId: 'msg-1', origin: undefined }]);
  });

  it('passes an RpcException with a text on as the handler meant it, unreported', async () => {
    const { filter, failures } = setup();
    const exception = new RpcException('order not found');
    await expect(errorOf(filter.catch(exception, rpcHost))).resolves.toEqual({ status: 'error', message: 'order not found' });
    expect(failures.map((f) => [f.severity, f.reported, f.message, f.errorType])).toEqual([
      ['client', false, 'order not found', 'RpcException'],
    ]);
  });

  it('passes an RpcException with an object on as that object', async () => {
    const { filter } = setup();
    const payload = { code: 'E_STOCK', message: 'out of stock' };
    await expect(errorOf(filter.catch(new RpcException(payload), rpcHost))).resolves.toBe(payload);
  });

  // Nest's own RPC filter tests `instanceof RpcException`: subclasses are the handler's answer too.
  it('passes a subclass of RpcException on as the handler meant it, unreported', async () => {
    class OrderRejected extends RpcException {}
    const { filter, failures } = setup();
    await expect(errorOf(filter.catch(new OrderRejected('order rejected'), rpcHost))).resolves.toEqual({
      status: 'error',
      message: 'order rejected',
    });
    expect(failures.map((f) => [f.severity, f.reported])).toEqual([['client', false]]);
  });

  it('answers without a request id outside any context', async () => {
    const { filter } = setup();
    await expect(errorOf(filter.catch(new TypeError('x'), rpcHost))).resolves.toEqual({
      status: 'error',
      message: 'Internal server error',
      requestId: undefined,
    });
  });
});
