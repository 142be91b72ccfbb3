/**
 * The storage interface engines use for a storage URL: list, read, atomic
 * put, delete and rename, all within that URL's root. `file:` is implemented
 * on top of the `FileSystem` interface; s3/gs/adls would implement the same
 * five operations (list by prefix, get, put-if-complete, delete, copy+delete
 * inside one bucket); they are refused for now.
 *
 * A location is an absolute path in the backend's namespace, as
 * `locate(...segments)` returns it. Every operation asserts that its
 * locations lie under the root, and `rename` that both ends share it: a move
 * across storage URLs would cross devices or buckets, so it is a bug.
 */
import { isAbsolute, join, relative, sep } from 'node:path';
import { ShoalError, invalidArgument } from '../runtime/errors.js';
import type { FileSystem } from '../runtime/fs.js';
import { writeFileAtomic } from './atomic-file.js';
import { PLANNED_SCHEMES, storageRootPath } from './placement.js';

/** One entry of a listing. */
export interface StorageEntry {
  /** The entry name (not a path). */
  readonly name: string;
  readonly isDirectory: boolean;
  /** Bytes for a file, 0 for a folder. */
  readonly size: number;
}

/** What an engine may do with one storage URL. */
export interface StorageBackend {
  /** The storage URL this backend serves. */
  readonly url: string;
  /** The location of `segments` under the root (`locate('wal', id)`). */
  locate(...segments: string[]): string;
  /** Entries directly under `location`; empty when it does not exist. */
  list(location: string): Promise<StorageEntry[]>;
  /** The whole content at `location`. */
  read(location: string): Promise<Uint8Array>;
  /**
   * Replaces `location` with `bytes` so that a reader sees the old or the new content, never a mix; durable on resolve.
   */
  putAtomic(location: string, bytes: Uint8Array): Promise<void>;
  /** Deletes `location` and everything under it; no error if missing. */
  delete(location: string): Promise<void>;
  /** Moves `from` to `to`, both under this root (asserted): never across storage URLs. */
  rename(from: string, to: string): Promise<void>;
}

/** True when `path` is `root` or lies under it (both absolute, normalised). */
export function isUnderRoot(root: string, path: string): boolean {
  const inside = relative(root, path);
  return inside === '' || (!inside.startsWith(`..${sep}`) && inside !== '..' && !isAbsolute(inside));
}

/** Asserts that `path` lies under `root`; INTERNAL (a bug) otherwise. */
export function assertUnderRoot(root: string, path: string): void {
  if (!isUnderRoot(root, path))
    throw new ShoalError('INTERNAL', `storage location ${path} is outside its storage root ${root}`, { root, path });
}

/**
 * Asserts that `from` and `to` both lie under `root`: a rename never crosses storage URLs (INTERNAL, a bug, otherwise).
 */
export function assertSameRoot(root: string, from: string, to: string): void {
  if (!isUnderRoot(root, from) || !isUnderRoot(root, to)) {
    throw new ShoalError(
      'INTERNAL',
      `rename across storage URLs: ${from} -> ${to} leaves the root ${root}; moves must stay inside one URL`,
      { root, from, to },
    );
  }
}

/** The `file:` backend: a folder, through the `FileSystem` interface. */
export class FileStorageBackend implements StorageBackend {
  private readonly root: string;

  constructor(
    private readonly fs: FileSystem,
    readonly url: string,
  ) {
    this.root = storageRootPath(url);
  }

  locate(...segments: string[]): string {
    const location = join(this.root, ...segments);
    assertUnderRoot(this.root, location);
    return location;
  }

  async list(location: string): Promise<StorageEntry[]> {
    assertUnderRoot(this.root, location);
    const stat = await this.fs.stat(location);
    if (stat === null || !stat.isDirectory) return [];
    const entries: StorageEntry[] = [];
    for (const name of (await this.fs.readdir(location)).sort()) {
      const child = await this.fs.stat(join(location, name));
      if (child === null) continue; // Deleted between readdir and stat.
      entries.push({ name, isDirectory: child.isDirectory, size: child.isFile ? child.size : 0 });
    }
    return entries;
  }

  read(location: string): Promise<Uint8Array> {
    assertUnderRoot(this.root, location);
    return this.fs.readFile(location);
  }

  putAtomic(location: string, bytes: Uint8Array): Promise<void> {
    assertUnderRoot(this.root, location);
    return writeFileAtomic(this.fs, location, bytes);
  }

  delete(location: string): Promise<void> {
    assertUnderRoot(this.root, location);
    return this.fs.rm(location);
  }

  rename(from: string, to: string): Promise<void> {
    assertSameRoot(this.root, from, to);
    return this.fs.rename(from, to);
  }
}

/**
 * The backend of a storage URL; only `file:` exists yet, others are INVALID_ARGUMENT (validated at open, so reaching
 * this is rare).
 */
export function openStorageBackend(fs: FileSystem, url: string): StorageBackend {
  const scheme = new URL(url).protocol;
  if (scheme === 'file:') return new FileStorageBackend(fs, url);
  const problem = PLANNED_SCHEMES.includes(scheme) ? 'is not supported yet' : 'is not a storage scheme';
  throw invalidArgument('storage', `${scheme}// ${problem}: ${url}`, { scheme });
}

/**
 * Wraps `fs` so that every rename asserts both ends lie under `rootPath`: for
 * engines (the WAL, segment writers) that use the `FileSystem` interface
 * directly inside their component folder. Other operations pass through.
 */
export function confineRenames(fs: FileSystem, rootPath: string): FileSystem {
  return {
    open: (path, flags) => fs.open(path, flags),
    readFile: (path) => fs.readFile(path),
    rename(from, to) {
      assertSameRoot(rootPath, from, to);
      return fs.rename(from, to);
    },
    unlink: (path) => fs.unlink(path),
    readdir: (path) => fs.readdir(path),
    mkdir: (path) => fs.mkdir(path),
    rm: (path) => fs.rm(path),
    stat: (path) => fs.stat(path),
    fsyncDir: (path) => fs.fsyncDir(path),
  };
}
