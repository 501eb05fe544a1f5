import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { TRACER_NAME, TRACER_VERSION } from './tracing.constants';

/** The library's own package.json, read from disk so the test sees what npm publishes. */
const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { name: string; version: string };

describe('tracing constants', () => {
  it('TRACER_VERSION equals the version in libs/observability/package.json', () => {
    expect(TRACER_VERSION).toBe(pkg.version);
  });

  it('TRACER_NAME equals the package name', () => {
    expect(TRACER_NAME).toBe(pkg.name);
  });
});
