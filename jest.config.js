/** One Jest run: unit specs beside the code, end-to-end specs in test/. */
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
    },
    module: { type: 'commonjs' },
    sourceMaps: 'inline',
  },
];

module.exports = {
  testEnvironment: 'node',
  rootDir: __dirname,
  testMatch: ['<rootDir>/libs/**/*.spec.ts', '<rootDir>/test/**/*.e2e-spec.ts', '<rootDir>/tools/**/*.spec.ts'],
  // Two packages need compiling to CommonJS for Jest's module registry, which
  // runs neither a dynamic import() without --experimental-vm-modules nor ESM:
  // the OTLP exporter loads `http` with import() (open-telemetry/opentelemetry-js#6035),
  // and @nestjs/terminus 12 is ESM-only (Node loads it with require(esm); Jest cannot).
  transformIgnorePatterns: ['/node_modules/(?!(@opentelemetry/otlp-exporter-base|@nestjs/terminus)/)'],
  transform: {
    '^.+\\.ts$': swc,
    '/node_modules/(@opentelemetry/otlp-exporter-base|@nestjs/terminus)/.+\\.js$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'ecmascript' }, target: 'es2022' }, module: { type: 'commonjs' } },
    ],
  },
  moduleNameMapper: {
    '^nestjs-observability$': '<rootDir>/libs/observability/src/index.ts',
    '^nestjs-observability/testing$': '<rootDir>/libs/observability/src/testing/index.ts',
  },
  reporters: ['default', '<rootDir>/test/utils/summary-reporter.js'],
  testTimeout: 30_000,
  // Two cores: child-process suites start real servers; more workers only contend.
  maxWorkers: 2,
};
