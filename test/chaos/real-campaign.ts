/**
 * The real-thread chaos campaign: a child process runs Shoal with real
 * worker threads and files under a write load (optionally with segment
 * builds and compactions running all the time, and with worker threads
 * killed inside it); it is SIGKILLed at a random moment, the data directory
 * is reopened, and the checkers run against the acknowledged log: every
 * acknowledged record is there with its exact vector, exactly once (it is
 * its own nearest neighbour and no id appears twice in a result), and the
 * writes in flight at the kill are either absent or intact. Then again, on
 * the same directory. Used by `npm test` and `npm run chaos -- --real`.
 */
import { fileURLToPath } from 'node:url';
import { Shoal } from '../../index.js';
import { SeededRandom } from '../../runtime/random.js';
import { runUntilKilled } from '../fixtures/child-process.js';
import { vectorForId } from '../fixtures/vectors.js';

const WRITER = fileURLToPath(new URL('./real-writer.ts', import.meta.url));
const DIMENSION = 16;
const BATCH_SIZE = 25;

/** How a campaign runs. */
export interface RealCampaignOptions {
  readonly kills: number;
  readonly seed: number;
  /** A small flush threshold keeps segment builds and compactions running when the kill lands. */
  readonly flushRows?: number;
  /** Also terminate random worker threads inside the live process. */
  readonly killWorkers?: boolean;
  /** Milliseconds after the first acknowledgement: the kill lands at `killAfterMs[0] + random(killAfterMs[1])`. */
  readonly killAfterMs?: readonly [number, number];
}

/** What one round found. */
export interface RealRoundReport {
  readonly round: number;
  readonly killAfterMs: number;
  readonly acknowledgedThisRound: number;
  readonly failedThisRound: number;
  readonly workerKills: number;
  readonly recordsAcknowledged: number;
  readonly recordsPresent: number;
  readonly segments: number;
}

function fail(problem: string): never {
  throw new Error(problem);
}

/** Runs the writer until `killAfterMs` after its first acknowledgement, SIGKILLs it, and reports what it printed. */
async function runAndKill(
  dataDir: string,
  firstBatch: number,
  killAfterMs: number,
  options: RealCampaignOptions,
): Promise<{ acknowledged: number[]; failed: number; workerKills: number }> {
  const acknowledged: number[] = [];
  let failed = 0;
  let workerKills = 0;
  let killArmed = false;
  const args = [
    dataDir,
    String(firstBatch),
    options.flushRows === undefined ? '-' : String(options.flushRows),
    options.killWorkers === true ? 'kill-workers' : '-',
  ];
  await runUntilKilled(WRITER, args, (line, kill) => {
    if (line.startsWith('FAIL ')) failed++;
    if (line.startsWith('KILLED ')) workerKills++;
    if (!line.startsWith('ACK ')) return;
    acknowledged.push(Number(line.slice(4)));
    if (killArmed) return;
    killArmed = true;
    setTimeout(kill, killAfterMs);
  });
  return { acknowledged, failed, workerKills };
}

const idsOf = (batches: readonly number[]): string[] =>
  batches.flatMap((batch) => Array.from({ length: BATCH_SIZE }, (_, i) => `b${batch}-${i}`));

function sameVector(actual: Float32Array, id: string): boolean {
  const expected = vectorForId(id, DIMENSION);
  return actual.length === expected.length && actual.every((value, i) => value === expected[i]);
}

/** Reopens the directory and checks it against the acknowledged log; throws on the first violation. */
async function check(
  dataDir: string,
  acknowledged: readonly number[],
  lastRound: readonly number[],
): Promise<{ present: number; segments: number }> {
  const db = await Shoal.open({ dataDir });
  try {
    const ids = idsOf(acknowledged);
    for (let start = 0; start < ids.length; start += 5_000) {
      const wanted = ids.slice(start, start + 5_000);
      const found = await db.get('crash', wanted);
      if (found.length !== wanted.length)
        fail(
          `${wanted.length - found.length} acknowledged records are missing (first: ${wanted.find((id) => !found.some((record) => record.id === id))})`,
        );
      for (const record of found)
        if (!sameVector(record.vector, record.id)) fail(`record ${record.id} came back with a different vector`);
    }
    const done = new Set(acknowledged);
    const highest = Math.max(0, ...lastRound);
    const inFlight = Array.from({ length: 40 }, (_, i) => highest - 20 + i).filter(
      (batch) => batch >= 0 && !done.has(batch),
    );
    for (const record of await db.get('crash', idsOf(inFlight)))
      if (!sameVector(record.vector, record.id)) fail(`unacknowledged record ${record.id} is corrupted`);
    for (const id of ids.filter((_, i) => i % 97 === 0)) {
      const hits = await db.search('crash', { vector: vectorForId(id, DIMENSION), k: 20, exact: true });
      if (hits[0]?.id !== id || hits[0]?.score !== 0)
        fail(`acknowledged record ${id} is not its own nearest neighbour`);
      if (new Set(hits.map((hit) => hit.id)).size !== hits.length)
        fail(`an id appears twice in the neighbours of ${id}`);
    }
    const stats = (await db.stats()).collections.find((collection) => collection.name === 'crash');
    if (stats === undefined || stats.records < ids.length)
      fail(`stats count ${stats?.records} records, ${ids.length} were acknowledged`);
    return { present: stats.records, segments: stats.segments };
  } finally {
    await db.close();
  }
}

/** Runs `options.kills` rounds on `dataDir`; resolves with one report per round, throws on the first violation. */
export async function runRealCampaign(
  dataDir: string,
  options: RealCampaignOptions,
  onRound?: (report: RealRoundReport) => void,
): Promise<RealRoundReport[]> {
  const random = new SeededRandom(options.seed);
  const [killBase, killSpread] = options.killAfterMs ?? [300, 1_500];
  const everAcknowledged: number[] = [];
  const reports: RealRoundReport[] = [];
  let nextBatch = 0;
  for (let round = 1; round <= options.kills; round++) {
    const killAfterMs = killBase + random.int(killSpread);
    const { acknowledged, failed, workerKills } = await runAndKill(dataDir, nextBatch, killAfterMs, options);
    if (acknowledged.length === 0) fail(`round ${round}: the writer acknowledged nothing before the kill`);
    everAcknowledged.push(...acknowledged);
    nextBatch = Math.max(...everAcknowledged) + 100;
    const { present, segments } = await check(dataDir, everAcknowledged, acknowledged);
    const report = {
      round,
      killAfterMs,
      acknowledgedThisRound: acknowledged.length,
      failedThisRound: failed,
      workerKills,
      recordsAcknowledged: everAcknowledged.length * BATCH_SIZE,
      recordsPresent: present,
      segments,
    };
    reports.push(report);
    onRound?.(report);
  }
  return reports;
}
