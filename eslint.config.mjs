// @ts-check
/**
 * ESLint for the whole workspace: the library, the sample apps, the e2e suites, the benchmark and
 * the tools. Syntax-only typescript-eslint (no type information) keeps `npm run lint` fast;
 * `tsc -b` already type-checks. Formatting is Prettier's (.prettierrc.json), not ESLint's.
 *
 * The architecture rule, `layers/downward-only`, lives in tools/eslint/layers.cjs and is proved by
 * tools/eslint/layers.spec.ts.
 */
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import simpleImportSort from 'eslint-plugin-simple-import-sort';
import tseslint from 'typescript-eslint';

import layers from './tools/eslint/layers.cjs';

/** Node's CommonJS globals, for the plain .js/.cjs files (jest.config.js, the Jest reporter, the plugin). */
const nodeCommonJsGlobals = {
  require: 'readonly',
  module: 'writable',
  exports: 'writable',
  __dirname: 'readonly',
  __filename: 'readonly',
  process: 'readonly',
  console: 'readonly',
  Buffer: 'readonly',
  setTimeout: 'readonly',
  clearTimeout: 'readonly',
};

export default defineConfig(
  globalIgnores([
    '**/dist/',
    '**/node_modules/',
    '.tools/',
    'coverage/',
    'bench/out/',
    // Deliberately broken inputs for the layering rule's tests, should any be kept on disk.
    'libs/observability/src/**/__fixtures__/**',
    'tools/eslint/__fixtures__/**',
  ]),

  {
    files: ['**/*.{ts,js,mjs,cjs}'],
    extends: [js.configs.recommended, tseslint.configs.recommended],
    plugins: { 'simple-import-sort': simpleImportSort },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // Imports and re-exports sorted (STYLE.md, "Habits"); both autofix with `npm run format`.
      'simple-import-sort/imports': 'error',
      'simple-import-sort/exports': 'error',

      // An `_`-prefixed parameter or binding is unused on purpose (interface-shaped callbacks,
      // Jest reporter hooks, tuple destructuring in `it.each`).
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
      // The code loads optional and heavy packages lazily with `require()` inside the function that
      // needs them (pino-pretty, @sentry/*, the OpenTelemetry SDK, the Fastify adapter), typed as
      // `typeof import('…')`: a missing optional peer then fails only when its feature is switched
      // on, and startup does not pay for what is off. A require() at module scope is still an error
      // (below): that one is an ordinary import and should be written as one.
      '@typescript-eslint/no-require-imports': 'off',
      'no-restricted-syntax': [
        'error',
        {
          selector: 'Program > VariableDeclaration > VariableDeclarator > CallExpression[callee.name="require"]',
          message:
            'A module-scope require() is an import: write `import … from`. Keep require() for lazy loading inside the function that needs it.',
        },
      ],

      // The HTTP observer hands every response one shared `function` whose `this` is the response
      // (no closure per request), so the observer travels under a name; metric collectors do the
      // same with `self`. Any other alias of `this` is still an error.
      '@typescript-eslint/no-this-alias': ['error', { allowDestructuring: true, allowedNames: ['self', 'observer'] }],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'prefer-const': 'error',
      'no-var': 'error',
    },
  },

  // No `any` in the library's own code (STYLE.md: "No `any` in public types"); tests, apps and the
  // benchmark may use it where a fake or a third-party shape calls for it.
  {
    files: ['libs/**/src/**/*.ts'],
    ignores: ['**/*.spec.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'error' },
  },
  {
    files: ['**/*.spec.ts', '**/*.e2e-spec.ts', 'test/**/*.ts', 'apps/**/*.ts', 'bench/**/*.ts', 'tools/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'warn' },
  },

  // A library reports through `diag` or its logger, never the console (STYLE.md); the test helpers
  // that print a SKIPPED line say so with a disable comment. Apps, the benchmark and tools print.
  {
    files: ['libs/**/*.ts', 'test/**/*.ts'],
    rules: { 'no-console': 'error' },
  },

  // Imports flow downward only; sdk/ and register.ts import nothing from @nestjs/*.
  {
    files: ['libs/observability/src/**/*.ts'],
    plugins: { layers },
    rules: { 'layers/downward-only': ['error', { srcDir: 'libs/observability/src' }] },
  },

  // Plain CommonJS files: jest.config.js, the Jest reporter, the ESLint plugin.
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: nodeCommonJsGlobals },
    rules: {
      // `require()` and `module.exports` are how these files are written.
      'no-restricted-syntax': 'off',
    },
  },
  {
    files: ['**/*.mjs'],
    languageOptions: { sourceType: 'module', globals: { process: 'readonly', console: 'readonly' } },
  },
);
