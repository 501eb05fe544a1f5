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
  testMatch: ['<rootDir>/libs/**/*.spec.ts', '<rootDir>/test/**/*.e2e-spec.ts'],
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper: {
    '^nestjs-observability$': '<rootDir>/libs/observability/src/index.ts',
    '^nestjs-observability/testing$': '<rootDir>/libs/observability/src/testing/index.ts',
  },
  reporters: ['default', '<rootDir>/test/utils/summary-reporter.js'],
  testTimeout: 30_000,
  // Two cores: child-process suites start real servers; more workers only contend.
  maxWorkers: 2,
};
