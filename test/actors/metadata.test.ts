// The metadata Raft group with real worker threads: three replicas in their own workers agree on one leader and one
// state; a catalogue.json from an earlier release is migrated with its data; killing the leader's worker while
// collections are created loses no acknowledged create (on any replica, nor across a restart); with a majority stopped,
// metadata writes fail UNAVAILABLE within their deadline while data reads and writes go on.
import { readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Shoal, ShoalError } from '../../index.js';
import type { MetadataStatus } from '../../index.js';
import { randomVectors, temporaryDirectory } from '../fixtures/vectors.js';

const DIMENSION = 8;

type Replica = Extract<MetadataStatus['replicas'][number], { role: string }>;

function answering(status: MetadataStatus): Replica[] {
  return status.replicas.filter((replica): replica is Replica => 'role' in replica);
}

/**
 * Polls until every answering replica has applied the same index and holds `names` (and `expectAnswering` replicas
 * answer).
 */
async function converged(db: Shoal, names: readonly string[], expectAnswering: number): Promise<Replica[]> {
  let last: MetadataStatus | null = null;
  for (let attempt = 0; attempt < 200; attempt++) {
    last = await db.metadataStatus();
    const replicas = answering(last);
    const applied = new Set(replicas.map((replica) => replica.applied));
    const complete = replicas.every((replica) => names.every((name) => replica.collections.includes(name)));
    if (replicas.length === expectAnswering && applied.size === 1 && complete && last.leader !== null) return replicas;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`metadata replicas did not converge: ${JSON.stringify(last)}`);
}

async function leaderOf(db: Shoal): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const { leader } = await db.metadataStatus();
    if (leader !== null) return leader;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('no metadata leader');
}

describe('metadata replicas', () => {
  let cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.reverse()) await step();
    cleanup = [];
  });

  it('runs three replicas in their own workers that agree on one leader and one state', async () => {
    const directory = await temporaryDirectory('metadata');
    const db = await Shoal.open({ dataDir: directory.path });
    cleanup.push(directory.remove, () => db.close());
    await db.createCollection({ name: 'a', dimension: DIMENSION, metric: 'cosine', shards: 3 });
    await db.createCollection({ name: 'b', dimension: DIMENSION, metric: 'l2', shards: 1 });
    await db.dropCollection('b');
    const replicas = await converged(db, ['a'], 3);
    expect(replicas.map((replica) => replica.id).sort()).toEqual([1, 2, 3]);
    expect(replicas.filter((replica) => replica.role === 'leader')).toHaveLength(1);
    expect(new Set(replicas.map((replica) => replica.term)).size).toBe(1);
    for (const replica of replicas) expect(replica.collections).toEqual(['a']);
    const { actors } = await db.stats();
    const threads = ['metadata/1', 'metadata/2', 'metadata/3', 'supervisor'].map(
      (address) => actors.find((actor) => actor.address === address)?.threadId,
    );
    expect(new Set(threads).size).toBe(4);
    expect(threads.every((thread) => typeof thread === 'number' && thread > 0)).toBe(true);
    const expected = [0, 1, 2].map((shard) => ({ shard, leader: 'local', replicas: ['local'], epoch: 1 }));
    expect(await db.shardAssignments('a', { linearizable: true })).toEqual(expected);
    expect(await db.shardAssignments('a')).toEqual(expected);
    await expect(db.shardAssignments('b', { linearizable: true })).rejects.toMatchObject({
      code: 'COLLECTION_NOT_FOUND',
    });
    const files = await readdir(join(directory.path, 'cluster'));
    expect(files.sort()).toEqual(['replica-1', 'replica-2', 'replica-3']);
  });

  it('migrates the catalogue.json of an earlier release, data included', async () => {
    const directory = await temporaryDirectory('metadata-migrate');
    cleanup.push(directory.remove);
    const vectors = randomVectors(200, DIMENSION, 3);
    const first = await Shoal.open({ dataDir: directory.path });
    const info = await first.createCollection({ name: 'old', dimension: DIMENSION, metric: 'cosine', shards: 2 });
    await first.upsert(
      'old',
      vectors.map((vector, i) => ({ id: `r${i}`, vector })),
    );
    await first.close();
    // What an earlier release left: no Raft folders, a version 1 catalogue (no placement) beside the data.
    await rm(join(directory.path, 'cluster'), { recursive: true });
    const { placement: _placement, ...unplaced } = info as typeof info & { placement?: unknown };
    await writeFile(join(directory.path, 'catalogue.json'), JSON.stringify({ version: 1, collections: [unplaced] }));

    const db = await Shoal.open({ dataDir: directory.path });
    cleanup.push(() => db.close());
    expect((await db.listCollections()).map((entry) => entry.id)).toEqual([info.id]);
    expect(await db.get('old', ['r0', 'r199'])).toHaveLength(2);
    const hits = await db.search('old', { vector: vectors[7] as Float32Array, k: 1 });
    expect(hits[0]?.id).toBe('r7');
    const names = await readdir(directory.path);
    expect(names).toContain('catalogue.json.migrated');
    expect(names).not.toContain('catalogue.json');
    await db.createCollection({ name: 'new', dimension: DIMENSION, metric: 'cosine' });
    await converged(db, ['old', 'new'], 3);
    await db.close();

    const reopened = await Shoal.open({ dataDir: directory.path });
    cleanup.push(() => reopened.close());
    expect((await reopened.listCollections()).map((entry) => entry.name)).toEqual(['old', 'new']);
    expect(await reopened.get('old', ['r0', 'r199'])).toHaveLength(2);
  });

  it('keeps every acknowledged create when the leader is killed mid-way, on every replica and after a restart', async () => {
    const directory = await temporaryDirectory('metadata-failover');
    cleanup.push(directory.remove);
    const db = await Shoal.open({ dataDir: directory.path, faultInjection: true });
    const acknowledged: string[] = [];
    const killed: number[] = [];
    for (let i = 0; i < 10; i++) {
      const name = `c${i}`;
      const creating = db.createCollection({ name, dimension: DIMENSION, metric: 'cosine', shards: 1 });
      if (i === 2 || i === 6) {
        const leader = await leaderOf(db);
        killed.push(leader);
        await db.injectFault({ kind: 'kill-worker', actor: 'metadata', replica: leader });
      }
      try {
        await creating;
        acknowledged.push(name);
      } catch (error) {
        // A create whose outcome is unknown must say so with a typed error, never hang.
        expect(error).toBeInstanceOf(ShoalError);
        expect(['UNAVAILABLE', 'TIMEOUT']).toContain((error as ShoalError).code);
      }
    }
    expect(acknowledged.length).toBeGreaterThanOrEqual(8);
    const replicas = await converged(db, acknowledged, 3);
    expect(replicas.reduce((total, replica) => total + replica.term, 0)).toBeGreaterThan(3);
    const listed = (await db.listCollections()).map((entry) => entry.name);
    for (const name of acknowledged) expect(listed).toContain(name);
    // Data paths of a collection created after the failovers work.
    const last = acknowledged[acknowledged.length - 1] as string;
    await db.upsert(last, [{ id: 'x', vector: new Float32Array(DIMENSION).fill(1) }]);
    await db.close();

    const reopened = await Shoal.open({ dataDir: directory.path });
    cleanup.push(() => reopened.close());
    const after = (await reopened.listCollections()).map((entry) => entry.name);
    expect(after).toEqual(listed);
    await converged(reopened, acknowledged, 3);
    expect(await reopened.get(last, ['x'])).toHaveLength(1);
  });

  it("opens with one replica's Raft state damaged: that replica stays down, the other two serve", async () => {
    const directory = await temporaryDirectory('metadata-damaged');
    cleanup.push(directory.remove);
    const first = await Shoal.open({ dataDir: directory.path });
    await first.createCollection({ name: 'kept', dimension: DIMENSION, metric: 'cosine', shards: 1 });
    await converged(first, ['kept'], 3);
    await first.close();
    await writeFile(join(directory.path, 'cluster', 'replica-3', 'hard-state'), 'not a frame');

    const db = await Shoal.open({ dataDir: directory.path, maxRestarts: 1 });
    cleanup.push(() => db.close());
    expect((await db.listCollections()).map((entry) => entry.name)).toEqual(['kept']);
    await db.createCollection({ name: 'added', dimension: DIMENSION, metric: 'cosine', shards: 1 });
    const replicas = await converged(db, ['kept', 'added'], 2);
    expect(replicas.map((replica) => replica.id).sort()).toEqual([1, 2]);
    const status = await db.metadataStatus();
    expect(status.replicas.find((replica) => replica.id === 3)).toHaveProperty('error');
  });

  it('with a majority of replicas stopped, metadata writes fail UNAVAILABLE in time; data reads and writes go on', async () => {
    const directory = await temporaryDirectory('metadata-majority');
    // No restarts: a killed replica stays down.
    const db = await Shoal.open({ dataDir: directory.path, faultInjection: true, maxRestarts: 0 });
    cleanup.push(directory.remove, () => db.close());
    await db.createCollection({ name: 'data', dimension: DIMENSION, metric: 'cosine' });
    const vectors = randomVectors(50, DIMENSION, 9);
    await db.upsert(
      'data',
      vectors.map((vector, i) => ({ id: `r${i}`, vector })),
    );

    // One replica of three down: a majority remains and metadata writes go on.
    const leader = await leaderOf(db);
    const follower = [1, 2, 3].find((id) => id !== leader) as number;
    await db.injectFault({ kind: 'kill-worker', actor: 'metadata', replica: follower });
    await db.createCollection({ name: 'during', dimension: DIMENSION, metric: 'cosine', shards: 1 });
    await converged(db, ['data', 'during'], 2);

    // Two down: no majority.
    await db.injectFault({ kind: 'kill-worker', actor: 'metadata', replica: leader });
    const failed = db.request({
      type: 'create-collection',
      name: 'blocked',
      dimension: DIMENSION,
      metric: 'cosine',
      shards: 1,
      timeoutMs: 3_000,
    });
    await expect(failed).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await expect(db.request({ type: 'drop-collection', name: 'during', timeoutMs: 3_000 })).rejects.toMatchObject({
      code: 'UNAVAILABLE',
    });
    const status = await db.metadataStatus();
    expect(answering(status)).toHaveLength(1);

    await db.upsert('data', [{ id: 'late', vector: vectors[0] as Float32Array }]);
    expect(await db.get('data', ['late', 'r1'])).toHaveLength(2);
    expect((await db.search('data', { vector: vectors[3] as Float32Array, k: 1 }))[0]?.id).toBe('r3');
    expect((await db.listCollections()).map((entry) => entry.name)).toEqual(['data', 'during']);
  });
});
