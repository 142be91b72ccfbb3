/**
 * The filesystem interface every storage class and actor uses. Actors get it
 * from `ctx.fs`; storage classes take it as a constructor argument. The real
 * implementation (`nodeFileSystem`) wraps `node:fs/promises`; the simulator
 * and fault-injection tests supply their own.
 *
 * Errors are rejected as Node-style errors carrying a `code` string
 * (`ENOENT`, `EEXIST`, `EIO`, `ENOSPC`, ...), whichever implementation is used.
 */
import * as fsp from 'node:fs/promises';
import { constants, fdatasyncSync, writeSync } from 'node:fs';

/** Open modes: `r` read, `r+` read/write existing, `a` append (create), `w` truncate (create), `wx` create new. */
export type OpenFlags = 'r' | 'r+' | 'a' | 'w' | 'wx';

/** Basic facts about a path. */
export interface FileStat {
  readonly size: number;
  readonly isFile: boolean;
  readonly isDirectory: boolean;
}

/** An open file. Positions are byte offsets; `write` without a position appends at the current end. */
export interface FileHandle {
  /**
   * Writes all of `data` at `position` (or at the end for append handles); resolves when the OS has it, not when it is
   * durable.
   * Keeps no reference to `data` once the returned promise settles: the caller may reuse that memory.
   */
  write(data: Uint8Array, position?: number): Promise<void>;
  /**
   * Reads up to `length` bytes at `position` into `buffer[offset..]`; resolves with the count read (0 at end of file).
   */
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  /** Makes written data durable (fdatasync). */
  datasync(): Promise<void>;
  /**
   * Optional blocking variants of `write` (at a position) and `datasync`, for a
   * thread that owns the file and may block (the WAL writer): the same
   * contract without a thread-pool round trip. Implementations that cannot
   * block (the simulator) leave them out.
   */
  writeSync?(data: Uint8Array, position: number): void;
  datasyncSync?(): void;
  /** Makes written data and metadata durable (fsync). */
  sync(): Promise<void>;
  /** Cuts the file to `length` bytes. */
  truncate(length: number): Promise<void>;
  /** The file's current size in bytes. */
  size(): Promise<number>;
  close(): Promise<void>;
}

/** The operations storage needs, nothing more. */
export interface FileSystem {
  open(path: string, flags: OpenFlags): Promise<FileHandle>;
  /** Reads a whole file. */
  readFile(path: string): Promise<Uint8Array>;
  /** Atomic on POSIX within one filesystem; replaces `to` if it exists. */
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** Entry names (not paths) of a directory. */
  readdir(path: string): Promise<string[]>;
  mkdir(path: string): Promise<void>;
  /** Removes a file or directory tree; no error if missing. */
  rm(path: string): Promise<void>;
  /** Facts about a path, or `null` when it does not exist. */
  stat(path: string): Promise<FileStat | null>;
  /** Makes a directory's entries (creates, renames, unlinks) durable. */
  fsyncDir(path: string): Promise<void>;
}

class NodeFileHandle implements FileHandle {
  constructor(
    private readonly handle: fsp.FileHandle,
    private readonly append: boolean,
  ) {}

  async write(data: Uint8Array, position?: number): Promise<void> {
    let written = 0;
    while (written < data.byteLength) {
      const at = this.append || position === undefined ? null : position + written;
      const { bytesWritten } = await this.handle.write(data, written, data.byteLength - written, at);
      if (bytesWritten <= 0) throw Object.assign(new Error('short write'), { code: 'EIO' });
      written += bytesWritten;
    }
  }

  async read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    const { bytesRead } = await this.handle.read(buffer, offset, length, position);
    return bytesRead;
  }

  datasync(): Promise<void> {
    return this.handle.datasync();
  }

  writeSync(data: Uint8Array, position: number): void {
    let written = 0;
    while (written < data.byteLength) {
      const count = writeSync(this.handle.fd, data, written, data.byteLength - written, position + written);
      if (count <= 0) throw Object.assign(new Error('short write'), { code: 'EIO' });
      written += count;
    }
  }

  datasyncSync(): void {
    fdatasyncSync(this.handle.fd);
  }

  sync(): Promise<void> {
    return this.handle.sync();
  }

  truncate(length: number): Promise<void> {
    return this.handle.truncate(length);
  }

  async size(): Promise<number> {
    return (await this.handle.stat()).size;
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

/** The real filesystem, through `node:fs/promises`. */
export const nodeFileSystem: FileSystem = {
  async open(path, flags) {
    return new NodeFileHandle(await fsp.open(path, flags), flags === 'a');
  },
  async readFile(path) {
    return fsp.readFile(path);
  },
  rename: (from, to) => fsp.rename(from, to),
  unlink: (path) => fsp.unlink(path),
  readdir: (path) => fsp.readdir(path),
  async mkdir(path) {
    await fsp.mkdir(path, { recursive: true });
  },
  rm: (path) => fsp.rm(path, { recursive: true, force: true }),
  async stat(path) {
    try {
      const stats = await fsp.stat(path);
      return { size: stats.size, isFile: stats.isFile(), isDirectory: stats.isDirectory() };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  },
  async fsyncDir(path) {
    const handle = await fsp.open(path, constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
};

/** Kept here for importers of this module; the function lives in fs-errors.ts. */
export { errnoCode } from './fs-errors.js';
