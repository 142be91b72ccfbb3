// Proves that a whole Shoal instance (the real supervisor, WAL writer, engine and shard actors, unchanged) runs under
// the simulator: create a collection, upsert, search, crash the node (losing unsynced data), restart from durable
// state, and every acknowledged record is there with its exact vector.
import { describe, expect, it } from 'vitest';
import type { RecordResult } from '../../actors/public-api.js';
import { SimSystem } from '../../runtime/sim/sim-system.js';
import { SimShoal, simSpecTransform } from '../chaos/sim-shoal.js';

const DIMENSION = 8;

function vectorOf(seed: number): Float32Array {
  const vector = new Float32Array(DIMENSION);
  for (let index = 0; index < DIMENSION; index++) vector[index] = Math.sin(seed * 7.3 + index * 1.7);
  return vector;
}

async function openSim(seed: number): Promise<{ sim: SimSystem; shoal: SimShoal }> {
  const sim = new SimSystem({ seed, fs: { directories: ['/data'] }, specTransform: simSpecTransform });
  const shoal = await SimShoal.start(sim, { dataDir: '/data' });
  return { sim, shoal };
}

describe('Shoal under the simulator', () => {
  it('keeps every acknowledged record across a node crash', async () => {
    const { sim, shoal } = await openSim(11);
    await shoal.createCollection({ name: 'docs', dimension: DIMENSION, metric: 'cosine', shards: 2 });
    const acknowledged = new Map<string, Float32Array>();
    const clients = Array.from({ length: 4 }, async (_, client) => {
      for (let batch = 0; batch < 10; batch++) {
        const records = Array.from({ length: 3 }, (_, row) => ({
          id: `c${client}-${batch}-${row}`,
          vector: vectorOf(client * 1000 + batch * 10 + row),
          metadata: { client },
        }));
        await shoal.upsert('docs', records);
        for (const record of records) acknowledged.set(record.id, record.vector);
      }
    });
    await Promise.all(clients);
    const hits = await shoal.search('docs', { vector: vectorOf(2 * 1000 + 3 * 10 + 1), k: 3 });
    expect(hits[0]?.id).toBe('c2-3-1');
    expect(hits[0]?.score).toBeCloseTo(1, 5);
    const inFlight = shoal.upsert('docs', [{ id: 'maybe', vector: vectorOf(99) }]).then(
      () => 'acknowledged',
      () => 'failed',
    );
    await sim.runFor(0.1);
    sim.crashNode();
    expect(await inFlight).toBe('failed');
    await shoal.restart();
    const found = await shoal.get('docs', [...acknowledged.keys()]);
    expect(found.length).toBe(acknowledged.size);
    for (const record of found as RecordResult[])
      expect(Array.from(record.vector)).toEqual(Array.from(acknowledged.get(record.id) as Float32Array));
    const again = await shoal.search('docs', { vector: vectorOf(3 * 1000 + 9 * 10 + 2), k: 1 });
    expect(again[0]?.id).toBe('c3-9-2');
    const stats = await shoal.stats();
    expect(stats.collections[0]?.records).toBeGreaterThanOrEqual(acknowledged.size);
    expect(sim.trace()).toMatch(/fs-crash/);
  });
});
