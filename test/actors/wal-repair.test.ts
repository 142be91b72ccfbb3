// Proves `repairWal` end to end with real worker threads and files: a collection whose WAL has a flipped byte in an
// earlier frame refuses to open (CORRUPTION) and stays untouched; opened with repairWal it keeps exactly the writes
// before the damaged frame, reports the cut in stats().walRepairs, takes new writes, and reopens without repair
// afterwards with both old and new writes intact. Also: when a WAL has lost records its engine already holds in
// segments (its files deleted behind Shoal's back), writes after the restart are numbered above the engine's checkpoint
// and so survive the next restart (without that, they were skipped by replay and lost).
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Shoal, ShoalError } from '../../index.js';
import type { OpenOptions } from '../../index.js';
import { scanFrames } from '../../storage/wal/frame.js';
import { randomVectors, temporaryDirectory } from '../fixtures/vectors.js';

const DIMENSION = 8;
const BATCHES = 4;
const PER_BATCH = 10;
const ids = (batch: number): string[] => Array.from({ length: PER_BATCH }, (_, row) => `b${batch}-${row}`);

async function walSegments(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true });
  return entries
    .filter((entry) => entry.endsWith('.wal'))
    .map((entry) => join(root, entry))
    .sort();
}

describe('repairWal', () => {
  let home: { path: string; remove: () => Promise<void> };
  let options: OpenOptions;
  let segment = '';
  let damaged: Buffer = Buffer.alloc(0);

  beforeAll(async () => {
    home = await temporaryDirectory('wal-repair');
    options = { dataDir: home.path, maxWorkers: 4, metadataReplicas: 1 };
    const db = await Shoal.open(options);
    try {
      await db.createCollection({ name: 'docs', dimension: DIMENSION, metric: 'l2', shards: 1 });
      // One upsert at a time: each is one WAL frame.
      for (let batch = 0; batch < BATCHES; batch++) {
        const vectors = randomVectors(PER_BATCH, DIMENSION, batch + 1);
        await db.upsert(
          'docs',
          ids(batch).map((id, row) => ({ id, vector: vectors[row] as Float32Array })),
        );
      }
    } finally {
      await db.close();
    }
    const segments = await walSegments(home.path);
    expect(segments).toHaveLength(1);
    segment = segments[0] as string;
    damaged = Buffer.from(await readFile(segment));
    const frames = scanFrames(damaged).frames;
    expect(frames).toHaveLength(BATCHES);
    const target = (frames[1]?.offset ?? 0) + 20;
    damaged[target] = (damaged[target] ?? 0) ^ 0x01;
    await writeFile(segment, damaged);
  }, 120_000);

  afterAll(async () => {
    await home?.remove();
  });

  it('without repairWal the collection refuses to open and its WAL is left as it was', async () => {
    const db = await Shoal.open(options);
    try {
      const stats = await db.stats();
      expect(stats.collections.find((each) => each.name === 'docs')?.error?.code).toBe('CORRUPTION');
      const failed = await db.get('docs', ids(0)).then(
        () => null,
        (error: unknown) => error,
      );
      expect(failed).toBeInstanceOf(ShoalError);
      expect((failed as ShoalError).code).toBe('CORRUPTION');
    } finally {
      await db.close();
    }
    expect((await readFile(segment)).equals(damaged)).toBe(true);
  }, 60_000);

  it('with repairWal it keeps the writes before the damage, reports the cut, takes new writes, and reopens without repair', async () => {
    const repaired = await Shoal.open({ ...options, repairWal: true });
    let resumeLsn = 0;
    try {
      const stats = (await repaired.stats()).collections.find((each) => each.name === 'docs');
      expect(stats?.error).toBeNull();
      expect(stats?.walRepairs).toHaveLength(1);
      const report = stats?.walRepairs[0];
      expect(report).toMatchObject({ shard: 0, keptLsn: PER_BATCH, discardedSegments: [] });
      expect(report?.resumeLsn).toBeGreaterThan(BATCHES * PER_BATCH);
      expect(report?.discardedBytes).toBeGreaterThan(0);
      resumeLsn = report?.resumeLsn ?? 0;
      expect(stats?.records).toBe(PER_BATCH);
      expect((await repaired.get('docs', ids(0))).map((record) => record.id)).toEqual(ids(0));
      for (let batch = 1; batch < BATCHES; batch++) expect(await repaired.get('docs', ids(batch))).toEqual([]);
      const fresh = randomVectors(PER_BATCH, DIMENSION, 99);
      await repaired.upsert(
        'docs',
        ids(9).map((id, row) => ({ id, vector: fresh[row] as Float32Array })),
      );
      const hits = await repaired.search('docs', { vector: fresh[0] as Float32Array, k: 1 });
      expect(hits[0]?.id).toBe('b9-0');
    } finally {
      await repaired.close();
    }

    const reopened = await Shoal.open(options);
    try {
      const stats = (await reopened.stats()).collections.find((each) => each.name === 'docs');
      expect(stats?.error).toBeNull();
      expect(stats?.walRepairs).toEqual([]);
      expect(stats?.records).toBe(2 * PER_BATCH);
      expect((await reopened.get('docs', [...ids(0), ...ids(9)])).map((record) => record.id)).toEqual([
        ...ids(0),
        ...ids(9),
      ]);
    } finally {
      await reopened.close();
    }
    expect((await walSegments(home.path)).map((path) => path.slice(-24))).toContain(
      `${String(resumeLsn).padStart(20, '0')}.wal`,
    );
  }, 60_000);
});

describe('a WAL behind its engine checkpoint', () => {
  it('numbers new writes above the checkpoint, so that replay after the next restart does not skip them', async () => {
    const home = await temporaryDirectory('wal-behind');
    const options: OpenOptions = { dataDir: home.path, maxWorkers: 4, metadataReplicas: 1 };
    try {
      const db = await Shoal.open(options);
      try {
        await db.createCollection({
          name: 'docs',
          dimension: DIMENSION,
          metric: 'l2',
          shards: 1,
          flushThresholdRows: 100,
        });
        const vectors = randomVectors(2 * PER_BATCH, DIMENSION, 5);
        await db.upsert(
          'docs',
          vectors.map((vector, row) => ({ id: `old-${row}`, vector })),
        );
        // Every row into a segment: the engine's checkpoint is now the WAL's last LSN.
        await db.optimize('docs');
      } finally {
        await db.close();
      }
      // The WAL loses everything (the engine holds it all in its segment): it starts over at LSN 1.
      for (const segment of await walSegments(home.path)) await rm(segment);

      const restarted = await Shoal.open(options);
      try {
        expect((await restarted.stats()).collections[0]?.records).toBe(2 * PER_BATCH);
        const fresh = randomVectors(PER_BATCH, DIMENSION, 6);
        await restarted.upsert(
          'docs',
          fresh.map((vector, row) => ({ id: `new-${row}`, vector })),
        );
      } finally {
        await restarted.close();
      }

      const reopened = await Shoal.open(options);
      try {
        const stats = (await reopened.stats()).collections[0];
        expect(stats?.error).toBeNull();
        expect(stats?.records).toBe(3 * PER_BATCH);
        const wanted = Array.from({ length: PER_BATCH }, (_, row) => `new-${row}`);
        expect((await reopened.get('docs', wanted)).map((record) => record.id)).toEqual(wanted);
      } finally {
        await reopened.close();
      }
      const gapMarkers = (await readdir(home.path, { recursive: true })).filter((entry) => entry.endsWith('.gap'));
      expect(gapMarkers).toHaveLength(1);
    } finally {
      await home.remove();
    }
  }, 120_000);
});
