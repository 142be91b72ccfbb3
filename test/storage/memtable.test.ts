// Proves the memtable answers exactly like a brute-force sort over a plain Map model (fast-check drives random upserts,
// deletes, filters and k for every metric), obeys the per-id LSN rule, and keeps its id → row map consistent across
// swap-deletes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ShoalError } from '../../runtime/errors.js';
import { SeededRandom } from '../../runtime/random.js';
import { norm, scoreOf } from '../../storage/distance.js';
import { compileFilter } from '../../storage/filter.js';
import { Memtable } from '../../storage/memtable.js';
import type { Hit, Metadata, Metric } from '../../storage/types.js';
import { METRICS, hitComparator } from '../../storage/types.js';

const DIMENSION = 5;

interface ModelRow {
  readonly vector: Float32Array;
  readonly metadata: Metadata | null;
}

function bruteForce(
  model: Map<string, ModelRow>,
  metric: Metric,
  query: Float32Array,
  k: number,
  predicate: ((metadata: Metadata | null) => boolean) | null,
): Hit[] {
  const queryNorm = norm(query, 0, DIMENSION);
  const hits: Hit[] = [];
  for (const [id, row] of model) {
    if (predicate !== null && !predicate(row.metadata)) continue;
    const score = scoreOf(metric, query, queryNorm, row.vector, 0, norm(row.vector, 0, DIMENSION), DIMENSION);
    hits.push({ id, score, metadata: row.metadata });
  }
  return hits.sort(hitComparator(metric)).slice(0, k);
}

// Small integer coordinates make equal scores common, so the id tie-break is exercised.
const vectorArbitrary = fc
  .array(fc.integer({ min: -3, max: 3 }), { minLength: DIMENSION, maxLength: DIMENSION })
  .map((values) => Float32Array.from(values));
const idArbitrary = fc.integer({ min: 0, max: 40 }).map((index) => `id-${index}`);
const operationArbitrary = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('upsert' as const),
      id: idArbitrary,
      vector: vectorArbitrary,
      group: fc.integer({ min: 0, max: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), id: idArbitrary }) },
);
const filterArbitrary = fc.oneof(
  fc.constant(undefined),
  fc.integer({ min: 0, max: 3 }).map((group) => ({ group })),
  fc.integer({ min: 0, max: 3 }).map((group) => ({ group: { $gte: group } })),
);

describe('Memtable search equals brute force', () => {
  for (const metric of METRICS) {
    it(`metric ${metric}`, () => {
      fc.assert(
        fc.property(
          fc.array(operationArbitrary, { maxLength: 120 }),
          vectorArbitrary,
          fc.integer({ min: 1, max: 50 }),
          filterArbitrary,
          (operations, query, k, filter) => {
            const memtable = new Memtable(DIMENSION, metric);
            const model = new Map<string, ModelRow>();
            let lsn = 0;
            for (const operation of operations) {
              lsn += 1;
              if (operation.kind === 'upsert') {
                const metadata = { group: operation.group };
                expect(memtable.upsert(lsn, operation.id, operation.vector, metadata)).toBe(true);
                model.set(operation.id, { vector: operation.vector, metadata });
              } else {
                expect(memtable.delete(lsn, operation.id)).toBe(true);
                model.delete(operation.id);
              }
            }
            expect(memtable.size).toBe(model.size);
            expect(memtable.maxLsn).toBe(lsn);
            const predicate = compileFilter(filter);
            const actual = memtable.search(query, k, predicate);
            const expected = bruteForce(model, metric, query, k, predicate);
            expect(actual.map((hit) => hit.id)).toEqual(expected.map((hit) => hit.id));
            expect(actual.map((hit) => hit.score)).toEqual(expected.map((hit) => hit.score));
            expect(actual.map((hit) => hit.metadata)).toEqual(expected.map((hit) => hit.metadata));
          },
        ),
        { numRuns: 60, seed: 7 },
      );
    });
  }
});

describe('Memtable LSN rule', () => {
  it('an older upsert after a newer delete is ignored', () => {
    const memtable = new Memtable(2, 'l2');
    expect(memtable.upsert(1, 'a', Float32Array.of(1, 2), { v: 1 })).toBe(true);
    expect(memtable.delete(5, 'a')).toBe(true);
    expect(memtable.upsert(3, 'a', Float32Array.of(3, 4), { v: 3 })).toBe(false);
    expect(memtable.upsert(5, 'a', Float32Array.of(3, 4), { v: 5 })).toBe(false);
    expect(memtable.get('a')).toBeUndefined();
    expect(memtable.size).toBe(0);
    expect(memtable.maxLsn).toBe(5);
    expect(memtable.upsert(6, 'a', Float32Array.of(5, 6), { v: 6 })).toBe(true);
    expect(memtable.get('a')?.lsn).toBe(6);
  });

  it('a delete of an unseen id blocks older upserts', () => {
    const memtable = new Memtable(2, 'dot');
    expect(memtable.delete(10, 'ghost')).toBe(true);
    expect(memtable.upsert(9, 'ghost', Float32Array.of(1, 1), null)).toBe(false);
    expect(memtable.size).toBe(0);
  });

  it('older or equal upserts and deletes do not replace a newer upsert', () => {
    const memtable = new Memtable(2, 'cosine');
    expect(memtable.upsert(4, 'a', Float32Array.of(1, 0), { v: 4 })).toBe(true);
    expect(memtable.upsert(4, 'a', Float32Array.of(0, 1), { v: 'same' })).toBe(false);
    expect(memtable.upsert(2, 'a', Float32Array.of(0, 1), { v: 2 })).toBe(false);
    expect(memtable.delete(3, 'a')).toBe(false);
    expect(memtable.get('a')).toEqual({ id: 'a', vector: Float32Array.of(1, 0), metadata: { v: 4 }, lsn: 4 });
    expect(memtable.maxLsn).toBe(4);
  });

  it('copies the caller vector in and out', () => {
    const memtable = new Memtable(2, 'l2');
    const buffer = Float32Array.of(1, 2);
    memtable.upsert(1, 'a', buffer, null);
    buffer[0] = 99;
    const record = memtable.get('a');
    expect(record?.vector).toEqual(Float32Array.of(1, 2));
    if (record !== undefined) record.vector[1] = 42;
    expect(memtable.get('a')?.vector).toEqual(Float32Array.of(1, 2));
  });
});

describe('Memtable swap-delete', () => {
  it('keeps every remaining id gettable and searchable after many random deletes', () => {
    const random = new SeededRandom(3);
    const dimension = 8;
    const memtable = new Memtable(dimension, 'l2');
    const vectors = new Map<string, Float32Array>();
    let lsn = 0;
    for (let index = 0; index < 500; index++) {
      const vector = Float32Array.from({ length: dimension }, () => random.next());
      vectors.set(`row-${index}`, vector);
      memtable.upsert(++lsn, `row-${index}`, vector, { index });
    }
    const bytesFull = memtable.bytes;
    const ids = [...vectors.keys()];
    for (let removed = 0; removed < 350; removed++) {
      const [id] = ids.splice(random.int(ids.length), 1);
      if (id === undefined) throw new Error('unreachable');
      expect(memtable.delete(++lsn, id)).toBe(true);
      vectors.delete(id);
    }
    expect(memtable.size).toBe(150);
    expect(memtable.bytes).toBeLessThan(bytesFull);
    for (const [id, vector] of vectors) {
      expect(memtable.get(id)?.vector).toEqual(vector);
      const [best] = memtable.search(vector, 1, null);
      expect(best?.id).toBe(id);
      expect(best?.score).toBe(0);
    }
  });
});

describe('Memtable edges', () => {
  it('k larger than size returns all rows, best first', () => {
    const memtable = new Memtable(2, 'dot');
    memtable.upsert(1, 'b', Float32Array.of(1, 0), null);
    memtable.upsert(2, 'a', Float32Array.of(1, 0), null);
    memtable.upsert(3, 'c', Float32Array.of(2, 0), null);
    expect(memtable.search(Float32Array.of(1, 0), 100, null).map((hit) => hit.id)).toEqual(['c', 'a', 'b']);
    expect(new Memtable(2, 'dot').search(Float32Array.of(1, 0), 10, null)).toEqual([]);
  });

  it('rejects mismatched dimensions and bad arguments', () => {
    const memtable = new Memtable(3, 'cosine');
    const codeOf = (action: () => unknown): string | undefined => {
      try {
        action();
      } catch (error) {
        return error instanceof ShoalError ? error.code : 'not a ShoalError';
      }
      return undefined;
    };
    expect(codeOf(() => memtable.upsert(1, 'a', Float32Array.of(1, 2), null))).toBe('DIMENSION_MISMATCH');
    expect(codeOf(() => memtable.search(Float32Array.of(1, 2), 1, null))).toBe('DIMENSION_MISMATCH');
    expect(codeOf(() => memtable.search(Float32Array.of(1, 2, 3), 0, null))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => memtable.upsert(-1, 'a', Float32Array.of(1, 2, 3), null))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => memtable.upsert(1, 'a', Float32Array.of(1, Number.NaN, 3), null))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => new Memtable(0, 'l2'))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => new Memtable(2, 'hamming' as Metric))).toBe('INVALID_ARGUMENT');
  });

  it('bytes grows with rows and metadata', () => {
    const memtable = new Memtable(4, 'l2');
    const empty = memtable.bytes;
    memtable.upsert(1, 'a', new Float32Array(4), { text: 'x'.repeat(1000) });
    expect(memtable.bytes).toBeGreaterThan(empty + 2000);
    memtable.upsert(2, 'a', new Float32Array(4), null);
    expect(memtable.bytes).toBeLessThan(empty + 2000);
  });
});

describe('Memtable for flushes and tiers', () => {
  it("exports live rows and tombstones as segment columns, and reports each id's newest LSN", () => {
    const table = new Memtable(2, 'l2');
    table.upsert(1, 'a', new Float32Array([1, 2]), { tag: 'x' });
    table.upsert(2, 'b', new Float32Array([3, 4]), null);
    table.delete(3, 'b');
    table.delete(4, 'ghost');
    expect(table.lsnOf('a')).toBe(1);
    expect(table.lsnOf('b')).toBe(3);
    expect(table.lsnOf('ghost')).toBe(4);
    expect(table.lsnOf('never')).toBeUndefined();
    // Flush decisions count tombstones too: a burst of deletes fills a memtable like upserts do.
    expect(table.size).toBe(1);
    expect(table.entries).toBe(3);
    const rows = table.exportRows();
    expect(rows.ids).toHaveLength(table.entries);
    const byId = new Map(rows.ids.map((id, row) => [id, row]));
    expect([...byId.keys()].sort()).toEqual(['a', 'b', 'ghost']);
    const a = byId.get('a') as number;
    expect([...rows.vectors.subarray(a * 2, a * 2 + 2)]).toEqual([1, 2]);
    expect(rows.metadata[a]).toBe('{"tag":"x"}');
    expect(rows.deleted[a]).toBe(0);
    const b = byId.get('b') as number;
    expect(rows.deleted[b]).toBe(1);
    expect(rows.lsns[b]).toBe(3);
    expect(rows.metadata[b]).toBeNull();
  });

  it('skips rows that a newer tier supersedes', () => {
    const table = new Memtable(2, 'l2');
    table.upsert(1, 'a', new Float32Array([0, 0]), null);
    table.upsert(2, 'b', new Float32Array([1, 0]), null);
    const hits = table.search(new Float32Array([0, 0]), 5, null, (id) => id !== 'a');
    expect(hits.map((hit) => hit.id)).toEqual(['b']);
  });
});
