// Proves ShardStore.scan and count agree with a model of the newest versions across segments, a frozen memtable and the
// active one (overwrites and deletes crossing tiers): pages walked with the last id as cursor cover every live matching
// record exactly once in ascending code-unit id order, with metadata and (when asked) the newest vector, and counts are
// exact with and without filters. Segments are real files built in-thread.
import * as nodeFs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nodeFileSystem } from '../../runtime/fs.js';
import { SeededRandom } from '../../runtime/random.js';
import { compileFilter } from '../../storage/filter.js';
import type { Filter } from '../../storage/filter.js';
import { OP_DELETE, OP_UPSERT } from '../../storage/record-batch.js';
import type { RecordBatch } from '../../storage/record-batch.js';
import { ShardStore } from '../../storage/shard-store.js';
import type { ScannedRecord } from '../../storage/shard-store.js';
import { Segment } from '../../storage/viper/segment.js';
import { buildSegment } from '../../storage/viper/segment-builder.js';

const DIMENSION = 4;

interface ModelRow {
  readonly vector: Float32Array;
  readonly metadata: { group: number; tag?: string };
}

let dir = '';
beforeEach(async () => {
  dir = await nodeFs.mkdtemp(join(tmpdir(), 'shoal-shard-scan-'));
});
afterEach(async () => {
  await nodeFs.rm(dir, { recursive: true, force: true });
});

/** Random upserts and deletes over 200 ids (some with a `tag`, some without), applied to the store and the model. */
function run(
  store: ShardStore,
  model: Map<string, ModelRow>,
  random: SeededRandom,
  count: number,
  lsn: { next: number },
): void {
  const ops = new Uint8Array(count);
  const ids: string[] = [];
  const vectors = new Float32Array(count * DIMENSION);
  const metadata: (string | null)[] = [];
  for (let row = 0; row < count; row++) {
    // Ids of varied length and case, so code-unit order differs from numeric order.
    const id = ['a', 'B', 'ab', 'Z-', 'é'][random.int(5)] + String(random.int(40));
    ids.push(id);
    if (random.next() < 0.2) {
      ops[row] = OP_DELETE;
      metadata.push(null);
      model.delete(id);
      continue;
    }
    ops[row] = OP_UPSERT;
    const vector = vectors.subarray(row * DIMENSION, (row + 1) * DIMENSION);
    for (let i = 0; i < DIMENSION; i++) vector[i] = random.next();
    const value = random.next() < 0.5 ? { group: random.int(3) } : { group: random.int(3), tag: 'x' };
    metadata.push(JSON.stringify(value));
    model.set(id, { vector: vector.slice(), metadata: value });
  }
  const lsns = new Float64Array(count).map(() => ++lsn.next);
  const batch: RecordBatch = { dimension: DIMENSION, ops, ids, vectors, metadata, lsns };
  store.apply(batch);
}

async function flush(store: ShardStore, name: string): Promise<void> {
  const frozen = store.freeze();
  await buildSegment(nodeFileSystem, dir, name, frozen.exportRows(), { metric: 'l2', indexThresholdRows: 50 });
  store.flushed(await Segment.open(nodeFileSystem, dir, name));
}

function scanAll(store: ShardStore, filter: Filter | null, limit: number, withVectors: boolean): ScannedRecord[] {
  const predicate = compileFilter(filter);
  const all: ScannedRecord[] = [];
  let afterId: string | null = null;
  for (;;) {
    const page = store.scan({ predicate, afterId, limit, withVectors });
    expect(page.length).toBeLessThanOrEqual(limit);
    all.push(...page);
    if (page.length < limit) return all;
    afterId = (page[page.length - 1] as ScannedRecord).id;
  }
}

function expected(model: Map<string, ModelRow>, keep: (row: ModelRow, id: string) => boolean): string[] {
  return [...model]
    .filter(([id, row]) => keep(row, id))
    .map(([id]) => id)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

describe('ShardStore scan and count', () => {
  it('walks every live matching record once, in code-unit id order, across every tier', async () => {
    const store = new ShardStore(DIMENSION, 'l2');
    const model = new Map<string, ModelRow>();
    const random = new SeededRandom(5);
    const lsn = { next: 0 };
    run(store, model, random, 300, lsn);
    await flush(store, 'seg-1');
    run(store, model, random, 200, lsn);
    await flush(store, 'seg-2');
    run(store, model, random, 150, lsn);
    store.freeze();
    run(store, model, random, 100, lsn);
    const cases: { filter: Filter | null; keep: (row: ModelRow, id: string) => boolean }[] = [
      { filter: null, keep: () => true },
      { filter: { group: 1 }, keep: (row) => row.metadata.group === 1 },
      { filter: { tag: { $exists: true } }, keep: (row) => row.metadata.tag !== undefined },
      {
        filter: { tag: { $exists: false }, group: { $ne: 0 } },
        keep: (row) => row.metadata.tag === undefined && row.metadata.group !== 0,
      },
      { filter: { $id: { $in: ['a1', 'B2', 'é3', 'none'] } }, keep: (_row, id) => ['a1', 'B2', 'é3'].includes(id) },
    ];
    for (const { filter, keep } of cases) {
      const want = expected(model, keep);
      for (const limit of [1, 7, 1000]) {
        expect(scanAll(store, filter, limit, false).map((record) => record.id)).toEqual(want);
      }
      expect(store.count(compileFilter(filter))).toBe(want.length);
    }
    for (const record of scanAll(store, null, 13, true)) {
      const row = model.get(record.id) as ModelRow;
      expect(record.metadata).toEqual(row.metadata);
      expect([...(record.vector as Float32Array)]).toEqual([...row.vector]);
    }
    expect(scanAll(store, null, 50, false).every((record) => record.vector === undefined)).toBe(true);
  });

  it('starts after the cursor id even when that id no longer exists', () => {
    const store = new ShardStore(DIMENSION, 'l2');
    const ids = ['a', 'b', 'c', 'd'];
    const batch: RecordBatch = {
      dimension: DIMENSION,
      ops: new Uint8Array([OP_UPSERT, OP_UPSERT, OP_UPSERT, OP_UPSERT, OP_DELETE]),
      ids: [...ids, 'b'],
      vectors: new Float32Array(5 * DIMENSION),
      metadata: [null, null, null, null, null],
      lsns: new Float64Array([1, 2, 3, 4, 5]),
    };
    store.apply(batch);
    const page = store.scan({ predicate: null, afterId: 'b', limit: 10, withVectors: false });
    expect(page).toEqual([
      { id: 'c', metadata: null },
      { id: 'd', metadata: null },
    ]);
    const all = store.scan({ predicate: null, afterId: null, limit: 10, withVectors: false });
    expect(all.map((record) => record.id)).toEqual(['a', 'c', 'd']);
    expect(store.count(null)).toBe(3);
  });
});
