/**
 * The file work of backups and restores, through the FileSystem interface:
 * checking that a backup target is empty, copying files durably (each copy
 * fsynced, then its folder), and copying a shard folder. Copies, not hard
 * links: the FileSystem interface has no link, and a backup is meant to
 * survive the loss of the disk it came from when it is written elsewhere.
 */
import { basename, join } from 'node:path';
import { invalidArgument } from '../runtime/errors.js';
import { errnoCode, io, storageFailed } from '../runtime/fs-errors.js';
import type { FileSystem } from '../runtime/fs.js';
import { isTempFileName, makeDirectoryDurable } from './atomic-file.js';

/** Bytes read and written per step of a copy. */
const COPY_CHUNK_BYTES = 1024 * 1024;
/** Files a copied folder never carries: the lock of an open database. */
const NOT_COPIED = new Set(['shoal.lock']);

/** Files and bytes copied. */
export interface Copied {
  readonly files: number;
  readonly bytes: number;
}

/**
 * Makes `dir` an empty folder for a backup, durably: created when missing;
 * INVALID_ARGUMENT (naming `field`) when it is a file or a folder with anything in it.
 */
export async function prepareEmptyFolder(fs: FileSystem, dir: string, field: string): Promise<void> {
  const found = await io(`checking ${dir}`, () => fs.stat(dir));
  if (found !== null && !found.isDirectory) throw invalidArgument(field, `${dir} is a file, not a folder`);
  if (found !== null) {
    const entries = await io(`listing ${dir}`, () => fs.readdir(dir));
    if (entries.length > 0) {
      const shown = entries.slice(0, 5).join(', ');
      throw invalidArgument(field, `${dir} is not empty (${shown}); a backup goes into an empty or missing folder`);
    }
  }
  await makeDirectoryDurable(fs, dir);
}

/**
 * Claims the empty folder `dir` for one backup by creating the file `marker`
 * in it exclusively: of two backups into the same folder, the second is
 * refused (INVALID_ARGUMENT naming `field`) and touches nothing.
 */
export async function claimEmptyFolder(fs: FileSystem, dir: string, marker: string, field: string): Promise<void> {
  await prepareEmptyFolder(fs, dir, field);
  try {
    const handle = await fs.open(join(dir, marker), 'wx');
    await handle.close();
  } catch (error) {
    if (errnoCode(error) === 'EEXIST') throw invalidArgument(field, `another backup is writing into ${dir}`);
    throw storageFailed(`creating ${join(dir, marker)}`, error);
  }
}

/** Copies the file `from` to the new file `to` and fsyncs it (not its folder); resolves with the bytes copied. */
export async function copyFileDurable(fs: FileSystem, from: string, to: string): Promise<number> {
  const source = await io(`opening ${from}`, () => fs.open(from, 'r'));
  try {
    const target = await io(`creating ${to}`, () => fs.open(to, 'wx'));
    try {
      const buffer = new Uint8Array(COPY_CHUNK_BYTES);
      let position = 0;
      for (;;) {
        const read = await io(`reading ${from}`, () => source.read(buffer, 0, buffer.byteLength, position));
        if (read === 0) break;
        await io(`writing ${to}`, () => target.write(buffer.subarray(0, read), position));
        position += read;
      }
      await io(`syncing ${to}`, () => target.sync());
      return position;
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}

/** Copies the files `names` of folder `fromDir` into `toDir` (created durably), then fsyncs `toDir`. */
export async function copyFiles(
  fs: FileSystem,
  fromDir: string,
  toDir: string,
  names: readonly string[],
): Promise<Copied> {
  await makeDirectoryDurable(fs, toDir);
  let bytes = 0;
  for (const name of names) bytes += await copyFileDurable(fs, join(fromDir, name), join(toDir, name));
  await io(`syncing ${toDir}`, () => fs.fsyncDir(toDir));
  return { files: names.length, bytes };
}

/**
 * Copies every file directly in `fromDir` into `toDir`, except temp files and
 * locks; a missing `fromDir` copies nothing (but `toDir` is created).
 */
export async function copyFolder(fs: FileSystem, fromDir: string, toDir: string): Promise<Copied> {
  const found = await io(`checking ${fromDir}`, () => fs.stat(fromDir));
  const entries = found === null ? [] : await io(`listing ${fromDir}`, () => fs.readdir(fromDir));
  const names: string[] = [];
  for (const name of entries.sort()) {
    if (isTempFileName(name) || NOT_COPIED.has(basename(name))) continue;
    const stat = await io(`checking ${join(fromDir, name)}`, () => fs.stat(join(fromDir, name)));
    if (stat?.isFile === true) names.push(name);
  }
  return copyFiles(fs, fromDir, toDir, names);
}

/** Fsyncs each folder of `dirs`, in order (children before their parents, so each new entry is durable). */
export async function syncFolders(fs: FileSystem, dirs: readonly string[]): Promise<void> {
  for (const dir of dirs) await io(`syncing ${dir}`, () => fs.fsyncDir(dir));
}

/** The bytes of the files directly in `dir` (none when it does not exist). */
export async function folderBytes(fs: FileSystem, dir: string): Promise<number> {
  const found = await io(`checking ${dir}`, () => fs.stat(dir));
  if (found === null) return 0;
  let bytes = 0;
  for (const name of await io(`listing ${dir}`, () => fs.readdir(dir))) {
    const stat = await io(`checking ${join(dir, name)}`, () => fs.stat(join(dir, name)));
    if (stat?.isFile === true) bytes += stat.size;
  }
  return bytes;
}
