// Proves every sync mode works end to end through the public API with real workers and files: writes in each mode are
// acknowledged, searchable, and found again after close and reopen.
import { afterAll, describe, expect, it } from 'vitest';
import { Shoal } from '../../index.js';
import type { SyncMode } from '../../index.js';
import { randomVectors, temporaryDirectory } from '../fixtures/vectors.js';

describe('sync modes', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  it('acknowledges, serves and recovers writes in always, batch, periodic and never modes', async () => {
    const directory = await temporaryDirectory('sync-modes');
    cleanup.push(directory.remove);
    const modes: SyncMode[] = ['always', 'batch', 'periodic', 'never'];
    const vectors = randomVectors(200, 4, 9);
    let db = await Shoal.open({ dataDir: directory.path });
    for (const mode of modes) {
      await db.createCollection({
        name: mode,
        dimension: 4,
        metric: 'l2',
        shards: 1,
        syncMode: mode,
        ...(mode === 'periodic' ? { syncIntervalMs: 20 } : {}),
      });
      await Promise.all(vectors.map((vector, i) => db.upsert(mode, [{ id: `${mode}-${i}`, vector }])));
      expect((await db.search(mode, { vector: vectors[3] as Float32Array, k: 1 }))[0]?.id).toBe(`${mode}-3`);
    }
    await db.close();
    db = await Shoal.open({ dataDir: directory.path });
    cleanup.push(() => db.close());
    const stats = await db.stats();
    for (const mode of modes) {
      const collection = stats.collections.find((each) => each.name === mode);
      expect(collection).toMatchObject({ syncMode: mode, records: 200 });
      expect((await db.search(mode, { vector: vectors[150] as Float32Array, k: 1 }))[0]?.id).toBe(`${mode}-150`);
    }
  });
});
