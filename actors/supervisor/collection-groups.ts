/**
 * Starting and stopping a collection's shard groups through the actor
 * system. A collection that cannot be opened is marked broken: its error
 * answers its requests, the other collections carry on.
 */
import type { ActorContext } from '../../runtime/actor.js';
import { toShoalError } from '../../runtime/errors.js';
import type { CollectionEntry } from '../../storage/collection-entry.js';
import type { SupervisorArgs } from '../supervisor-protocol.js';
import type { SupervisorState } from './state.js';
import { collectionGroupNames, collectionGroupSpecs } from './topology.js';

/** How long the actor system may take to start or stop a group. */
export const SYSTEM_TIMEOUT_MS = 120_000;

/** Starts every shard group of a collection not `running` yet, concurrently; rejects with the first failure. */
export async function startCollection(
  args: SupervisorArgs,
  entry: CollectionEntry,
  ctx: ActorContext,
  running: ReadonlySet<string>,
): Promise<void> {
  const groups = collectionGroupSpecs(args, entry).filter((group) => !running.has(group.name));
  const started = await Promise.allSettled(
    groups.map((group) => ctx.system({ type: 'start-group', group }, SYSTEM_TIMEOUT_MS)),
  );
  const failure = started.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (failure !== undefined) throw toShoalError(failure.reason);
}

/** Stops every shard group of a collection and forgets that any of them failed. */
export async function stopCollection(state: SupervisorState, entry: CollectionEntry, ctx: ActorContext): Promise<void> {
  const names = collectionGroupNames(entry);
  await Promise.all(names.map((name) => ctx.system({ type: 'stop-group', name }, SYSTEM_TIMEOUT_MS)));
  for (const name of names) state.failedGroups.delete(name);
}

/** Starts a recorded collection's shard groups; a failure marks it broken (its error answers its requests). */
export function openCollection(
  state: SupervisorState,
  args: SupervisorArgs,
  entry: CollectionEntry,
  ctx: ActorContext,
  running: ReadonlySet<string>,
): Promise<void> {
  return startCollection(args, entry, ctx, running).catch((error: unknown) => {
    const failure = toShoalError(error);
    state.broken.set(entry.name, failure.toData());
    ctx.log.error('collection-failed-to-open', { collection: entry.name, code: failure.code, error: failure.message });
  });
}
