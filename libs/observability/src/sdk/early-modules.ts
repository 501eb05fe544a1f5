/**
 * Modules whose spans are lost if they were loaded before the pipeline started:
 * instrumentations patch a module when it is first required.
 */
export const INSTRUMENTED_MODULES: readonly string[] = ['pg', 'pg-pool', 'ioredis', '@nestjs/core', 'express', 'fastify'];

/**
 * Which of {@link INSTRUMENTED_MODULES} the given module files belong to, sorted.
 * Pass `Object.keys(require.cache)`: the files loaded so far.
 */
export function loadedInstrumentedModules(files: Iterable<string>): string[] {
  const loaded = new Set<string>();
  for (const file of files) {
    // Greedy `.*` so that the innermost node_modules names the package.
    const match = /.*[\\/]node_modules[\\/]((?:@[^\\/]+[\\/])?[^\\/]+)[\\/]/.exec(file);
    const name = match?.[1]?.replace(/\\/g, '/');
    if (name && INSTRUMENTED_MODULES.includes(name)) loaded.add(name);
  }
  return [...loaded].sort();
}
