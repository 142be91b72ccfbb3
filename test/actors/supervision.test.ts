// Proves supervision with real threads: when the worker thread of an engine, shard or WAL writer is killed (or the
// actor crashes), it is restarted with its data replayed from the WAL and the collection keeps answering; a killed
// supervisor restarts without losing collections, searches answer while it boots, and a close during that boot does not
// wait for it; past the restart intensity the shard stops and answers UNAVAILABLE, and a partial search says so.
import { afterEach, describe, expect, it } from 'vitest';
import { Shoal } from '../../index.js';
import type { FaultSpec, SearchHit } from '../../index.js';
import { randomVectors, temporaryDirectory } from '../fixtures/vectors.js';

const DIMENSION = 32;
/** The records loaded at the start (those written during the test have no metadata). */
const ORIGINAL = { i: { $gte: 0 } };

async function loaded(
  dataDir: string,
  maxRestarts = 5,
): Promise<{ db: Shoal; query: Float32Array; before: SearchHit[] }> {
  const db = await Shoal.open({ dataDir, faultInjection: true, maxRestarts });
  await db.createCollection({ name: 'c', dimension: DIMENSION, metric: 'cosine', shards: 2 });
  const vectors = randomVectors(3_000, DIMENSION, 17);
  await db.upsert(
    'c',
    vectors.map((vector, i) => ({ id: `r${i}`, vector, metadata: { i } })),
  );
  const query = randomVectors(1, DIMENSION, 18)[0] as Float32Array;
  return { db, query, before: await db.search('c', { vector: query, k: 20, filter: ORIGINAL }) };
}

describe('supervision', () => {
  let cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.reverse()) await step();
    cleanup = [];
  });

  it('restarts killed and crashed actors; the collection keeps answering with all its data', async () => {
    const directory = await temporaryDirectory('supervision');
    const { db, query, before } = await loaded(directory.path);
    cleanup.push(directory.remove, () => db.close());
    const faults: FaultSpec[] = [
      { kind: 'kill-worker', actor: 'engine', collection: 'c', shard: 0 },
      { kind: 'kill-worker', actor: 'shard', collection: 'c', shard: 1 },
      { kind: 'crash', actor: 'wal', collection: 'c', shard: 0 },
      { kind: 'crash', actor: 'engine', collection: 'c', shard: 1 },
    ];
    for (const fault of faults) {
      await db.injectFault(fault);
      // Requests during the restart wait (or retry) until the actors are back, within their deadline.
      expect(await db.search('c', { vector: query, k: 20, filter: ORIGINAL, timeoutMs: 20_000 })).toEqual(before);
      await db.upsert('c', [{ id: `after-${fault.actor}-${fault.kind}`, vector: query }]);
    }
    const top = await db.search('c', { vector: query, k: 4 });
    expect(top.map((hit) => hit.id).sort()).toEqual([
      'after-engine-crash',
      'after-engine-kill-worker',
      'after-shard-kill-worker',
      'after-wal-crash',
    ]);
    const stats = await db.stats();
    expect(stats.restarts).toBeGreaterThanOrEqual(4);
    expect(stats.collections[0]?.records).toBe(3_004);
    expect(stats.failedShards).toEqual([]);
  });

  it('restarts the supervisor itself without losing collections', async () => {
    const directory = await temporaryDirectory('supervisor');
    const { db, query, before } = await loaded(directory.path);
    cleanup.push(directory.remove, () => db.close());
    await db.injectFault({ kind: 'kill-worker', actor: 'supervisor' });
    let after: SearchHit[] | undefined;
    for (let attempt = 0; after === undefined && attempt < 100; attempt++) {
      after = await db.search('c', { vector: query, k: 20 }).catch(() => undefined);
      if (after === undefined) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(after).toEqual(before);
  });

  it('closes promptly while the supervisor restarts', async () => {
    const directory = await temporaryDirectory('close-restarting');
    const { db, query, before } = await loaded(directory.path);
    cleanup.push(directory.remove);
    await db.injectFault({ kind: 'kill-worker', actor: 'supervisor' });
    // A search needs no supervisor once the client knows the route: it answers while the supervisor boots again.
    expect(await db.search('c', { vector: query, k: 20, filter: ORIGINAL })).toEqual(before);
    // The close meets the new supervisor booting. Its boot once waited for a metadata leader
    // among replicas that the close had stopped, holding the close for the boot's whole minute.
    const closing = Date.now();
    await db.close();
    expect(Date.now() - closing).toBeLessThan(30_000);
  });

  it('stops a shard that crashes more often than maxRestarts and answers UNAVAILABLE (or partial results when allowed)', async () => {
    const directory = await temporaryDirectory('escalation');
    const { db, query } = await loaded(directory.path, 1);
    cleanup.push(directory.remove, () => db.close());
    await db.injectFault({ kind: 'kill-worker', actor: 'engine', collection: 'c', shard: 0 });
    await db.search('c', { vector: query, k: 5, timeoutMs: 20_000 });
    await db.injectFault({ kind: 'kill-worker', actor: 'engine', collection: 'c', shard: 0 });
    let failed: string[] = [];
    for (let attempt = 0; failed.length === 0 && attempt < 100; attempt++) {
      failed = (await db.stats()).failedShards;
      if (failed.length === 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(failed).toHaveLength(1);
    expect((await db.stats()).collections[0]?.unavailableShards).toBe(1);
    await expect(db.search('c', { vector: query, k: 5 })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    const partial = await db.request({ type: 'search', collection: 'c', vector: query, k: 5, allowPartial: true });
    expect(partial).toMatchObject({ partial: true, shardsAnswered: 1, shardsTotal: 2 });
    expect(partial.hits).toHaveLength(5);
  });

  it('refuses fault injection unless enabled', async () => {
    const directory = await temporaryDirectory('nofaults');
    const db = await Shoal.open({ dataDir: directory.path });
    cleanup.push(directory.remove, () => db.close());
    await expect(db.injectFault({ kind: 'crash', actor: 'supervisor' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });
});
