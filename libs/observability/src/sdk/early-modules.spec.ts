import { INSTRUMENTED_MODULES, loadedInstrumentedModules } from './early-modules';

describe('loadedInstrumentedModules', () => {
  it('names each instrumented package once, sorted, from require.cache-style file names', () => {
    const files = [
      '/app/node_modules/pg/lib/index.js',
      '/app/node_modules/pg/lib/client.js',
      '/app/node_modules/express/index.js',
      '/app/node_modules/@nestjs/core/index.js',
      '/app/node_modules/pg-pool/index.js',
      '/app/dist/main.js',
    ];
    expect(loadedInstrumentedModules(files)).toEqual(['@nestjs/core', 'express', 'pg', 'pg-pool']);
  });

  it('names the innermost package of a nested node_modules', () => {
    const files = [
      // ioredis's own dependency: ioredis is not loaded by this.
      '/app/node_modules/ioredis/node_modules/denque/index.js',
      // fastify nested under another package is fastify.
      '/app/node_modules/@acme/server/node_modules/fastify/fastify.js',
    ];
    expect(loadedInstrumentedModules(files)).toEqual(['fastify']);
  });

  it('reads Windows paths', () => {
    const files = ['C:\\app\\node_modules\\ioredis\\built\\index.js', 'C:\\app\\node_modules\\@nestjs\\core\\index.js'];
    expect(loadedInstrumentedModules(files)).toEqual(['@nestjs/core', 'ioredis']);
  });

  it('ignores look-alikes: other scopes, longer names, application folders named like packages', () => {
    const files = [
      '/app/node_modules/@nestjs/common/index.js',
      '/app/node_modules/pgx/index.js',
      '/app/node_modules/@types/pg/index.d.ts',
      '/app/src/pg/index.js',
      '/app/node_modules/express-session/index.js',
      '/app/node_modules/ioredis',
    ];
    expect(loadedInstrumentedModules(files)).toEqual([]);
  });

  it('knows every module whose early load loses spans', () => {
    expect([...INSTRUMENTED_MODULES].sort()).toEqual(['@nestjs/core', 'express', 'fastify', 'ioredis', 'pg', 'pg-pool']);
  });
});
