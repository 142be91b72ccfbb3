// Proves the architecture: every shard, WAL writer and engine actor runs in a worker thread of its own (distinct
// threadIds, none the host's), and the host event loop stays responsive while large searches run in the workers
// (measured with monitorEventLoopDelay against the same searches run on the host thread).
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Shoal } from '../../index.js';
import { Memtable } from '../../storage/memtable.js';
import { randomVectors, temporaryDirectory } from '../fixtures/vectors.js';

const BIG_COUNT = 40_000;
const BIG_DIMENSION = 256;
const SEARCHES = 40;

describe('architecture', () => {
  let directory: { path: string; remove: () => Promise<void> };
  let db: Shoal;

  beforeAll(async () => {
    directory = await temporaryDirectory('architecture');
    db = await Shoal.open({ dataDir: directory.path, maxWorkers: 32 });
  }, 60_000);

  afterAll(async () => {
    await db?.close();
    await directory?.remove();
  });

  it('runs each shard, WAL writer and engine actor in its own thread', async () => {
    const info = await db.createCollection({ name: 'threads', dimension: 8, metric: 'cosine', shards: 4 });
    const { actors } = await db.stats();
    const mine = actors.filter((actor) => actor.address.includes(info.id));
    expect(mine).toHaveLength(12);
    for (const role of ['wal', 'engine', 'shard']) {
      expect(mine.filter((actor) => actor.address.startsWith(`${role}/`))).toHaveLength(4);
    }
    const threads = new Set(actors.map((actor) => actor.threadId));
    expect(threads.size).toBe(actors.length);
    expect(threads.has(0)).toBe(false);
  });

  it('keeps the host event loop responsive while large searches run', async () => {
    await db.createCollection({ name: 'big', dimension: BIG_DIMENSION, metric: 'l2', shards: 2 });
    const vectors = randomVectors(BIG_COUNT, BIG_DIMENSION, 3);
    for (let start = 0; start < BIG_COUNT; start += 5_000) {
      await db.upsert(
        'big',
        vectors.slice(start, start + 5_000).map((vector, i) => ({ id: `v${start + i}`, vector })),
      );
    }
    const queries = randomVectors(SEARCHES, BIG_DIMENSION, 4);

    const delay = monitorEventLoopDelay({ resolution: 5 });
    delay.enable();
    const started = performance.now();
    await Promise.all(queries.map((vector) => db.search('big', { vector, k: 100 })));
    const elapsedMs = performance.now() - started;
    delay.disable();
    const p99Ms = delay.percentile(99) / 1e6;
    const maxMs = delay.max / 1e6;

    // The same searches on the host thread, for comparison: each blocks the event loop for its whole duration.
    const local = new Memtable(BIG_DIMENSION, 'l2');
    vectors.forEach((vector, i) => local.upsert(i + 1, `v${i}`, vector, null));
    const blockStarted = performance.now();
    local.search(queries[0] as Float32Array, 100, null);
    const blockingMs = performance.now() - blockStarted;

    console.log(
      `[architecture] ${SEARCHES} concurrent searches over ${BIG_COUNT}x${BIG_DIMENSION} took ${elapsedMs.toFixed(0)} ms; ` +
        `host event-loop delay p99 ${p99Ms.toFixed(1)} ms, max ${maxMs.toFixed(1)} ms; ` +
        `one search on the host thread would block it for ${blockingMs.toFixed(1)} ms (x${SEARCHES} = ${(blockingMs * SEARCHES).toFixed(0)} ms)`,
    );
    expect(p99Ms).toBeLessThan(250);
  });
});
