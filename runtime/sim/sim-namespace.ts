/**
 * The directory tree of the simulated filesystem, twice: the current view
 * (what every call sees) and the durable view (what survives a crash). A
 * create, rename, unlink, mkdir or rm changes the current view at once and
 * is logged as pending against the directories it touches; `fsyncDir(dir)`
 * makes the pending changes that touch `dir` durable, in order. A crash
 * keeps a chosen prefix of the log (a journal that committed some of it),
 * then drops every entry whose parent did not survive.
 */
import { posix } from 'node:path';
import type { FileContent } from './sim-file-content.js';

/** A directory entry: a folder, or a file with its content. */
export type SimNode = { readonly kind: 'dir' } | { readonly kind: 'file'; readonly content: FileContent };

/** One change to the tree: set an entry, or delete an entry and everything below it. */
export type TreeChange =
  | { readonly kind: 'set'; readonly path: string; readonly node: SimNode }
  | { readonly kind: 'delete-tree'; readonly path: string };

interface MetadataOperation {
  readonly changes: readonly TreeChange[];
  /** The directories whose entries it changes. */
  readonly dirs: readonly string[];
}

const DIRECTORY: SimNode = { kind: 'dir' };
const ROOT = '/';

/** The parent folder of an absolute, normalised path. */
export function parentOf(path: string): string {
  return posix.dirname(path);
}

function isBelow(path: string, ancestor: string): boolean {
  return ancestor === ROOT ? path !== ROOT : path.startsWith(`${ancestor}/`);
}

function applyChange(tree: Map<string, SimNode>, change: TreeChange): void {
  if (change.kind === 'set') {
    tree.set(change.path, change.node);
    return;
  }
  tree.delete(change.path);
  for (const path of [...tree.keys()]) if (isBelow(path, change.path)) tree.delete(path);
}

/** The current and durable trees, and the log between them. */
export class Namespace {
  private current = new Map<string, SimNode>([[ROOT, DIRECTORY]]);
  private durable = new Map<string, SimNode>([[ROOT, DIRECTORY]]);
  private pending: MetadataOperation[] = [];

  /** Metadata operations not yet durable. */
  get pendingOperations(): number {
    return this.pending.length;
  }

  /** The entry at `path` in the current view. */
  get(path: string): SimNode | undefined {
    return this.current.get(path);
  }

  /** The entry at `path` in the durable view. */
  getDurable(path: string): SimNode | undefined {
    return this.durable.get(path);
  }

  /** Names directly under `dir` in the current view, sorted (by UTF-16 code units). */
  children(dir: string): string[] {
    const names: string[] = [];
    for (const path of this.current.keys()) {
      if (path !== ROOT && parentOf(path) === dir) names.push(posix.basename(path));
    }
    return names.sort();
  }

  /** Paths at or below `path` in the current view, with their entries, parents first. */
  subtree(path: string): [string, SimNode][] {
    const found: [string, SimNode][] = [];
    for (const [each, node] of this.current) if (each === path || isBelow(each, path)) found.push([each, node]);
    return found.sort(([a], [b]) => a.length - b.length || (a < b ? -1 : 1));
  }

  /**
   * Applies `changes` to the current view now; they become durable with an fsync of a directory they touch (or by luck,
   * at a crash).
   */
  change(changes: readonly TreeChange[]): void {
    for (const each of changes) applyChange(this.current, each);
    const dirs = [...new Set(changes.map((each) => parentOf(each.path)))];
    this.pending.push({ changes, dirs });
  }

  /** Creates `path` (a folder) in both views at once: set-up of a simulation's storage roots. */
  createDurableDirectory(path: string): void {
    for (let dir = path; dir !== ROOT; dir = parentOf(dir)) {
      this.current.set(dir, DIRECTORY);
      this.durable.set(dir, DIRECTORY);
    }
  }

  /** fsync of a directory: every pending operation that touches `dir` becomes durable, in order. */
  makeDurable(dir: string): void {
    const remaining: MetadataOperation[] = [];
    for (const operation of this.pending) {
      if (operation.dirs.includes(dir)) for (const each of operation.changes) applyChange(this.durable, each);
      else remaining.push(operation);
    }
    this.pending = remaining;
  }

  /**
   * A crash: the first `kept` pending operations become durable, the rest are lost; the current view becomes the
   * durable one.
   */
  crash(kept: number): void {
    for (const operation of this.pending.slice(0, kept))
      for (const each of operation.changes) applyChange(this.durable, each);
    this.pending = [];
    const reachable = new Map<string, SimNode>();
    const paths = [...this.durable.keys()].sort((a, b) => a.length - b.length);
    for (const path of paths) {
      const node = this.durable.get(path) as SimNode;
      if (path === ROOT || reachable.get(parentOf(path))?.kind === 'dir') reachable.set(path, node);
    }
    this.durable = reachable;
    this.current = new Map(reachable);
  }

  /** File contents reachable in the durable view, each with one durable path, ordered by id. */
  durableFiles(): { readonly path: string; readonly content: FileContent }[] {
    const files = new Map<FileContent, string>();
    for (const [path, node] of this.durable)
      if (node.kind === 'file' && !files.has(node.content)) files.set(node.content, path);
    return [...files].map(([content, path]) => ({ path, content })).sort((a, b) => a.content.id - b.content.id);
  }
}
