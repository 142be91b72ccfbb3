/**
 * Where a sibling module of the caller lives: `.ts` when Shoal runs from
 * source (tsx, vitest), `.js` when it runs compiled from `dist/`. Worker
 * threads and actor factories are loaded by URL, so every place that names
 * a module to load goes through this one rule.
 */

/** True when `importMetaUrl` is a TypeScript source file (Shoal runs from source). */
export function runsFromSource(importMetaUrl: string): boolean {
  return importMetaUrl.endsWith('.ts');
}

/** The URL of the module `relativePath` (without extension) next to `importMetaUrl`, with the caller's extension. */
export function siblingModuleUrl(relativePath: string, importMetaUrl: string): string {
  const extension = runsFromSource(importMetaUrl) ? '.ts' : '.js';
  return new URL(`${relativePath}${extension}`, importMetaUrl).href;
}
