/**
 * The supervisor actor: the host client's only peer. It starts the metadata
 * Raft group (its replicas hold the collections, shard assignments and
 * placements; the supervisor proposes every change through the leader and
 * keeps a cache of the applied state for routing), starts one supervision
 * group per shard (WAL writer → engine → shard,
 * restarted rest_for_one), routes writes by `fnv1a32(id) mod shards`, and
 * answers searches by scatter-gather: every shard in parallel, merged top-k.
 * Asks to a shard that is restarting are retried until the request's
 * deadline; a shard whose group gave up answers UNAVAILABLE. It also runs
 * storage placement: assigns each new collection a URL per component,
 * records it in the metadata, and at boot compares what the storage URLs
 * hold (discovery) with what the metadata records. A `catalogue.json` left by
 * an earlier release is imported into the metadata at the first boot and
 * renamed `catalogue.json.migrated`.
 */
import { join } from 'node:path';
import type { Actor, ActorContext, ActorSpec, GroupFailedMessage, GroupSpec, Message, Responder, SystemDescription, TransferList } from '../runtime/actor.js';
import { remainingMs } from '../runtime/deadline.js';
import { ShoalError, toShoalError } from '../runtime/errors.js';
import type { ErrorData } from '../runtime/errors.js';
import { errnoCode } from '../runtime/fs.js';
import { siblingModuleUrl } from '../runtime/module-url.js';
import { gatherSearch, orderRecords } from '../cluster/merge.js';
import { partitionByShard } from '../cluster/routing.js';
import { LOCAL_MEMBER } from '../cluster/metadata.js';
import type { MetadataState } from '../cluster/metadata.js';
import { readCatalogue } from '../storage/catalogue.js';
import type { CollectionEntry } from '../storage/catalogue.js';
import { compareWithCatalogue, discoverStorage, missingFolderError, missingRoots, storageStats } from '../storage/discovery.js';
import { PlacementService, STORAGE_COMPONENTS, collectionDir, dataDirUrl, findRemovedUrls, removedUrlsError, shardDirs, storageRootPath, zeroCounters } from '../storage/placement.js';
import type { EngineStorageDirs, PlacementCounters, StorageConfig } from '../storage/placement.js';
import { batchTransfer, selectRows } from '../storage/record-batch.js';
import type { RecordBatch } from '../storage/record-batch.js';
import type { Hit, StoredRecord } from '../storage/types.js';
import { engineAddress, metadataGroupName, metadataReplicaAddress, shardAddress, shardGroupName, walAddress } from './addresses.js';
import type { EngineArgs, EngineMessage } from './engine-actor.js';
import { MetadataClient, isUnknownOutcome } from './metadata-client.js';
import type { MetadataReplicaArgs } from './metadata-replica-actor.js';
import type { ShardArgs, ShardStats, WriteResult } from './shard-actor.js';
import type { CreateCollectionMessage, SupervisorMessage } from './supervisor-protocol.js';
import type { CollectionStats, MetadataStatus, OptimizeResult, SearchBatchResult, ShardAssignmentInfo, ShoalStats } from './public-api.js';
import type { ReadRoute } from './read-protocol.js';
import type { WalWriterArgs } from './wal-writer-actor.js';

/** Arguments of the supervisor. */
export interface SupervisorArgs {
  readonly dataDir: string;
  /** Storage URLs per component, validated and normalised. */
  readonly storage: StorageConfig;
  /** Restart intensity of each shard group. */
  readonly maxRestarts: number;
  readonly withinMs: number;
  /** The metadata Raft group. */
  readonly metadata: MetadataSettings;
  /** Open collections whose WAL is damaged before its tail by cutting it there (`OpenOptions.repairWal`). */
  readonly repairWal?: boolean;
}

/** How the metadata Raft group runs. */
export interface MetadataSettings {
  /** Replicas (voters), each an actor in its own worker: 1, 3, 5 or 7. */
  readonly replicas: number;
  /** Milliseconds per Raft tick; elections time out after 25 to 50 ticks, leaders heartbeat every 5. */
  readonly tickMs: number;
}

/** Default metadata settings: three replicas, 20 ms ticks (elections after 0.5 to 1 s of silence). */
export const DEFAULT_METADATA_SETTINGS: MetadataSettings = { replicas: 3, tickMs: 20 };
const ELECTION_TICKS = 25;
const HEARTBEAT_TICKS = 5;
const SNAPSHOT_ENTRIES = 1_000;
/** How long boot waits for the metadata group to elect a leader and answer. */
const BOOT_METADATA_MS = 60_000;

const MODULES = {
  wal: siblingModuleUrl('./wal-writer-actor', import.meta.url),
  engine: siblingModuleUrl('./engine-actor', import.meta.url),
  shard: siblingModuleUrl('./shard-actor', import.meta.url),
  metadata: siblingModuleUrl('./metadata-replica-actor', import.meta.url),
};
const SYSTEM_TIMEOUT_MS = 120_000;
const RETRY_BACKOFF_MS_MAX = 500;

/** Creates the supervisor. */
export function createSupervisor(args: SupervisorArgs): Actor {
  const cataloguePath = join(args.dataDir, 'catalogue.json');
  const collections = new Map<string, CollectionEntry>();
  const broken = new Map<string, ErrorData>();
  const failedGroups = new Map<string, ErrorData>();
  let bootFailure: ErrorData | null = null;
  /** Searches answered per collection id (on the supervisor's path: the client counts the ones it sent to engines itself) since this supervisor started. */
  const searchCounts = new Map<string, number>();
  /** The placement counters as last committed to the metadata. */
  let counters: PlacementCounters = zeroCounters();
  const metadata = new MetadataClient(args.metadata.replicas);
  /** Set when a metadata write's outcome is unknown: the cache is refreshed from the leader before the next change. */
  let stale = false;
  /** Ids of collections being created or dropped: their folders and entries may disagree for a moment. */
  const settling = new Set<string>();

  const shardGroup = (entry: CollectionEntry, shard: number): GroupSpec => {
    const wal = walAddress(entry.id, shard);
    const engine = engineAddress(entry.id, shard);
    const { walDir, ...engineDirs } = shardDirs(entry.placement, entry.id, shard);
    const walArgs: WalWriterArgs = { dir: walDir, dimension: entry.dimension, syncMode: entry.syncMode, repair: args.repairWal === true, ...(entry.syncIntervalMs === undefined ? {} : { syncIntervalMs: entry.syncIntervalMs }) };
    const settings = { ...(entry.engine === undefined ? {} : { engine: entry.engine }), ...(entry.flushThresholdRows === undefined ? {} : { flushThresholdRows: entry.flushThresholdRows }), ...(entry.frozenMemtablesMax === undefined ? {} : { frozenMemtablesMax: entry.frozenMemtablesMax }), ...(entry.hnsw === undefined ? {} : { hnsw: entry.hnsw }) };
    const engineArgs: EngineArgs & EngineStorageDirs = { dimension: entry.dimension, metric: entry.metric, wal, settings, ...engineDirs };
    const shardArgs: ShardArgs = { wal, engine };
    const children: ActorSpec[] = [
      { address: wal, module: MODULES.wal, factory: 'createWalWriter', args: walArgs },
      { address: engine, module: MODULES.engine, factory: 'createEngine', args: engineArgs },
      { address: shardAddress(entry.id, shard), module: MODULES.shard, factory: 'createShard', args: shardArgs },
    ];
    return { name: shardGroupName(entry.id, shard), strategy: 'rest_for_one', maxRestarts: args.maxRestarts, withinMs: args.withinMs, children, owner: 'supervisor' };
  };

  /** Starts every shard group of a collection concurrently; rejects with the first failure once all have settled. */
  const startCollection = async (entry: CollectionEntry, ctx: ActorContext, running: ReadonlySet<string>): Promise<void> => {
    const groups = Array.from({ length: entry.shards }, (_, shard) => shardGroup(entry, shard)).filter((group) => !running.has(group.name));
    const started = await Promise.allSettled(groups.map((group) => ctx.system({ type: 'start-group', group }, SYSTEM_TIMEOUT_MS)));
    const failure = started.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    if (failure !== undefined) throw toShoalError(failure.reason);
  };

  const stopCollection = async (entry: CollectionEntry, ctx: ActorContext): Promise<void> => {
    const names = Array.from({ length: entry.shards }, (_, shard) => shardGroupName(entry.id, shard));
    await Promise.all(names.map((name) => ctx.system({ type: 'stop-group', name }, SYSTEM_TIMEOUT_MS)));
    for (const name of names) failedGroups.delete(name);
  };

  const boot = async (ctx: ActorContext): Promise<void> => {
    try {
      await openCollections(ctx);
    } catch (error) {
      bootFailure = toShoalError(error).toData();
      ctx.log.error('boot-failed', { code: bootFailure.code, error: bootFailure.message });
    }
  };

  /** One supervision group per metadata replica: a replica that keeps crashing (a broken disk) stops alone. */
  const metadataGroups = (): GroupSpec[] => {
    const ids = metadata.replicaIds();
    return ids.map((id) => {
      const replicaArgs: MetadataReplicaArgs = {
        id,
        peers: ids,
        dir: join(args.dataDir, 'cluster', `replica-${id}`),
        tickMs: args.metadata.tickMs,
        electionTicks: ELECTION_TICKS,
        heartbeatTicks: HEARTBEAT_TICKS,
        snapshotEntries: SNAPSHOT_ENTRIES,
      };
      const child: ActorSpec = { address: metadataReplicaAddress(id), module: MODULES.metadata, factory: 'createMetadataReplica', args: replicaArgs };
      return { name: metadataGroupName(id), strategy: 'one_for_one', maxRestarts: args.maxRestarts, withinMs: args.withinMs, children: [child], owner: 'supervisor' };
    });
  };

  /**
   * Starts the metadata replicas (those a previous incarnation of this
   * supervisor did not), waits for a leader and reads the state. A cluster that
   * was never bootstrapped is, with the collections of an old
   * `catalogue.json` if there is one; the file is then renamed.
   */
  const openMetadata = async (ctx: ActorContext, running: ReadonlySet<string>): Promise<MetadataState> => {
    const missing = metadataGroups().filter((group) => !running.has(group.name));
    // A replica that cannot start (a damaged log) stays down; the others elect a leader if they are a majority.
    const started = await Promise.allSettled(missing.map((group) => ctx.system({ type: 'start-group', group }, SYSTEM_TIMEOUT_MS)));
    started.forEach((outcome, index) => {
      if (outcome.status === 'rejected') ctx.log.error('metadata-replica-failed-to-start', { group: missing[index]?.name, error: toShoalError(outcome.reason).message });
    });
    // The system is shutting down (a close while this supervisor restarted): waiting for a leader would hold the close for the whole boot deadline.
    const closed = started.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected' && toShoalError(outcome.reason).code === 'CLOSED');
    if (closed !== undefined) throw toShoalError(closed.reason);
    const deadline = ctx.clock.now() + BOOT_METADATA_MS;
    let state = await metadata.read(ctx, deadline);
    if (!state.initialized) {
      const catalogue = await readCatalogue(ctx.fs, cataloguePath, dataDirUrl(args.dataDir));
      await metadata.propose(ctx, { type: 'bootstrap', members: [LOCAL_MEMBER], collections: catalogue.collections, counters: catalogue.counters }, deadline);
      if (catalogue.collections.length > 0) ctx.log.info('catalogue-migrated', { collections: catalogue.collections.length, from: cataloguePath });
      state = await metadata.read(ctx, deadline);
    }
    if ((await ctx.fs.stat(cataloguePath)) !== null) {
      await ctx.fs.rename(cataloguePath, `${cataloguePath}.migrated`);
      await ctx.fs.fsyncDir(args.dataDir);
    }
    return state;
  };

  const openCollections = async (ctx: ActorContext): Promise<void> => {
    const described = await ctx.system<SystemDescription>({ type: 'describe' }, SYSTEM_TIMEOUT_MS);
    const running = new Set(described.groups.map((group) => group.name));
    const state = await openMetadata(ctx, running);
    const entries = await checkStorage(state.collections, ctx);
    counters = state.counters;
    for (const entry of state.collections) collections.set(entry.name, entry);
    await Promise.all(entries.map((entry) => openCollection(entry, ctx, running)));
  };

  /** Starts a recorded collection's shard groups; a failure marks it broken (its error answers its requests). */
  const openCollection = (entry: CollectionEntry, ctx: ActorContext, running: ReadonlySet<string>): Promise<void> =>
    startCollection(entry, ctx, running).catch((error: unknown) => {
      const failure = toShoalError(error);
      broken.set(entry.name, failure.toData());
      ctx.log.error('collection-failed-to-open', { collection: entry.name, code: failure.code, error: failure.message });
    });

  /**
   * After a metadata write whose outcome was unknown, makes the cache agree
   * with the committed state: collections that did commit are opened,
   * collections that are gone are stopped.
   */
  const refresh = async (ctx: ActorContext, deadline: number): Promise<void> => {
    if (!stale) return;
    const state = await metadata.read(ctx, deadline);
    stale = false;
    counters = state.counters;
    const committed = new Map(state.collections.map((entry) => [entry.name, entry]));
    for (const [name, entry] of collections) {
      if (committed.get(name)?.id === entry.id) continue;
      collections.delete(name);
      broken.delete(name);
      await stopCollection(entry, ctx).catch(() => undefined);
    }
    for (const entry of state.collections) {
      if (collections.has(entry.name)) continue;
      collections.set(entry.name, entry);
      await openCollection(entry, ctx, new Set());
    }
  };

  /**
   * Refuses a configuration that lost a URL holding collections, or whose
   * roots are missing; compares discovery with the catalogue, reports unknown
   * folders and marks collections whose WAL folder is gone as broken. Answers
   * the entries that may be started.
   */
  const checkStorage = async (entries: readonly CollectionEntry[], ctx: ActorContext): Promise<CollectionEntry[]> => {
    const removed = findRemovedUrls(entries, args.storage);
    if (removed.length > 0) throw removedUrlsError(removed);
    const absent = await missingRoots(ctx.fs, args.storage);
    if (absent.length > 0) {
      const list = absent.map((root) => `storage.${root.component}: ${root.url}`).join(', ');
      throw new ShoalError('INVALID_ARGUMENT', `storage URL folders do not exist (${list}); create them (or mount the disk) first: Shoal never creates a storage root`, { missing: absent });
    }
    const report = compareWithCatalogue(await discoverStorage(ctx.fs, args.storage), entries);
    for (const folder of report.unknown) ctx.log.warn('storage-unknown-folder', { ...folder, note: 'no collection is placed here: not loaded' });
    for (const missing of report.missing) {
      const failure = missingFolderError(missing);
      broken.set(missing.collection, failure.toData());
      ctx.log.error('collection-folder-missing', { collection: missing.collection, error: failure.message });
    }
    return entries.filter((entry) => !broken.has(entry.name));
  };

  /** Creates the collection's WAL folder durably, before the catalogue records it: a recorded collection always has one. */
  const prepareFolders = async (entry: CollectionEntry, ctx: ActorContext): Promise<void> => {
    const root = storageRootPath(entry.placement.wal);
    const folder = collectionDir(entry.placement, 'wal', entry.id);
    try {
      await ctx.fs.mkdir(folder);
      await ctx.fs.fsyncDir(join(root, 'wal'));
      await ctx.fs.fsyncDir(root);
    } catch (error) {
      const cause = errnoCode(error) ?? 'UNKNOWN';
      throw new ShoalError('STORAGE_FAILED', `creating ${folder} failed (${cause}): ${(error as Error).message}`, { cause, path: folder });
    }
  };

  /** Deletes every component folder of a collection. */
  const removeFolders = async (entry: CollectionEntry, ctx: ActorContext): Promise<void> => {
    for (const component of STORAGE_COMPONENTS) await ctx.fs.rm(collectionDir(entry.placement, component, entry.id));
  };

  /**
   * Creates a collection: its WAL folder first (durably), then the metadata
   * command, then its shard groups. If the groups cannot start, the command
   * is undone. A metadata write whose outcome is unknown (no leader in time)
   * leaves the cache marked stale and answers UNAVAILABLE; the command may
   * still commit, and the next change first reads what did.
   */
  const create = async (message: CreateCollectionMessage, ctx: ActorContext, deadline: number): Promise<CollectionEntry> => {
    await refresh(ctx, deadline);
    if (collections.has(message.name)) throw new ShoalError('COLLECTION_EXISTS', `collection ${message.name} already exists`, { collection: message.name });
    const suffix = ctx.random.int(0x1_0000_0000).toString(16).padStart(8, '0');
    const id = `${message.name}-${suffix}`;
    const { type: _type, ...fields } = message;
    const placements = new PlacementService(args.storage, counters);
    const entry: CollectionEntry = { id, ...fields, placement: placements.assign(id) };
    settling.add(id);
    try {
      await prepareFolders(entry, ctx);
      try {
        await metadata.propose(ctx, { type: 'create-collection', entry, counters: placements.snapshot() }, deadline);
      } catch (error) {
        if (toShoalError(error).code === 'COLLECTION_EXISTS') {
          stale = true;
          await removeFolders(entry, ctx).catch(() => undefined);
        } else if (isUnknownOutcome(error)) {
          stale = true;
        }
        throw error;
      }
      counters = placements.snapshot();
      collections.set(entry.name, entry);
      try {
        await startCollection(entry, ctx, new Set());
      } catch (error) {
        collections.delete(entry.name);
        await stopCollection(entry, ctx).catch(() => undefined);
        await metadata.propose(ctx, { type: 'drop-collection', id: entry.id }, deadline).catch(() => {
          stale = true;
        });
        await removeFolders(entry, ctx).catch(() => undefined);
        throw error;
      }
    } finally {
      settling.delete(id);
    }
    return entry;
  };

  /** Drops a collection: the metadata command first (once committed the collection is gone), then its actors and folders. */
  const drop = async (name: string, ctx: ActorContext, deadline: number): Promise<void> => {
    await refresh(ctx, deadline);
    const entry = lookup(name, false);
    try {
      await metadata.propose(ctx, { type: 'drop-collection', id: entry.id }, deadline);
    } catch (error) {
      if (isUnknownOutcome(error)) stale = true;
      throw error;
    }
    collections.delete(name);
    broken.delete(name);
    settling.add(entry.id);
    try {
      await stopCollection(entry, ctx);
      await removeFolders(entry, ctx);
    } finally {
      settling.delete(entry.id);
    }
  };

  /** Shard assignments of a collection: from a replica's applied state, or linearizable through ReadIndex. */
  const assignments = async (name: string, linearizable: boolean, ctx: ActorContext, deadline: number): Promise<ShardAssignmentInfo[]> => {
    const state = await metadata.read(ctx, deadline, linearizable);
    const entry = state.collections.find((candidate) => candidate.name === name);
    if (entry === undefined) throw new ShoalError('COLLECTION_NOT_FOUND', `no collection named ${name}`, { collection: name });
    return (state.shards[entry.id] ?? []).map((assignment) => ({ ...assignment, replicas: [...assignment.replicas] }));
  };

  const metadataStatus = async (ctx: ActorContext, deadline: number): Promise<MetadataStatus> => {
    const replicas = await metadata.status(ctx, Math.max(1, Math.min(2_000, deadline - ctx.clock.now())));
    const leaders = replicas.flatMap((replica) => ('role' in replica && replica.role === 'leader' ? [replica.id] : []));
    return { replicas, leader: leaders.length === 1 ? (leaders[0] as number) : null };
  };

  /** The collection called `name`, or COLLECTION_NOT_FOUND; a collection that failed to open answers with its error. */
  const lookup = (name: string, mustBeOpen = true): CollectionEntry => {
    const entry = collections.get(name);
    if (entry === undefined) throw new ShoalError('COLLECTION_NOT_FOUND', `no collection named ${name}`, { collection: name });
    const failure = broken.get(name);
    if (mustBeOpen && failure !== undefined) throw new ShoalError(failure.code, `collection ${name} failed to open: ${failure.message}`, { collection: name, ...failure.details });
    return entry;
  };

  /**
   * Asks a shard's shard actor (writes, stats) or its engine (searches, gets: the shard acknowledges a write
   * only once its engine has applied it, so a read sent straight to the engine after an acknowledgement sees
   * it), retrying while the group restarts, until `deadline`. `build` makes a fresh message per attempt (buffers move).
   */
  const askShard = async <T>(
    ctx: ActorContext,
    entry: CollectionEntry,
    shard: number,
    build: () => { message: Message; transfer: TransferList },
    deadline: number,
    target: 'shard' | 'engine' = 'shard',
  ): Promise<T> => {
    const address = (target === 'engine' ? engineAddress : shardAddress)(entry.id, shard);
    const group = shardGroupName(entry.id, shard);
    for (let attempt = 0; ; attempt++) {
      const failure = failedGroups.get(group);
      if (failure !== undefined) throw new ShoalError('UNAVAILABLE', `shard ${shard} of ${entry.name} stopped after repeated crashes: ${failure.message}`, { collection: entry.name, shard });
      const { message, transfer } = build();
      const margin = Math.min(50, (deadline - ctx.clock.now()) / 10);
      try {
        return await ctx.ask<T>(address, message, { timeoutMs: remainingMs(deadline, ctx.clock, margin), transfer });
      } catch (error) {
        const backoffMs = Math.min(RETRY_BACKOFF_MS_MAX, 25 * 2 ** attempt);
        if (!(error instanceof ShoalError) || error.code !== 'UNAVAILABLE' || ctx.clock.now() + backoffMs >= deadline) throw error;
        await new Promise<void>((resolve) => ctx.clock.setTimer(backoffMs, resolve));
      }
    }
  };

  const write = async (collection: string, batch: RecordBatch, ctx: ActorContext, deadline: number): Promise<{ records: number }> => {
    const entry = lookup(collection);
    if (batch.vectors.length > 0 && batch.dimension !== entry.dimension) {
      throw new ShoalError('DIMENSION_MISMATCH', `collection ${collection} has dimension ${entry.dimension}, the vectors have ${batch.dimension}`, { expected: entry.dimension, actual: batch.dimension });
    }
    const parts = partitionByShard(batch.ids, entry.shards);
    const writes = parts.map((rows, shard) => {
      if (rows.length === 0) return Promise.resolve(null);
      return askShard<WriteResult>(ctx, entry, shard, () => {
        const part = selectRows(batch, rows);
        return { message: { type: 'write', batch: part }, transfer: batchTransfer(part) };
      }, deadline);
    });
    await Promise.all(writes);
    return { records: batch.ids.length };
  };

  /** Every query of the message on every shard in parallel (one ask per shard, all its queries), merged per query. */
  const search = async (message: Extract<SupervisorMessage, { type: 'search' }>, ctx: ActorContext, deadline: number): Promise<SearchBatchResult> => {
    const entry = lookup(message.collection);
    if (message.dimension !== entry.dimension) {
      throw new ShoalError('DIMENSION_MISMATCH', `collection ${entry.name} has dimension ${entry.dimension}, the query has ${message.dimension}`, { expected: entry.dimension, actual: message.dimension });
    }
    const answers = await Promise.allSettled(
      Array.from({ length: entry.shards }, (_, shard) =>
        askShard<Hit[][]>(ctx, entry, shard, () => {
          const vectors = new Float32Array(message.vectors);
          const search: EngineMessage = { type: 'search', vectors, dimension: message.dimension, queries: message.queries };
          return { message: search, transfer: [vectors.buffer] };
        }, deadline, 'engine'),
      ),
    );
    const gathered = gatherSearch(answers, message.queries, entry.metric, message.allowPartial);
    searchCounts.set(entry.id, (searchCounts.get(entry.id) ?? 0) + message.queries.length);
    return gathered;
  };

  /** The route of a collection's reads, for the client (a collection that failed to open answers with its error). */
  const readRoute = async (collection: string): Promise<ReadRoute> => {
    const entry = lookup(collection);
    return { collection: entry.name, id: entry.id, dimension: entry.dimension, metric: entry.metric, shards: entry.shards };
  };

  /** Every shard's engine flushes and merges its segments into one, in parallel; answered when all have. */
  const optimize = async (collection: string, ctx: ActorContext, deadline: number): Promise<OptimizeResult> => {
    const entry = lookup(collection);
    const summaries = await Promise.all(
      Array.from({ length: entry.shards }, (_, shard) => askShard<OptimizeResult>(ctx, entry, shard, () => ({ message: { type: 'optimize' }, transfer: [] }), deadline, 'engine')),
    );
    return { segments: summaries.reduce((sum, each) => sum + each.segments, 0), memtableRows: summaries.reduce((sum, each) => sum + each.memtableRows, 0) };
  };

  const get = async (collection: string, ids: readonly string[], ctx: ActorContext, deadline: number): Promise<StoredRecord[]> => {
    const entry = lookup(collection);
    const parts = partitionByShard(ids, entry.shards);
    const found = await Promise.all(
      parts.map((rows, shard) => (rows.length === 0 ? Promise.resolve([]) : askShard<StoredRecord[]>(ctx, entry, shard, () => ({ message: { type: 'get', ids: rows.map((row) => ids[row]) }, transfer: [] }), deadline, 'engine'))),
    );
    return orderRecords(ids, found);
  };

  const collectionStats = async (entry: CollectionEntry, ctx: ActorContext, deadline: number): Promise<CollectionStats> => {
    const base = { name: entry.name, id: entry.id, dimension: entry.dimension, metric: entry.metric, shards: entry.shards, syncMode: entry.syncMode, searches: searchCounts.get(entry.id) ?? 0 };
    const failure = broken.get(entry.name);
    const answers = failure !== undefined ? [] : await Promise.allSettled(
      Array.from({ length: entry.shards }, (_, shard) => askShard<ShardStats>(ctx, entry, shard, () => ({ message: { type: 'stats' }, transfer: [] }), deadline)),
    );
    const shards = answers.flatMap((answer) => (answer.status === 'fulfilled' ? [answer.value] : []));
    const sum = (pick: (stats: ShardStats) => number): number => shards.reduce((total, stats) => total + pick(stats), 0);
    const worst = (pick: (stats: ShardStats) => number): number => shards.reduce((most, stats) => Math.max(most, pick(stats)), 0);
    return {
      ...base,
      records: sum((stats) => stats.engine.rows),
      memoryBytes: sum((stats) => stats.engine.memoryBytes),
      walBytes: sum((stats) => stats.wal.bytes),
      walSegments: sum((stats) => stats.wal.segments),
      walTruncatedBytes: sum((stats) => stats.wal.recovery.truncatedBytes),
      walRepairs: shards.flatMap((stats, shard) => (stats.wal.recovery.repaired === null ? [] : [{ shard, ...stats.wal.recovery.repaired }])),
      searchP50Ms: worst((stats) => stats.engine.searchP50Ms),
      searchP99Ms: worst((stats) => stats.engine.searchP99Ms),
      replayedRecords: sum((stats) => stats.engine.replayedRecords),
      memtableRows: sum((stats) => stats.engine.memtableRows + stats.engine.frozenRows),
      segments: sum((stats) => stats.engine.segments),
      indexedSegments: sum((stats) => stats.engine.indexedSegments),
      segmentBytes: sum((stats) => stats.engine.segmentBytes),
      flushes: sum((stats) => stats.engine.flushes),
      compactions: sum((stats) => stats.engine.compactions),
      buildsRunning: sum((stats) => stats.engine.buildsRunning),
      buildFailures: sum((stats) => stats.engine.buildFailures),
      buildMsTotal: sum((stats) => stats.engine.buildMsTotal),
      frozenMemtables: sum((stats) => stats.engine.frozenMemtables),
      stalls: sum((stats) => stats.engine.stalls),
      stalledWrites: sum((stats) => stats.engine.stalledWrites),
      stalledMs: worst((stats) => stats.engine.stalledMs),
      writesHeld: sum((stats) => stats.engine.writesHeld),
      unavailableShards: entry.shards - shards.length,
      error: failure ?? null,
    };
  };

  const stats = async (ctx: ActorContext, deadline: number): Promise<ShoalStats> => {
    const system = await ctx.system<SystemDescription>({ type: 'describe' }, remainingMs(deadline, ctx.clock));
    const perCollection = await Promise.all([...collections.values()].map((entry) => collectionStats(entry, ctx, deadline)));
    // Snapshot the collections after the walk: a folder found then belongs to a collection recorded now or still settling.
    const found = await discoverStorage(ctx.fs, args.storage);
    const storage = storageStats(found, [...collections.values()], args.storage, settling);
    return {
      collections: perCollection,
      actors: system.actors,
      workers: system.workers,
      restarts: system.actors.reduce((total, actor) => total + actor.restarts, 0),
      failedShards: [...failedGroups.keys()],
      storage,
    };
  };

  const answer = <T>(work: Promise<T>, responder: Responder | null): void => {
    work.then((value) => responder?.ok(value), (error: unknown) => responder?.fail(error));
  };

  return {
    start(ctx: ActorContext) {
      // Starting shard groups asks the system, which is still starting this actor: boot as the first message instead.
      ctx.tell(ctx.self, { type: 'boot' });
    },
    receive(raw: Message, ctx: ActorContext, responder: Responder | null) {
      const message = raw as SupervisorMessage | GroupFailedMessage;
      const deadline = responder?.deadline ?? ctx.clock.now() + 30_000;
      if (bootFailure !== null && message.type !== 'ping') throw ShoalError.fromData(bootFailure);
      switch (message.type) {
        case 'boot':
          return boot(ctx);
        case 'ping':
          return responder?.ok({ collections: collections.size, broken: Object.fromEntries(broken), bootFailure });
        case 'create-collection':
          return create(message, ctx, deadline).then((entry) => responder?.ok(entry));
        case 'drop-collection':
          return drop(message.name, ctx, deadline).then(() => responder?.ok(null));
        case 'shard-assignments':
          return answer(assignments(message.collection, message.linearizable, ctx, deadline), responder);
        case 'metadata-status':
          return answer(metadataStatus(ctx, deadline), responder);
        case 'list-collections':
          return responder?.ok([...collections.values()]);
        case 'write':
          return answer(write(message.collection, message.batch, ctx, deadline), responder);
        case 'search':
          return answer(search(message, ctx, deadline), responder);
        case 'read-route':
          return answer(readRoute(message.collection), responder);
        case 'get':
          return answer(get(message.collection, message.ids, ctx, deadline), responder);
        case 'optimize':
          return answer(optimize(message.collection, ctx, deadline), responder);
        case 'stats':
          return answer(stats(ctx, deadline), responder);
        case 'group-failed':
          failedGroups.set(message.group, message.error);
          ctx.log.error(message.group.startsWith('metadata-group/') ? 'metadata-replica-stopped' : 'shard-group-failed', { group: message.group, error: message.error.message });
          return undefined;
        default:
          throw new ShoalError('INVALID_ARGUMENT', `supervisor cannot handle ${(raw as Message).type}`);
      }
    },
  };
}
