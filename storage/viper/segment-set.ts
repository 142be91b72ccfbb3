/**
 * The segment set of one shard: which committed segments are live (oldest
 * first), the checkpoint LSN (every record at or below it is in those
 * segments, so the WAL below it may go) and the next segment number. One
 * JSON file replaced atomically: it is the commit point of every flush and
 * compaction. A committed segment it does not list is a leftover of a flush
 * or compaction that crashed before committing, and is deleted on open.
 */
import { join } from 'node:path';
import { ShoalError } from '../../runtime/errors.js';
import type { FileSystem } from '../../runtime/fs.js';
import { writeFileAtomic } from '../atomic-file.js';
import { validateSegmentName } from './manifest.js';
import { Segment } from './segment.js';
import { listSegments, removeSegment } from './segment-files.js';

/** The file name of the segment set inside a shard's segment folder. */
export const SEGMENT_SET_FILE = 'segments.json';
const SEGMENT_SET_VERSION = 1;

/** The live segments of a shard and its checkpoint. */
export interface SegmentSet {
  /** Live segment names, oldest first. */
  readonly segments: readonly string[];
  /** Every record with LSN <= checkpointLsn is in the listed segments. */
  readonly checkpointLsn: number;
  /** The number the next segment name takes. */
  readonly nextSegment: number;
}

/** The set of a shard with no segments yet. */
export const EMPTY_SEGMENT_SET: SegmentSet = { segments: [], checkpointLsn: 0, nextSegment: 1 };

/** The name of segment number `number`. */
export function segmentName(number: number): string {
  return `seg-${String(number).padStart(10, '0')}`;
}

/** Reads the set in `dir`; none yet is the empty set; an unreadable one is CORRUPTION. */
export async function readSegmentSet(fs: FileSystem, dir: string): Promise<SegmentSet> {
  const path = join(dir, SEGMENT_SET_FILE);
  if ((await fs.stat(path)) === null) return EMPTY_SEGMENT_SET;
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(await fs.readFile(path)));
  } catch (error) {
    throw new ShoalError('CORRUPTION', `segment set ${path} is not valid JSON: ${(error as Error).message}`, { path });
  }
  const set = parsed as { version?: unknown; segments?: unknown; checkpointLsn?: unknown; nextSegment?: unknown };
  const valid =
    set.version === SEGMENT_SET_VERSION &&
    Array.isArray(set.segments) &&
    set.segments.every((name) => typeof name === 'string') &&
    Number.isSafeInteger(set.checkpointLsn) &&
    Number.isSafeInteger(set.nextSegment);
  if (!valid) throw new ShoalError('CORRUPTION', `segment set ${path} has an unknown format`, { path });
  const segments = set.segments as string[];
  for (const name of segments) validateSegmentName(name);
  return { segments, checkpointLsn: set.checkpointLsn as number, nextSegment: set.nextSegment as number };
}

/** Replaces the set in `dir` atomically; resolves once it is durable. */
export async function writeSegmentSet(fs: FileSystem, dir: string, set: SegmentSet): Promise<void> {
  const text = JSON.stringify({ version: SEGMENT_SET_VERSION, ...set });
  await writeFileAtomic(fs, join(dir, SEGMENT_SET_FILE), new TextEncoder().encode(text));
}

/**
 * Opens the segments `set` lists (oldest first). Whatever a crash left
 * behind is resolved here, for every step of a flush or compaction: data
 * files without a manifest (a build that never committed) and committed
 * segments the set does not list (a flush or compaction whose set was never
 * written) are deleted; inputs of a compaction whose new set is durable are
 * simply not listed, so they are deleted too. A listed segment that is not
 * committed is CORRUPTION: the set is written only after its segments are.
 */
export async function openSegmentSet(fs: FileSystem, dir: string, set: SegmentSet): Promise<Segment[]> {
  const committed = new Set(await listSegments(fs, dir));
  for (const name of committed) if (!set.segments.includes(name)) await removeSegment(fs, dir, name);
  const missing = set.segments.filter((name) => !committed.has(name));
  if (missing.length > 0)
    throw new ShoalError(
      'CORRUPTION',
      `segment set in ${dir} lists segments that are not there: ${missing.join(', ')}`,
      { dir, missing },
    );
  const segments: Segment[] = [];
  for (const name of set.segments) segments.push(await Segment.open(fs, dir, name));
  return segments;
}
