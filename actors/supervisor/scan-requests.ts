/**
 * The supervisor's requests that walk a collection's records rather than
 * look them up by id or by vector: scroll (a page in id order) and count,
 * scattered to every engine; delete-where, which resolves the matching ids
 * in each engine page by page and deletes them through the shard's ordinary
 * write path (so the WAL, replay and recovery see plain deletes); and
 * metadata updates, routed by id to the shards, which rewrite each record
 * with its stored vector. Every ask follows the shard-ask retry policy.
 */
import type { ActorContext } from '../../runtime/actor.js';
import { present } from '../../runtime/assert.js';
import { REQUEST_LIMITS } from '../../runtime/limits.js';
import { partitionByShard } from '../../cluster/routing.js';
import { mergeScrollPages } from '../../cluster/scroll-merge.js';
import type { MergedScrollPage } from '../../cluster/scroll-merge.js';
import type { CollectionEntry } from '../../storage/collection-entry.js';
import { OP_DELETE } from '../../storage/record-batch.js';
import type { RecordBatch } from '../../storage/record-batch.js';
import type { ScannedRecord } from '../../storage/shard-store.js';
import type { EngineMessage } from '../engine-actor.js';
import type { UpdateMetadataResult } from '../public-api.js';
import type { ShardMessage, WriteResult } from '../shard-actor.js';
import type { SupervisorMessageOf } from '../supervisor-protocol.js';
import { askShard } from './shard-asks.js';
import type { ShardRequest } from './shard-asks.js';
import { lookupCollection } from './state.js';
import type { SupervisorState } from './state.js';

/** Ids a delete-where resolves and deletes per step on one shard: one public batch, so one WAL append. */
const DELETE_PAGE_IDS = REQUEST_LIMITS.recordsPerBatchMax;

/** One engine ask of shard `shard`, retried while its group restarts. */
function askEngine<T>(
  state: SupervisorState,
  entry: CollectionEntry,
  ctx: ActorContext,
  deadline: number,
  shard: number,
  message: EngineMessage,
): Promise<T> {
  const build = (): ShardRequest => ({ message, transfer: [] });
  return askShard<T>(ctx, state.failedGroups, entry, shard, build, deadline, 'engine');
}

/** A page of records in ascending id order: each engine gives `limit + 1` above the cursor, merged and cut. */
export async function scroll(
  state: SupervisorState,
  message: SupervisorMessageOf<'scroll'>,
  ctx: ActorContext,
  deadline: number,
): Promise<MergedScrollPage> {
  const entry = lookupCollection(state, message.collection);
  const { filter, afterId, limit, withVectors } = message;
  const ask: EngineMessage = { type: 'scroll', filter, afterId, limit: limit + 1, withVectors };
  const shards = Array.from({ length: entry.shards }, (_, shard) => shard);
  const asks = shards.map((shard) => askEngine<ScannedRecord[]>(state, entry, ctx, deadline, shard, ask));
  const pages = await Promise.all(asks);
  return mergeScrollPages(pages, limit);
}

/** The live records matching the filter: every engine's exact count, summed. */
export async function count(
  state: SupervisorState,
  message: SupervisorMessageOf<'count'>,
  ctx: ActorContext,
  deadline: number,
): Promise<{ count: number }> {
  const entry = lookupCollection(state, message.collection);
  const ask: EngineMessage = { type: 'count', filter: message.filter };
  const shards = Array.from({ length: entry.shards }, (_, shard) => shard);
  const counts = await Promise.all(shards.map((shard) => askEngine<number>(state, entry, ctx, deadline, shard, ask)));
  return { count: counts.reduce((sum, each) => sum + each, 0) };
}

/** Deletes every record matching the filter, shard by shard in parallel; answered with the deletes written. */
export async function deleteWhere(
  state: SupervisorState,
  message: SupervisorMessageOf<'delete-where'>,
  ctx: ActorContext,
  deadline: number,
): Promise<{ count: number }> {
  const entry = lookupCollection(state, message.collection);
  const shards = Array.from({ length: entry.shards }, (_, shard) => shard);
  const walks = shards.map((shard) => deleteWhereOnShard(state, entry, ctx, deadline, shard, message.filter));
  const deleted = await Promise.all(walks);
  return { count: deleted.reduce((sum, each) => sum + each, 0) };
}

/**
 * One shard's part of a delete-where: the engine names the next page of
 * matching ids above the last page's, and the shard deletes them through its
 * WAL before the next page is asked. Every record acknowledged before the
 * request started is in the engine, so it is found; the cursor moves only
 * forward, so the walk ends.
 */
async function deleteWhereOnShard(
  state: SupervisorState,
  entry: CollectionEntry,
  ctx: ActorContext,
  deadline: number,
  shard: number,
  filter: unknown,
): Promise<number> {
  let deleted = 0;
  for (let afterId: string | null = null; ; ) {
    const ask: EngineMessage = { type: 'scroll', filter, afterId, limit: DELETE_PAGE_IDS, withVectors: false };
    const page: ScannedRecord[] = await askEngine<ScannedRecord[]>(state, entry, ctx, deadline, shard, ask);
    if (page.length === 0) return deleted;
    const ids: string[] = page.map((record) => record.id);
    const write = (): ShardRequest => {
      const message: ShardMessage = { type: 'write', batch: deleteBatch(ids) };
      return { message, transfer: [] };
    };
    await askShard<WriteResult>(ctx, state.failedGroups, entry, shard, write, deadline);
    deleted += ids.length;
    if (page.length < DELETE_PAGE_IDS) return deleted;
    afterId = present(ids[ids.length - 1], 'the last id of a page');
  }
}

function deleteBatch(ids: readonly string[]): RecordBatch {
  const ops = new Uint8Array(ids.length).fill(OP_DELETE);
  return { dimension: 0, ops, ids, vectors: new Float32Array(0), metadata: ids.map(() => null), lsns: null };
}

/** Replaces the metadata of the records that exist (routed by id); the missing ids in the order asked, once each. */
export async function updateMetadata(
  state: SupervisorState,
  message: SupervisorMessageOf<'update-metadata'>,
  ctx: ActorContext,
  deadline: number,
): Promise<UpdateMetadataResult> {
  const entry = lookupCollection(state, message.collection);
  const { ids, metadata } = message;
  const answers = await Promise.all(
    partitionByShard(ids, entry.shards).map((rows, shard) => {
      if (rows.length === 0) return Promise.resolve({ updated: 0, missing: [] });
      const update: ShardMessage = {
        type: 'update-metadata',
        ids: rows.map((row) => present(ids[row], `id of row ${row}`)),
        metadata: rows.map((row) => metadata[row] ?? null),
      };
      const build = (): ShardRequest => ({ message: update, transfer: [] });
      return askShard<UpdateMetadataResult>(ctx, state.failedGroups, entry, shard, build, deadline);
    }),
  );
  const missing = new Set(answers.flatMap((answer) => answer.missing));
  return {
    updated: answers.reduce((sum, answer) => sum + answer.updated, 0),
    missing: [...new Set(ids)].filter((id) => missing.has(id)),
  };
}
