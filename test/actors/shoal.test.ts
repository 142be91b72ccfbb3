// Proves the public API end to end with real worker threads and real files: 10,000 random 64-d vectors over 4 shards
// return exactly the brute-force top-k (ids and order) for every metric, with and without filters, overwrites and
// deletes take effect, and everything is the same after close and reopen.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Shoal } from '../../index.js';
import type { Filter, Metric, SearchHit } from '../../index.js';
import { bruteForce, randomVectors, temporaryDirectory } from '../fixtures/vectors.js';

const DIMENSION = 64;
const COUNT = 10_000;

interface Row {
  id: string;
  vector: Float32Array;
  metadata: { group: number; even: boolean; tag: string; year: number };
}

function makeRows(count: number, seed: number): Row[] {
  return randomVectors(count, DIMENSION, seed).map((vector, i) => ({
    id: `doc-${i}`,
    vector,
    metadata: { group: i % 10, even: i % 2 === 0, tag: `t${i % 3}`, year: 1990 + (i % 35) },
  }));
}

function expectSameHits(actual: SearchHit[], expected: { id: string; score: number }[]): void {
  expect(actual.map((hit) => hit.id)).toEqual(expected.map((hit) => hit.id));
  actual.forEach((hit, i) => expect(hit.score).toBeCloseTo((expected[i] as { score: number }).score, 5));
}

describe('Shoal through the public API', () => {
  let directory: { path: string; remove: () => Promise<void> };
  let db: Shoal;
  const rows = makeRows(COUNT, 7);
  const queries = randomVectors(25, DIMENSION, 99);

  beforeAll(async () => {
    directory = await temporaryDirectory('api');
    db = await Shoal.open({ dataDir: directory.path });
    await db.createCollection({ name: 'vectors', dimension: DIMENSION, metric: 'cosine', shards: 4 });
    for (let start = 0; start < COUNT; start += 2_500) await db.upsert('vectors', rows.slice(start, start + 2_500));
  }, 120_000);

  afterAll(async () => {
    await db?.close();
    await directory?.remove();
  });

  it('returns exactly the brute-force top-k, in order, for every query', async () => {
    for (const query of queries) {
      expectSameHits(await db.search('vectors', { vector: query, k: 10 }), bruteForce('cosine', rows, query, 10));
    }
    const wide = await db.search('vectors', { vector: queries[0] as Float32Array, k: 500 });
    expectSameHits(wide, bruteForce('cosine', rows, queries[0] as Float32Array, 500));
  });

  it('applies filters and still returns k results when k match', async () => {
    const cases: { filter: Filter; keep: (m: Row['metadata']) => boolean }[] = [
      { filter: { group: 3 }, keep: (m) => m.group === 3 },
      { filter: { tag: { $in: ['t0', 't2'] } }, keep: (m) => m.tag === 't0' || m.tag === 't2' },
      { filter: { $and: [{ year: { $gte: 2000 } }, { even: true }] }, keep: (m) => m.year >= 2000 && m.even },
      { filter: { $or: [{ group: 1 }, { year: { $lt: 1992 } }] }, keep: (m) => m.group === 1 || m.year < 1992 },
      { filter: { $not: { group: { $in: [0, 1, 2, 3, 4, 5, 6, 7, 8] } } }, keep: (m) => m.group === 9 },
    ];
    for (const { filter, keep } of cases) {
      const query = queries[1] as Float32Array;
      const hits = await db.search('vectors', { vector: query, k: 20, filter });
      expect(hits).toHaveLength(20);
      for (const hit of hits) expect(keep(hit.metadata as Row['metadata'])).toBe(true);
      expectSameHits(
        hits,
        bruteForce('cosine', rows, query, 20, (m) => keep(m as Row['metadata'])),
      );
    }
  });

  it('answers a batch of queries (mixed k, filters, exact) exactly as the same searches one by one', async () => {
    const batch = queries.map((vector, i) => ({
      vector: Array.from(vector),
      k: 1 + (i % 4) * 7,
      ...(i % 3 === 0 ? { filter: { group: i % 10 } } : {}),
      ...(i % 5 === 0 ? { exact: true } : {}),
    }));
    const results = await db.searchBatch('vectors', { queries: batch });
    expect(results).toHaveLength(batch.length);
    for (const [i, query] of batch.entries()) {
      const alone = await db.search('vectors', query);
      expect(results[i]).toEqual(alone);
      const filter = query.filter;
      expectSameHits(
        results[i] as SearchHit[],
        bruteForce(
          'cosine',
          rows,
          queries[i] as Float32Array,
          query.k,
          filter === undefined ? undefined : (m) => (m as Row['metadata']).group === filter.group,
        ),
      );
    }
    const before = (await db.stats()).collections.find((collection) => collection.name === 'vectors')?.searches ?? 0;
    await db.searchBatch('vectors', { queries: batch.slice(0, 3) });
    expect((await db.stats()).collections.find((collection) => collection.name === 'vectors')?.searches).toBe(
      before + 3,
    );
  });

  it('answers concurrent single searches (coalesced into shared trips) exactly as sequential ones, failing only the bad one', async () => {
    const sequential = [];
    for (const query of queries) sequential.push(await db.search('vectors', { vector: query, k: 7 }));
    const before = (await db.stats()).collections.find((collection) => collection.name === 'vectors')?.searches ?? 0;
    const concurrent = await Promise.all(queries.map((query) => db.search('vectors', { vector: query, k: 7 })));
    expect(concurrent).toEqual(sequential);
    expect((await db.stats()).collections.find((collection) => collection.name === 'vectors')?.searches).toBe(
      before + queries.length,
    );
    const mixed = await Promise.allSettled([
      db.search('vectors', { vector: queries[0] as Float32Array, k: 7 }),
      db.search('vectors', { vector: [1, 2, 3], k: 7 }),
      db.search('vectors', { vector: queries[1] as Float32Array, k: 7, filter: { group: 3 } }),
    ]);
    expect(mixed[0]).toEqual({ status: 'fulfilled', value: sequential[0] });
    expect(mixed[1]).toMatchObject({ status: 'rejected', reason: { code: 'DIMENSION_MISMATCH' } });
    expect(mixed[2]).toMatchObject({ status: 'fulfilled' });
    expect(
      (mixed[2] as PromiseFulfilledResult<SearchHit[]>).value.every(
        (hit) => (hit.metadata as Row['metadata']).group === 3,
      ),
    ).toBe(true);
  });

  it('rejects a bad batch whole, with a typed error naming the query', async () => {
    const query = { vector: queries[0] as Float32Array, k: 3 };
    const failure = async (promise: Promise<unknown>): Promise<{ code: string; message: string }> =>
      promise.then(
        () => ({ code: 'none', message: '' }),
        (error: { code: string; message: string }) => error,
      );
    expect(await failure(db.searchBatch('vectors', { queries: [] }))).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(
      await failure(db.searchBatch('vectors', { queries: Array.from({ length: 1_001 }, () => query) })),
    ).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(
      await failure(
        db.searchBatch('vectors', { queries: Array.from({ length: 11 }, () => ({ ...query, k: 10_000 })) }),
      ),
    ).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('sum of k') });
    expect(await failure(db.searchBatch('vectors', { queries: [query, { ...query, k: 0 }] }))).toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('queries[1].k'),
    });
    expect(await failure(db.searchBatch('vectors', { queries: [query, { vector: [1, 2, 3], k: 3 }] }))).toMatchObject({
      code: 'DIMENSION_MISMATCH',
      message: expect.stringContaining('queries[1].vector'),
    });
    expect(await failure(db.searchBatch('vectors', { queries: [{ vector: [1, 2, 3], k: 3 }] }))).toMatchObject({
      code: 'DIMENSION_MISMATCH',
    });
    expect(
      await failure(
        db.searchBatch('vectors', { queries: [query, { ...query, filter: { $nope: 1 } as unknown as Filter }] }),
      ),
    ).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(await failure(db.searchBatch('missing', { queries: [query] }))).toMatchObject({
      code: 'COLLECTION_NOT_FOUND',
    });
  });
  it('returns stored records with their vectors and metadata, in the order asked', async () => {
    const records = await db.get('vectors', ['doc-5', 'missing', 'doc-2']);
    expect(records.map((record) => record.id)).toEqual(['doc-5', 'doc-2']);
    expect([...(records[0]?.vector ?? [])]).toEqual([...(rows[5] as Row).vector]);
    expect(records[1]?.metadata).toEqual((rows[2] as Row).metadata);
  });

  it('replaces an overwritten id, hides a deleted one, and ignores deletes of unknown ids', async () => {
    const target = rows[42] as Row;
    const replacement = randomVectors(1, DIMENSION, 4242)[0] as Float32Array;
    await db.upsert('vectors', [
      { id: target.id, vector: replacement, metadata: { group: 99, even: false, tag: 'new', year: 2030 } },
    ]);
    const [stored] = await db.get('vectors', [target.id]);
    expect([...(stored?.vector ?? [])]).toEqual([...replacement]);
    const hits = await db.search('vectors', { vector: replacement, k: 1 });
    expect(hits[0]?.id).toBe(target.id);
    expect(hits[0]?.metadata).toMatchObject({ group: 99 });
    target.vector = replacement;
    target.metadata = { group: 99, even: false, tag: 'new', year: 2030 };

    const doomed = rows[77] as Row;
    expect(await db.delete('vectors', [doomed.id, 'never-existed'])).toEqual({ count: 2 });
    expect(await db.get('vectors', [doomed.id])).toEqual([]);
    const near = await db.search('vectors', { vector: doomed.vector, k: 50 });
    expect(near.map((hit) => hit.id)).not.toContain(doomed.id);
    rows.splice(77, 1);
    expect((await db.stats()).collections[0]?.records).toBe(COUNT - 1);
  });

  it('finds the same answers after close and reopen', async () => {
    const before = await Promise.all(
      queries.slice(0, 5).map((query) => db.search('vectors', { vector: query, k: 10, filter: { even: true } })),
    );
    await db.close();
    db = await Shoal.open({ dataDir: directory.path });
    const after = await Promise.all(
      queries.slice(0, 5).map((query) => db.search('vectors', { vector: query, k: 10, filter: { even: true } })),
    );
    expect(after).toEqual(before);
    expect((await db.stats()).collections[0]?.records).toBe(COUNT - 1);
    expect((await db.get('vectors', ['doc-42']))[0]?.metadata).toMatchObject({ group: 99 });
    expect(await db.get('vectors', ['doc-77'])).toEqual([]);
  });
});

describe('metrics', () => {
  for (const metric of ['l2', 'dot'] as Metric[]) {
    it(`ranks by ${metric} exactly like brute force`, async () => {
      const directory = await temporaryDirectory(metric);
      const db = await Shoal.open({ dataDir: directory.path });
      try {
        const rows = makeRows(2_000, metric === 'l2' ? 11 : 12);
        await db.createCollection({ name: 'm', dimension: DIMENSION, metric, shards: 2 });
        await db.upsert('m', rows);
        for (const query of randomVectors(10, DIMENSION, 5)) {
          expectSameHits(await db.search('m', { vector: query, k: 10 }), bruteForce(metric, rows, query, 10));
        }
        if (metric === 'l2') {
          const self = rows[3] as Row;
          const [first] = await db.search('m', { vector: self.vector, k: 1 });
          expect(first).toMatchObject({ id: self.id, score: 0 });
        }
      } finally {
        await db.close();
        await directory.remove();
      }
    });
  }
});

describe('read routes', () => {
  it('sends searches of a dropped and recreated name to the new collection, and fails a dropped one with COLLECTION_NOT_FOUND', async () => {
    const directory = await temporaryDirectory('routes');
    const db = await Shoal.open({ dataDir: directory.path });
    try {
      const old = makeRows(300, 21);
      await db.createCollection({ name: 'r', dimension: DIMENSION, metric: 'cosine', shards: 2 });
      await db.upsert('r', old);
      const query = randomVectors(1, DIMENSION, 22)[0] as Float32Array;
      expectSameHits(await db.search('r', { vector: query, k: 5 }), bruteForce('cosine', old, query, 5));
      await db.dropCollection('r');
      await expect(db.search('r', { vector: query, k: 5 })).rejects.toMatchObject({ code: 'COLLECTION_NOT_FOUND' });
      // The same name again, with another dimension and shard count: the route the client held must not be used.
      await db.createCollection({ name: 'r', dimension: 8, metric: 'l2', shards: 3 });
      await expect(db.search('r', { vector: query, k: 5 })).rejects.toMatchObject({ code: 'DIMENSION_MISMATCH' });
      const fresh = randomVectors(50, 8, 23).map((vector, i) => ({ id: `new-${i}`, vector, metadata: null }));
      await db.upsert('r', fresh);
      const small = randomVectors(1, 8, 24)[0] as Float32Array;
      const hits = await db.search('r', { vector: small, k: 5 });
      expect(hits.map((hit) => hit.id)).toEqual(bruteForce('l2', fresh, small, 5).map((hit) => hit.id));
      expect((await db.stats()).collections.find((collection) => collection.name === 'r')?.searches).toBe(1);
    } finally {
      await db.close();
      await directory.remove();
    }
  });
});
