// Proves that a crash between any two steps of a flush or a compaction leaves a consistent set of segments: for each
// step, the files on disk are put in the state that step leaves, the shard is reopened through openSegmentSet, and
// exactly the segments of the last durable set are open, with every row of the newest versions, and no leftover files
// remain.
import * as nodeFs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nodeFileSystem } from '../../../runtime/fs.js';
import { mergeRows } from '../../../storage/viper/compaction.js';
import { segmentFileNames } from '../../../storage/viper/manifest.js';
import { buildSegment } from '../../../storage/viper/segment-builder.js';
import { removeSegment } from '../../../storage/viper/segment-files.js';
import type { SegmentRows } from '../../../storage/viper/segment-rows.js';
import {
  EMPTY_SEGMENT_SET,
  openSegmentSet,
  readSegmentSet,
  writeSegmentSet,
} from '../../../storage/viper/segment-set.js';
import type { SegmentSet } from '../../../storage/viper/segment-set.js';

let dir = '';
beforeEach(async () => {
  dir = await nodeFs.mkdtemp(join(tmpdir(), 'shoal-segment-set-'));
});
afterEach(async () => {
  await nodeFs.rm(dir, { recursive: true, force: true });
});

function rows(first: number, count: number, lsnBase: number): SegmentRows {
  const ids = Array.from({ length: count }, (_, i) => `id-${first + i}`);
  const vectors = Float32Array.from({ length: count * 4 }, (_, i) => (i % 7) - 3 + first);
  return {
    dimension: 4,
    ids,
    vectors,
    metadata: ids.map(() => null),
    lsns: Float64Array.from(ids, (_, i) => lsnBase + i),
    deleted: new Uint8Array(count),
  };
}

const OPTIONS = { metric: 'l2' as const, indexThresholdRows: 10 };

/** Three committed segments listed in a durable set: the state before a compaction of seg-2 and seg-3. */
async function threeSegments(): Promise<SegmentSet> {
  await buildSegment(nodeFileSystem, dir, 'seg-1', rows(0, 30, 1), OPTIONS);
  await buildSegment(nodeFileSystem, dir, 'seg-2', rows(20, 30, 100), OPTIONS);
  await buildSegment(nodeFileSystem, dir, 'seg-3', rows(40, 30, 200), OPTIONS);
  const set = { segments: ['seg-1', 'seg-2', 'seg-3'], checkpointLsn: 229, nextSegment: 4 };
  await writeSegmentSet(nodeFileSystem, dir, set);
  return set;
}

async function reopen(): Promise<string[]> {
  const set = await readSegmentSet(nodeFileSystem, dir);
  const segments = await openSegmentSet(nodeFileSystem, dir, set);
  return segments.map((segment) => segment.manifest.name);
}

async function files(): Promise<string[]> {
  return (await nodeFs.readdir(dir)).sort();
}

describe('crash points of a compaction', () => {
  it('before the output is committed: the old set stands and the output files are deleted', async () => {
    await threeSegments();
    const output = segmentFileNames('seg-4');
    await nodeFs.writeFile(join(dir, output.parquet), 'half-written');
    await nodeFs.writeFile(join(dir, output.index), 'half-written');
    expect(await reopen()).toEqual(['seg-1', 'seg-2', 'seg-3']);
    expect((await files()).some((name) => name.startsWith('seg-4'))).toBe(false);
  });

  it('after the output is committed but before the set names it: the output is deleted', async () => {
    const set = await threeSegments();
    const loaded = await openSegmentSet(nodeFileSystem, dir, set);
    await buildSegment(
      nodeFileSystem,
      dir,
      'seg-4',
      mergeRows(
        loaded.slice(1).map((segment) => segment.toRows()),
        { dropTombstones: false },
      ),
      OPTIONS,
    );
    expect(await reopen()).toEqual(['seg-1', 'seg-2', 'seg-3']);
    expect((await files()).some((name) => name.startsWith('seg-4'))).toBe(false);
  });

  it('after the new set is durable but before the inputs are deleted: the inputs are deleted', async () => {
    const set = await threeSegments();
    const loaded = await openSegmentSet(nodeFileSystem, dir, set);
    await buildSegment(
      nodeFileSystem,
      dir,
      'seg-4',
      mergeRows(
        loaded.slice(1).map((segment) => segment.toRows()),
        { dropTombstones: false },
      ),
      OPTIONS,
    );
    await writeSegmentSet(nodeFileSystem, dir, { segments: ['seg-1', 'seg-4'], checkpointLsn: 229, nextSegment: 5 });
    expect(await reopen()).toEqual(['seg-1', 'seg-4']);
    expect((await files()).filter((name) => name.startsWith('seg-2') || name.startsWith('seg-3'))).toEqual([]);
    const reopened = await openSegmentSet(nodeFileSystem, dir, await readSegmentSet(nodeFileSystem, dir));
    expect(reopened[1]?.rows).toBe(50);
  });

  it('half-way through deleting an input: the rest of it is deleted', async () => {
    const set = await threeSegments();
    const loaded = await openSegmentSet(nodeFileSystem, dir, set);
    await buildSegment(
      nodeFileSystem,
      dir,
      'seg-4',
      mergeRows(
        loaded.slice(1).map((segment) => segment.toRows()),
        { dropTombstones: false },
      ),
      OPTIONS,
    );
    await writeSegmentSet(nodeFileSystem, dir, { segments: ['seg-1', 'seg-4'], checkpointLsn: 229, nextSegment: 5 });
    await removeSegment(nodeFileSystem, dir, 'seg-2');
    await nodeFs.rm(join(dir, segmentFileNames('seg-3').manifest));
    expect(await reopen()).toEqual(['seg-1', 'seg-4']);
    expect((await files()).filter((name) => name.startsWith('seg-3'))).toEqual([]);
  });

  it('refuses a set that names a segment that is not there', async () => {
    await threeSegments();
    await nodeFs.rm(join(dir, segmentFileNames('seg-2').manifest));
    await expect(reopen()).rejects.toMatchObject({ code: 'CORRUPTION' });
  });

  it('a shard with no set yet opens empty, and a flush whose set was never written is undone', async () => {
    expect(await readSegmentSet(nodeFileSystem, dir)).toEqual(EMPTY_SEGMENT_SET);
    await buildSegment(nodeFileSystem, dir, 'seg-1', rows(0, 30, 1), OPTIONS);
    expect(await reopen()).toEqual([]);
    expect(await files()).toEqual([]);
  });
});
