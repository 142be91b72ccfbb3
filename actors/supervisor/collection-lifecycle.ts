/**
 * Creating and dropping collections. Both change the metadata through the
 * Raft leader, folders on disk and shard groups, in an order that keeps a
 * recorded collection's WAL folder present; the supervisor runs them one at
 * a time (they hold its mailbox), so they never interleave with each other.
 * A metadata write whose outcome is unknown (no leader in time) marks the
 * cache stale; the next change first reads what did commit.
 */
import { join } from 'node:path';
import type { ActorContext } from '../../runtime/actor.js';
import { ShoalError, toShoalError } from '../../runtime/errors.js';
import { storageFailed } from '../../runtime/fs-errors.js';
import type { CollectionEntry } from '../../storage/collection-entry.js';
import { PlacementService, STORAGE_COMPONENTS, collectionDir, storageRootPath } from '../../storage/placement.js';
import { isUnknownOutcome } from '../metadata-client.js';
import type { CreateCollectionMessage, SupervisorArgs } from '../supervisor-protocol.js';
import { openCollection, startCollection, stopCollection } from './collection-groups.js';
import { lookupCollection } from './state.js';
import type { SupervisorState } from './state.js';

/**
 * After a metadata write whose outcome was unknown, makes the cache agree with the committed state: collections
 * that did commit are opened, collections that are gone are stopped.
 */
export async function refresh(
  state: SupervisorState,
  args: SupervisorArgs,
  ctx: ActorContext,
  deadline: number,
): Promise<void> {
  if (!state.stale) return;
  const committed = await state.metadata.read(ctx, deadline);
  state.stale = false;
  state.counters = committed.counters;
  const byName = new Map(committed.collections.map((entry) => [entry.name, entry]));
  for (const [name, entry] of state.collections) {
    if (byName.get(name)?.id === entry.id) continue;
    state.collections.delete(name);
    state.broken.delete(name);
    await stopCollection(state, entry, ctx).catch(() => undefined);
  }
  for (const entry of committed.collections) {
    if (state.collections.has(entry.name)) continue;
    state.collections.set(entry.name, entry);
    await openCollection(state, args, entry, ctx, new Set());
  }
}

/**
 * Creates the collection's WAL folder durably, before the metadata records it: a recorded collection has one. The
 * parents are synced even when the folder exists (unlike makeDirectoryDurable): a create retried after a crash
 * between the mkdir and its fsync finds the folder there but not yet durable.
 */
async function prepareFolders(entry: CollectionEntry, ctx: ActorContext): Promise<void> {
  const root = storageRootPath(entry.placement.wal);
  const folder = collectionDir(entry.placement, 'wal', entry.id);
  try {
    await ctx.fs.mkdir(folder);
    await ctx.fs.fsyncDir(join(root, 'wal'));
    await ctx.fs.fsyncDir(root);
  } catch (error) {
    throw storageFailed(`creating ${folder}`, error, { path: folder });
  }
}

/** Deletes every component folder of a collection. */
export async function removeFolders(entry: CollectionEntry, ctx: ActorContext): Promise<void> {
  for (const component of STORAGE_COMPONENTS) await ctx.fs.rm(collectionDir(entry.placement, component, entry.id));
}

/**
 * Creates a collection: its WAL folder first (durably), then the metadata command, then its shard groups. If the
 * groups cannot start, the command is undone. A metadata write whose outcome is unknown leaves the cache marked
 * stale and answers UNAVAILABLE; the command may still commit, and the next change first reads what did.
 */
export async function createCollection(
  state: SupervisorState,
  args: SupervisorArgs,
  message: CreateCollectionMessage,
  ctx: ActorContext,
  deadline: number,
): Promise<CollectionEntry> {
  await refresh(state, args, ctx, deadline);
  if (state.collections.has(message.name)) {
    const exists = `collection ${message.name} already exists`;
    throw new ShoalError('COLLECTION_EXISTS', exists, { collection: message.name });
  }
  const suffix = ctx.random.int(0x1_0000_0000).toString(16).padStart(8, '0');
  const id = `${message.name}-${suffix}`;
  const { type: _type, ...fields } = message;
  const placements = new PlacementService(args.storage, state.counters);
  const entry: CollectionEntry = { id, ...fields, placement: placements.assign(id) };
  state.settling.add(id);
  try {
    await prepareFolders(entry, ctx);
    await recordCreate(state, entry, placements, ctx, deadline);
    state.counters = placements.snapshot();
    state.collections.set(entry.name, entry);
    await startOrUndo(state, args, entry, ctx, deadline);
  } finally {
    state.settling.delete(id);
  }
  return entry;
}

/** Proposes the create; on a name taken meanwhile its folder goes, on an unknown outcome the cache is stale. */
export async function recordCreate(
  state: SupervisorState,
  entry: CollectionEntry,
  placements: PlacementService,
  ctx: ActorContext,
  deadline: number,
): Promise<void> {
  try {
    await state.metadata.propose(ctx, { type: 'create-collection', entry, counters: placements.snapshot() }, deadline);
  } catch (error) {
    if (toShoalError(error).code === 'COLLECTION_EXISTS') {
      state.stale = true;
      await removeFolders(entry, ctx).catch(() => undefined);
    } else if (isUnknownOutcome(error)) {
      state.stale = true;
    }
    throw error;
  }
}

/** Starts a new collection's shard groups; if they cannot start, the collection is stopped, unrecorded and removed. */
export async function startOrUndo(
  state: SupervisorState,
  args: SupervisorArgs,
  entry: CollectionEntry,
  ctx: ActorContext,
  deadline: number,
): Promise<void> {
  try {
    await startCollection(args, entry, ctx, new Set());
  } catch (error) {
    state.collections.delete(entry.name);
    await stopCollection(state, entry, ctx).catch(() => undefined);
    await state.metadata.propose(ctx, { type: 'drop-collection', id: entry.id }, deadline).catch(() => {
      state.stale = true;
    });
    await removeFolders(entry, ctx).catch(() => undefined);
    throw error;
  }
}

/** Drops a collection: the metadata command first (once committed the collection is gone), then actors and folders. */
export async function dropCollection(
  state: SupervisorState,
  args: SupervisorArgs,
  name: string,
  ctx: ActorContext,
  deadline: number,
): Promise<void> {
  await refresh(state, args, ctx, deadline);
  const entry = lookupCollection(state, name, false);
  try {
    await state.metadata.propose(ctx, { type: 'drop-collection', id: entry.id }, deadline);
  } catch (error) {
    if (isUnknownOutcome(error)) state.stale = true;
    throw error;
  }
  state.collections.delete(name);
  state.broken.delete(name);
  state.settling.add(entry.id);
  try {
    await stopCollection(state, entry, ctx);
    await removeFolders(entry, ctx);
  } finally {
    state.settling.delete(entry.id);
  }
}
