/**
 * The directory operations of the simulated filesystem as plain functions
 * over a `Namespace`: they check the same preconditions as POSIX (and fail
 * with the same errno codes as `node:fs`), then log their tree changes as
 * pending metadata. Called when an operation completes, never earlier.
 */
import type { FileStat, OpenFlags } from '../fs.js';
import { FileContent } from './sim-file-content.js';
import { parentOf } from './sim-namespace.js';
import type { Namespace, SimNode, TreeChange } from './sim-namespace.js';
import { fsError } from './sim-fs-errors.js';

function isBelow(path: string, ancestor: string): boolean {
  return ancestor === '/' ? path !== '/' : path.startsWith(`${ancestor}/`);
}

/** Fails unless `dir` exists and is a folder. */
function requireDirectory(namespace: Namespace, dir: string, syscall: string, path: string): void {
  const node = namespace.get(dir);
  if (node === undefined) throw fsError('ENOENT', syscall, path);
  if (node.kind !== 'dir') throw fsError('ENOTDIR', syscall, path);
}

/** The content an `open` with `flags` reaches, creating (or truncating) the file as POSIX would. */
export function openEntry(namespace: Namespace, path: string, flags: OpenFlags, nextId: () => number): FileContent {
  const node = namespace.get(path);
  if (node?.kind === 'dir') throw fsError('EISDIR', 'open', path);
  if (flags === 'r' || flags === 'r+') {
    if (node === undefined) throw fsError('ENOENT', 'open', path);
    return node.content;
  }
  if (flags === 'wx' && node !== undefined) throw fsError('EEXIST', 'open', path);
  if (node !== undefined) {
    if (flags === 'w') node.content.truncate(0);
    return node.content;
  }
  requireDirectory(namespace, parentOf(path), 'open', path);
  const content = new FileContent(nextId());
  namespace.change([{ kind: 'set', path, node: { kind: 'file', content } }]);
  return content;
}

/** The content of an existing file. */
export function fileAt(namespace: Namespace, path: string, syscall: string): FileContent {
  const node = namespace.get(path);
  if (node === undefined) throw fsError('ENOENT', syscall, path);
  if (node.kind === 'dir') throw fsError('EISDIR', syscall, path);
  return node.content;
}

/** Moves a file or folder, replacing a file (or an empty folder) at `to`. */
export function renameEntry(namespace: Namespace, from: string, to: string): void {
  const source = namespace.get(from);
  if (source === undefined) throw fsError('ENOENT', 'rename', from);
  requireDirectory(namespace, parentOf(to), 'rename', to);
  if (from === to) return;
  if (isBelow(to, from)) throw fsError('EINVAL', 'rename', to);
  const target = namespace.get(to);
  if (source.kind === 'file' && target?.kind === 'dir') throw fsError('EISDIR', 'rename', to);
  if (source.kind === 'dir' && target?.kind === 'file') throw fsError('ENOTDIR', 'rename', to);
  if (target?.kind === 'dir' && namespace.children(to).length > 0) throw fsError('ENOTEMPTY', 'rename', to);
  const moved: TreeChange[] = namespace
    .subtree(from)
    .map(([path, node]): TreeChange => ({ kind: 'set', path: to + path.slice(from.length), node }));
  namespace.change([{ kind: 'delete-tree', path: to }, { kind: 'delete-tree', path: from }, ...moved]);
}

/** Removes a file (not a folder). */
export function unlinkEntry(namespace: Namespace, path: string): void {
  fileAt(namespace, path, 'unlink');
  namespace.change([{ kind: 'delete-tree', path }]);
}

/** Entry names of a folder, sorted. */
export function listEntries(namespace: Namespace, path: string): string[] {
  requireDirectory(namespace, path, 'scandir', path);
  return namespace.children(path);
}

/** Creates `path` and its missing ancestors (mkdir -p). */
export function makeDirectories(namespace: Namespace, path: string): void {
  const missing: TreeChange[] = [];
  const directory: SimNode = { kind: 'dir' };
  for (let dir = path; ; dir = parentOf(dir)) {
    const node = namespace.get(dir);
    if (node?.kind === 'file') throw fsError(dir === path ? 'EEXIST' : 'ENOTDIR', 'mkdir', path);
    if (node !== undefined) break;
    missing.unshift({ kind: 'set', path: dir, node: directory });
  }
  // One metadata operation per folder, as `mkdir -p` makes one mkdir call per level.
  for (const change of missing) namespace.change([change]);
}

/** Removes a file or folder tree (rm -rf); nothing if absent. */
export function removeTree(namespace: Namespace, path: string): void {
  if (path === '/') throw fsError('EINVAL', 'rm', path);
  if (namespace.get(path) !== undefined) namespace.change([{ kind: 'delete-tree', path }]);
}

/** Facts about a path, or null. */
export function statEntry(namespace: Namespace, path: string): FileStat | null {
  const node = namespace.get(path);
  if (node === undefined) return null;
  return node.kind === 'dir'
    ? { size: 0, isFile: false, isDirectory: true }
    : { size: node.content.size, isFile: true, isDirectory: false };
}

/** fsync of a folder: its pending entry changes become durable. */
export function syncDirectory(namespace: Namespace, path: string): void {
  requireDirectory(namespace, path, 'fsync', path);
  namespace.makeDurable(path);
}
