/**
 * The supervisor's requests that go to a collection's shards: writes routed
 * by `fnv1a32(id) mod shards`, searches scattered to every engine and merged,
 * gets, optimize, and the statistics of every shard rolled up. Every ask
 * retries by the shard-ask policy while a shard group restarts.
 */
import type { ActorContext, SystemDescription } from '../../runtime/actor.js';
import { remainingMs } from '../../runtime/deadline.js';
import { ShoalError } from '../../runtime/errors.js';
import { present } from '../../runtime/assert.js';
import { orderRecords } from '../../cluster/merge.js';
import { partitionByShard } from '../../cluster/routing.js';
import type { CollectionEntry } from '../../storage/collection-entry.js';
import { discoverStorage, storageStats } from '../../storage/discovery.js';
import { batchTransfer, selectRows } from '../../storage/record-batch.js';
import type { RecordBatch } from '../../storage/record-batch.js';
import type { Hit, StoredRecord } from '../../storage/types.js';
import type { CollectionStats, OptimizeResult, SearchBatchResult, ShoalStats } from '../public-api.js';
import { gatherScatteredSearch, scatterSearch } from '../search-scatter.js';
import type { ShardStats, WriteResult } from '../shard-actor.js';
import type { SupervisorArgs, SupervisorMessageOf } from '../supervisor-protocol.js';
import { askShard } from './shard-asks.js';
import type { ShardRequest } from './shard-asks.js';
import { lookupCollection } from './state.js';
import type { SupervisorState } from './state.js';
import { answeredStats, rollUpCollection, rollUpShoal } from './stats-roll-up.js';
import type { ShardTarget } from './topology.js';

/** Asks every shard of `entry` (by the shard-ask policy) for the request `build(shard)` makes. */
function askEveryShard<T>(
  state: SupervisorState,
  entry: CollectionEntry,
  ctx: ActorContext,
  deadline: number,
  target: ShardTarget,
  build: (shard: number) => ShardRequest,
): Promise<T>[] {
  return Array.from({ length: entry.shards }, (_, shard) =>
    askShard<T>(ctx, state.failedGroups, entry, shard, () => build(shard), deadline, target),
  );
}

/** Writes a batch: each shard gets its rows (by id hash), in parallel; answered when every shard has acknowledged. */
export async function write(
  state: SupervisorState,
  message: SupervisorMessageOf<'write'>,
  ctx: ActorContext,
  deadline: number,
): Promise<{ records: number }> {
  const { collection, batch } = message;
  const entry = lookupCollection(state, collection);
  if (batch.vectors.length > 0 && batch.dimension !== entry.dimension) {
    const mismatch = `collection ${collection} has dimension ${entry.dimension}, the vectors have ${batch.dimension}`;
    throw new ShoalError('DIMENSION_MISMATCH', mismatch, { expected: entry.dimension, actual: batch.dimension });
  }
  const parts = partitionByShard(batch.ids, entry.shards);
  const writes = parts.map((rows, shard) => {
    if (rows.length === 0) return Promise.resolve(null);
    const build = (): ShardRequest => writeRequest(batch, rows);
    return askShard<WriteResult>(ctx, state.failedGroups, entry, shard, build, deadline);
  });
  await Promise.all(writes);
  return { records: batch.ids.length };
}

/** A shard's part of a write, with its own buffers (they move to the shard). */
function writeRequest(batch: RecordBatch, rows: readonly number[]): ShardRequest {
  const part = selectRows(batch, rows);
  return { message: { type: 'write', batch: part }, transfer: batchTransfer(part) };
}

/** Every query of the message on every shard in parallel (one ask per shard, all its queries), merged per query. */
export async function search(
  state: SupervisorState,
  message: SupervisorMessageOf<'search'>,
  ctx: ActorContext,
  deadline: number,
): Promise<SearchBatchResult> {
  const entry = lookupCollection(state, message.collection);
  const answers = await scatterSearch(entry.name, entry, message, (shard, build) =>
    askShard<Hit[][]>(ctx, state.failedGroups, entry, shard, build, deadline, 'engine'),
  );
  const gathered = gatherScatteredSearch(entry, message, answers);
  state.searchCounts.set(entry.id, (state.searchCounts.get(entry.id) ?? 0) + message.queries.length);
  return gathered;
}

/** The stored records of `ids` that exist, in the order asked: each shard's engine asked for its ids. */
export async function get(
  state: SupervisorState,
  message: SupervisorMessageOf<'get'>,
  ctx: ActorContext,
  deadline: number,
): Promise<StoredRecord[]> {
  const { collection, ids } = message;
  const entry = lookupCollection(state, collection);
  const parts = partitionByShard(ids, entry.shards);
  const found = await Promise.all(
    parts.map((rows, shard) => {
      if (rows.length === 0) return Promise.resolve([]);
      const shardIds = rows.map((row) => present(ids[row], `id of row ${row}`));
      const build = (): ShardRequest => ({ message: { type: 'get', ids: shardIds }, transfer: [] });
      return askShard<StoredRecord[]>(ctx, state.failedGroups, entry, shard, build, deadline, 'engine');
    }),
  );
  return orderRecords(ids, found);
}

/** Every shard's engine flushes and merges its segments into one, in parallel; answered when all have. */
export async function optimize(
  state: SupervisorState,
  message: SupervisorMessageOf<'optimize'>,
  ctx: ActorContext,
  deadline: number,
): Promise<OptimizeResult> {
  const entry = lookupCollection(state, message.collection);
  const build = (): ShardRequest => ({ message: { type: 'optimize' }, transfer: [] });
  const summaries = await Promise.all(askEveryShard<OptimizeResult>(state, entry, ctx, deadline, 'engine', build));
  return {
    segments: summaries.reduce((sum, each) => sum + each.segments, 0),
    memtableRows: summaries.reduce((sum, each) => sum + each.memtableRows, 0),
  };
}

/** A collection's statistics from the shards that answer in time (none are asked when it failed to open). */
async function collectionStats(
  state: SupervisorState,
  entry: CollectionEntry,
  ctx: ActorContext,
  deadline: number,
): Promise<CollectionStats> {
  const failure = state.broken.get(entry.name) ?? null;
  const build = (): ShardRequest => ({ message: { type: 'stats' }, transfer: [] });
  const asks = failure !== null ? [] : askEveryShard<ShardStats>(state, entry, ctx, deadline, 'shard', build);
  const answers = await Promise.allSettled(asks);
  return rollUpCollection(entry, answeredStats(answers), state.searchCounts.get(entry.id) ?? 0, failure);
}

/** The instance's statistics: every collection's, the actor system's and the storage URLs'. */
export async function stats(
  state: SupervisorState,
  args: SupervisorArgs,
  ctx: ActorContext,
  deadline: number,
): Promise<ShoalStats> {
  const system = await ctx.system<SystemDescription>({ type: 'describe' }, remainingMs(deadline, ctx.clock));
  const entries = [...state.collections.values()];
  const perCollection = await Promise.all(entries.map((entry) => collectionStats(state, entry, ctx, deadline)));
  // Snapshot the collections after the walk: a folder found then belongs to a collection recorded now or settling.
  const found = await discoverStorage(ctx.fs, args.storage);
  const storage = storageStats(found, [...state.collections.values()], args.storage, state.settling);
  return rollUpShoal(perCollection, system, state.failedGroups.keys(), storage);
}
