// Proves that bad input gets a typed ShoalError with a stable code and a message naming the field, that a rejected
// batch writes nothing, and that every call after close() fails with CLOSED.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Shoal, ShoalError } from '../../index.js';
import type { ErrorCode } from '../../index.js';
import { shardOf } from '../../cluster/routing.js';
import { temporaryDirectory } from '../fixtures/vectors.js';

async function errorOf(promise: Promise<unknown>): Promise<ShoalError> {
  const outcome = await promise.then(
    () => new Error('expected a rejection'),
    (error: unknown) => error,
  );
  expect(outcome).toBeInstanceOf(ShoalError);
  return outcome as ShoalError;
}

async function expectCode(promise: Promise<unknown>, code: ErrorCode, mentions?: string): Promise<void> {
  const error = await errorOf(promise);
  expect(error.code).toBe(code);
  if (mentions !== undefined) expect(error.message).toContain(mentions);
}

describe('bad input', () => {
  let directory: { path: string; remove: () => Promise<void> };
  let db: Shoal;

  beforeAll(async () => {
    directory = await temporaryDirectory('errors');
    db = await Shoal.open({ dataDir: directory.path });
    await db.createCollection({ name: 'c', dimension: 3, metric: 'cosine', shards: 2 });
  }, 60_000);

  afterAll(async () => {
    await db?.close();
    await directory?.remove();
  });

  it('rejects wrong dimensions with DIMENSION_MISMATCH', async () => {
    await expectCode(db.upsert('c', [{ id: 'a', vector: [1, 2] }]), 'DIMENSION_MISMATCH', 'dimension 3');
    await expectCode(
      db.upsert('c', [
        { id: 'a', vector: [1, 2, 3] },
        { id: 'b', vector: [1, 2, 3, 4] },
      ]),
      'DIMENSION_MISMATCH',
      'records[1].vector',
    );
    await expectCode(db.search('c', { vector: [1, 2], k: 1 }), 'DIMENSION_MISMATCH');
  });

  it('rejects NaN and Infinity, naming the record and position', async () => {
    await expectCode(
      db.upsert('c', [{ id: 'a', vector: [1, Number.NaN, 3] }]),
      'INVALID_ARGUMENT',
      'records[0].vector[1]',
    );
    await expectCode(
      db.upsert('c', [{ id: 'a', vector: [1, 2, Number.POSITIVE_INFINITY] }]),
      'INVALID_ARGUMENT',
      'records[0].vector[2]',
    );
    await expectCode(db.upsert('c', [{ id: 'a', vector: [1, 2, 1e39] }]), 'INVALID_ARGUMENT', 'finite float32');
    await expectCode(db.search('c', { vector: [Number.NaN, 1, 1], k: 1 }), 'INVALID_ARGUMENT', 'vector[0]');
  });

  it('rejects empty and non-string ids', async () => {
    await expectCode(db.upsert('c', [{ id: '', vector: [1, 2, 3] }]), 'INVALID_ARGUMENT', 'records[0].id');
    await expectCode(
      db.upsert('c', [{ id: 7 as unknown as string, vector: [1, 2, 3] }]),
      'INVALID_ARGUMENT',
      'records[0].id',
    );
    await expectCode(db.get('c', [null as unknown as string]), 'INVALID_ARGUMENT', 'ids[0]');
    await expectCode(db.delete('c', ['x'.repeat(513)]), 'INVALID_ARGUMENT', 'ids[0]');
  });

  it('rejects k outside 1..10,000 and bad filters', async () => {
    await expectCode(db.search('c', { vector: [1, 2, 3], k: 0 }), 'INVALID_ARGUMENT', 'k');
    await expectCode(db.search('c', { vector: [1, 2, 3], k: 10_001 }), 'INVALID_ARGUMENT', 'k');
    await expectCode(db.search('c', { vector: [1, 2, 3], k: 1.5 }), 'INVALID_ARGUMENT', 'k');
    await expectCode(
      db.search('c', { vector: [1, 2, 3], k: 1, filter: { year: { $near: 3 } } as never }),
      'INVALID_ARGUMENT',
      '$near',
    );
  });

  it('rejects unknown collections, duplicate creates and bad collection options', async () => {
    await expectCode(db.search('nope', { vector: [1, 2, 3], k: 1 }), 'COLLECTION_NOT_FOUND', 'nope');
    await expectCode(db.upsert('nope', [{ id: 'a', vector: [1, 2, 3] }]), 'COLLECTION_NOT_FOUND');
    await expectCode(db.dropCollection('nope'), 'COLLECTION_NOT_FOUND');
    await expectCode(db.createCollection({ name: 'c', dimension: 3, metric: 'cosine' }), 'COLLECTION_EXISTS');
    await expectCode(
      db.createCollection({ name: 'bad name!', dimension: 3, metric: 'cosine' }),
      'INVALID_ARGUMENT',
      'name',
    );
    await expectCode(
      db.createCollection({ name: 'x', dimension: 0, metric: 'cosine' }),
      'INVALID_ARGUMENT',
      'dimension',
    );
    await expectCode(
      db.createCollection({ name: 'x', dimension: 3, metric: 'hamming' as never }),
      'INVALID_ARGUMENT',
      'metric',
    );
    await expectCode(
      db.createCollection({ name: 'x', dimension: 3, metric: 'l2', shards: 0 }),
      'INVALID_ARGUMENT',
      'shards',
    );
    await expectCode(
      db.createCollection({ name: 'x', dimension: 3, metric: 'l2', syncMode: 'sometimes' as never }),
      'INVALID_ARGUMENT',
      'syncMode',
    );
    await expectCode(
      db.createCollection({ name: 'x', dimension: 3, metric: 'l2', syncMode: 'batch', syncIntervalMs: 50 }),
      'INVALID_ARGUMENT',
      'syncIntervalMs',
    );
    await expectCode(
      db.createCollection({ name: 'x', dimension: 3, metric: 'l2', syncMode: 'periodic', syncIntervalMs: 0 }),
      'INVALID_ARGUMENT',
      'syncIntervalMs',
    );
    await expectCode(db.request({ type: 'frobnicate' } as never), 'INVALID_ARGUMENT', 'frobnicate');
  });

  it('writes nothing from a batch with one bad record', async () => {
    const good = { id: 'good', vector: [1, 0, 0] };
    await expectCode(
      db.upsert('c', [good, { id: 'bad', vector: [1, 0, 'x' as unknown as number] }]),
      'INVALID_ARGUMENT',
      'records[1].vector[2]',
    );
    await expectCode(
      db.upsert('c', [good, { id: 'meta', vector: [1, 0, 0], metadata: [1, 2] as never }]),
      'INVALID_ARGUMENT',
      'records[1].metadata',
    );
    expect(await db.get('c', ['good', 'bad', 'meta'])).toEqual([]);
    expect((await db.stats()).collections[0]?.records).toBe(0);
  });

  it('writes nothing from a batch whose bad id only the WAL of another shard would have refused (a lone surrogate)', async () => {
    const lone = '\uD800x';
    // A good id routed to the other shard: without the check at the boundary its shard would write it.
    const other = ['g0', 'g1', 'g2', 'g3', 'g4', 'g5'].find((id) => shardOf(id, 2) !== shardOf(lone, 2)) as string;
    await expectCode(
      db.upsert('c', [
        { id: other, vector: [1, 0, 0] },
        { id: lone, vector: [0, 1, 0] },
      ]),
      'INVALID_ARGUMENT',
      'records[1].id',
    );
    expect(await db.get('c', [other])).toEqual([]);
    await expectCode(db.get('c', [lone]), 'INVALID_ARGUMENT', 'lone surrogates');
  });

  it('keeps the caller arrays usable (the client copies once)', async () => {
    const vector = new Float32Array([0.5, 0.5, 0]);
    await db.upsert('c', [{ id: 'kept', vector }]);
    expect(vector.byteLength).toBe(12);
    const query = new Float32Array([0.5, 0.5, 0]);
    await db.search('c', { vector: query, k: 1 });
    expect([...query]).toEqual([0.5, 0.5, 0]);
  });

  it('fails every call after close with CLOSED, and close is idempotent', async () => {
    const other = await temporaryDirectory('closed');
    const closing = await Shoal.open({ dataDir: other.path });
    await closing.close();
    await closing.close();
    await expectCode(closing.listCollections(), 'CLOSED');
    await expectCode(closing.search('c', { vector: [1, 2, 3], k: 1 }), 'CLOSED');
    await expectCode(closing.stats(), 'CLOSED');
    await other.remove();
  });

  it('rejects bad open options', async () => {
    await expectCode(Shoal.open({ dataDir: '' }), 'INVALID_ARGUMENT', 'dataDir');
    await expectCode(Shoal.open({ dataDir: directory.path, maxWorkers: 0 }), 'INVALID_ARGUMENT', 'maxWorkers');
    await expectCode(
      Shoal.open({ dataDir: directory.path, repairWal: 'yes' as unknown as boolean }),
      'INVALID_ARGUMENT',
      'repairWal',
    );
  });
});
