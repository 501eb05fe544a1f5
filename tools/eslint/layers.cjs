'use strict';
/**
 * `layers/downward-only`: the architecture of libs/observability/src as a lint rule.
 *
 * Layers, lowest first (STYLE.md, "Architecture"):
 *
 *   0 shared/    imports nothing else of the library
 *   1 config/
 *   2 sdk/       nothing from `@nestjs/*` either: it runs before Nest loads
 *   3 context/
 *   4 work/      the unit-of-work hooks and tokens pillars and drivers meet through
 *   5 pillars    tracing/ logging/ metrics/ errors/ health/ — never each other
 *   6 drivers    http/ messaging/ jobs/ — layers 0-4 only (pillars through work/), never each other
 *   7 facade     files directly in src/: everything
 *
 * Outside the ladder: `register.ts` (the preload, `nestjs-observability/register`) imports only
 * shared/, config/ and sdk/, nothing from `@nestjs/*`, and nothing imports it; `testing/` (the test
 * kit, `nestjs-observability/testing`) imports layers 0-5 and is imported only by `*.spec.ts` files
 * and code outside the library. A `*.spec.ts` file follows its folder's rule and may also import
 * testing/.
 *
 * Every way a file names another counts, type-only ones included: `import`, `import type`,
 * `export … from`, `import()`, `typeof import()`, `require()` and `import x = require()`.
 * Relative specifiers are resolved against the importing file; the package's own names
 * (`nestjs-observability`, `/testing`, `/register`) map to their files. A folder under src/ that is
 * in no layer is reported, so a new folder gets a place in this map rather than escaping it.
 *
 * CommonJS so that the Jest spec beside it can load it (Jest runs no ESM without
 * --experimental-vm-modules); eslint.config.mjs imports it all the same.
 */
const path = require('node:path');

const DEFAULT_SRC_DIR = 'libs/observability/src';

/** Folders with a fixed place on the ladder. */
const LEVELS = { shared: 0, config: 1, sdk: 2, context: 3, work: 4 };
const PILLARS = new Set(['tracing', 'logging', 'metrics', 'errors', 'health']);
const DRIVERS = new Set(['http', 'messaging', 'jobs']);
const PILLAR_LEVEL = 5;
const DRIVER_LEVEL = 6;
const FACADE_LEVEL = 7;

const ORDER = 'shared → config → sdk → context → work → pillars → drivers → facade';

/** The package's own entry points, as src-relative paths. */
const PACKAGE_NAME = 'nestjs-observability';
const ENTRY_POINTS = {
  [PACKAGE_NAME]: 'index.ts',
  [`${PACKAGE_NAME}/testing`]: 'testing/index.ts',
  [`${PACKAGE_NAME}/register`]: 'register.ts',
};

const SOURCE_EXTENSION = /\.(d\.)?[cm]?[jt]sx?$/;
const SPEC_FILE = /\.spec\.[cm]?[jt]sx?$/;
const NEST = /^@nestjs(\/|$)/;

/**
 * Where a src-relative path sits.
 * @param {string} rel posix path relative to src/, without `./`
 * @returns {{ kind: string, folder: string, level: number, label: string }}
 */
function classify(rel) {
  const segments = rel.split('/');
  const [head] = segments;
  if (segments.length === 1 && !isLayerFolder(head)) {
    const name = head.replace(SOURCE_EXTENSION, '');
    if (name === 'register') return { kind: 'register', folder: '', level: -1, label: 'register preload' };
    return { kind: 'facade', folder: '', level: FACADE_LEVEL, label: 'facade' };
  }
  if (head in LEVELS) return { kind: head, folder: head, level: LEVELS[head], label: head };
  if (PILLARS.has(head)) return { kind: 'pillar', folder: head, level: PILLAR_LEVEL, label: `pillar ${head}` };
  if (DRIVERS.has(head)) return { kind: 'driver', folder: head, level: DRIVER_LEVEL, label: `driver ${head}` };
  if (head === 'testing') return { kind: 'testing', folder: head, level: -1, label: 'test kit' };
  return { kind: 'unknown', folder: head, level: -1, label: `folder ${head}/, in no layer` };
}

function isLayerFolder(name) {
  return name in LEVELS || PILLARS.has(name) || DRIVERS.has(name) || name === 'testing';
}

/**
 * Why `from` may not import `to`, or null when it may.
 * @returns {{ messageId: string, fix?: string } | null}
 */
function verdict(from, to, isSpec) {
  if (to.kind === 'unknown') return { messageId: 'unknownTarget' };
  if (to.kind === 'testing') {
    return from.kind === 'testing' || isSpec
      ? null
      : {
          messageId: 'layer',
          fix: 'testing/ is the test kit (`nestjs-observability/testing`); only *.spec.ts files and code outside libs/observability/src import it',
        };
  }
  if (to.kind === 'register') {
    return isSpec
      ? null
      : {
          messageId: 'layer',
          fix: 'register.ts is the preload (`nestjs-observability/register`) and starts the SDK when loaded; nothing in the library imports it (only its specs)',
        };
  }
  if (from.kind === 'register') {
    return to.kind === 'shared' || to.kind === 'config' || to.kind === 'sdk'
      ? null
      : {
          messageId: 'layer',
          fix: 'register.ts is the preload, loaded before the app and Nest: it imports only shared/, config/ and sdk/',
        };
  }
  if (from.kind === 'facade') return null;
  if (from.kind === 'testing') {
    return to.level <= PILLAR_LEVEL
      ? null
      : {
          messageId: 'layer',
          fix: 'the test kit imports shared/, config/, sdk/, context/, work/ and the pillars, never a driver or the facade: test those through the public API',
        };
  }
  if (from.folder === to.folder) return null;
  if (from.kind === 'pillar' && to.kind === 'pillar') {
    return { messageId: 'layer', fix: 'pillars never import each other; meet through a token in work/ or a unit-of-work hook' };
  }
  if (from.kind === 'driver' && to.kind === 'driver') {
    return { messageId: 'layer', fix: 'drivers never import each other; move the shared piece down to work/, context/ or shared/' };
  }
  if (from.kind === 'driver' && to.kind === 'pillar') {
    return {
      messageId: 'layer',
      fix: 'drivers reach pillars only through work/: call a unit-of-work hook or inject a token declared in work/ that the pillar provides',
    };
  }
  if (to.kind === 'facade') {
    return {
      messageId: 'layer',
      fix: `files directly in src/ are the facade, the top layer (${ORDER}); move what ${from.label} needs down (an internal token to work/ or to the folder that owns it, an error class to shared/)`,
    };
  }
  if (to.level > from.level) {
    const where = from.kind === 'pillar' || from.kind === 'driver' ? 'work/ or below' : `${from.folder}/ or below`;
    return {
      messageId: 'layer',
      fix: `imports flow downward only (${ORDER}); move the needed piece down to ${where}, or invert the dependency with a token in work/`,
    };
  }
  return null;
}

/** The specifier's string, for the node kinds that name a module. */
function specifierOf(node) {
  switch (node.type) {
    case 'ImportDeclaration':
    case 'ExportNamedDeclaration':
    case 'ExportAllDeclaration':
    case 'ImportExpression':
      return node.source && node.source.type === 'Literal' && typeof node.source.value === 'string' ? node.source : null;
    case 'TSImportType': {
      const source = node.source || (node.argument && node.argument.literal);
      return source && typeof source.value === 'string' ? source : null;
    }
    case 'TSExternalModuleReference':
      return node.expression && node.expression.type === 'Literal' && typeof node.expression.value === 'string' ? node.expression : null;
    case 'CallExpression': {
      const [first] = node.arguments;
      const isRequire = node.callee.type === 'Identifier' && node.callee.name === 'require' && node.arguments.length === 1;
      return isRequire && first.type === 'Literal' && typeof first.value === 'string' ? first : null;
    }
    default:
      return null;
  }
}

/** @type {import('eslint').Rule.RuleModule} */
const downwardOnly = {
  meta: {
    type: 'problem',
    docs: {
      description:
        'Imports in libs/observability/src flow downward only: shared → config → sdk → context → work → pillars → drivers → facade',
    },
    schema: [
      {
        type: 'object',
        properties: { srcDir: { type: 'string', description: 'The library source folder, relative to the repository root' } },
        additionalProperties: false,
      },
    ],
    messages: {
      layer: '{{file}} ({{fromLayer}}) imports {{specifier}} ({{toLayer}}): {{fix}}',
      nest: '{{file}} ({{fromLayer}}) imports {{specifier}}: sdk/ and register.ts start OpenTelemetry before the app and Nest load, so they import nothing from @nestjs/*; put Nest-facing code (providers, modules) in a pillar or the facade',
      unknownTarget:
        '{{file}} ({{fromLayer}}) imports {{specifier}} ({{toLayer}}): every folder of libs/observability/src has a layer; move the file into one, or give {{folder}}/ a place in tools/eslint/layers.cjs',
      unknownSource:
        '{{file}} is in {{folder}}/, which is in no layer: move it into a layer folder ({{order}}), or give {{folder}}/ a place in tools/eslint/layers.cjs',
    },
  },

  create(context) {
    const srcDir = ((context.options[0] && context.options[0].srcDir) || DEFAULT_SRC_DIR).replace(/\\/g, '/').replace(/^\.?\/|\/$/g, '');
    const cwd = context.cwd || process.cwd();
    const absolute = path.resolve(cwd, context.filename).replace(/\\/g, '/');
    const marker = `/${srcDir}/`;
    const at = absolute.lastIndexOf(marker);
    if (at === -1) return {};

    const srcRoot = absolute.slice(0, at + marker.length - 1);
    const fileRel = absolute.slice(at + marker.length);
    const file = `${srcDir}/${fileRel}`;
    const from = classify(fileRel);
    const isSpec = SPEC_FILE.test(fileRel);
    const fileDir = path.posix.dirname(absolute);

    /** The src-relative path a specifier names, or null when it leaves src/ or names a package. */
    function resolve(specifier) {
      if (Object.prototype.hasOwnProperty.call(ENTRY_POINTS, specifier)) return ENTRY_POINTS[specifier];
      if (!specifier.startsWith('.')) return null;
      const target = path.posix.resolve(fileDir, specifier);
      const rel = path.posix.relative(srcRoot, target);
      if (rel === '' || rel.startsWith('..') || path.posix.isAbsolute(rel)) return rel === '' ? 'index.ts' : null;
      return rel;
    }

    function check(node) {
      const literal = specifierOf(node);
      if (!literal) return;
      const specifier = literal.value;
      if (NEST.test(specifier) && (from.kind === 'sdk' || from.kind === 'register')) {
        context.report({ node: literal, messageId: 'nest', data: { file, fromLayer: from.label, specifier } });
        return;
      }
      const rel = resolve(specifier);
      if (rel === null || from.kind === 'unknown') return;
      const to = classify(rel);
      const problem = verdict(from, to, isSpec);
      if (!problem) return;
      context.report({
        node: literal,
        messageId: problem.messageId,
        data: { file, fromLayer: from.label, specifier, toLayer: to.label, folder: to.folder, fix: problem.fix || '' },
      });
    }

    return {
      Program(node) {
        if (from.kind === 'unknown') {
          context.report({
            node,
            loc: { line: 1, column: 0 },
            messageId: 'unknownSource',
            data: { file, folder: from.folder, order: ORDER },
          });
        }
      },
      ImportDeclaration: check,
      ExportNamedDeclaration: check,
      ExportAllDeclaration: check,
      ImportExpression: check,
      TSImportType: check,
      TSExternalModuleReference: check,
      CallExpression: check,
    };
  },
};

module.exports = {
  meta: { name: 'layers' },
  rules: { 'downward-only': downwardOnly },
};
