import { once } from 'node:events';
import { Agent, createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { SidePortServer } from './side-port-server';

function get(port: number, path: string, agent: Agent | false = false): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const failure = (error: NodeJS.ErrnoException) => new Error(`cannot listen: ${error.code}`);
const noError = (error: Error) => {
  throw new Error(`unexpected server error: ${error.message}`);
};

const open: SidePortServer[] = [];
const blockers: Server[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
  await Promise.all(blockers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

async function listen(handler: Parameters<typeof SidePortServer.listen>[2], port = 0) {
  const server = await SidePortServer.listen(port, '127.0.0.1', handler, failure, noError);
  open.push(server);
  return server;
}

describe('SidePortServer', () => {
  it('listens on a free port when given 0 and answers with the handler', async () => {
    const server = await listen((req, res) => res.end(`seen ${req.url}`));
    expect(server.port).toBeGreaterThan(0);
    await expect(get(server.port, '/health/ready')).resolves.toEqual({ status: 200, body: 'seen /health/ready' });
  });

  it("rejects with the caller's error when the port is taken", async () => {
    const blocker = createServer();
    blockers.push(blocker);
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as AddressInfo).port;
    const codes: (string | undefined)[] = [];
    const started = SidePortServer.listen(
      taken,
      '127.0.0.1',
      () => undefined,
      (error) => {
        codes.push(error.code);
        return new Error(`Cannot serve on port ${taken}: ${error.code}. Pick a free port.`);
      },
      noError,
    );
    await expect(started).rejects.toThrow(`Cannot serve on port ${taken}: EADDRINUSE. Pick a free port.`);
    expect(codes).toEqual(['EADDRINUSE']);
  });

  describe('reserve', () => {
    const listenError = async (application: Server, listen: () => void) => {
      const failed = once(application, 'error') as Promise<[Error]>;
      listen();
      const [error] = await failed;
      return { message: error.message, listening: application.listening };
    };

    it("fails the application server's listen() on the side port with the caller's error, in every form of listen()", async () => {
      const side = await listen(() => undefined);
      const application = createServer();
      blockers.push(application);
      side.reserve(application, () => new Error(`port ${side.port} is the side port`));
      const expected = { message: `port ${side.port} is the side port`, listening: false };
      await expect(listenError(application, () => application.listen(side.port, '127.0.0.1'))).resolves.toEqual(expected);
      await expect(listenError(application, () => application.listen(String(side.port)))).resolves.toEqual(expected);
      await expect(listenError(application, () => application.listen({ port: side.port, host: '127.0.0.1' }))).resolves.toEqual(expected);
    });

    it('lets the application server listen on any other port, and on the side port once the side server closed', async () => {
      const side = await listen(() => undefined);
      const application = createServer((_req, res) => res.end('app'));
      blockers.push(application);
      side.reserve(application, () => new Error('reserved'));
      await new Promise<void>((resolve) => application.listen(0, '127.0.0.1', resolve));
      await expect(get((application.address() as AddressInfo).port, '/')).resolves.toEqual({ status: 200, body: 'app' });
      await new Promise((resolve) => application.close(resolve));
      const port = side.port;
      await side.close();
      open.splice(open.indexOf(side), 1);
      await new Promise<void>((resolve) => application.listen(port, '127.0.0.1', resolve));
      await expect(get(port, '/')).resolves.toEqual({ status: 200, body: 'app' });
    });
  });

  it('stops listening on close, cutting kept-alive connections so close does not wait for them', async () => {
    const server = await listen((_req, res) => res.end('ok'));
    const port = server.port;
    const agent = new Agent({ keepAlive: true, keepAliveMsecs: 60_000 });
    try {
      await get(port, '/', agent);
      const started = performance.now();
      await server.close();
      expect(performance.now() - started).toBeLessThan(1_000);
      await expect(get(port, '/')).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      agent.destroy();
      open.splice(open.indexOf(server), 1);
    }
  });
});
