/**
 * The files of a folder of segments: listing the committed segments (those
 * with a manifest) while deleting the leftovers of builds that never
 * committed, and removing a segment so that a crash part-way leaves no
 * half-visible segment. All I/O goes through the FileSystem interface.
 */

import { join } from 'node:path';
import { storageFailed } from '../../runtime/fs-errors.js';
import type { FileSystem } from '../../runtime/fs.js';
import { removeTempFiles } from '../atomic-file.js';
import { MANIFEST_SUFFIX, segmentFileNames, segmentNameOf, validateSegmentName } from './manifest.js';

/**
 * The names of the committed segments in `dir`, sorted (code-unit order);
 * none when `dir` does not exist. Deletes, durably, temp files and the data
 * files of segments without a manifest. Call only while no build is writing
 * into `dir` (an in-flight build has no manifest yet).
 */
export async function listSegments(fs: FileSystem, dir: string): Promise<string[]> {
  try {
    if ((await fs.stat(dir)) === null) return [];
    await removeTempFiles(fs, dir);
    const entries = await fs.readdir(dir);
    const committed = new Set<string>();
    for (const entry of entries) {
      if (entry.endsWith(MANIFEST_SUFFIX)) {
        const name = segmentNameOf(entry);
        if (name !== null) committed.add(name);
      }
    }
    const orphans = entries.filter((entry) => {
      const name = segmentNameOf(entry);
      return name !== null && !committed.has(name);
    });
    for (const entry of orphans) await fs.rm(join(dir, entry));
    if (orphans.length > 0) await fs.fsyncDir(dir);
    return [...committed].sort();
  } catch (error) {
    throw storageFailed(`listing segments in ${dir}`, error);
  }
}

/**
 * Deletes segment `name` from `dir`: first its manifest (so a crash leaves
 * only orphan files that `listSegments` cleans), then its data files; resolves
 * once the deletions are durable. No error when files are already gone.
 */
export async function removeSegment(fs: FileSystem, dir: string, name: string): Promise<void> {
  validateSegmentName(name);
  const names = segmentFileNames(name);
  try {
    await fs.rm(join(dir, names.manifest));
    await fs.fsyncDir(dir);
    await fs.rm(join(dir, names.parquet));
    await fs.rm(join(dir, names.index));
    await fs.fsyncDir(dir);
  } catch (error) {
    throw storageFailed(`removing segment ${name} from ${dir}`, error);
  }
}
