// Proves the source tree obeys the layer rule of test/architecture/layers.ts (runtime ← storage ← cluster ← actors ←
// actors/client ← index.ts, runtime's leaf modules for all, no import cycle of any kind) by parsing every import with
// the TypeScript parser, and proves the checker catches breakage on small fake trees in fixtures/: a forbidden edge of
// every kind (value, type-only, dynamic, module URL), a reach outside the tree, a missing module, a value cycle and a
// type-only cycle.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fileImports, importGraph } from './import-graph.js';
import { RUNTIME_LEAF_MODULES, describeEdge, forbiddenEdges, importCycles } from './layers.js';
import { REPOSITORY_ROOT, sourceFiles } from './source-tree.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

function check(root: string): { forbidden: string[]; cycles: string[] } {
  const edges = importGraph(root, sourceFiles(root));
  return {
    forbidden: forbiddenEdges(edges).map((violation) => `${describeEdge(violation.edge)}: ${violation.reason}`),
    cycles: importCycles(edges).map((cycle) => cycle.join(' → ')),
  };
}

describe('the source tree', () => {
  const files = sourceFiles(REPOSITORY_ROOT);
  const edges = importGraph(REPOSITORY_ROOT, files);

  it('is read whole: every layer, its imports and the modules it loads by URL', () => {
    for (const folder of ['runtime/', 'runtime/sim/', 'storage/', 'cluster/', 'actors/', 'actors/client/']) {
      expect(files.some((file) => file.startsWith(folder))).toBe(true);
    }
    expect(files).toContain('index.ts');
    expect(files.some((file) => file.startsWith('test/') || file.startsWith('bench/'))).toBe(false);
    expect(edges.filter((edge) => edge.kind === 'type').length).toBeGreaterThan(0);
    expect(edges.filter((edge) => edge.kind === 'url').length).toBeGreaterThan(0);
  });

  it('names every runtime leaf module that exists', () => {
    for (const leaf of RUNTIME_LEAF_MODULES) expect(files).toContain(leaf);
  });

  it('has no edge the layer rule forbids', () => {
    expect(check(REPOSITORY_ROOT).forbidden).toEqual([]);
  });

  it('has no import cycle, type-only imports included', () => {
    expect(check(REPOSITORY_ROOT).cycles).toEqual([]);
  });
});

describe('the import graph', () => {
  it('reads every way a module is named, and leaves package imports and computed specifiers out', () => {
    const edges = fileImports(join(FIXTURES, 'imports'), 'every-kind.ts');
    expect(edges.map((edge) => `${edge.line} ${edge.kind} ${edge.to ?? `unresolved ${edge.specifier}`}`)).toEqual([
      '2 value target-a.ts',
      '3 type target-b.ts',
      '4 type target-b.ts',
      '6 value target-a.ts',
      '7 value target-a.ts',
      '8 type target-b.ts',
      '14 type target-b.ts',
      '15 url target-c.ts',
      '16 url worker.mjs',
      '18 url unresolved ./no-such-module',
      '23 dynamic target-c.ts',
    ]);
  });
});

describe('the layer checker', () => {
  it('accepts a tree that keeps the rule', () => {
    expect(check(join(FIXTURES, 'layers-good'))).toEqual({ forbidden: [], cycles: [] });
  });

  it('reports every forbidden edge and every cycle of a tree that breaks it', () => {
    const { forbidden, cycles } = check(join(FIXTURES, 'layers-bad'));
    expect(forbidden).toEqual([
      'actors/actor.ts:2 → actors/client/host.ts (value): actors may not import client',
      'index.ts:2 → test/helper.ts (value): reaches outside the source tree',
      'index.ts:5 → ./runtime/missing.ts (url): names no file of the tree',
      'runtime/errors.ts:2 → runtime/system.ts (value): a runtime leaf module imports only other leaf modules',
      'runtime/system.ts:2 → storage/store.ts (type): runtime may not import storage',
      'runtime/system.ts:5 → actors/actor.ts (url): runtime may not import actors',
      'runtime/system.ts:7 → cluster/route.ts (dynamic): runtime may not import cluster',
      'storage/store.ts:2 → cluster/route.ts (value): storage may not import cluster',
      'storage/store.ts:3 → runtime/system.ts (value): storage may import from runtime/ only its leaf modules',
    ]);
    expect(cycles).toEqual([
      'actors/actor.ts → actors/client/host.ts → actors/actor.ts',
      'cluster/route.ts → storage/store.ts → cluster/route.ts',
      'storage/left.ts → storage/right.ts → storage/left.ts',
    ]);
  });
});
