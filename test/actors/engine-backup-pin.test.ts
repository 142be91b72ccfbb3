// Proves an engine's backup pins with one real shard group (WAL writer, engine, shard in worker threads): a pin
// reports the shard's LSN (the last acknowledged write), checkpoint and live segments in one answer; an optimize
// that merges those segments away while the pin is held leaves every pinned file on disk, and the WAL above the
// pinned checkpoint readable; releasing the pin deletes them; and a pin whose lease runs out is gone.
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { engineAddress, shardAddress, shardGroupName, walAddress } from '../../actors/addresses.js';
import type { EngineArgs, EngineMessage, EngineStats } from '../../actors/engine-actor.js';
import type { WriteResult } from '../../actors/shard-actor.js';
import { packUpsert } from '../../actors/client/validation.js';
import type { ReplayPage, WalWriterArgs, WalWriterMessage } from '../../actors/wal-writer-actor.js';
import type { GroupSpec } from '../../runtime/actor.js';
import { ActorSystem } from '../../runtime/system.js';
import type { ShardPin } from '../../storage/engine/segment-pins.js';
import { randomVectors, temporaryDirectory } from '../fixtures/vectors.js';

const DIMENSION = 4;
const COLLECTION = 'pins';
const WAL = walAddress(COLLECTION, 0);
const ENGINE = engineAddress(COLLECTION, 0);
const SHARD = shardAddress(COLLECTION, 0);

const module = (name: string): string => new URL(`../../actors/${name}.ts`, import.meta.url).href;

function shardGroup(dir: string): GroupSpec {
  const walArgs: WalWriterArgs = { dir: join(dir, 'wal'), dimension: DIMENSION, syncMode: 'batch' };
  const settings = { engine: 'lsm' as const, flushThresholdRows: 100 };
  const engineArgs: EngineArgs = {
    dimension: DIMENSION,
    metric: 'l2',
    wal: WAL,
    viperDir: join(dir, 'viper'),
    settings,
  };
  return {
    name: shardGroupName(COLLECTION, 0),
    strategy: 'rest_for_one',
    maxRestarts: 0,
    withinMs: 60_000,
    children: [
      { address: WAL, module: module('wal-writer-actor'), factory: 'createWalWriter', args: walArgs },
      { address: ENGINE, module: module('engine-actor'), factory: 'createEngine', args: engineArgs },
      { address: SHARD, module: module('shard-actor'), factory: 'createShard', args: { wal: WAL, engine: ENGINE } },
    ],
  };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function open(): Promise<{ system: ActorSystem; viper: string }> {
  const directory = await temporaryDirectory('engine-pins');
  cleanups.push(() => directory.remove());
  const system = new ActorSystem({ maxWorkers: 3 });
  cleanups.push(() => system.shutdown());
  await system.startGroup(shardGroup(directory.path));
  return { system, viper: join(directory.path, 'viper') };
}

const ask = <T>(system: ActorSystem, to: string, message: EngineMessage | WalWriterMessage): Promise<T> =>
  system.ask<T>(to, message, { timeoutMs: 30_000 });

async function writeBatches(system: ActorSystem, batches: number, seed: number): Promise<WriteResult> {
  let last: WriteResult | null = null;
  for (let batch = 0; batch < batches; batch++) {
    const vectors = randomVectors(50, DIMENSION, seed + batch);
    const records = vectors.map((vector, row) => ({ id: `id-${(batch * 50 + row) % 700}`, vector }));
    last = await system.ask<WriteResult>(SHARD, { type: 'write', batch: packUpsert(records) }, { timeoutMs: 30_000 });
  }
  return last as WriteResult;
}

async function until(check: () => Promise<boolean>): Promise<void> {
  for (let attempt = 0; attempt < 400; attempt++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('condition not reached');
}

describe('engine backup pins', () => {
  it('keeps pinned segments and WAL records through an optimize, and deletes them once released', async () => {
    const { system, viper } = await open();
    await writeBatches(system, 20, 1);
    await until(async () => (await ask<EngineStats>(system, ENGINE, { type: 'stats' })).segments >= 2);
    await until(async () => (await ask<EngineStats>(system, ENGINE, { type: 'stats' })).buildsRunning === 0);
    const last = await writeBatches(system, 1, 100);
    const pin = await ask<ShardPin>(system, ENGINE, { type: 'backup-pin', leaseMs: 60_000 });
    expect(pin.lsn).toBe(last.lastLsn);
    expect(pin.checkpointLsn).toBeGreaterThan(0);
    expect(pin.segments.length).toBeGreaterThanOrEqual(1);
    const pinnedFiles = pin.segments.flatMap((segment) => segment.files);
    const shardDir = viper;
    expect(pin.segmentDir).toBe(shardDir);

    await writeBatches(system, 4, 200);
    await ask(system, ENGINE, { type: 'optimize' });
    const stats = await ask<EngineStats>(system, ENGINE, { type: 'stats' });
    expect(stats.segments).toBe(1);
    expect(stats.checkpointLsn).toBeGreaterThan(pin.checkpointLsn);
    // The merged inputs would go right after the new segment set is durable: wait for it, and a little more.
    await until(async () => {
      const set = JSON.parse(await readFile(join(shardDir, 'segments.json'), 'utf8')) as { segments: string[] };
      return set.segments.length === 1;
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const afterMerge = new Set(await readdir(shardDir));
    for (const file of pinnedFiles) expect(afterMerge.has(file), file).toBe(true);
    const page = await ask<ReplayPage>(system, WAL, { type: 'read', fromLsn: pin.checkpointLsn + 1, maxRecords: 1 });
    expect(page.batch.lsns?.[0]).toBe(pin.checkpointLsn + 1);

    expect(await ask(system, ENGINE, { type: 'backup-unpin', pin: pin.pin })).toEqual({ held: true });
    await until(async () => {
      const names = new Set(await readdir(shardDir));
      return pinnedFiles.every((file) => !names.has(file));
    });
    expect(await ask(system, ENGINE, { type: 'backup-unpin', pin: pin.pin })).toEqual({ held: false });
  });

  it('drops a pin whose lease ran out', async () => {
    const { system } = await open();
    await writeBatches(system, 1, 1);
    const pin = await ask<ShardPin>(system, ENGINE, { type: 'backup-pin', leaseMs: 50 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await ask(system, ENGINE, { type: 'backup-unpin', pin: pin.pin })).toEqual({ held: false });
  });
});
