/**
 * The source tree the architecture tests read: the public entry and the
 * layer folders, never `test/` or `bench/`. Paths are relative to the tree's
 * root and use `/`, so rules and reports read the same on every platform.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (two folders above this file). */
export const REPOSITORY_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** What the source tree is made of: root files and folders read recursively (absent ones are skipped). */
export const SOURCE_ROOTS = ['index.ts', 'runtime', 'storage', 'cluster', 'actors', 'bin'] as const;

/** Every `.ts` file (not `.d.ts`) under `roots` of the tree at `root`, sorted, relative with `/` separators. */
export function sourceFiles(root: string, roots: readonly string[] = SOURCE_ROOTS): string[] {
  const files: string[] = [];
  for (const entry of roots) {
    const path = join(root, entry);
    if (!existsSync(path)) continue;
    if (statSync(path).isDirectory()) collect(path, files);
    else if (isSource(path)) files.push(path);
  }
  return files.map((file) => relative(root, file).split(sep).join('/')).sort();
}

function collect(folder: string, files: string[]): void {
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) collect(path, files);
    else if (isSource(path)) files.push(path);
  }
}

function isSource(path: string): boolean {
  return path.endsWith('.ts') && !path.endsWith('.d.ts');
}
