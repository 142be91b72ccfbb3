/**
 * The supervisor's boot: start the metadata Raft group's replicas, wait for
 * a leader and read the metadata (bootstrapping a new cluster, with the
 * collections of a pre-Raft `catalogue.json` if there is one, which is then
 * renamed `catalogue.json.migrated`), compare what the storage URLs hold
 * with what the metadata records, and start every recorded collection's
 * shard groups. A supervisor restarted after a crash starts only the groups
 * its previous incarnation did not.
 */
import { join } from 'node:path';
import type { ActorContext, SystemDescription } from '../../runtime/actor.js';
import { ShoalError, toShoalError } from '../../runtime/errors.js';
import { LOCAL_MEMBER } from '../../cluster/metadata.js';
import type { ClusterState } from '../../cluster/metadata.js';
import { readCatalogue } from '../../storage/catalogue.js';
import type { CollectionEntry } from '../../storage/collection-entry.js';
import { compareWithMetadata, discoverStorage, missingFolderError, missingRoots } from '../../storage/discovery.js';
import { dataDirUrl, findRemovedUrls, removedUrlsError } from '../../storage/placement.js';
import type { SupervisorArgs } from '../supervisor-protocol.js';
import { SYSTEM_TIMEOUT_MS, openCollection } from './collection-groups.js';
import type { SupervisorState } from './state.js';
import { metadataGroupSpecs } from './topology.js';

/** How long boot waits for the metadata group to elect a leader and answer. */
const BOOT_METADATA_MS = 60_000;

/** Boots the supervisor; a failure is kept in `state.bootFailure` (it answers every later request) and logged. */
export async function boot(state: SupervisorState, args: SupervisorArgs, ctx: ActorContext): Promise<void> {
  try {
    await openCollections(state, args, ctx);
  } catch (error) {
    state.bootFailure = toShoalError(error).toData();
    ctx.log.error('boot-failed', { code: state.bootFailure.code, error: state.bootFailure.message });
  }
}

async function openCollections(state: SupervisorState, args: SupervisorArgs, ctx: ActorContext): Promise<void> {
  const described = await ctx.system<SystemDescription>({ type: 'describe' }, SYSTEM_TIMEOUT_MS);
  const running = new Set(described.groups.map((group) => group.name));
  const metadata = await openMetadata(state, args, ctx, running);
  const entries = await checkStorage(state, args, metadata.collections, ctx);
  state.counters = metadata.counters;
  for (const entry of metadata.collections) state.collections.set(entry.name, entry);
  await Promise.all(entries.map((entry) => openCollection(state, args, entry, ctx, running)));
}

/**
 * Starts the metadata replicas (those not `running`), waits for a leader and reads the state. A cluster that was
 * never bootstrapped is, with the collections of an old `catalogue.json` if there is one; the file is then renamed.
 */
async function openMetadata(
  state: SupervisorState,
  args: SupervisorArgs,
  ctx: ActorContext,
  running: ReadonlySet<string>,
): Promise<ClusterState> {
  await startMetadataReplicas(state, args, ctx, running);
  const cataloguePath = join(args.dataDir, 'catalogue.json');
  const deadline = ctx.clock.now() + BOOT_METADATA_MS;
  let metadata = await state.metadata.read(ctx, deadline);
  if (!metadata.initialized) {
    const catalogue = await readCatalogue(ctx.fs, cataloguePath, dataDirUrl(args.dataDir));
    const { collections, counters } = catalogue;
    await state.metadata.propose(ctx, { type: 'bootstrap', members: [LOCAL_MEMBER], collections, counters }, deadline);
    if (collections.length > 0) {
      ctx.log.info('catalogue-migrated', { collections: collections.length, from: cataloguePath });
    }
    metadata = await state.metadata.read(ctx, deadline);
  }
  if ((await ctx.fs.stat(cataloguePath)) !== null) {
    await ctx.fs.rename(cataloguePath, `${cataloguePath}.migrated`);
    await ctx.fs.fsyncDir(args.dataDir);
  }
  return metadata;
}

/** Starts the replicas' groups that are not running; rejects only when the system is shutting down. */
async function startMetadataReplicas(
  state: SupervisorState,
  args: SupervisorArgs,
  ctx: ActorContext,
  running: ReadonlySet<string>,
): Promise<void> {
  const missing = metadataGroupSpecs(args, state.metadata.replicaIds()).filter((group) => !running.has(group.name));
  // A replica that cannot start (a damaged log) stays down; the others elect a leader if they are a majority.
  const started = await Promise.allSettled(
    missing.map((group) => ctx.system({ type: 'start-group', group }, SYSTEM_TIMEOUT_MS)),
  );
  started.forEach((outcome, index) => {
    if (outcome.status !== 'rejected') return;
    const error = toShoalError(outcome.reason).message;
    ctx.log.error('metadata-replica-failed-to-start', { group: missing[index]?.name, error });
  });
  // The system is shutting down (a close while this supervisor restarted): waiting for a leader would hold the
  // close for the whole boot deadline.
  const closed = started.find(
    (outcome): outcome is PromiseRejectedResult =>
      outcome.status === 'rejected' && toShoalError(outcome.reason).code === 'CLOSED',
  );
  if (closed !== undefined) throw toShoalError(closed.reason);
}

/**
 * Refuses a configuration that lost a URL holding collections, or whose roots are missing; compares discovery
 * with the metadata, reports unknown folders and marks collections whose WAL folder is gone as broken. Answers
 * the entries that may be started.
 */
async function checkStorage(
  state: SupervisorState,
  args: SupervisorArgs,
  entries: readonly CollectionEntry[],
  ctx: ActorContext,
): Promise<CollectionEntry[]> {
  const removed = findRemovedUrls(entries, args.storage);
  if (removed.length > 0) throw removedUrlsError(removed);
  const absent = await missingRoots(ctx.fs, args.storage);
  if (absent.length > 0) {
    const list = absent.map((root) => `storage.${root.component}: ${root.url}`).join(', ');
    const message =
      `storage URL folders do not exist (${list}); create them (or mount the disk) first: ` +
      'Shoal never creates a storage root';
    throw new ShoalError('INVALID_ARGUMENT', message, { missing: absent });
  }
  const report = compareWithMetadata(await discoverStorage(ctx.fs, args.storage), entries);
  for (const folder of report.unknown) {
    ctx.log.warn('storage-unknown-folder', { ...folder, note: 'no collection is placed here: not loaded' });
  }
  for (const missing of report.missing) {
    const failure = missingFolderError(missing);
    state.broken.set(missing.collection, failure.toData());
    ctx.log.error('collection-folder-missing', { collection: missing.collection, error: failure.message });
  }
  return entries.filter((entry) => !state.broken.has(entry.name));
}
