// Proves durability against kill -9: a child process upserts batches and prints each acknowledged one; the test SIGKILLs it at a random moment, reopens the data directory and finds every acknowledged record, vector for vector, three times over the same directory.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Shoal } from '../../index.js';
import { SeededRandom } from '../../runtime/random.js';
import { runUntilKilled } from '../fixtures/child-process.js';
import { temporaryDirectory, vectorForId } from '../fixtures/vectors.js';

const WRITER = fileURLToPath(new URL('./fixtures/crash-writer.ts', import.meta.url));
const DIMENSION = 16;
const BATCH_SIZE = 25;
const ROUNDS = 3;

/** Runs the writer until `killAfterMs` after its first acknowledgement, SIGKILLs it, and returns the acknowledged batches. */
async function runAndKill(dataDir: string, firstBatch: number, killAfterMs: number): Promise<number[]> {
  const acknowledged: number[] = [];
  let timer: NodeJS.Timeout | undefined;
  await runUntilKilled(WRITER, [dataDir, String(firstBatch)], (line, kill) => {
    if (!line.startsWith('ACK ')) return;
    acknowledged.push(Number(line.slice(4)));
    timer ??= setTimeout(kill, killAfterMs);
  });
  return acknowledged;
}

describe('crash safety (SIGKILL)', () => {
  let directory: { path: string; remove: () => Promise<void> };
  beforeAll(async () => {
    directory = await temporaryDirectory('crash');
  });
  afterAll(async () => {
    await directory?.remove();
  });

  it('keeps every acknowledged write across repeated kills', async () => {
    const random = new SeededRandom(20261123);
    const everAcknowledged: number[] = [];
    let nextBatch = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const killAfterMs = 300 + random.int(1_500);
      const acknowledged = await runAndKill(directory.path, nextBatch, killAfterMs);
      expect(acknowledged.length).toBeGreaterThan(0);
      everAcknowledged.push(...acknowledged);
      nextBatch = Math.max(...everAcknowledged) + 100;

      const db = await Shoal.open({ dataDir: directory.path });
      try {
        const ids = everAcknowledged.flatMap((batch) => Array.from({ length: BATCH_SIZE }, (_, i) => `b${batch}-${i}`));
        for (let start = 0; start < ids.length; start += 5_000) {
          const wanted = ids.slice(start, start + 5_000);
          const found = await db.get('crash', wanted);
          expect(found.map((record) => record.id)).toEqual(wanted);
          for (const record of found) expect([...record.vector]).toEqual([...vectorForId(record.id, DIMENSION)]);
        }
        // Writes in flight at the kill were not acknowledged: each may be there or not, but never corrupted.
        const acknowledgedSet = new Set(everAcknowledged);
        const inFlight = Array.from({ length: 16 }, (_, i) => Math.max(...acknowledged) - 8 + i).filter((batch) => batch >= 0 && !acknowledgedSet.has(batch));
        const maybe = await db.get('crash', inFlight.flatMap((batch) => Array.from({ length: BATCH_SIZE }, (_, i) => `b${batch}-${i}`)));
        for (const record of maybe) expect([...record.vector]).toEqual([...vectorForId(record.id, DIMENSION)]);
        const stats = (await db.stats()).collections.find((collection) => collection.name === 'crash');
        expect(stats?.records).toBeGreaterThanOrEqual(ids.length);
        console.log(`[crash] round ${round + 1}: killed ${killAfterMs} ms after the first ack; ${acknowledged.length} batches acknowledged this round, ${ids.length} records acknowledged in all, ${stats?.records} present, ${stats?.walTruncatedBytes} torn WAL bytes cut`);
      } finally {
        await db.close();
      }
    }
  }, 240_000);
});
