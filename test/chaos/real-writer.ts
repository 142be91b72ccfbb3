/**
 * The child process of the real-thread chaos campaign: opens Shoal, then runs
 * four concurrent writers that upsert batches of 25 records and print
 * `ACK <batch>` after each acknowledgement, until it is killed.
 * Usage: real-writer <dataDir> <firstBatch> [flushThresholdRows] [kill-workers]
 * (a small threshold keeps segment builds and compactions running when the
 * kill lands; `kill-workers` also terminates a random WAL writer, engine or
 * shard worker thread every 300 to 800 ms inside this live process).
 */
import { Shoal } from '../../index.js';
import { SeededRandom } from '../../runtime/random.js';
import { vectorForId } from '../fixtures/vectors.js';

const [dataDir, firstBatchText, flushRowsText, killWorkersText] = process.argv.slice(2);
if (dataDir === undefined || firstBatchText === undefined)
  throw new Error('usage: real-writer <dataDir> <firstBatch> [flushThresholdRows|-] [kill-workers]');

export const DIMENSION = 16;
export const BATCH_SIZE = 25;

const killWorkers = killWorkersText === 'kill-workers';
const db = await Shoal.open({ dataDir, faultInjection: killWorkers, maxRestarts: 1_000 });
if (!(await db.listCollections()).some((collection) => collection.name === 'crash')) {
  const flush =
    flushRowsText === undefined || flushRowsText === '-' ? {} : { flushThresholdRows: Number(flushRowsText) };
  await db.createCollection({
    name: 'crash',
    dimension: DIMENSION,
    metric: 'l2',
    shards: 2,
    syncMode: 'batch',
    ...flush,
  });
}
process.stdout.write('READY\n');

let next = Number(firstBatchText);
if (killWorkers) {
  const random = new SeededRandom(next);
  const actors = ['wal', 'engine', 'shard'] as const;
  const killOne = (): void => {
    const fault = {
      kind: 'kill-worker',
      actor: actors[random.int(3)] as (typeof actors)[number],
      collection: 'crash',
      shard: random.int(2),
    } as const;
    void db.injectFault(fault).then(
      () => process.stdout.write(`KILLED ${fault.actor} ${fault.shard}\n`),
      () => undefined,
    );
    setTimeout(killOne, 300 + random.int(500));
  };
  setTimeout(killOne, 300);
}
async function writer(): Promise<void> {
  for (;;) {
    const batch = next++;
    const records = Array.from({ length: BATCH_SIZE }, (_, i) => {
      const id = `b${batch}-${i}`;
      return { id, vector: vectorForId(id, DIMENSION), metadata: { batch } };
    });
    try {
      await db.upsert('crash', records);
      process.stdout.write(`ACK ${batch}\n`);
    } catch (error) {
      // Not acknowledged (a worker was killed under it, past the deadline): it may or may not be there, never
      // corrupted.
      process.stdout.write(`FAIL ${batch} ${(error as { code?: string }).code ?? 'ERROR'}\n`);
    }
  }
}
await Promise.all([writer(), writer(), writer(), writer()]);
