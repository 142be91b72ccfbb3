/**
 * Builds one immutable segment on disk from its rows: `<name>.parquet`, then
 * `<name>.hnsw` when the segment is large enough to index, both made durable,
 * then `<name>.manifest.json` written atomically as the commit point. Runs
 * wherever it is called (the build pool calls it in a worker thread). All
 * file I/O goes through the FileSystem interface except hnswlib writing its
 * own index file, which is then synced and checksummed through the interface.
 */

import { join } from 'node:path';
import { crc32c } from '@node-rs/crc32';
import { invalidArgument } from '../../runtime/errors.js';
import { storageFailed } from '../../runtime/fs-errors.js';
import type { FileSystem } from '../../runtime/fs.js';
import { METRICS } from '../types.js';
import { pauseUnlessAborted, throwIfBuildAborted } from './build-abort.js';
import type { BuildAbortFlag } from './build-abort.js';
import type { Metric } from '../types.js';
import { DEFAULT_HNSW_EF_CONSTRUCTION, DEFAULT_HNSW_M, HnswVectorIndex, validateHnswParameters } from './hnsw-index.js';
import { segmentFileNames, validateSegmentName, writeManifest } from './manifest.js';
import type { SegmentFile, SegmentManifest } from './manifest.js';
import { encodeSegmentRows } from './parquet-codec.js';
import { liveRowCount, sortRowsById, validateSegmentRows } from './segment-rows.js';
import type { SegmentRows } from './segment-rows.js';

/** Segments with fewer live rows than this get no index and are searched exactly. */
export const DEFAULT_INDEX_THRESHOLD_ROWS = 1_000;

/** How to build a segment; omitted fields take the defaults. */
export interface SegmentBuildOptions {
  readonly metric: Metric;
  /** Live rows from which an HNSW index is built (default 1,000). */
  readonly indexThresholdRows?: number;
  /** HNSW degree (default 16). */
  readonly M?: number;
  /** HNSW build candidate-list size (default 200). */
  readonly efConstruction?: number;
  /**
   * Milliseconds for the manifest's `buildMs` (default `performance.now`; the simulator passes its clock). Not for pool
   * builds: functions do not cross threads.
   */
  readonly now?: () => number;
  /**
   * Checked between the build's steps and after every HNSW point: once set, the build gives up before its manifest (see
   * build-abort.ts).
   */
  readonly abort?: BuildAbortFlag;
  /**
   * A second flag checked like `abort`: the dying flag of the thread that asked for the build (runtime/thread.ts), set
   * just before that thread is terminated.
   */
  readonly threadDying?: BuildAbortFlag;
  /**
   * Tests only: the build pauses this long after every HNSW point (woken at once by `abort`), to make builds slow.
   * Default 0.
   */
  readonly pointPauseMs?: number;
}

/**
 * Writes segment `name` into `dir` (which must exist) from `rows` (validated,
 * sorted by id if needed; not modified) and resolves with its manifest once
 * every file is durable. Leftover data files of an uncommitted build of the
 * same name are replaced; the segment becomes visible only when its manifest
 * is written, last. Rejects with INVALID_ARGUMENT for bad rows or options or
 * when segment `name` is already committed (segments are immutable),
 * STORAGE_FAILED on I/O errors, and with `buildAbortedError` once
 * `options.abort` is set (never after the manifest is written; data files
 * left behind have no manifest, so the next open deletes them).
 */
export async function buildSegment(
  fs: FileSystem,
  dir: string,
  name: string,
  rows: SegmentRows,
  options: SegmentBuildOptions,
): Promise<SegmentManifest> {
  const now = options.now ?? (() => performance.now());
  const startedMs = now();
  validateSegmentName(name);
  const settings = resolveOptions(options);
  validateSegmentRows(rows);
  const sorted = sortRowsById(rows);
  const names = segmentFileNames(name);
  const { abort, threadDying } = options;
  const pointPauseMs = options.pointPauseMs ?? 0;
  const check = (): void => {
    throwIfBuildAborted(abort, name);
    throwIfBuildAborted(threadDying, name);
  };
  await requireUncommitted(fs, join(dir, names.manifest), name);
  check();
  const parquet = await writeDurable(fs, dir, names.parquet, encodeSegmentRows(sorted));
  const liveRows = liveRowCount(sorted);
  let index: SegmentFile | null = null;
  if (liveRows > 0 && liveRows >= settings.indexThresholdRows) {
    check();
    const built = HnswVectorIndex.build(sorted, settings.metric, settings, () => {
      pauseUnlessAborted(abort, pointPauseMs);
      check();
    });
    index = await saveIndexDurable(fs, dir, names.index, built);
  } else {
    await fs.rm(join(dir, names.index)).catch(() => undefined);
  }
  await syncDirectory(fs, dir);
  check();
  const { minLsn, maxLsn } = lsnRange(sorted.lsns);
  const manifest: SegmentManifest = {
    version: 1,
    name,
    dimension: sorted.dimension,
    metric: settings.metric,
    rows: sorted.ids.length,
    liveRows,
    minLsn,
    maxLsn,
    files: { parquet, index },
    hnsw: { M: settings.M, efConstruction: settings.efConstruction },
    buildMs: Math.round(now() - startedMs),
  };
  await writeManifest(fs, dir, manifest);
  return manifest;
}

interface ResolvedOptions {
  readonly metric: Metric;
  readonly indexThresholdRows: number;
  readonly M: number;
  readonly efConstruction: number;
}

function resolveOptions(options: SegmentBuildOptions): ResolvedOptions {
  if (!(METRICS as readonly string[]).includes(options.metric)) {
    throw invalidArgument('metric', `expected one of ${METRICS.join(', ')}, got ${String(options.metric)}`);
  }
  const indexThresholdRows = options.indexThresholdRows ?? DEFAULT_INDEX_THRESHOLD_ROWS;
  if (!Number.isSafeInteger(indexThresholdRows) || indexThresholdRows < 1) {
    throw invalidArgument('indexThresholdRows', `expected a positive integer, got ${String(indexThresholdRows)}`);
  }
  const pointPauseMs = options.pointPauseMs ?? 0;
  if (!Number.isFinite(pointPauseMs) || pointPauseMs < 0)
    throw invalidArgument('pointPauseMs', `expected a finite number >= 0, got ${String(pointPauseMs)}`);
  const M = options.M ?? DEFAULT_HNSW_M;
  const efConstruction = options.efConstruction ?? DEFAULT_HNSW_EF_CONSTRUCTION;
  validateHnswParameters({ M, efConstruction });
  return { metric: options.metric, indexThresholdRows, M, efConstruction };
}

async function requireUncommitted(fs: FileSystem, manifestPath: string, name: string): Promise<void> {
  let existing: Awaited<ReturnType<FileSystem['stat']>>;
  try {
    existing = await fs.stat(manifestPath);
  } catch (error) {
    throw storageFailed(`checking ${manifestPath}`, error);
  }
  if (existing !== null) throw invalidArgument('name', `segment ${name} already exists (segments are immutable)`);
}

async function writeDurable(fs: FileSystem, dir: string, name: string, data: Uint8Array): Promise<SegmentFile> {
  const path = join(dir, name);
  try {
    const handle = await fs.open(path, 'w');
    try {
      await handle.write(data, 0);
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw storageFailed(`writing ${path}`, error);
  }
  return { name, bytes: data.byteLength, crc32c: crc32c(data) >>> 0 };
}

// hnswlib writes the file by path; it is then fsynced and read back through
// the interface, so the checksum covers what the filesystem returns.
async function saveIndexDurable(
  fs: FileSystem,
  dir: string,
  name: string,
  index: HnswVectorIndex,
): Promise<SegmentFile> {
  const path = join(dir, name);
  try {
    await index.save(path);
    const handle = await fs.open(path, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    const bytes = await fs.readFile(path);
    return { name, bytes: bytes.byteLength, crc32c: crc32c(bytes) >>> 0 };
  } catch (error) {
    throw storageFailed(`writing ${path}`, error);
  }
}

async function syncDirectory(fs: FileSystem, dir: string): Promise<void> {
  try {
    await fs.fsyncDir(dir);
  } catch (error) {
    throw storageFailed(`syncing ${dir}`, error);
  }
}

function lsnRange(lsns: Float64Array): { minLsn: number; maxLsn: number } {
  if (lsns.length === 0) return { minLsn: 0, maxLsn: 0 };
  let minLsn = Number.POSITIVE_INFINITY;
  let maxLsn = 0;
  for (const lsn of lsns) {
    if (lsn < minLsn) minLsn = lsn;
    if (lsn > maxLsn) maxLsn = lsn;
  }
  return { minLsn, maxLsn };
}
