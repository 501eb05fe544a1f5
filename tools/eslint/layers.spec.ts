/**
 * `layers/downward-only` on virtual files under libs/observability/src: RuleTester runs each case
 * as a Jest test (it picks up Jest's global describe/it), so a case that is reported differently
 * fails with ESLint's own diff of expected and seen messages.
 */
import { RuleTester } from 'eslint';
import tseslint from 'typescript-eslint';

import layers from './layers.cjs';

const rule = layers.rules['downward-only'];
const SRC = 'libs/observability/src';

const tester = new RuleTester({
  languageOptions: { parser: tseslint.parser, ecmaVersion: 2022, sourceType: 'module' },
});

/** A file of the library, by its path under src/. */
const at = (file: string): string => `${SRC}/${file}`;

const ORDER = 'shared → config → sdk → context → work → pillars → drivers → facade';

tester.run('layers/downward-only', rule, {
  valid: [
    {
      name: 'a pillar imports its own folder and every layer below it',
      filename: at('health/health.service.ts'),
      code: [
        "import { HEALTH_OPTIONS } from './health.constants';",
        "import type { HealthIndicator } from './health-indicator.interface';",
        "import { ObservabilityError } from '../shared/observability.errors';",
        "import { type Env, readEnv } from '../config/env';",
        "import type { Telemetry } from '../sdk/telemetry';",
        "import { RequestContextService } from '../context/request-context.service';",
        "import { UNIT_OF_WORK_HOOKS } from '../work/unit-of-work';",
        "import { Injectable } from '@nestjs/common';",
        "import { trace } from '@opentelemetry/api';",
      ].join('\n'),
    },
    {
      name: 'a file in a pillar sub-folder imports its pillar and shared/',
      filename: at('health/indicators/disk.health.ts'),
      code: "import { ObservabilityError } from '../../shared/observability.errors';\nimport type { HealthIndicator } from '../health-indicator.interface';",
    },
    {
      name: 'a driver imports work/, context/, sdk/, config/ and shared/',
      filename: at('http/http-observer.ts'),
      code: [
        "import { UNIT_OF_WORK_HOOKS } from '../work/unit-of-work';",
        "import { RequestState } from '../context/request-context';",
        "import type { Telemetry } from '../sdk/telemetry';",
        "import type { ResolvedObservabilityOptions } from '../config/options.interface';",
        "import { interceptRequests } from '../shared/request-listener';",
        "import { HTTP_DEFAULTS } from './http.constants';",
      ].join('\n'),
    },
    {
      name: 'the facade imports pillars, drivers and the other facade files',
      filename: at('observability.module.ts'),
      code: [
        "import { ObservabilityExceptionFilter } from './errors/observability-exception.filter';",
        "import { HttpObserver } from './http/http-observer';",
        "import { MetricsService } from './metrics/metrics.service';",
        "import { OPTIONS } from './observability.constants';",
        "import { ConfigurableModuleClass } from './observability.module-definition';",
      ].join('\n'),
    },
    {
      name: 'the index re-exports pillars, including type-only',
      filename: at('index.ts'),
      code: "export { TracingService } from './tracing/tracing.service';\nexport type { HealthOptions } from './health';\nexport * from './metrics/metrics.service';",
    },
    {
      name: 'register.ts imports shared/, config/ and sdk/',
      filename: at('register.ts'),
      code: "import { startTelemetry } from './sdk/telemetry';\nimport { readEnv } from './config/env';\nimport { Scrubber } from './shared/scrubber';",
    },
    {
      name: 'a spec may import the test kit, by path or by package name',
      filename: at('tracing/tracing.service.spec.ts'),
      code: "import { useInMemoryTracing } from '../testing/in-memory-tracing';\nimport { LogCapture } from 'nestjs-observability/testing';\nimport { TracingService } from './tracing.service';",
    },
    {
      name: 'the test kit imports pillars and the layers below',
      filename: at('testing/log-capture.ts'),
      code: "import type { PinoHandle } from '../logging/pino.factory';\nimport { Scrubber } from '../shared/scrubber';\nimport { OtlpReceiver } from './otlp-receiver';",
    },
    {
      name: 'lazy require() and typeof import() of a lower layer or a package are fine in sdk/',
      filename: at('sdk/pipeline.ts'),
      code: "const env = require('../config/env') as typeof import('../config/env');\nconst sdk = require('@opentelemetry/sdk-node') as typeof import('@opentelemetry/sdk-node');",
    },
    {
      name: 'code outside the library imports whatever it tests',
      filename: 'test/health.e2e-spec.ts',
      code: "import { HealthEndpoint } from '../libs/observability/src/health/health.endpoint';\nimport { LogCapture } from '../libs/observability/src/testing';",
    },
    {
      name: 'a sample app imports the public entry points',
      filename: 'apps/hello/src/app.module.ts',
      code: "import { ObservabilityModule } from 'nestjs-observability';\nimport { Controller } from '@nestjs/common';",
    },
  ],

  invalid: [
    {
      name: 'a pillar imports another pillar: the message names both files, both layers and the fix',
      filename: at('health/health.service.ts'),
      code: "import { MetricsService } from '../metrics/metrics.service';",
      errors: [
        {
          message:
            'libs/observability/src/health/health.service.ts (pillar health) imports ../metrics/metrics.service (pillar metrics): ' +
            'pillars never import each other; meet through a token in work/ or a unit-of-work hook',
          line: 1,
          column: 32,
        },
      ],
    },
    {
      name: 'type-only imports, re-exports, typeof import() and require() across pillars count too',
      filename: at('errors/observability-exception.filter.ts'),
      code: [
        "import type { PinoHandle } from '../logging/pino.factory';",
        "import { type GaugeMetric } from '../metrics/metrics.service';",
        "export { TracingService } from '../tracing/tracing.service';",
        "export * from '../health/health.constants';",
        "export type { HealthOptions } from '../health';",
        "type Pino = typeof import('../logging/pino.factory');",
        "const lazy = require('../metrics/exposition');",
        "const later = import('../tracing/span-runner');",
      ].join('\n'),
      errors: [
        {
          messageId: 'layer',
          line: 1,
          data: pillarToPillar('errors/observability-exception.filter.ts', '../logging/pino.factory', 'logging'),
        },
        {
          messageId: 'layer',
          line: 2,
          data: pillarToPillar('errors/observability-exception.filter.ts', '../metrics/metrics.service', 'metrics'),
        },
        {
          messageId: 'layer',
          line: 3,
          data: pillarToPillar('errors/observability-exception.filter.ts', '../tracing/tracing.service', 'tracing'),
        },
        {
          messageId: 'layer',
          line: 4,
          data: pillarToPillar('errors/observability-exception.filter.ts', '../health/health.constants', 'health'),
        },
        { messageId: 'layer', line: 5, data: pillarToPillar('errors/observability-exception.filter.ts', '../health', 'health') },
        {
          messageId: 'layer',
          line: 6,
          data: pillarToPillar('errors/observability-exception.filter.ts', '../logging/pino.factory', 'logging'),
        },
        {
          messageId: 'layer',
          line: 7,
          data: pillarToPillar('errors/observability-exception.filter.ts', '../metrics/exposition', 'metrics'),
        },
        {
          messageId: 'layer',
          line: 8,
          data: pillarToPillar('errors/observability-exception.filter.ts', '../tracing/span-runner', 'tracing'),
        },
      ],
    },
    {
      name: 'a spec follows its folder: a pillar spec may not import another pillar',
      filename: at('logging/pino.factory.spec.ts'),
      code: "import { TracingService } from '../tracing/tracing.service';",
      errors: [{ messageId: 'layer', data: pillarToPillar('logging/pino.factory.spec.ts', '../tracing/tracing.service', 'tracing') }],
    },
    {
      name: 'shared/ imports config/: upward',
      filename: at('shared/scrubber.ts'),
      code: "import { DEFAULTS } from '../config/options.defaults';",
      errors: [
        {
          message:
            'libs/observability/src/shared/scrubber.ts (shared) imports ../config/options.defaults (config): ' +
            `imports flow downward only (${ORDER}); move the needed piece down to shared/ or below, or invert the dependency with a token in work/`,
        },
      ],
    },
    {
      name: 'sdk/ imports a pillar: upward',
      filename: at('sdk/scrubbing-span-processor.ts'),
      code: "import { TRACER_NAME } from '../tracing/tracing.constants';",
      errors: [
        {
          messageId: 'layer',
          data: upward('sdk/scrubbing-span-processor.ts', 'sdk', '../tracing/tracing.constants', 'pillar tracing', 'sdk/'),
        },
      ],
    },
    {
      name: 'work/ imports a pillar: upward',
      filename: at('work/unit-of-work.ts'),
      code: "import type { SpanOptions } from '../tracing/span-runner';",
      errors: [{ messageId: 'layer', data: upward('work/unit-of-work.ts', 'work', '../tracing/span-runner', 'pillar tracing', 'work/') }],
    },
    {
      name: 'sdk/ imports @nestjs/common',
      filename: at('sdk/telemetry.provider.ts'),
      code: "import { Injectable } from '@nestjs/common';",
      errors: [
        {
          message:
            'libs/observability/src/sdk/telemetry.provider.ts (sdk) imports @nestjs/common: sdk/ and register.ts start OpenTelemetry before the app and Nest load, ' +
            'so they import nothing from @nestjs/*; put Nest-facing code (providers, modules) in a pillar or the facade',
        },
      ],
    },
    {
      name: 'register.ts imports @nestjs/core, a type from @nestjs/common, or context/',
      filename: at('register.ts'),
      code: "import { NestFactory } from '@nestjs/core';\nimport type { Type } from '@nestjs/common';\nimport { RequestState } from './context/request-context';",
      errors: [
        { messageId: 'nest', data: { file: at('register.ts'), fromLayer: 'register preload', specifier: '@nestjs/core' } },
        { messageId: 'nest', data: { file: at('register.ts'), fromLayer: 'register preload', specifier: '@nestjs/common' } },
        {
          messageId: 'layer',
          data: {
            file: at('register.ts'),
            fromLayer: 'register preload',
            specifier: './context/request-context',
            toLayer: 'context',
            fix: 'register.ts is the preload, loaded before the app and Nest: it imports only shared/, config/ and sdk/',
          },
        },
      ],
    },
    {
      name: 'a driver imports a pillar',
      filename: at('http/http-observer.ts'),
      code: "import type { HttpServerMetrics } from '../metrics/http-server.metrics';",
      errors: [
        {
          message:
            'libs/observability/src/http/http-observer.ts (driver http) imports ../metrics/http-server.metrics (pillar metrics): ' +
            'drivers reach pillars only through work/: call a unit-of-work hook or inject a token declared in work/ that the pillar provides',
        },
      ],
    },
    {
      name: 'a driver imports another driver',
      filename: at('jobs/job-observer.ts'),
      code: "import { interceptRequests } from '../http/request-listener';",
      errors: [
        {
          messageId: 'layer',
          data: {
            file: at('jobs/job-observer.ts'),
            fromLayer: 'driver jobs',
            specifier: '../http/request-listener',
            toLayer: 'driver http',
            fix: 'drivers never import each other; move the shared piece down to work/, context/ or shared/',
          },
        },
      ],
    },
    {
      name: 'a pillar imports a facade file (the tokens in observability.constants.ts) or the package itself',
      filename: at('metrics/metrics.service.ts'),
      code: "import { PINO } from '../observability.constants';\nimport { ObservabilityModule } from 'nestjs-observability';",
      errors: [
        { messageId: 'layer', data: toFacade('metrics/metrics.service.ts', 'pillar metrics', '../observability.constants') },
        { messageId: 'layer', data: toFacade('metrics/metrics.service.ts', 'pillar metrics', 'nestjs-observability') },
      ],
    },
    {
      name: 'production code imports the test kit; the facade too',
      filename: at('index.ts'),
      code: "export { LogCapture } from './testing/log-capture';\nexport * from 'nestjs-observability/testing';",
      errors: [
        { messageId: 'layer', data: toTestKit('index.ts', 'facade', './testing/log-capture') },
        { messageId: 'layer', data: toTestKit('index.ts', 'facade', 'nestjs-observability/testing') },
      ],
    },
    {
      name: 'a pillar imports the test kit outside a spec',
      filename: at('logging/pino.factory.ts'),
      code: "import { LogCapture } from '../testing/log-capture';",
      errors: [{ messageId: 'layer', data: toTestKit('logging/pino.factory.ts', 'pillar logging', '../testing/log-capture') }],
    },
    {
      name: 'the test kit imports a driver',
      filename: at('testing/http-harness.ts'),
      code: "import { HttpObserver } from '../http/http-observer';",
      errors: [
        {
          messageId: 'layer',
          data: {
            file: at('testing/http-harness.ts'),
            fromLayer: 'test kit',
            specifier: '../http/http-observer',
            toLayer: 'driver http',
            fix: 'the test kit imports shared/, config/, sdk/, context/, work/ and the pillars, never a driver or the facade: test those through the public API',
          },
        },
      ],
    },
    {
      name: 'the facade imports the preload',
      filename: at('observability.module.ts'),
      code: "import './register';",
      errors: [
        {
          messageId: 'layer',
          data: {
            file: at('observability.module.ts'),
            fromLayer: 'facade',
            specifier: './register',
            toLayer: 'register preload',
            fix: 'register.ts is the preload (`nestjs-observability/register`) and starts the SDK when loaded; nothing in the library imports it (only its specs)',
          },
        },
      ],
    },
    {
      name: 'a folder in no layer is reported, as importer and as import',
      filename: at('decorators/counted.decorator.ts'),
      code: "import { MetricsService } from '../metrics/metrics.service';",
      errors: [{ messageId: 'unknownSource', line: 1, column: 1 }],
    },
    {
      name: 'importing a folder in no layer',
      filename: at('tracing/tracing.service.ts'),
      code: "import { Counted } from '../decorators/counted.decorator';",
      errors: [{ messageId: 'unknownTarget' }],
    },
  ],
});

function pillarToPillar(file: string, specifier: string, to: string) {
  return {
    file: at(file),
    fromLayer: `pillar ${file.split('/')[0]}`,
    specifier,
    toLayer: `pillar ${to}`,
    fix: 'pillars never import each other; meet through a token in work/ or a unit-of-work hook',
  };
}

function upward(file: string, fromLayer: string, specifier: string, toLayer: string, where: string) {
  return {
    file: at(file),
    fromLayer,
    specifier,
    toLayer,
    fix: `imports flow downward only (${ORDER}); move the needed piece down to ${where} or below, or invert the dependency with a token in work/`,
  };
}

function toFacade(file: string, fromLayer: string, specifier: string) {
  return {
    file: at(file),
    fromLayer,
    specifier,
    toLayer: 'facade',
    fix: `files directly in src/ are the facade, the top layer (${ORDER}); move what ${fromLayer} needs down (an internal token to work/ or to the folder that owns it, an error class to shared/)`,
  };
}

function toTestKit(file: string, fromLayer: string, specifier: string) {
  return {
    file: at(file),
    fromLayer,
    specifier,
    toLayer: 'test kit',
    fix: 'testing/ is the test kit (`nestjs-observability/testing`); only *.spec.ts files and code outside libs/observability/src import it',
  };
}
