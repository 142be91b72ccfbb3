/**
 * Atomic whole-file replacement and cleanup of the temp files it leaves when
 * a process dies mid-write. Owns the temp-file naming rule (`<name>.tmp-<suffix>`);
 * every folder that holds data calls `removeTempFiles` on open so a temp file
 * is never mistaken for data. All I/O goes through the `FileSystem` interface.
 */
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { storageFailed } from '../runtime/fs-errors.js';
import type { FileSystem } from '../runtime/fs.js';

/** The marker every temp file name contains. Data files must never contain it. */
export const TEMP_FILE_MARKER = '.tmp-';

/** True when `name` (an entry name, not a path) is a temp file left by `writeFileAtomic`. */
export function isTempFileName(name: string): boolean {
  return name.includes(TEMP_FILE_MARKER);
}

/**
 * Replaces `path` with `data` so that after a crash the file holds either the
 * old or the new content, never a mix: writes `<path>.tmp-<random>` in the
 * same folder, fsyncs it, renames it over `path`, then fsyncs the folder.
 * Resolves once the new content and the rename are durable. `suffix` lets a
 * deterministic simulator choose the temp name. Rejects with STORAGE_FAILED.
 */
export async function writeFileAtomic(fs: FileSystem, path: string, data: Uint8Array, suffix?: string): Promise<void> {
  const tempPath = `${path}${TEMP_FILE_MARKER}${suffix ?? randomBytes(8).toString('hex')}`;
  try {
    const handle = await fs.open(tempPath, 'wx');
    try {
      await handle.write(data, 0);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tempPath, path);
  } catch (error) {
    await fs.rm(tempPath).catch(() => undefined);
    throw storageFailed(`writing ${path} atomically`, error);
  }
  try {
    await fs.fsyncDir(dirname(path));
  } catch (error) {
    throw storageFailed(`syncing the folder of ${path}`, error);
  }
}

/**
 * Deletes every `*.tmp-*` file directly in `dir` and makes the deletions
 * durable; resolves with the names removed (none when `dir` does not exist).
 * Call before listing a data folder, while no writer is using it.
 */
export async function removeTempFiles(fs: FileSystem, dir: string): Promise<string[]> {
  try {
    if ((await fs.stat(dir)) === null) return [];
    const removed = (await fs.readdir(dir)).filter(isTempFileName);
    for (const name of removed) await fs.rm(join(dir, name));
    if (removed.length > 0) await fs.fsyncDir(dir);
    return removed;
  } catch (error) {
    throw storageFailed(`removing temp files in ${dir}`, error);
  }
}

/**
 * Creates `dir` and any missing parents so that they survive a power loss:
 * each new folder's entry is fsynced in its parent. A folder created with a
 * plain `mkdir` may vanish with everything written inside it, even fsynced
 * files, if the machine loses power before the parent is synced. Does
 * nothing (no fsync) when `dir` exists. Rejects with STORAGE_FAILED.
 */
export async function makeDirectoryDurable(fs: FileSystem, dir: string): Promise<void> {
  const missing: string[] = [];
  try {
    for (let folder = dir; (await fs.stat(folder)) === null && dirname(folder) !== folder; folder = dirname(folder))
      missing.push(folder);
    if (missing.length === 0) return;
    await fs.mkdir(dir);
    for (const folder of missing) await fs.fsyncDir(dirname(folder));
  } catch (error) {
    throw storageFailed(`creating ${dir} durably`, error, { path: dir });
  }
}
