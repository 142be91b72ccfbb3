/**
 * The supervisor actor. It starts the metadata Raft group (its replicas hold
 * the collections, shard assignments and placements; the supervisor proposes
 * every change through the leader and keeps a cache of the applied state for
 * routing) and one supervision group per shard (WAL writer → engine → shard,
 * restarted rest_for_one). It answers the host client's writes, routed by
 * `fnv1a32(id) mod shards`, and its collection changes; the client sends
 * most reads to the engines itself (read-router.ts) and falls back here,
 * where searches are answered by scatter-gather over every shard. Asks to a
 * shard that is restarting are retried until the request's deadline; a shard
 * whose group gave up answers UNAVAILABLE. It also runs storage placement:
 * assigns each new collection a URL per component, records it in the
 * metadata, and at boot compares what the storage URLs hold (discovery) with
 * what the metadata records. A `catalogue.json` left by an earlier release is
 * imported into the metadata at the first boot and renamed
 * `catalogue.json.migrated`.
 *
 * This file translates messages and owns the state; the work is in
 * supervisor/: topology (pure), boot, collection lifecycle, shard asks (the
 * retry policy), shard requests and the stats roll-up (pure).
 */
import type { Actor, ActorContext, Message, Responder } from '../runtime/actor.js';
import { AssertionFailure, present, unreachable } from '../runtime/assert.js';
import { deadlineOr } from '../runtime/deadline.js';
import { ShoalError } from '../runtime/errors.js';
import type { ErrorData } from '../runtime/errors.js';
import type { ShardAssignmentInfo, MetadataStatus } from './public-api.js';
import type { ReadRoute } from './read-protocol.js';
import { backup, commitRestore, restore } from './supervisor/backup.js';
import { boot } from './supervisor/boot.js';
import { createCollection, dropCollection } from './supervisor/collection-lifecycle.js';
import { count, deleteWhere, scroll, updateMetadata } from './supervisor/scan-requests.js';
import { get, optimize, search, stats, write } from './supervisor/shard-requests.js';
import { collectionNotFound, initialSupervisorState, lookupCollection } from './supervisor/state.js';
import type { SupervisorState } from './supervisor/state.js';
import type { PingResult, SupervisorArgs, SupervisorInbox, SupervisorMessageOf } from './supervisor-protocol.js';

export { DEFAULT_METADATA_SETTINGS } from './supervisor-protocol.js';
export type { MetadataSettings, SupervisorArgs } from './supervisor-protocol.js';

/** The longest a metadata status request waits for the replicas. */
const METADATA_STATUS_MS_MAX = 2_000;

/** Creates the supervisor. */
export function createSupervisor(args: SupervisorArgs): Actor {
  const state = initialSupervisorState(args.metadata.replicas);
  return {
    start(ctx: ActorContext) {
      // Starting shard groups asks the system, which is still starting this actor: boot as the first message instead.
      ctx.tell(ctx.self, { type: 'boot' });
    },
    receive(raw: Message, ctx: ActorContext, responder: Responder | null) {
      // Messages cross threads as plain data; the protocol module declares every type this actor is sent.
      const message = raw as SupervisorInbox;
      if (state.bootFailure !== null && message.type !== 'ping') throw ShoalError.fromData(state.bootFailure);
      return dispatch(state, args, message, ctx, responder);
    },
  };
}

/**
 * One message. Three kinds of handler, named here:
 * - `holdMailbox`: the returned promise holds the mailbox until the work is done, so nothing else is delivered
 *   meanwhile (boot comes first; creates and drops are serialised, never interleaving with each other);
 * - `runConcurrently`: the work is answered when it settles, while the next messages are already delivered;
 * - the rest answer (or record) from the state within this turn.
 */
function dispatch(
  state: SupervisorState,
  args: SupervisorArgs,
  message: SupervisorInbox,
  ctx: ActorContext,
  responder: Responder | null,
): Promise<void> | void {
  const deadline = deadlineOr(responder?.deadline, ctx.clock);
  switch (message.type) {
    case 'boot':
      return holdMailbox(boot(state, args, ctx), responder);
    case 'create-collection':
      return holdMailbox(createCollection(state, args, message, ctx, deadline), responder);
    case 'drop-collection':
      return holdMailbox(
        dropCollection(state, args, message.name, ctx, deadline).then(() => null),
        responder,
      );
    case 'write':
      return runConcurrently(write(state, message, ctx, deadline), responder, ctx);
    case 'search':
      return runConcurrently(search(state, message, ctx, deadline), responder, ctx);
    case 'get':
      return runConcurrently(get(state, message, ctx, deadline), responder, ctx);
    case 'scroll':
      return runConcurrently(scroll(state, message, ctx, deadline), responder, ctx);
    case 'count':
      return runConcurrently(count(state, message, ctx, deadline), responder, ctx);
    case 'delete-where':
      return runConcurrently(deleteWhere(state, message, ctx, deadline), responder, ctx);
    case 'update-metadata':
      return runConcurrently(updateMetadata(state, message, ctx, deadline), responder, ctx);
    case 'optimize':
      return runConcurrently(optimize(state, message, ctx, deadline), responder, ctx);
    case 'stats':
      return runConcurrently(stats(state, args, ctx, deadline), responder, ctx);
    case 'read-route':
      return runConcurrently(readRoute(state, message), responder, ctx);
    case 'shard-assignments':
      return runConcurrently(assignments(state, message, ctx, deadline), responder, ctx);
    case 'metadata-status':
      return runConcurrently(metadataStatus(state, ctx, deadline), responder, ctx);
    case 'backup':
      return runConcurrently(backup(state, message, ctx, deadline), responder, ctx);
    case 'restore': // copies concurrently, then commits through `restore-commit`
      return runConcurrently(restore(state, args, message, ctx, deadline), responder, ctx);
    case 'restore-commit':
      return holdMailbox(commitRestore(state, args, message.entry, ctx, deadline), responder);
    case 'ping':
      return responder?.ok(ping(state));
    case 'list-collections':
      return responder?.ok([...state.collections.values()]);
    case 'group-failed':
      return recordGroupFailure(state, message.group, message.error, ctx);
    case 'bug':
      throw new AssertionFailure(message.error);
    default:
      return unreachable(message, 'supervisor message');
  }
}

/** Answers when `work` is done and returns the promise the actor cell awaits before the next message. */
function holdMailbox<T>(work: Promise<T>, responder: Responder | null): Promise<void> {
  // A rejection reaches the cell, which answers a ShoalError and crashes the actor on anything else.
  return work.then((value) => responder?.ok(value));
}

/** Answers when `work` settles, without holding the mailbox; a failed invariant then crashes the actor. */
function runConcurrently<T>(work: Promise<T>, responder: Responder | null, ctx: ActorContext): void {
  work.then(
    (value) => responder?.ok(value),
    (error: unknown) => {
      if (!(error instanceof AssertionFailure)) return responder?.fail(error);
      const crashed = `supervisor crashed on a bug and is restarted: ${error.message}`;
      responder?.fail(new ShoalError('INTERNAL', crashed, { address: ctx.self }));
      ctx.tell(ctx.self, { type: 'bug', error: error.message });
    },
  );
}

function ping(state: SupervisorState): PingResult {
  const { collections, broken, bootFailure } = state;
  return { collections: collections.size, broken: Object.fromEntries(broken), bootFailure };
}

/** Records a supervision group that exceeded its restart intensity: its shard answers UNAVAILABLE from now on. */
function recordGroupFailure(state: SupervisorState, group: string, error: ErrorData, ctx: ActorContext): void {
  state.failedGroups.set(group, error);
  const event = group.startsWith('metadata-group/') ? 'metadata-replica-stopped' : 'shard-group-failed';
  ctx.log.error(event, { group, error: error.message });
}

/** The route of a collection's reads, for the client (a collection that failed to open answers with its error). */
async function readRoute(state: SupervisorState, message: SupervisorMessageOf<'read-route'>): Promise<ReadRoute> {
  const entry = lookupCollection(state, message.collection);
  const { name, id, dimension, metric, shards } = entry;
  return { collection: name, id, dimension, metric, shards };
}

/** Shard assignments of a collection: from a replica's applied state, or linearizable through ReadIndex. */
async function assignments(
  state: SupervisorState,
  message: SupervisorMessageOf<'shard-assignments'>,
  ctx: ActorContext,
  deadline: number,
): Promise<ShardAssignmentInfo[]> {
  const committed = await state.metadata.read(ctx, deadline, message.linearizable);
  const entry = committed.collections.find((candidate) => candidate.name === message.collection);
  if (entry === undefined) throw collectionNotFound(message.collection);
  const recorded = committed.shards[entry.id] ?? [];
  return recorded.map((assignment) => ({ ...assignment, replicas: [...assignment.replicas] }));
}

/** Every replica's status, and the leader when exactly one claims it. */
async function metadataStatus(state: SupervisorState, ctx: ActorContext, deadline: number): Promise<MetadataStatus> {
  const timeoutMs = Math.max(1, Math.min(METADATA_STATUS_MS_MAX, deadline - ctx.clock.now()));
  const replicas = await state.metadata.status(ctx, timeoutMs);
  const leaders = replicas.flatMap((replica) => ('role' in replica && replica.role === 'leader' ? [replica.id] : []));
  return { replicas, leader: leaders.length === 1 ? present(leaders[0], 'the leader') : null };
}
