/**
 * The segment manifest: a small JSON file per segment (`<name>.manifest.json`)
 * holding its row counts, LSN range, HNSW parameters and the size and CRC32C
 * of each data file. Writing it (atomically) is the segment's commit point: a
 * segment without a manifest is garbage. Owns the manifest's shape, the file
 * naming rule of a segment's files, writing, and reading with validation.
 */

import { join } from 'node:path';
import { ShoalError, invalidArgument } from '../../runtime/errors.js';
import { errnoCode, storageFailed } from '../../runtime/fs-errors.js';
import type { FileSystem } from '../../runtime/fs.js';
import { TEMP_FILE_MARKER, writeFileAtomic } from '../atomic-file.js';
import { METRICS } from '../types.js';
import type { Metric } from '../types.js';

/** Suffix of a segment's Parquet file. */
export const PARQUET_SUFFIX = '.parquet';
/** Suffix of a segment's HNSW index file. */
export const INDEX_SUFFIX = '.hnsw';
/** Suffix of a segment's manifest. */
export const MANIFEST_SUFFIX = '.manifest.json';
/** Longest segment name. */
export const SEGMENT_NAME_LENGTH_MAX = 128;
/** Largest manifest file accepted when reading. */
export const MANIFEST_BYTES_MAX = 64 * 1024;

const SEGMENT_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

/** One data file of a segment: its entry name, size and CRC32C. */
export interface SegmentFile {
  readonly name: string;
  readonly bytes: number;
  readonly crc32c: number;
}

/** What a committed segment holds. */
export interface SegmentManifest {
  readonly version: 1;
  readonly name: string;
  readonly dimension: number;
  readonly metric: Metric;
  /** All rows, tombstones included. */
  readonly rows: number;
  /** Rows that are not tombstones (the rows in the index). */
  readonly liveRows: number;
  /** Lowest and highest row LSN; both 0 when the segment is empty. */
  readonly minLsn: number;
  readonly maxLsn: number;
  readonly files: { readonly parquet: SegmentFile; readonly index: SegmentFile | null };
  readonly hnsw: { readonly M: number; readonly efConstruction: number };
  /** Whole milliseconds the build took (encode, index, writes). */
  readonly buildMs: number;
}

/** Throws INVALID_ARGUMENT unless `name` is 1–128 characters of `[A-Za-z0-9_-]`, starting alphanumeric. */
export function validateSegmentName(name: string): void {
  if (typeof name !== 'string' || name.length > SEGMENT_NAME_LENGTH_MAX || !SEGMENT_NAME_PATTERN.test(name)) {
    throw invalidArgument(
      'name',
      `expected 1-${SEGMENT_NAME_LENGTH_MAX} characters of [A-Za-z0-9_-] starting alphanumeric, ` +
        `got ${JSON.stringify(name)}`,
    );
  }
}

/** Entry names of the files of segment `name`. */
export function segmentFileNames(name: string): { parquet: string; index: string; manifest: string } {
  return {
    parquet: `${name}${PARQUET_SUFFIX}`,
    index: `${name}${INDEX_SUFFIX}`,
    manifest: `${name}${MANIFEST_SUFFIX}`,
  };
}

/** The segment name a data or manifest entry name belongs to, or null for other entries (temp files included). */
export function segmentNameOf(entry: string): string | null {
  if (entry.includes(TEMP_FILE_MARKER)) return null;
  for (const suffix of [MANIFEST_SUFFIX, PARQUET_SUFFIX, INDEX_SUFFIX]) {
    if (!entry.endsWith(suffix)) continue;
    const name = entry.slice(0, -suffix.length);
    return SEGMENT_NAME_PATTERN.test(name) && name.length <= SEGMENT_NAME_LENGTH_MAX ? name : null;
  }
  return null;
}

/** Writes `manifest` to `<dir>/<name>.manifest.json` atomically; resolves once it is durable (the commit point). */
export async function writeManifest(fs: FileSystem, dir: string, manifest: SegmentManifest): Promise<void> {
  validateManifest(manifest, segmentFileNames(manifest.name).manifest);
  const text = `${JSON.stringify(manifest, null, 2)}\n`;
  await writeFileAtomic(fs, join(dir, segmentFileNames(manifest.name).manifest), new TextEncoder().encode(text));
}

/**
 * Reads and validates the manifest of segment `name` in `dir`. Throws
 * CORRUPTION naming the file when it is missing, unparsable or invalid;
 * STORAGE_FAILED on other I/O errors.
 */
export async function readManifest(fs: FileSystem, dir: string, name: string): Promise<SegmentManifest> {
  validateSegmentName(name);
  const path = join(dir, segmentFileNames(name).manifest);
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(path);
  } catch (error) {
    const cause = errnoCode(error);
    if (cause === 'ENOENT') throw new ShoalError('CORRUPTION', `${path}: segment manifest is missing`, { path });
    throw storageFailed(`reading ${path}`, error, { path });
  }
  if (bytes.byteLength > MANIFEST_BYTES_MAX) throw corruptManifest(path, `larger than ${MANIFEST_BYTES_MAX} bytes`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    throw corruptManifest(path, `not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const manifest = validateManifest(parsed, path);
  if (manifest.name !== name) throw corruptManifest(path, `names segment ${JSON.stringify(manifest.name)}`);
  return manifest;
}

/** Checks that `value` is a well-formed SegmentManifest; throws CORRUPTION naming `file` otherwise. */
export function validateManifest(value: unknown, file: string): SegmentManifest {
  const problem = manifestProblem(value);
  if (problem !== null) throw corruptManifest(file, problem);
  return value as SegmentManifest;
}

function manifestProblem(value: unknown): string | null {
  if (!isRecord(value)) return 'not an object';
  if (value.version !== 1) return `unsupported version ${String(value.version)}`;
  if (typeof value.name !== 'string' || !SEGMENT_NAME_PATTERN.test(value.name)) return 'bad name';
  if (!isCount(value.dimension) || value.dimension < 1) return 'bad dimension';
  if (!(METRICS as readonly unknown[]).includes(value.metric)) return 'bad metric';
  if (!isCount(value.rows) || !isCount(value.liveRows) || value.liveRows > value.rows) return 'bad row counts';
  if (!isCount(value.minLsn) || !isCount(value.maxLsn) || value.minLsn > value.maxLsn) return 'bad LSN range';
  if (!isCount(value.buildMs)) return 'bad buildMs';
  const hnsw = value.hnsw;
  if (!isRecord(hnsw) || !isCount(hnsw.M) || !isCount(hnsw.efConstruction)) return 'bad hnsw parameters';
  const files = value.files;
  if (!isRecord(files)) return 'bad files';
  const names = segmentFileNames(value.name);
  if (!isSegmentFile(files.parquet, names.parquet)) return 'bad parquet file entry';
  if (files.index !== null && !isSegmentFile(files.index, names.index)) return 'bad index file entry';
  return null;
}

function isSegmentFile(value: unknown, expectedName: string): boolean {
  if (!isRecord(value) || value.name !== expectedName || !isCount(value.bytes)) return false;
  return isCount(value.crc32c) && value.crc32c <= 0xffffffff;
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function corruptManifest(path: string, problem: string): ShoalError {
  return new ShoalError('CORRUPTION', `${path}: invalid segment manifest: ${problem}`, { path, problem });
}
