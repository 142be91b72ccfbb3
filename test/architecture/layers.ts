/**
 * The layer rule of the source tree, and a cycle finder, over an import graph.
 *
 * The rule: `runtime/` ← `storage/` ← `cluster/` ← `actors/` ← `actors/client/`
 * ← `actors/adapters/`, `actors/server/` and `actors/cli/` (what puts Shoal in
 * front of a framework, a protocol or a shell; one layer, "adapters") ←
 * `index.ts` (and `bin/`, should there be one). A module may import modules
 * of its own layer and of lower layers, never of a higher one; type-only
 * imports, dynamic imports and modules loaded by URL count like any import.
 * `runtime/sim/` is part of `runtime/`.
 *
 * runtime's leaf modules (RUNTIME_LEAF_MODULES) are what every layer may use:
 * errors, clocks, randomness, assertions, deadlines, hashing, logging, module
 * URLs, the filesystem interface and its errors, the limits table and option
 * checks. They import nothing but each other. The
 * pure layers, `storage/` and `cluster/`, import from `runtime/` only these
 * leaves: the actor machinery (system, stations, supervision, the simulator)
 * is for actors and what runs them.
 *
 * Cycles: no cycle between modules at all, whatever the kinds of its edges.
 */
import type { ImportEdge } from './import-graph.js';

/** The layers, lowest first. */
export const LAYERS = ['runtime', 'storage', 'cluster', 'actors', 'client', 'adapters', 'entry'] as const;

/** One layer of the source tree. */
export type Layer = (typeof LAYERS)[number];

/** runtime's leaf modules: importable by every layer, importing only each other. */
export const RUNTIME_LEAF_MODULES: readonly string[] = [
  'runtime/assert.ts',
  'runtime/clock.ts',
  'runtime/deadline.ts',
  'runtime/errors.ts',
  'runtime/fs-errors.ts',
  'runtime/fs.ts',
  'runtime/hash.ts',
  'runtime/limits.ts',
  'runtime/log.ts',
  'runtime/module-url.ts',
  'runtime/options.ts',
  'runtime/random.ts',
];

/** Layers of pure code: from `runtime/` they may import its leaf modules only. */
const PURE_LAYERS: readonly Layer[] = ['storage', 'cluster'];

/** An edge the rule forbids, and why. */
export interface Violation {
  readonly edge: ImportEdge;
  readonly reason: string;
}

/** The layer of a file of the tree (relative path with `/`), or null when it lies outside the source tree. */
export function layerOf(file: string): Layer | null {
  if (file === 'index.ts' || file.startsWith('bin/')) return 'entry';
  if (file.startsWith('actors/client/')) return 'client';
  if (['actors/adapters/', 'actors/server/', 'actors/cli/'].some((folder) => file.startsWith(folder)))
    return 'adapters';
  const folder = file.split('/')[0] as string;
  if (folder === 'actors' || folder === 'cluster' || folder === 'storage' || folder === 'runtime') return folder;
  return null;
}

/** Every edge of `edges` that breaks the layer rule (an edge to no file of the tree breaks it too). */
export function forbiddenEdges(edges: readonly ImportEdge[]): Violation[] {
  const violations: Violation[] = [];
  for (const edge of edges) {
    const reason = edgeViolation(edge);
    if (reason !== null) violations.push({ edge, reason });
  }
  return violations;
}

function edgeViolation(edge: ImportEdge): string | null {
  const fromLayer = layerOf(edge.from);
  if (fromLayer === null) return `${edge.from} is outside the source tree`;
  if (edge.to === null) return 'names no file of the tree';
  const toLayer = layerOf(edge.to);
  if (toLayer === null) return 'reaches outside the source tree';
  if (LAYERS.indexOf(toLayer) > LAYERS.indexOf(fromLayer)) return `${fromLayer} may not import ${toLayer}`;
  const fromLeaf = RUNTIME_LEAF_MODULES.includes(edge.from);
  const toLeaf = RUNTIME_LEAF_MODULES.includes(edge.to);
  if (fromLeaf && !toLeaf) return 'a runtime leaf module imports only other leaf modules';
  if (PURE_LAYERS.includes(fromLayer) && toLayer === 'runtime' && !toLeaf) {
    return `${fromLayer} may import from runtime/ only its leaf modules`;
  }
  return null;
}

/**
 * The import cycles of `edges`: one cycle per strongly connected component
 * with more than one module (or a module importing itself), as the list of
 * modules along it, first module repeated at the end.
 */
export function importCycles(edges: readonly ImportEdge[]): string[][] {
  const next = new Map<string, Set<string>>();
  for (const edge of edges) {
    if (edge.to === null) continue;
    const targets = next.get(edge.from) ?? new Set<string>();
    targets.add(edge.to);
    next.set(edge.from, targets);
  }
  const cycles: string[][] = [];
  for (const component of stronglyConnectedComponents(next)) {
    const first = component[0] as string;
    if (component.length > 1 || next.get(first)?.has(first) === true) {
      cycles.push(cycleThrough(first, new Set(component), next));
    }
  }
  return cycles;
}

/** Tarjan's algorithm (recursive: a source tree is shallow); components and their members in sorted order. */
function stronglyConnectedComponents(next: Successors): string[][] {
  const index = new Map<string, number>();
  const lowLink = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const strongConnect = (node: string): void => {
    index.set(node, index.size);
    lowLink.set(node, index.get(node) as number);
    stack.push(node);
    onStack.add(node);
    for (const target of [...(next.get(node) ?? [])].sort()) {
      if (!index.has(target)) {
        strongConnect(target);
        lowLink.set(node, Math.min(lowLink.get(node) as number, lowLink.get(target) as number));
      } else if (onStack.has(target)) {
        lowLink.set(node, Math.min(lowLink.get(node) as number, index.get(target) as number));
      }
    }
    if (lowLink.get(node) !== index.get(node)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop() as string;
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    components.push(component.sort());
  };
  for (const node of [...next.keys()].sort()) if (!index.has(node)) strongConnect(node);
  return components.sort((a, b) => ((a[0] as string) < (b[0] as string) ? -1 : 1));
}

type Successors = ReadonlyMap<string, ReadonlySet<string>>;

/** A shortest cycle from `start` back to itself inside `component` (breadth first). */
function cycleThrough(start: string, component: ReadonlySet<string>, next: Successors): string[] {
  const parent = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift() as string;
    for (const target of [...(next.get(node) ?? [])].sort()) {
      if (!component.has(target)) continue;
      if (target === start) {
        const path: string[] = [];
        for (let at = node; at !== start; at = parent.get(at) as string) path.unshift(at);
        return [start, ...path, start];
      }
      if (!parent.has(target)) {
        parent.set(target, node);
        queue.push(target);
      }
    }
  }
  return [start, start];
}

/** One line for a report: where the edge is, what it names, and how. */
export function describeEdge(edge: ImportEdge): string {
  return `${edge.from}:${edge.line} → ${edge.to ?? edge.specifier} (${edge.kind})`;
}
