// Proves a shard's memory stays bounded under write bursts and that stopping an engine never waits for a build: one
// real shard group (WAL writer, engine, shard in worker threads, builds in a piscina thread slowed by the test-only
// per-point pause) takes a burst of concurrent writes while its stats are sampled; the frozen queue never exceeds its
// bound, writes stall (counted), searches are answered during a stall, a held write past its deadline fails with
// TIMEOUT yet is applied in the live engine, and every acknowledged record is readable. Stopping during a build of
// minutes returns, publishes no segment, answers a held write UNAVAILABLE, and the reopened engine replays every row
// from the WAL.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Shoal } from '../../index.js';
import type { CollectionStats } from '../../index.js';
import { engineAddress, shardAddress, shardGroupName, walAddress } from '../../actors/addresses.js';
import type { EngineArgs, EngineMessage, EngineStats } from '../../actors/engine-actor.js';
import type { WriteResult } from '../../actors/shard-actor.js';
import { packUpsert } from '../../actors/client/validation.js';
import type { WalWriterArgs } from '../../actors/wal-writer-actor.js';
import type { GroupSpec } from '../../runtime/actor.js';
import { ActorSystem } from '../../runtime/system.js';
import type { EngineSettings, Hit, StoredRecord } from '../../storage/types.js';
import { randomVectors, temporaryDirectory } from '../fixtures/vectors.js';

const DIMENSION = 8;
const FLUSH_ROWS = 100;
const COLLECTION = 'stall';
const ENGINE = engineAddress(COLLECTION, 0);
const SHARD = shardAddress(COLLECTION, 0);

const module = (name: string): string => new URL(`../../actors/${name}.ts`, import.meta.url).href;

/** One shard group as the supervisor builds it, with engine settings and the slow-build hook of the test's choosing. */
function shardGroup(
  dir: string,
  settings: EngineSettings,
  buildPointPauseMs: number,
  writesInFlightMax?: number,
): GroupSpec {
  const wal = walAddress(COLLECTION, 0);
  const walArgs: WalWriterArgs = { dir: join(dir, 'wal'), dimension: DIMENSION, syncMode: 'batch' };
  const engineArgs: EngineArgs = {
    dimension: DIMENSION,
    metric: 'l2',
    wal,
    viperDir: join(dir, 'viper'),
    settings,
    buildPointPauseMs,
  };
  return {
    name: shardGroupName(COLLECTION, 0),
    strategy: 'rest_for_one',
    maxRestarts: 0,
    withinMs: 60_000,
    children: [
      { address: wal, module: module('wal-writer-actor'), factory: 'createWalWriter', args: walArgs },
      { address: ENGINE, module: module('engine-actor'), factory: 'createEngine', args: engineArgs },
      {
        address: SHARD,
        module: module('shard-actor'),
        factory: 'createShard',
        args: { wal, engine: ENGINE, ...(writesInFlightMax === undefined ? {} : { writesInFlightMax }) },
      },
    ],
  };
}

interface Row {
  readonly id: string;
  readonly vector: Float32Array;
}

function rowsOf(prefix: string, count: number, seed: number): Row[] {
  return randomVectors(count, DIMENSION, seed).map((vector, i) => ({ id: `${prefix}${i}`, vector }));
}

class Harness {
  readonly system = new ActorSystem({ maxWorkers: 4 });

  write(rows: readonly Row[], timeoutMs = 30_000): Promise<WriteResult> {
    const batch = packUpsert(rows.map((row) => ({ id: row.id, vector: row.vector })));
    return this.system.ask<WriteResult>(SHARD, { type: 'write', batch }, { timeoutMs });
  }

  stats(): Promise<EngineStats> {
    return this.system.ask<EngineStats>(ENGINE, { type: 'stats' }, { timeoutMs: 10_000 });
  }

  async search(vector: Float32Array): Promise<Hit[]> {
    const message: EngineMessage = {
      type: 'search',
      vectors: vector.slice(),
      dimension: vector.length,
      queries: [{ k: 5, filter: null, exact: true }],
    };
    const [hits] = await this.system.ask<Hit[][]>(ENGINE, message, { timeoutMs: 10_000 });
    return hits ?? [];
  }

  get(ids: readonly string[]): Promise<StoredRecord[]> {
    return this.system.ask<StoredRecord[]>(ENGINE, { type: 'get', ids }, { timeoutMs: 10_000 });
  }

  /** Polls stats until `done` holds. */
  async until(done: (stats: EngineStats) => boolean): Promise<EngineStats> {
    for (;;) {
      const stats = await this.stats();
      if (done(stats)) return stats;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** Expects every row readable with its vector. */
  async expectReadable(rows: readonly Row[]): Promise<void> {
    const found = await this.get(rows.map((row) => row.id));
    expect(found.map((record) => record.id)).toEqual(rows.map((row) => row.id));
    found.forEach((record, i) => expect([...record.vector]).toEqual([...(rows[i] as Row).vector]));
  }
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function open(
  settings: EngineSettings,
  buildPointPauseMs: number,
  writesInFlightMax?: number,
): Promise<{ harness: Harness; dir: string; group: (pauseMs: number) => GroupSpec }> {
  const directory = await temporaryDirectory('engine-stall');
  cleanups.push(() => directory.remove());
  const harness = new Harness();
  cleanups.push(() => harness.system.shutdown());
  const group = (pauseMs: number): GroupSpec => shardGroup(directory.path, settings, pauseMs, writesInFlightMax);
  await harness.system.startGroup(group(buildPointPauseMs));
  return { harness, dir: directory.path, group };
}

describe('write stall', () => {
  it('keeps the frozen queue bounded during a burst, stalls writes, and keeps answering searches', async () => {
    const { harness } = await open({ engine: 'viper', flushThresholdRows: FLUSH_ROWS, frozenMemtablesMax: 2 }, 3);
    const writers = 4;
    const batchesPerWriter = 10;
    const batchRows = 25;
    const rows = rowsOf('b', writers * batchesPerWriter * batchRows, 1);
    const acknowledged: Row[] = [];
    const samples: EngineStats[] = [];
    let searchesDuringStall = 0;
    let bursting = true;
    const sampler = (async () => {
      while (bursting) {
        const before = await harness.stats();
        samples.push(before);
        if (before.writesHeld === 0) continue;
        const hits = await harness.search(rows[0]?.vector as Float32Array);
        const after = await harness.stats();
        samples.push(after);
        // Answered while the same stall episode still held writes: reads do not wait behind held writes.
        if (hits.length > 0 && after.writesHeld > 0 && after.stalls === before.stalls) searchesDuringStall++;
      }
    })();
    await Promise.all(
      Array.from({ length: writers }, async (_, writer) => {
        for (let batch = 0; batch < batchesPerWriter; batch++) {
          const start = (writer * batchesPerWriter + batch) * batchRows;
          const slice = rows.slice(start, start + batchRows);
          await harness.write(slice);
          acknowledged.push(...slice);
        }
      }),
    );
    bursting = false;
    await sampler;

    expect(acknowledged).toHaveLength(rows.length);
    expect(samples.length).toBeGreaterThan(10);
    expect(Math.max(...samples.map((stats) => stats.frozenMemtables))).toBe(2);
    // The active memtable passes the threshold by at most one batch: beyond that, writes are held.
    expect(Math.max(...samples.map((stats) => stats.memtableRows))).toBeLessThanOrEqual(FLUSH_ROWS + batchRows);
    expect(Math.max(...samples.map((stats) => stats.frozenRows))).toBeLessThanOrEqual(2 * (FLUSH_ROWS + batchRows));
    expect(searchesDuringStall).toBeGreaterThan(0);
    const final = await harness.until((stats) => stats.writesHeld === 0 && stats.frozenMemtables === 0);
    expect(final.stalls).toBeGreaterThan(0);
    expect(final.stalledWrites).toBeGreaterThanOrEqual(final.stalls);
    expect(final.stalledMs).toBeGreaterThan(0);
    expect(final.records).toBe(rows.length);
    expect(final.flushes).toBeGreaterThanOrEqual(rows.length / (FLUSH_ROWS + batchRows) - 1);
    expect(final.buildFailures).toBe(0);
    await harness.expectReadable(acknowledged);
  }, 120_000);

  it('fails a held write past its deadline with TIMEOUT and still applies it in the live engine', async () => {
    const { harness } = await open({ engine: 'viper', flushThresholdRows: FLUSH_ROWS, frozenMemtablesMax: 1 }, 20);
    const first = rowsOf('f', FLUSH_ROWS, 2);
    const second = rowsOf('s', FLUSH_ROWS, 3);
    const late = rowsOf('l', 10, 4);
    await harness.write(first); // frozen at once; its flush starts
    await harness.write(second); // fills the active memtable: the queue is full
    const timedOut = await harness.write(late, 500).then(
      () => null,
      (error: unknown) => error,
    );
    expect(timedOut).toMatchObject({ code: 'TIMEOUT' });
    const stalled = await harness.stats();
    expect(stalled).toMatchObject({ writesHeld: 1, stalls: 1, stalledWrites: 1, frozenMemtables: 1 });
    expect(await harness.search(first[0]?.vector as Float32Array)).toHaveLength(5);
    expect(await harness.get([late[0]?.id as string])).toEqual([]);
    // Once the flush makes room, the held write is applied although nobody waits for it any more.
    await harness.until((stats) => stats.writesHeld === 0);
    await harness.expectReadable([...first, ...second, ...late]);
  }, 120_000);
});

describe('writes in flight', () => {
  it('refuses writes past the shard bound before they reach the WAL, and applies every accepted one', async () => {
    const { harness } = await open({ engine: 'viper', flushThresholdRows: FLUSH_ROWS, frozenMemtablesMax: 1 }, 20, 3);
    const first = rowsOf('f', FLUSH_ROWS, 5);
    const second = rowsOf('s', FLUSH_ROWS, 6);
    await harness.write(first); // frozen at once; its slow flush starts
    await harness.write(second); // fills the active memtable: the queue is full, later writes are held
    const burst = Array.from({ length: 6 }, (_, index) => rowsOf(`x${index}-`, 10, 10 + index));
    const outcomes = await Promise.all(
      burst.map((rows) =>
        harness.write(rows).then(
          () => 'ok',
          (error: unknown) =>
            (error as { code?: string; details?: { reason?: string } }).details?.reason ?? String(error),
        ),
      ),
    );
    expect(outcomes.filter((outcome) => outcome === 'ok')).toHaveLength(3);
    expect(outcomes.filter((outcome) => outcome === 'overloaded')).toHaveLength(3);
    const accepted = burst.filter((_, index) => outcomes[index] === 'ok').flat();
    const refused = burst.filter((_, index) => outcomes[index] !== 'ok').flat();
    const final = await harness.until((stats) => stats.writesHeld === 0 && stats.frozenMemtables === 0);
    expect(final.records).toBe(2 * FLUSH_ROWS + accepted.length);
    await harness.expectReadable([...first, ...second, ...accepted]);
    // A refused write never reached the WAL: it is not there, now or after a replay.
    expect(await harness.get(refused.map((row) => row.id))).toEqual([]);
    // Once the shard caught up, writes are taken again.
    await harness.write(refused);
    await harness.expectReadable(refused);
  }, 120_000);
});

describe('stopping during a build', () => {
  it('aborts the build, publishes nothing, answers held writes, and the reopened engine has every row', async () => {
    const settings = { engine: 'viper', flushThresholdRows: FLUSH_ROWS, frozenMemtablesMax: 1 } as const;
    // One second per HNSW point: the flush of 100 rows would take minutes, longer than this test may run.
    const { harness, dir, group } = await open(settings, 1_000);
    const first = rowsOf('f', FLUSH_ROWS, 5);
    const second = rowsOf('s', FLUSH_ROWS, 6);
    const held = rowsOf('h', 10, 7);
    await harness.write(first);
    await harness.write(second);
    const heldWrite = harness.write(held).then(
      () => null,
      (error: unknown) => error,
    );
    await harness.until((stats) => stats.buildsRunning === 1 && stats.writesHeld === 1);
    const viper = join(dir, 'viper');
    // The build has written its Parquet file and is inside the HNSW loop.
    for (;;) {
      if ((await readdir(viper)).some((file) => file.endsWith('.parquet'))) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    await harness.system.stopGroup(shardGroupName(COLLECTION, 0));
    expect(await heldWrite).toMatchObject({ code: 'UNAVAILABLE' });
    const files = await readdir(viper);
    expect(files.filter((file) => file.endsWith('.manifest.json'))).toEqual([]);
    expect(files.filter((file) => file.endsWith('.parquet'))).toHaveLength(1);

    await harness.system.startGroup(group(0));
    const reopened = await harness.stats();
    expect(reopened.replayedRecords).toBe(first.length + second.length + held.length);
    expect(reopened.records).toBe(first.length + second.length + held.length);
    await harness.expectReadable([...first, ...second, ...held]);
    const flushed = await harness.until((stats) => stats.flushes >= 1 && stats.buildsRunning === 0);
    expect(flushed.buildFailures).toBe(0);
  }, 120_000);
});

describe('stall settings and stats through the public API', () => {
  it('validates frozenMemtablesMax and reports stall counters per collection', async () => {
    const directory = await temporaryDirectory('engine-stall-api');
    cleanups.push(() => directory.remove());
    const db = await Shoal.open({ dataDir: directory.path });
    cleanups.push(() => db.close());
    await expect(
      db.createCollection({ name: 'bad', dimension: 4, metric: 'l2', frozenMemtablesMax: 0 }),
    ).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('frozenMemtablesMax') as string,
    });
    await db.createCollection({ name: 'ok', dimension: 4, metric: 'l2', shards: 1, frozenMemtablesMax: 2 });
    await db.upsert('ok', [{ id: 'a', vector: [1, 0, 0, 0] }]);
    const stats = (await db.stats()).collections.find((collection) => collection.name === 'ok') as CollectionStats;
    expect(stats).toMatchObject({
      records: 1,
      frozenMemtables: 0,
      stalls: 0,
      stalledWrites: 0,
      stalledMs: 0,
      writesHeld: 0,
    });
  }, 60_000);
});
