// Proves backups and restores through the public API with real threads and files: a backup taken while a writer upserts
// and deletes holds, per shard, exactly the state after some prefix of the writes that contains every write
// acknowledged before backup() and none issued after it resolved; the backup opens as a data directory and restores
// into another database with every record and every exact search equal to that state; and it proves the refusals
// (non-empty target, incomplete backup, taken name, bad requests) and that a concurrent optimize does not break a
// backup.
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Shoal, ShoalError } from '../../index.js';
import type { BackupResult, RecordResult } from '../../index.js';
import { shardOf } from '../../cluster/routing.js';
import { bruteForce, randomVectors, temporaryDirectory } from '../fixtures/vectors.js';

const DIMENSION = 8;
const SHARDS = 2;
const IDS = 600;
const METRIC = 'l2' as const;

/** One write of the writer: a batch of upserts or deletes, atomic per shard. */
interface Write {
  readonly upserts: readonly { id: string; vector: Float32Array; metadata: { version: number } }[];
  readonly deletes: readonly string[];
}

/** A record as the model holds it. */
interface Model {
  readonly vector: Float32Array;
  readonly metadata: { version: number };
}

const ids = Array.from({ length: IDS }, (_, index) => `r${index}`);

/** A writer that issues writes one after another, each awaited, and remembers which were acknowledged when. */
class Writer {
  readonly writes: Write[] = [];
  /** Writes acknowledged so far (they are acknowledged in order: one at a time). */
  acknowledged = 0;
  private version = 0;
  private stopped = false;
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Shoal,
    private readonly collection: string,
    private readonly seed: number,
  ) {}

  start(): void {
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  /** Issues one write and waits for it. */
  async once(): Promise<void> {
    const index = this.writes.length;
    const write = this.next(index);
    this.writes.push(write);
    if (write.upserts.length > 0) await this.db.upsert(this.collection, write.upserts);
    else await this.db.delete(this.collection, [...write.deletes]);
    this.acknowledged = index + 1;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) await this.once();
  }

  private next(index: number): Write {
    const pick = (offset: number): string => ids[(index * 37 + offset * 101 + this.seed) % IDS] as string;
    if (index % 4 === 3) return { upserts: [], deletes: Array.from({ length: 5 }, (_, offset) => pick(offset)) };
    const vectors = randomVectors(20, DIMENSION, this.seed * 1_000_003 + index);
    const chosen = new Set(Array.from({ length: 20 }, (_, offset) => pick(offset)));
    const upserts = [...chosen].map((id, offset) => ({
      id,
      vector: vectors[offset] as Float32Array,
      metadata: { version: ++this.version },
    }));
    return { upserts, deletes: [] };
  }
}

/** The state of `shard` after the first `count` writes. */
function stateAfter(writes: readonly Write[], count: number, shard: number): Map<string, Model> {
  const state = new Map<string, Model>();
  for (const write of writes.slice(0, count)) apply(state, write, shard);
  return state;
}

function apply(state: Map<string, Model>, write: Write, shard: number): void {
  for (const upsert of write.upserts) {
    if (shardOf(upsert.id, SHARDS) === shard)
      state.set(upsert.id, { vector: upsert.vector, metadata: upsert.metadata });
  }
  for (const id of write.deletes) if (shardOf(id, SHARDS) === shard) state.delete(id);
}

function sameRecords(found: ReadonlyMap<string, RecordResult>, expected: ReadonlyMap<string, Model>): boolean {
  if (found.size !== expected.size) return false;
  for (const [id, model] of expected) {
    const record = found.get(id);
    if (record === undefined || record.metadata?.version !== model.metadata.version) return false;
    if (!model.vector.every((value, index) => record.vector[index] === value)) return false;
  }
  return true;
}

/** Every record of `collection`, by shard. */
async function recordsByShard(db: Shoal, collection: string): Promise<Map<string, RecordResult>[]> {
  const found = await db.get(collection, ids);
  const shards = Array.from({ length: SHARDS }, () => new Map<string, RecordResult>());
  for (const record of found) shards[shardOf(record.id, SHARDS)]?.set(record.id, record);
  return shards;
}

/**
 * For each shard, how many writes the backup holds: the one prefix length in
 * [from, to] whose state equals what `collection` holds, or -1 when none does.
 */
async function prefixPerShard(
  db: Shoal,
  collection: string,
  writer: Writer,
  from: number,
  to: number,
): Promise<number[]> {
  const shards = await recordsByShard(db, collection);
  return shards.map((found, shard) => {
    const state = stateAfter(writer.writes, from, shard);
    for (let count = from; ; count++) {
      if (sameRecords(found, state)) return count;
      const write = writer.writes[count];
      if (count >= to || write === undefined) return -1;
      apply(state, write, shard);
    }
  });
}

/** Exact searches on `collection` equal brute force over the model state at the given prefixes. */
async function expectSearchesMatch(
  db: Shoal,
  collection: string,
  writer: Writer,
  prefixes: readonly number[],
): Promise<void> {
  const rows = prefixes.flatMap((count, shard) =>
    [...stateAfter(writer.writes, count, shard)].map(([id, model]) => ({ id, vector: model.vector })),
  );
  for (const [index, query] of randomVectors(12, DIMENSION, 99).entries()) {
    const k = index % 2 === 0 ? 10 : 50;
    const hits = await db.search(collection, { vector: query, k, exact: true });
    const expected = bruteForce(METRIC, rows, query, k);
    expect(hits.map((hit) => hit.id)).toEqual(expected.map((hit) => hit.id));
    hits.forEach((hit, rank) => expect(hit.score).toBeCloseTo(expected[rank]?.score ?? Number.NaN, 4));
  }
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'ok';
  } catch (error) {
    return error instanceof ShoalError ? error.code : `not a ShoalError: ${String(error)}`;
  }
}

describe('backup and restore', () => {
  let directory: { path: string; remove: () => Promise<void> };
  let db: Shoal;
  let writer: Writer;
  let backupDir: string;
  let result: BackupResult;
  /** Writes acknowledged before backup() was called, and issued before it resolved. */
  let acknowledgedBefore = 0;
  let issuedBeforeResolved = 0;

  beforeAll(async () => {
    directory = await temporaryDirectory('backup');
    db = await Shoal.open({ dataDir: join(directory.path, 'source'), metadataReplicas: 1, maxWorkers: 4 });
    await db.createCollection({
      name: 'docs',
      dimension: DIMENSION,
      metric: METRIC,
      shards: SHARDS,
      flushThresholdRows: 100,
    });
    writer = new Writer(db, 'docs', 7);
    for (let count = 0; count < 120; count++) await writer.once();
  }, 120_000);

  afterAll(async () => {
    await writer?.stop().catch(() => undefined);
    await db?.close();
    await directory?.remove();
  });

  it('backs up a point in time per shard while a writer upserts and deletes', async () => {
    backupDir = join(directory.path, 'backup-1');
    writer.start();
    await new Promise((resolve) => setTimeout(resolve, 200));
    acknowledgedBefore = writer.acknowledged;
    result = await db.backup('docs', { to: backupDir });
    issuedBeforeResolved = writer.writes.length;
    await new Promise((resolve) => setTimeout(resolve, 200));
    await writer.stop();
    expect(writer.writes.length).toBeGreaterThan(issuedBeforeResolved);
    expect(result.collection).toBe('docs');
    expect(result.shards.map((shard) => shard.shard)).toEqual([0, 1]);
    expect(result.bytes).toBeGreaterThan(0);
    expect(result.shards.some((shard) => shard.segments > 0)).toBe(true);
    const files = await readdir(backupDir);
    expect(files.sort()).toEqual(['backup.json', 'catalogue.json', 'viper', 'wal']);
    // The cut fell among writes in flight, and both halves of a shard's copy were exercised: segments below the
    // checkpoint and WAL records above it.
    expect(issuedBeforeResolved).toBeGreaterThan(acknowledgedBefore);
    const manifest = JSON.parse(await readFile(join(backupDir, 'backup.json'), 'utf8')) as {
      version: number;
      collection: { name: string; placement?: unknown };
      shards: { lsn: number; checkpointLsn: number; walRecords: number }[];
    };
    expect(manifest.version).toBe(1);
    expect(manifest.collection.name).toBe('docs');
    expect(manifest.collection.placement).toBeUndefined();
    expect(manifest.shards.map((shard) => shard.lsn)).toEqual(result.shards.map((shard) => shard.lsn));
    expect(manifest.shards.some((shard) => shard.checkpointLsn > 0)).toBe(true);
    expect(manifest.shards.some((shard) => shard.walRecords > 0)).toBe(true);
    for (const shard of manifest.shards) expect(shard.walRecords).toBe(shard.lsn - shard.checkpointLsn);
  }, 120_000);

  it('restores into another database with exactly one prefix of the writes per shard', async () => {
    const other = await Shoal.open({ dataDir: join(directory.path, 'other'), metadataReplicas: 1, maxWorkers: 4 });
    try {
      const info = await other.restore({ from: backupDir });
      expect(info.name).toBe('docs');
      expect(info.shards).toBe(SHARDS);
      const prefixes = await prefixPerShard(other, 'docs', writer, acknowledgedBefore, issuedBeforeResolved);
      expect(prefixes.every((count) => count >= acknowledgedBefore)).toBe(true);
      prefixes.forEach((count, shard) => {
        expect(result.shards[shard]?.records).toBe(stateAfter(writer.writes, count, shard).size);
      });
      await expectSearchesMatch(other, 'docs', writer, prefixes);
      // A restored collection is an ordinary one: it takes writes and survives a restart.
      await other.upsert('docs', [{ id: 'new', vector: new Float32Array(DIMENSION).fill(0.5) }]);
      await other.close();
      const reopened = await Shoal.open({ dataDir: join(directory.path, 'other'), metadataReplicas: 1, maxWorkers: 4 });
      try {
        expect((await reopened.get('docs', ['new'])).length).toBe(1);
        expect(await prefixPerShard(reopened, 'docs', writer, acknowledgedBefore, issuedBeforeResolved)).toEqual(
          prefixes,
        );
      } finally {
        await reopened.close();
      }
    } finally {
      await other.close();
    }
  }, 120_000);

  it('opens as a data directory of its own, holding the same state', async () => {
    const opened = await Shoal.open({ dataDir: backupDir, metadataReplicas: 1, maxWorkers: 4 });
    try {
      expect((await opened.listCollections()).map((entry) => entry.name)).toEqual(['docs']);
      const prefixes = await prefixPerShard(opened, 'docs', writer, acknowledgedBefore, issuedBeforeResolved);
      expect(prefixes.every((count) => count >= acknowledgedBefore)).toBe(true);
      await expectSearchesMatch(opened, 'docs', writer, prefixes);
    } finally {
      await opened.close();
    }
  }, 120_000);

  it('refuses a target that is not empty, or is a file', async () => {
    const full = join(directory.path, 'full');
    await mkdir(full);
    await writeFile(join(full, 'something'), 'x');
    expect(await codeOf(db.backup('docs', { to: full }))).toBe('INVALID_ARGUMENT');
    expect(await readdir(full)).toEqual(['something']);
    expect(await codeOf(db.backup('docs', { to: join(full, 'something') }))).toBe('INVALID_ARGUMENT');
  });

  it('lets one of two backups into the same folder run and refuses the other', async () => {
    const to = join(directory.path, 'backup-twice');
    const codes = await Promise.all([codeOf(db.backup('docs', { to })), codeOf(db.backup('docs', { to }))]);
    expect(codes.sort()).toEqual(['INVALID_ARGUMENT', 'ok']);
    expect((await readdir(to)).sort()).toEqual(['backup.json', 'catalogue.json', 'viper', 'wal']);
  });

  it('validates the message forms', async () => {
    const to = join(directory.path, 'never');
    expect(await codeOf(db.request({ type: 'backup', collection: 'missing', to }))).toBe('COLLECTION_NOT_FOUND');
    expect(await codeOf(db.request({ type: 'backup', collection: 'docs', to: '' }))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(db.request({ type: 'backup', collection: 'bad name!', to }))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(db.request({ type: 'restore', from: 42 as unknown as string }))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(db.request({ type: 'restore', from: backupDir, name: '../x' }))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(db.request({ type: 'restore', from: join(directory.path, 'nowhere') }))).toBe(
      'INVALID_ARGUMENT',
    );
  });

  it('refuses to restore under a name that is taken', async () => {
    const error = await db.restore({ from: backupDir }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ShoalError);
    expect((error as ShoalError).code).toBe('COLLECTION_EXISTS');
    expect((await db.listCollections()).map((entry) => entry.name)).toEqual(['docs']);
  });

  it('refuses a backup without backup.json as incomplete', async () => {
    const incomplete = join(directory.path, 'backup-incomplete');
    await db.backup('docs', { to: incomplete });
    await rm(join(incomplete, 'backup.json'));
    const error = await db.restore({ from: incomplete, name: 'half' }).catch((caught: unknown) => caught);
    expect((error as ShoalError).code).toBe('INVALID_ARGUMENT');
    expect((error as ShoalError).message).toMatch(/backup\.json.*not a complete backup/);
    expect((await db.listCollections()).map((entry) => entry.name)).toEqual(['docs']);
    const stats = await db.stats();
    expect(stats.storage.unknown).toEqual([]);
  });

  it('keeps the segments it copies while an optimize merges them away', async () => {
    for (let count = 0; count < 40; count++) await writer.once();
    const acknowledged = writer.acknowledged;
    const to = join(directory.path, 'backup-optimize');
    const [backedUp, optimized] = await Promise.all([db.backup('docs', { to }), db.optimize('docs')]);
    expect(optimized.segments).toBeLessThanOrEqual(SHARDS);
    expect(backedUp.shards.reduce((sum, shard) => sum + shard.segments, 0)).toBeGreaterThan(0);
    const other = await Shoal.open({ dataDir: join(directory.path, 'third'), metadataReplicas: 1, maxWorkers: 4 });
    try {
      await other.restore({ from: to, name: 'merged' });
      const prefixes = await prefixPerShard(other, 'merged', writer, acknowledged, acknowledged);
      expect(prefixes).toEqual([acknowledged, acknowledged]);
      await expectSearchesMatch(other, 'merged', writer, prefixes);
    } finally {
      await other.close();
    }
    // The source still answers every record after the merge and the release of the pins.
    const source = await prefixPerShard(db, 'docs', writer, acknowledged, acknowledged);
    expect(source).toEqual([acknowledged, acknowledged]);
  }, 120_000);
});
