// Proves durability against kill -9: a child process upserts batches and prints each acknowledged one; the test SIGKILLs it at a random moment (once while it only writes, once while segment builds and compactions run all the time), reopens the data directory and finds every acknowledged record, vector for vector and exactly once, three times over the same directory.
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Shoal } from '../../index.js';
import { SeededRandom } from '../../runtime/random.js';
import { runUntilKilled } from '../fixtures/child-process.js';
import { temporaryDirectory, vectorForId } from '../fixtures/vectors.js';

const WRITER = fileURLToPath(new URL('./fixtures/crash-writer.ts', import.meta.url));
const DIMENSION = 16;
const BATCH_SIZE = 25;
const ROUNDS = 3;

/** Runs the writer until `killAfterMs` after its first acknowledgement, SIGKILLs it, and returns the acknowledged batches. */
async function runAndKill(dataDir: string, firstBatch: number, killAfterMs: number, flushRows?: number): Promise<number[]> {
  const acknowledged: number[] = [];
  let timer: NodeJS.Timeout | undefined;
  const args = flushRows === undefined ? [dataDir, String(firstBatch)] : [dataDir, String(firstBatch), String(flushRows)];
  await runUntilKilled(WRITER, args, (line, kill) => {
    if (!line.startsWith('ACK ')) return;
    acknowledged.push(Number(line.slice(4)));
    timer ??= setTimeout(kill, killAfterMs);
  });
  return acknowledged;
}

describe('crash safety (SIGKILL)', () => {
  const directories: { remove: () => Promise<void> }[] = [];
  afterAll(async () => {
    for (const directory of directories) await directory.remove();
  });

  for (const scenario of [
    { name: 'while writing', flushRows: undefined, killAfterMs: [300, 1_500], rounds: ROUNDS },
    // Builds start about 3 s in (the build thread's first start), so these runs last long enough for segments and compactions to commit.
    { name: 'during segment builds and compactions', flushRows: 200, killAfterMs: [3_000, 2_000], rounds: 2 },
  ]) {
  it(`keeps every acknowledged write across repeated kills ${scenario.name}`, async () => {
    const directory = await temporaryDirectory('crash');
    directories.push(directory);
    const random = new SeededRandom(20261123);
    const everAcknowledged: number[] = [];
    let nextBatch = 0;
    for (let round = 0; round < scenario.rounds; round++) {
      const killAfterMs = (scenario.killAfterMs[0] as number) + random.int(scenario.killAfterMs[1] as number);
      const acknowledged = await runAndKill(directory.path, nextBatch, killAfterMs, scenario.flushRows);
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
        // Exactly once: an acknowledged record is its own nearest neighbour, and no id appears twice.
        for (const id of ids.filter((_, i) => i % 97 === 0)) {
          const hits = await db.search('crash', { vector: vectorForId(id, DIMENSION), k: 20, exact: true });
          expect(hits[0]).toMatchObject({ id, score: 0 });
          expect(new Set(hits.map((hit) => hit.id)).size).toBe(hits.length);
        }
        const everything = await db.search('crash', { vector: vectorForId('probe', DIMENSION), k: 10_000, exact: true });
        expect(new Set(everything.map((hit) => hit.id)).size).toBe(everything.length);
        console.log(`[crash ${scenario.name}] round ${round + 1}: killed ${killAfterMs} ms after the first ack; ${acknowledged.length} batches acknowledged this round, ${ids.length} records acknowledged in all, ${stats?.records} present, ${stats?.segments} segments after ${stats?.flushes} flushes and ${stats?.compactions} compactions this open, ${stats?.walTruncatedBytes} torn WAL bytes cut`);
      } finally {
        await db.close();
      }
    }
  }, 240_000);
  }
});
