// Proves the tiers of a shard agree with a model of the newest versions: with rows spread over segments, a frozen
// memtable and the active one (overwrites and deletes crossing tiers), search returns exactly the brute-force top-k of
// the live newest versions, get returns the newest version or nothing, record counts are exact, and flush (oldest
// frozen memtable first, with up to the queue's bound frozen) and compaction keep all of that true. Segments are real
// files built in-thread.
import * as nodeFs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nodeFileSystem } from '../../runtime/fs.js';
import { SeededRandom } from '../../runtime/random.js';
import { compileFilter } from '../../storage/filter.js';
import type { Memtable } from '../../storage/memtable.js';
import { OP_DELETE, OP_UPSERT } from '../../storage/record-batch.js';
import type { RecordBatch } from '../../storage/record-batch.js';
import { ShardStore } from '../../storage/shard-store.js';
import { mergeRows } from '../../storage/viper/compaction.js';
import { Segment } from '../../storage/viper/segment.js';
import { buildSegment } from '../../storage/viper/segment-builder.js';
import { bruteForce } from '../fixtures/vectors.js';

const DIMENSION = 8;

interface ModelRow {
  id: string;
  vector: Float32Array;
  metadata: { group: number };
}

let dir = '';
beforeEach(async () => {
  dir = await nodeFs.mkdtemp(join(tmpdir(), 'shoal-shard-store-'));
});
afterEach(async () => {
  await nodeFs.rm(dir, { recursive: true, force: true });
});

/** A random workload applied both to a ShardStore and to a plain model of the newest versions. */
class Workload {
  readonly model = new Map<string, ModelRow>();
  private lsn = 0;
  private readonly random: SeededRandom;

  constructor(
    readonly store: ShardStore,
    seed: number,
  ) {
    this.random = new SeededRandom(seed);
  }

  /** `count` operations: mostly upserts over 300 ids (so overwrites happen), some deletes. */
  run(count: number): void {
    const ops = new Uint8Array(count);
    const ids: string[] = [];
    const vectors = new Float32Array(count * DIMENSION);
    const metadata: (string | null)[] = [];
    for (let row = 0; row < count; row++) {
      const id = `id-${this.random.int(300)}`;
      ids.push(id);
      if (this.random.next() < 0.2) {
        ops[row] = OP_DELETE;
        metadata.push(null);
        this.model.delete(id);
        continue;
      }
      ops[row] = OP_UPSERT;
      const vector = vectors.subarray(row * DIMENSION, (row + 1) * DIMENSION);
      for (let i = 0; i < DIMENSION; i++) vector[i] = this.random.next() * 2 - 1;
      const group = this.random.int(4);
      metadata.push(JSON.stringify({ group }));
      this.model.set(id, { id, vector: vector.slice(), metadata: { group } });
    }
    const lsns = new Float64Array(count).map(() => ++this.lsn);
    const batch: RecordBatch = { dimension: DIMENSION, ops, ids, vectors, metadata, lsns };
    this.store.apply(batch);
  }

  check(): void {
    const random = new SeededRandom(this.lsn);
    for (let query = 0; query < 5; query++) {
      const vector = Float32Array.from({ length: DIMENSION }, () => random.next() * 2 - 1);
      const expected = bruteForce('l2', [...this.model.values()], vector, 15);
      const hits = this.store.search(vector, 15, null, { exact: true });
      expect(hits.map((hit) => hit.id)).toEqual(expected.map((hit) => hit.id));
      const filtered = this.store.search(vector, 15, compileFilter({ group: 2 }), { exact: true });
      const expectedFiltered = bruteForce(
        'l2',
        [...this.model.values()],
        vector,
        15,
        (metadata) => (metadata as { group: number }).group === 2,
      );
      expect(filtered.map((hit) => hit.id)).toEqual(expectedFiltered.map((hit) => hit.id));
    }
    for (let id = 0; id < 300; id++) {
      const found = this.store.get(`id-${id}`);
      const expected = this.model.get(`id-${id}`);
      expect(found === undefined ? undefined : [...found.vector]).toEqual(
        expected === undefined ? undefined : [...expected.vector],
      );
    }
    expect(this.store.stats().records).toBe(this.model.size);
  }
}

async function flush(store: ShardStore, name: string): Promise<Segment> {
  const frozen = store.freeze();
  await buildSegment(nodeFileSystem, dir, name, frozen.exportRows(), { metric: 'l2', indexThresholdRows: 50 });
  const segment = await Segment.open(nodeFileSystem, dir, name);
  store.flushed(segment);
  return segment;
}

describe('ShardStore', () => {
  it('agrees with the newest-version model across memtable, frozen memtable and segments', async () => {
    const store = new ShardStore(DIMENSION, 'l2');
    const workload = new Workload(store, 42);
    workload.run(400);
    await flush(store, 'seg-1');
    workload.run(300);
    await flush(store, 'seg-2');
    workload.run(200);
    workload.check();
    store.freeze();
    workload.run(150);
    workload.check();
    expect(store.stats()).toMatchObject({ segments: 2, frozenRows: expect.any(Number) as number });
  });

  it('keeps the same answers after compacting segments, with or without tombstones', async () => {
    const store = new ShardStore(DIMENSION, 'l2');
    const workload = new Workload(store, 7);
    const segments: Segment[] = [];
    for (let i = 1; i <= 3; i++) {
      workload.run(250);
      segments.push(await flush(store, `seg-${i}`));
    }
    workload.run(100);
    workload.check();
    // The newest two merge, keeping tombstones (an older segment stays outside the merge).
    const newest = segments.slice(1);
    await buildSegment(
      nodeFileSystem,
      dir,
      'merged-a',
      mergeRows(
        newest.map((segment) => segment.toRows()),
        { dropTombstones: false },
      ),
      { metric: 'l2', indexThresholdRows: 50 },
    );
    const mergedA = await Segment.open(nodeFileSystem, dir, 'merged-a');
    store.compacted(newest, mergedA);
    workload.check();
    // Then everything merges, and tombstones can go.
    const all = [...store.segments];
    await buildSegment(
      nodeFileSystem,
      dir,
      'merged-b',
      mergeRows(
        all.map((segment) => segment.toRows()),
        { dropTombstones: true },
      ),
      { metric: 'l2', indexThresholdRows: 50 },
    );
    store.compacted(all, await Segment.open(nodeFileSystem, dir, 'merged-b'));
    workload.check();
    expect(store.stats().segments).toBe(1);
  });

  it('agrees with the model across a bounded queue of frozen memtables, flushed oldest first', async () => {
    const store = new ShardStore(DIMENSION, 'l2', 3);
    const workload = new Workload(store, 3);
    for (let round = 0; round < 3; round++) {
      workload.run(150);
      store.freeze();
    }
    expect(store.frozenFull).toBe(true);
    expect(() => store.freeze()).toThrow(/frozen queue is full/);
    workload.run(100);
    workload.check();
    expect(store.stats()).toMatchObject({ frozenMemtables: 3, segments: 0 });
    // Each flush takes the oldest frozen memtable; the newer ones keep shadowing it until then.
    for (let round = 1; round <= 3; round++) {
      const oldest = store.frozen[0] as Memtable;
      const name = `queued-${round}`;
      await buildSegment(nodeFileSystem, dir, name, oldest.exportRows(), { metric: 'l2', indexThresholdRows: 50 });
      store.flushed(await Segment.open(nodeFileSystem, dir, name));
      expect(store.frozen).toHaveLength(3 - round);
      expect(store.frozenFull).toBe(false);
      workload.check();
    }
    expect(store.stats()).toMatchObject({ frozenMemtables: 0, frozenRows: 0, segments: 3 });
  });

  it('finds nearly all exact neighbours through the HNSW indexes of its segments', async () => {
    const store = new ShardStore(DIMENSION, 'l2');
    const workload = new Workload(store, 11);
    workload.run(600);
    await flush(store, 'seg-1');
    const random = new SeededRandom(5);
    let found = 0;
    for (let query = 0; query < 20; query++) {
      const vector = Float32Array.from({ length: DIMENSION }, () => random.next() * 2 - 1);
      const exact = new Set(store.search(vector, 10, null, { exact: true }).map((hit) => hit.id));
      for (const hit of store.search(vector, 10, null, { ef: 128 })) if (exact.has(hit.id)) found++;
    }
    expect(found / 200).toBeGreaterThanOrEqual(0.95);
  });
});
