import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { LIBRARY_SCOPE_NAME } from './library-scope';

describe('LIBRARY_SCOPE_NAME', () => {
  it('is the package name, as every tracer and meter scope of the library', () => {
    const manifest = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { name: string };
    expect(LIBRARY_SCOPE_NAME).toBe(manifest.name);
  });
});
