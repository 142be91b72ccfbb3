// Proves that a failing disk reaches the host as a typed error and nothing else: after ENOSPC (or EIO on fdatasync) is
// injected into a shard's WAL files, writes to that shard fail with STORAGE_FAILED naming the cause, nothing is
// acknowledged, the process stays up, and searches and gets keep answering with the data written before.
import { afterEach, describe, expect, it } from 'vitest';
import { Shoal } from '../../index.js';
import { randomVectors, temporaryDirectory } from '../fixtures/vectors.js';

describe('storage failures', () => {
  let cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.reverse()) await step();
    cleanup = [];
  });

  for (const [operation, code] of [
    ['write', 'ENOSPC'],
    ['datasync', 'EIO'],
  ] as const) {
    it(`rejects writes with STORAGE_FAILED after ${code} on ${operation}, and keeps reads working`, async () => {
      const directory = await temporaryDirectory(`storage-${code}`);
      const db = await Shoal.open({ dataDir: directory.path, faultInjection: true });
      cleanup.push(directory.remove, () => db.close());
      await db.createCollection({ name: 'c', dimension: 8, metric: 'l2', shards: 1 });
      const vectors = randomVectors(100, 8, 5);
      await db.upsert(
        'c',
        vectors.map((vector, i) => ({ id: `before-${i}`, vector })),
      );

      await db.injectFault({ kind: 'io-error', actor: 'wal', collection: 'c', shard: 0, operation, code });
      const failure = await db
        .upsert('c', [{ id: 'after', vector: vectors[0] as Float32Array }])
        .catch((error: unknown) => error);
      expect(failure).toMatchObject({ code: 'STORAGE_FAILED' });
      expect((failure as Error).message).toContain(code);
      // The WAL stays failed: later writes are refused too, never acknowledged.
      await expect(db.upsert('c', [{ id: 'later', vector: vectors[1] as Float32Array }])).rejects.toMatchObject({
        code: 'STORAGE_FAILED',
      });
      await expect(db.delete('c', ['before-1'])).rejects.toMatchObject({ code: 'STORAGE_FAILED' });

      expect(await db.get('c', ['after', 'later'])).toEqual([]);
      const hits = await db.search('c', { vector: vectors[7] as Float32Array, k: 1 });
      expect(hits[0]?.id).toBe('before-7');
      expect((await db.get('c', ['before-1']))[0]?.id).toBe('before-1');
      expect((await db.stats()).collections[0]?.records).toBe(100);
    });
  }
});
