// Proves a built-then-opened segment answers like exact brute force: recall@10 ≥ 0.95 with the default ef on 20,000 ×
// 64-d clustered vectors and exactly with exact:true; filtered searches at 50 %, 10 % and 1 % selectivity return k hits
// with recall ≥ 0.95 whatever the strategy; isLive and tombstones hide rows; index scores convert correctly for every
// metric; builds are deterministic.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ShoalError } from '../../../runtime/errors.js';
import { nodeFileSystem } from '../../../runtime/fs.js';
import { compileFilter } from '../../../storage/filter.js';
import type { Metric } from '../../../storage/types.js';
import { HnswVectorIndex } from '../../../storage/viper/hnsw-index.js';
import { buildSegment } from '../../../storage/viper/segment-builder.js';
import { Segment } from '../../../storage/viper/segment.js';
import type { SegmentSearchOptions } from '../../../storage/viper/segment.js';
import type { SegmentRows } from '../../../storage/viper/segment-rows.js';
import { bruteForce, referenceScore, temporaryDirectory } from '../../fixtures/vectors.js';
import { VectorSource, idOf, liveRecords, makeRows, recallOf } from './fixtures/rows.js';

const COUNT = 20_000;
const DIMENSION = 64;
const QUERIES = 40;
const K = 10;

let folder: { path: string; remove: () => Promise<void> };
let rows: SegmentRows;
let records: ReturnType<typeof liveRecords>;
let segment: Segment;
let queries: Float32Array[];

beforeAll(async () => {
  folder = await temporaryDirectory('viper-segment');
  rows = makeRows({ count: COUNT, dimension: DIMENSION, seed: 3, tombstoneEvery: 50 });
  records = liveRecords(rows);
  await buildSegment(nodeFileSystem, folder.path, 'big', rows, { metric: 'cosine' });
  segment = await Segment.open(nodeFileSystem, folder.path, 'big');
  const source = new VectorSource(DIMENSION, 3);
  queries = Array.from({ length: QUERIES }, () => source.next());
});

afterAll(async () => {
  await folder.remove();
});

type Keep = (metadata: Record<string, unknown> | null | undefined, id: string) => boolean;

// Brute-force top-k ids of every query over the live rows `keep` accepts.
function truth(keep: Keep): string[][] {
  const kept = records.filter((record) => keep(record.metadata, record.id));
  return queries.map((query) => bruteForce('cosine', kept, query, K).map((hit) => hit.id));
}

// Mean recall of `search` against `expected` (one id list per query), and the smallest result count.
function measure(options: Omit<SegmentSearchOptions, 'k'>, expected: string[][]) {
  let recall = 0;
  let fewest = Number.POSITIVE_INFINITY;
  queries.forEach((query, index) => {
    const actual = segment.search(query, { k: K, ...options });
    recall += recallOf(
      expected[index] ?? [],
      actual.map((hit) => hit.id),
    );
    fewest = Math.min(fewest, actual.length);
  });
  return { recall: recall / queries.length, fewest };
}

describe('segment search', () => {
  it('opens with a manifest that matches the rows', () => {
    expect(segment.rows).toBe(COUNT);
    expect(segment.indexed).toBe(true);
    expect(segment.manifest).toMatchObject({
      rows: COUNT,
      liveRows: COUNT - COUNT / 50,
      minLsn: 1,
      maxLsn: COUNT,
      dimension: DIMENSION,
      metric: 'cosine',
    });
    expect(segment.manifest.files.index?.name).toBe('big.hnsw');
  });

  it('reaches recall@10 >= 0.95 with the default ef, and 1.0 with exact:true', () => {
    const expected = truth(() => true);
    const approximate = measure({ predicate: null, isLive: null }, expected);
    expect(approximate.recall).toBeGreaterThanOrEqual(0.95);
    const exact = measure({ predicate: null, isLive: null, exact: true }, expected);
    expect(exact.recall).toBe(1);
  });

  it('scores rows found by the index exactly as the exact scan does, best first with ties by id', () => {
    for (const query of queries.slice(0, 5)) {
      const approximate = segment.search(query, { k: K, predicate: null, isLive: null });
      const exact = new Map(
        segment.search(query, { k: 200, predicate: null, isLive: null, exact: true }).map((hit) => [hit.id, hit.score]),
      );
      for (const hit of approximate) if (exact.has(hit.id)) expect(hit.score).toBe(exact.get(hit.id));
      const reference = bruteForce('cosine', records, query, 1)[0];
      expect(exact.get(reference?.id ?? '')).toBeCloseTo(reference?.score ?? 0, 9);
      for (let index = 1; index < approximate.length; index++) {
        expect((approximate[index - 1]?.score ?? 0) >= (approximate[index]?.score ?? 0)).toBe(true);
      }
    }
  });

  for (const [percent, bound] of [
    [50, 50],
    [10, 10],
    [1, 1],
  ] as const) {
    it(`keeps k results and recall >= 0.95 under a ${percent} % filter`, () => {
      const predicate = compileFilter({ bucket: { $lt: bound } });
      const keep = (metadata: Record<string, unknown> | null | undefined) =>
        typeof metadata?.bucket === 'number' && metadata.bucket < bound;
      const expected = truth(keep);
      const planned = measure({ predicate, isLive: null }, expected);
      expect(planned.fewest).toBe(K);
      expect(planned.recall).toBeGreaterThanOrEqual(0.95);
      for (const strategy of ['hnsw-filtered', 'hnsw-overfetch', 'exact'] as const) {
        const forced = measure({ predicate, isLive: null, strategy }, expected);
        expect(forced.fewest, strategy).toBe(K);
        expect(forced.recall, strategy).toBeGreaterThanOrEqual(0.95);
      }
    });
  }

  it('plans over-fetching for a broad filter and an exact scan for a selective one', () => {
    expect(segment.plan({ k: K, predicate: null, isLive: null }).strategy).toBe('hnsw');
    expect(segment.plan({ k: K, predicate: compileFilter({ even: true }), isLive: null }).strategy).toBe(
      'hnsw-overfetch',
    );
    const selective = segment.plan({ k: K, predicate: compileFilter({ bucket: { $lt: 1 } }), isLive: null });
    expect(selective.strategy).toBe('exact');
    // About 196 rows match; a 512-row sample sees about 5 of them, so the estimate is coarse.
    expect(selective.estimatedMatches).toBeGreaterThan(40);
    expect(selective.estimatedMatches).toBeLessThan(600);
    expect(segment.plan({ k: K, predicate: null, isLive: null, exact: true }).strategy).toBe('exact');
  });

  it('hides rows that isLive rejects, and still returns k', () => {
    const hidden = (id: string) => Number(id.slice(4)) % 3 === 0;
    const isLive = (id: string, lsn: number) => {
      expect(lsn).toBe(Number(id.slice(4)) + 1);
      return !hidden(id);
    };
    const result = measure(
      { predicate: null, isLive },
      truth((_metadata, id) => !hidden(id)),
    );
    expect(result.fewest).toBe(K);
    expect(result.recall).toBeGreaterThanOrEqual(0.95);
    for (const query of queries.slice(0, 5)) {
      for (const exact of [false, true]) {
        for (const hit of segment.search(query, { k: 50, predicate: null, isLive, exact }))
          expect(hidden(hit.id)).toBe(false);
      }
    }
  });

  it('never returns tombstones, yet knows their LSNs', () => {
    const tombstone = idOf(49);
    expect(segment.get(tombstone)).toEqual({ kind: 'tombstone', id: tombstone, lsn: 50 });
    expect(segment.lsnOf(tombstone)).toBe(50);
    const live = segment.get(idOf(48));
    expect(live?.kind).toBe('live');
    if (live?.kind === 'live') {
      expect(Array.from(live.vector)).toEqual(Array.from(rows.vectors.subarray(48 * DIMENSION, 49 * DIMENSION)));
      expect(live.metadata).toEqual(JSON.parse(rows.metadata[48] ?? 'null'));
    }
    expect(segment.get('absent')).toBeUndefined();
    expect(segment.lsnOf('absent')).toBeUndefined();
    // Every 50th row is a tombstone: none may appear in a deep result list, from the index or the scan.
    for (const exact of [false, true]) {
      const hits = segment.search(queries[0] as Float32Array, { k: 500, predicate: null, isLive: null, exact });
      expect(hits.length).toBe(500);
      for (const hit of hits) expect(Number(hit.id.slice(4)) % 50).not.toBe(49);
    }
  });

  it('rejects a query of the wrong dimension and bad k or ef', () => {
    expect(() => segment.search(new Float32Array(3), { k: 1, predicate: null, isLive: null })).toThrow(
      expect.objectContaining({ code: 'DIMENSION_MISMATCH' }),
    );
    const query = queries[0] as Float32Array;
    expect(() => segment.search(query, { k: 0, predicate: null, isLive: null })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => segment.search(query, { k: 1, predicate: null, isLive: null, ef: 0 })).toThrow(ShoalError);
  });
});

describe('small segments and metrics', () => {
  it('searches a segment below the index threshold exactly', async () => {
    const small = makeRows({ count: 300, dimension: 8, seed: 9, tombstoneEvery: 4 });
    const manifest = await buildSegment(nodeFileSystem, folder.path, 'small', small, { metric: 'l2' });
    expect(manifest.files.index).toBeNull();
    const opened = await Segment.open(nodeFileSystem, folder.path, 'small');
    const query = new VectorSource(8, 10).next();
    const expected = bruteForce('l2', liveRecords(small), query, 5);
    const actual = opened.search(query, { k: 5, predicate: null, isLive: null });
    expect(actual.map((hit) => hit.id)).toEqual(expected.map((hit) => hit.id));
    actual.forEach((hit, index) => expect(hit.score).toBeCloseTo(expected[index]?.score ?? 0, 9));
    expect(opened.plan({ k: 5, predicate: null, isLive: null }).strategy).toBe('exact');
  });

  for (const metric of ['cosine', 'l2', 'dot'] satisfies Metric[]) {
    it(`converts hnswlib distances into ${metric} scores and finds the same neighbours`, () => {
      const small = makeRows({ count: 1_500, dimension: 16, seed: 21 });
      const index = HnswVectorIndex.build(small, metric, { M: 16, efConstruction: 100 });
      const query = new VectorSource(16, 22).next();
      const found = index.search(query, 10, 100, null);
      const expected = bruteForce(metric, liveRecords(small), query, 10);
      expect(
        recallOf(
          expected.map((hit) => hit.id),
          found.rows.map((row) => idOf(row)),
        ),
      ).toBeGreaterThanOrEqual(0.9);
      found.rows.forEach((row, position) => {
        const vector = small.vectors.subarray(row * 16, (row + 1) * 16);
        const tolerance = Math.max(1e-4, Math.abs(referenceScore(metric, query, vector)) * 1e-5);
        expect(Math.abs((found.scores[position] ?? 0) - referenceScore(metric, query, vector))).toBeLessThan(tolerance);
      });
    });
  }

  it('builds identical files from identical rows', async () => {
    const input = makeRows({ count: 1_500, dimension: 16, seed: 31, tombstoneEvery: 9 });
    const first = await buildSegment(nodeFileSystem, folder.path, 'twin-a', input, { metric: 'dot' });
    const second = await buildSegment(nodeFileSystem, join(folder.path), 'twin-b', input, { metric: 'dot' });
    expect(first.files.index?.crc32c).toBe(second.files.index?.crc32c);
    expect(first.files.parquet.crc32c).toBe(second.files.parquet.crc32c);
    expect(first.liveRows).toBe(1_500 - Math.floor(1_500 / 9));
  });
});
