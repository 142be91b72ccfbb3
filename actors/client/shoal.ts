/**
 * The host client: what `import { Shoal } from 'shoal'` gives. It lives in
 * the caller's thread and stays thin: it validates and packs requests, posts
 * them to the supervisor actor (in its own worker) and rebuilds the answers.
 * Reads are the exception: once the supervisor has told it where a
 * collection's engines are, the client sends searches and gets to them
 * directly and merges their answers (read-router.ts). Routing decisions,
 * distance work and file I/O all happen in workers.
 */
import { resolve } from 'node:path';
import type { AskOptions, GroupSpec, Message } from '../../runtime/actor.js';
import { systemClock } from '../../runtime/clock.js';
import type { Clock } from '../../runtime/clock.js';
import { DEFAULT_DEADLINE_MS } from '../../runtime/deadline.js';
import { ShoalError, invalidArgument, toShoalError } from '../../runtime/errors.js';
import { lockFolders, releaseAll } from '../../runtime/directory-lock.js';
import type { HeldLock } from '../../runtime/directory-lock.js';
import { nodeFileSystem } from '../../runtime/fs.js';
import { REQUEST_LIMITS } from '../../runtime/limits.js';
import { createLogger } from '../../runtime/log.js';
import { siblingModuleUrl } from '../../runtime/module-url.js';
import { booleanOr, integerIn } from '../../runtime/options.js';
import { ActorSystem } from '../../runtime/system.js';
import { makeDirectoryDurable } from '../../storage/atomic-file.js';
import { storageRootPath } from '../../storage/placement.js';
import type { StorageConfig } from '../../storage/placement.js';
import { batchTransfer } from '../../storage/record-batch.js';
import type { RecordBatch } from '../../storage/record-batch.js';
import { SUPERVISOR_ADDRESS, engineAddress, metadataReplicaAddress, shardAddress, walAddress } from '../addresses.js';
import type {
  CountOptions,
  IterateOptions,
  MetadataUpdate,
  ScrollOptions,
  ScrollRecord,
  ScrollResult,
  UpdateMetadataResult,
} from '../public-api.js';
import type { Filter } from '../../storage/filter.js';
import type {
  CollectionInfo,
  CreateCollectionOptions,
  FaultSpec,
  MetadataStatus,
  OpenOptions,
  OptimizeResult,
  BackupOptions,
  BackupResult,
  RestoreOptions,
  RecordResult,
  RequestOptions,
  SearchHit,
  SearchBatchOptions,
  SearchOptions,
  ShardAssignmentInfo,
  ShoalRequest,
  ShoalResults,
  ShoalStats,
  UpsertRecord,
  WriteResult,
} from '../public-api.js';
import { DEFAULT_METADATA_SETTINGS } from '../supervisor-actor.js';
import type { SupervisorArgs } from '../supervisor-actor.js';
import type { PingResult } from '../supervisor-protocol.js';
import type { SupervisorMessageOf } from '../supervisor-protocol.js';
import { abortable, signalOf, throwIfAborted } from './abort.js';
import { backupMessage, restoreMessage } from './backup-validation.js';
import { ShoalMetrics } from './metrics.js';
import { ReadRouter } from './read-router.js';
import { SearchCoalescer } from './search-coalescer.js';
import type { SearchAsk } from './search-coalescer.js';
import { unreachable } from '../../runtime/assert.js';
import { encodeCursor } from './scroll-cursor.js';
import { SCROLL_LIMIT_DEFAULT, checkFilter, checkScroll, packMetadataUpdates } from './validation.js';
import {
  checkSearch,
  checkSearchBatch,
  collectionName,
  createCollectionMessage,
  packDelete,
  packUpsert,
  recordIds,
  storageConfig,
  timeoutOf,
} from './validation.js';

/** The requests `dispatchAdministration` answers. */
type AdministrationRequest = Extract<
  ShoalRequest,
  { type: 'stats' | 'optimize' | 'shard-assignments' | 'metadata-status' | 'backup' | 'restore' }
>;

/** The requests `dispatchByQuery` answers. */
type QueryRequest = Extract<ShoalRequest, { type: 'scroll' | 'count' | 'delete-where' | 'update-metadata' }>;

const SUPERVISOR_MODULE = siblingModuleUrl('../supervisor-actor', import.meta.url);
const OPEN_TIMEOUT_MS = 300_000;
/** The default deadline of `optimize`: merging a shard rebuilds its HNSW graph. */
const OPTIMIZE_TIMEOUT_MS = 600_000;
/** The default deadline of `backup` and `restore`: they copy a collection's files. */
const BACKUP_TIMEOUT_MS = 600_000;

/**
 * The key of `await using`'s dispose method. Node has `Symbol.asyncDispose` from 20.4 on (as
 * `Symbol.for('nodejs.asyncDispose')`); on older releases the same registered symbol stands in.
 */
const asyncDispose: typeof Symbol.asyncDispose = (Symbol.asyncDispose ??
  Symbol.for('nodejs.asyncDispose')) as typeof Symbol.asyncDispose;

const log = createLogger('client');

/**
 * The instances `Shoal.open` made that are not closed. The worker threads do
 * not keep the host alive, so a script that forgets `close()` reaches the end
 * of its event loop; then (Node's 'beforeExit') each is closed in order, as
 * `close()` would: the WALs are closed (and synced, in `periodic` and `never`
 * modes), the locks released, and the process exits once that is done.
 */
class ForgottenInstances {
  private readonly open = new Set<Shoal>();
  private readonly closeAll = (): void => {
    for (const shoal of this.open) {
      shoal.close().catch((error: unknown) => log.error('close-at-exit', { error: toShoalError(error).message }));
    }
  };

  add(shoal: Shoal): void {
    if (this.open.size === 0) process.on('beforeExit', this.closeAll);
    this.open.add(shoal);
  }

  delete(shoal: Shoal): void {
    if (this.open.delete(shoal) && this.open.size === 0) process.off('beforeExit', this.closeAll);
  }
}

const forgotten = new ForgottenInstances();

/** What the client needs of the actor system hosting Shoal: the threaded ActorSystem, or the simulator. */
export interface ShoalHost {
  ask<T>(to: string, message: Message, options: AskOptions): Promise<T>;
  killWorkerOf(address: string): Promise<void>;
  crashActor(address: string): Promise<void>;
  shutdown(): Promise<void>;
  /** Keeps the host process alive until the release is called (the threaded system's workers do not); default none. */
  hold?(): () => void;
  /**
   * Timers for the client's own work (search deadlines while coalescing); default the system clock. The simulator
   * passes its virtual clock.
   */
  readonly clock?: Clock;
  /** Runs a callback once the current turn's work is done (where coalesced searches leave); default `setImmediate`. */
  readonly defer?: (callback: () => void) => void;
}

/** Open options, validated: where the data is, the request deadline, and the supervisor's arguments. */
export interface PreparedOpen {
  readonly dataDir: string;
  readonly requestTimeoutMs: number;
  readonly supervisorArgs: SupervisorArgs;
}

/** Validates the options of `Shoal.open` (shared with the simulator's host client). */
export function prepareOpen(options: OpenOptions): PreparedOpen {
  if (typeof options !== 'object' || options === null)
    throw invalidArgument('options', 'must be an object with dataDir');
  if (typeof options.dataDir !== 'string' || options.dataDir.length === 0)
    throw invalidArgument('dataDir', 'must be a non-empty path');
  const dataDir = resolve(options.dataDir);
  const supervisorArgs: SupervisorArgs = {
    dataDir,
    storage: storageConfig(options.storage, dataDir),
    maxRestarts: integerIn(options.maxRestarts ?? 5, 'maxRestarts', 0, 1000),
    withinMs: integerIn(options.restartWindowMs ?? 60_000, 'restartWindowMs', 1, 86_400_000),
    metadata: {
      replicas: metadataReplicas(options.metadataReplicas),
      tickMs: integerIn(options.metadataTickMs ?? DEFAULT_METADATA_SETTINGS.tickMs, 'metadataTickMs', 1, 1000),
    },
    repairWal: booleanOr(options.repairWal, 'repairWal', false),
  };
  return { dataDir, requestTimeoutMs: timeoutOf(options.requestTimeoutMs, DEFAULT_DEADLINE_MS), supervisorArgs };
}

/** The root supervision group: the supervisor actor alone. */
export function rootGroup(supervisorArgs: SupervisorArgs): GroupSpec {
  return {
    name: 'root',
    strategy: 'one_for_one',
    maxRestarts: supervisorArgs.maxRestarts,
    withinMs: supervisorArgs.withinMs,
    children: [
      { address: SUPERVISOR_ADDRESS, module: SUPERVISOR_MODULE, factory: 'createSupervisor', args: supervisorArgs },
    ],
  };
}

/** An open Shoal database. Every method is sugar over `request`. */
export class Shoal {
  private closing: Promise<void> | null = null;
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly searches: SearchCoalescer;
  private readonly reads: ReadRouter;
  /** Request counts and latencies, and the actors' statistics as Prometheus series. */
  private readonly meters: ShoalMetrics;
  /** The locks of the data directory and storage roots, released after the actors have stopped. */
  private locks: readonly HeldLock[] = [];

  /** Wraps a host whose root group is running; `Shoal.open` (or the simulator's client) makes one. */
  protected constructor(
    private readonly system: ShoalHost,
    private readonly requestTimeoutMs: number,
    private readonly faultInjection: boolean,
  ) {
    const defer = system.defer ?? ((callback: () => void) => void setImmediate(callback));
    const clock = system.clock ?? systemClock;
    this.meters = new ShoalMetrics(() => clock.now());
    this.reads = new ReadRouter(
      (to, message, options) => system.ask(to, message, options),
      (message, timeoutMs, transfer) => this.ask(message, timeoutMs, transfer),
      clock,
    );
    const ask: SearchAsk = (collection, search, timeoutMs) => this.reads.search(collection, search, timeoutMs);
    this.searches = new SearchCoalescer(ask, REQUEST_LIMITS.queriesPerBatchMax, defer, clock);
  }

  /**
   * Opens (or creates) the database in `options.dataDir`, recovering every
   * collection from its WAL. Rejects with INVALID_ARGUMENT for a bad option,
   * an unsupported storage URL, a storage URL folder that does not exist, or
   * a storage URL removed while collections are still placed there.
   */
  static async open(options: OpenOptions): Promise<Shoal> {
    const { dataDir, requestTimeoutMs, supervisorArgs } = prepareOpen(options);
    const signal = signalOf(options.signal);
    throwIfAborted(signal, 'open');
    const maxWorkers =
      options.maxWorkers === undefined ? undefined : integerIn(options.maxWorkers, 'maxWorkers', 1, 1024);
    // Every new folder's entry is synced: a power failure right after the first open cannot lose the folder.
    await makeDirectoryDurable(nodeFileSystem, dataDir);
    // One owner per folder: a second owner of a WAL would acknowledge writes that the first overwrites.
    const locks = await lockFolders(await lockedFolders(dataDir, supervisorArgs.storage), (folder) =>
      folder === dataDir ? `the data directory ${dataDir}` : `the storage folder ${folder}`,
    );
    const system = new ActorSystem(maxWorkers === undefined ? {} : { maxWorkers });
    const shoal = new Shoal(system, requestTimeoutMs, options.faultInjection === true);
    shoal.locks = locks;
    await shoal.boot(system, rootGroup(supervisorArgs), signal);
    forgotten.add(shoal);
    return shoal;
  }

  /**
   * Starts the root group and waits until it has booted, holding the process
   * meanwhile. On a failure the system is shut down and the locks released
   * before the rejection; on an abort the rejection comes at once, and the boot
   * is finished, shut down and unlocked in the background (still held).
   */
  private async boot(system: ActorSystem, group: GroupSpec, signal: AbortSignal | undefined): Promise<void> {
    const release = system.hold();
    const booting = (async () => {
      await system.startGroup(group);
      await this.booted();
    })();
    const stop = async (): Promise<void> => {
      await booting.catch(() => undefined);
      try {
        await system.shutdown();
      } finally {
        await releaseAll(this.locks);
        release();
      }
    };
    try {
      await abortable(booting, signal, 'open');
    } catch (error) {
      if (signal?.aborted !== true) await stop();
      else stop().catch((failure: unknown) => log.error('aborted-open-stop', { error: toShoalError(failure).message }));
      throw error;
    }
    release();
  }

  /**
   * Waits until the supervisor has booted (read the cluster metadata, started every collection); rejects with its boot
   * failure.
   */
  protected async booted(): Promise<void> {
    const ping = await this.system.ask<PingResult>(
      SUPERVISOR_ADDRESS,
      { type: 'ping' },
      { timeoutMs: OPEN_TIMEOUT_MS },
    );
    if (ping.bootFailure !== null) throw ShoalError.fromData(ping.bootFailure);
  }

  /** Creates a collection. Rejects with COLLECTION_EXISTS if the name is taken. */
  createCollection(options: CreateCollectionOptions & RequestOptions): Promise<CollectionInfo> {
    return this.request({ type: 'create-collection', ...options });
  }

  /** The collections, in creation order. */
  listCollections(options: RequestOptions = {}): Promise<CollectionInfo[]> {
    return this.request({ type: 'list-collections', ...options });
  }

  /** Drops a collection and deletes its files. */
  async dropCollection(name: string, options: RequestOptions = {}): Promise<void> {
    await this.request({ type: 'drop-collection', name, ...options });
  }

  /** Inserts or replaces records; resolves once they are durable under the collection's sync mode. */
  upsert(collection: string, records: readonly UpsertRecord[], options: RequestOptions = {}): Promise<WriteResult> {
    return this.request({ type: 'upsert', collection, records, ...options });
  }

  /** The stored records of those ids that exist, in the order asked. */
  get(collection: string, ids: readonly string[], options: RequestOptions = {}): Promise<RecordResult[]> {
    return this.request({ type: 'get', collection, ids, ...options });
  }

  /** Deletes records; unknown ids are not an error. Durable when it resolves, like upsert. */
  delete(collection: string, ids: readonly string[], options: RequestOptions = {}): Promise<WriteResult> {
    return this.request({ type: 'delete', collection, ids, ...options });
  }

  /** The k nearest records, best first. */
  async search(collection: string, options: SearchOptions): Promise<SearchHit[]> {
    return (await this.request({ type: 'search', collection, ...options })).hits;
  }

  /**
   * Several queries in one trip: each shard runs them all in one turn, so the
   * per-query cost of the thread hops is shared. The hits of query i are at
   * index i, best first. Rejects as `search` does, for the whole batch.
   */
  async searchBatch(collection: string, options: SearchBatchOptions): Promise<SearchHit[][]> {
    return (await this.request({ type: 'search-batch', collection, ...options })).results;
  }

  /**
   * A page of records in ascending id order (code-unit order of the id
   * strings), matching `filter`: at most `limit` (default 100, at most
   * 10,000), with vectors only when `withVectors`. Pass the page's
   * `nextCursor` as `cursor` for the next page; it is null on the last page.
   * Each page reads the live data: a record deleted before a page is read
   * is not in it, and each id appears once over the scroll.
   */
  scroll(collection: string, options: ScrollOptions = {}): Promise<ScrollResult> {
    return this.request({ type: 'scroll', collection, ...options });
  }

  /** Every record matching `filter`, in ascending id order, as batches of up to `batchSize` (default 100): a scroll. */
  async *iterate(collection: string, options: IterateOptions = {}): AsyncGenerator<ScrollRecord[], void, undefined> {
    const { batchSize, ...rest } = options;
    const limit = integerIn(batchSize ?? SCROLL_LIMIT_DEFAULT, 'batchSize', 1, REQUEST_LIMITS.scrollLimitMax);
    let cursor: string | null = null;
    do {
      const page: ScrollResult = await this.scroll(collection, { ...rest, cursor, limit });
      if (page.records.length > 0) yield page.records;
      cursor = page.nextCursor;
    } while (cursor !== null);
  }

  /** The number of records matching `filter` (all records without one), exactly. */
  async count(collection: string, options: CountOptions = {}): Promise<number> {
    return (await this.request({ type: 'count', collection, ...options })).count;
  }

  /**
   * Deletes every record matching `filter` (`{}` matches all); durable when it
   * resolves, like `delete`. Every matching record acknowledged before the
   * call is deleted; one written meanwhile may or may not be.
   */
  deleteWhere(collection: string, filter: Filter, options: RequestOptions = {}): Promise<WriteResult> {
    return this.request({ type: 'delete-where', collection, filter, ...options });
  }

  /**
   * Replaces the metadata of existing records, keeping their vectors; durable
   * when it resolves. Ids that do not exist are reported in `missing` and not
   * created. Per shard an update runs after every write that arrived before
   * it and before every write that arrives after it.
   */
  updateMetadata(
    collection: string,
    records: readonly MetadataUpdate[],
    options: RequestOptions = {},
  ): Promise<UpdateMetadataResult> {
    return this.request({ type: 'update-metadata', collection, records, ...options });
  }

  /**
   * Prepares a collection for reading: every shard flushes its memtable and
   * merges all its segments into one, so a search walks one HNSW graph per
   * shard instead of several (each graph costs about the same to search
   * whatever its size). Worth it after a bulk load. Reads and writes go on
   * meanwhile; rows written during the merge stay in memtables. The default
   * deadline is 10 minutes: a merge rebuilds the shard's graph; if the caller
   * stops waiting, the merge still finishes.
   */
  optimize(collection: string, options: RequestOptions = {}): Promise<OptimizeResult> {
    return this.request({ type: 'optimize', collection, ...options });
  }

  /**
   * Writes a point-in-time copy of one collection into `to`, an empty or
   * missing folder, while reads and writes go on. Per shard the copy holds
   * every write up to one LSN (reported) and none above it: every write
   * acknowledged before the call is in it. The folder is a data directory
   * of its own (`Shoal.open({ dataDir: to })` opens it) and what `restore` reads.
   */
  backup(collection: string, options: BackupOptions): Promise<BackupResult> {
    return this.request({ type: 'backup', collection, ...options });
  }

  /**
   * Brings a backup back as a new collection, named `name` or as it was
   * (COLLECTION_EXISTS when taken); its files are copied, the backup folder
   * is left as it is.
   */
  restore(options: RestoreOptions): Promise<CollectionInfo> {
    return this.request({ type: 'restore', ...options });
  }

  /** Counts and sizes per collection, and where the actors run. */
  stats(options: RequestOptions = {}): Promise<ShoalStats> {
    return this.request({ type: 'stats', ...options });
  }

  /**
   * Who serves each shard of a collection (leader, replicas, epoch), as the
   * metadata records it. By default from a replica's applied state (may lag
   * a change by a heartbeat); `linearizable: true` confirms with a majority
   * first (ReadIndex), so the answer reflects every change acknowledged before.
   */
  shardAssignments(
    collection: string,
    options: { linearizable?: boolean } & RequestOptions = {},
  ): Promise<ShardAssignmentInfo[]> {
    const { linearizable, ...call } = options;
    const asked = linearizable === undefined ? {} : { linearizable };
    return this.request({ type: 'shard-assignments', collection, ...asked, ...call });
  }

  /**
   * The metadata Raft group: each replica's role, term, commit and applied index (or why it did not answer), and the
   * leader.
   */
  metadataStatus(options: RequestOptions = {}): Promise<MetadataStatus> {
    return this.request({ type: 'metadata-status', ...options });
  }

  /**
   * The Prometheus text exposition of this database: requests and their latency per operation, collection and
   * outcome, and per collection its records, WAL syncs and bytes, flushes, compactions and stalls, actor restarts,
   * and each metadata replica's Raft term, commit and applied index. Serve it with METRICS_CONTENT_TYPE.
   */
  async metrics(options: RequestOptions = {}): Promise<string> {
    const [stats, status] = await Promise.all([this.stats(options), this.metadataStatus(options).catch(() => null)]);
    return this.meters.expose(stats, status);
  }

  /**
   * Sends one request; every other method is sugar over this, and so gets
   * here its deadline (`timeoutMs`), its cancellation (`signal`: a signal
   * aborted already rejects before anything is posted, one that aborts later
   * rejects the call at once) and its hold on the host process (kept alive
   * until the work the request posted has settled, even after an abort).
   */
  request<T extends ShoalRequest['type']>(message: Extract<ShoalRequest, { type: T }>): Promise<ShoalResults[T]> {
    if (this.closing !== null) return Promise.reject(new ShoalError('CLOSED', 'this Shoal instance is closed'));
    let pending: Promise<ShoalResults[T]>;
    let signal: AbortSignal | undefined;
    try {
      signal = signalOf((message as { signal?: unknown } | null)?.signal);
      throwIfAborted(signal, String((message as { type?: unknown }).type));
      pending = this.dispatch(message as ShoalRequest, signal) as Promise<ShoalResults[T]>;
    } catch (error) {
      return Promise.reject(error);
    }
    this.inFlight.add(pending);
    const release = this.system.hold?.();
    const forget = (): void => {
      this.inFlight.delete(pending);
      release?.();
    };
    pending.then(forget, forget);
    const answered = abortable(pending, signal, message.type);
    this.meters.observe(message.type, collectionNamed(message as ShoalRequest), answered);
    return answered;
  }

  /** Injects a fault into a running actor; only when opened with `faultInjection: true`. */
  async injectFault(fault: FaultSpec): Promise<void> {
    const release = this.system.hold?.();
    try {
      await this.inject(fault);
    } finally {
      release?.();
    }
  }

  /** `await using db = await Shoal.open(...)`: closes the database when the block is left. */
  [asyncDispose](): Promise<void> {
    return this.close();
  }

  private async inject(fault: FaultSpec): Promise<void> {
    if (!this.faultInjection)
      throw invalidArgument('injectFault', 'open Shoal with faultInjection: true to inject faults');
    const address = await this.addressOf(fault);
    if (fault.kind === 'kill-worker') await this.system.killWorkerOf(address);
    else if (fault.kind === 'crash') await this.system.crashActor(address);
    else if (fault.kind === 'io-error' && fault.actor === 'wal') {
      const operation = fault.operation ?? 'write';
      if (operation !== 'write' && operation !== 'datasync')
        throw invalidArgument('operation', 'must be write or datasync');
      await this.system.ask(
        address,
        { type: 'inject-io-error', operation, code: fault.code ?? 'EIO' },
        { timeoutMs: this.requestTimeoutMs },
      );
    } else throw invalidArgument('kind', `cannot inject ${String(fault.kind)} into ${String(fault.actor)}`);
  }

  /**
   * Waits for requests in flight, stops every actor in order (closing WALs) and ends the worker threads. Idempotent.
   */
  close(): Promise<void> {
    if (this.closing === null) {
      forgotten.delete(this);
      this.closing = (async () => {
        await Promise.allSettled([...this.inFlight]);
        try {
          await this.system.shutdown();
        } finally {
          await releaseAll(this.locks);
        }
      })();
    }
    return this.closing;
  }

  private dispatch(message: ShoalRequest, signal: AbortSignal | undefined): Promise<unknown> {
    if (typeof message !== 'object' || message === null)
      throw invalidArgument('request', 'must be an object with a type');
    const timeoutMs = timeoutOf(
      message.timeoutMs,
      message.type === 'optimize' ? OPTIMIZE_TIMEOUT_MS : this.requestTimeoutMs,
    );
    switch (message.type) {
      case 'create-collection': {
        const { type: _type, timeoutMs: _timeout, signal: _signal, ...options } = message;
        return this.changeCollections(createCollectionMessage(options), timeoutMs);
      }
      case 'drop-collection':
        return this.changeCollections({ type: 'drop-collection', name: collectionName(message.name) }, timeoutMs);
      case 'list-collections':
        return this.ask({ type: 'list-collections' }, timeoutMs);
      case 'upsert':
        return this.write(collectionName(message.collection, 'collection'), packUpsert(message.records), timeoutMs);
      case 'delete': {
        const ids = recordIds(message.ids);
        if (ids.length === 0) return Promise.resolve({ count: 0 });
        return this.write(collectionName(message.collection, 'collection'), packDelete(ids), timeoutMs);
      }
      case 'get': {
        const ids = recordIds(message.ids);
        return this.reads.get(collectionName(message.collection, 'collection'), ids, timeoutMs);
      }
      case 'search': {
        // Concurrent searches of a collection issued in one turn share one trip through the actors.
        const collection = collectionName(message.collection, 'collection');
        return this.searches.search(collection, checkSearch(message), timeoutMs, signal);
      }
      case 'search-batch':
        return this.reads.search(
          collectionName(message.collection, 'collection'),
          checkSearchBatch(message),
          timeoutMs,
        );
      case 'scroll':
      case 'count':
      case 'delete-where':
      case 'update-metadata':
        return this.dispatchByQuery(message, timeoutMs);
      case 'stats':
      case 'optimize':
      case 'shard-assignments':
      case 'metadata-status':
      case 'backup':
      case 'restore':
        return this.dispatchAdministration(message, timeoutMs);
      default:
        throw invalidArgument('type', `unknown request type ${JSON.stringify((message as { type?: unknown }).type)}`);
    }
  }

  /** Statistics, optimize, shard assignments, metadata status, backup and restore. */
  private dispatchAdministration(message: AdministrationRequest, timeoutMs: number): Promise<unknown> {
    switch (message.type) {
      case 'stats':
        return this.askStats(timeoutMs);
      case 'optimize':
        return this.ask({ type: 'optimize', collection: collectionName(message.collection, 'collection') }, timeoutMs);
      case 'shard-assignments': {
        if (message.linearizable !== undefined && typeof message.linearizable !== 'boolean')
          throw invalidArgument('linearizable', 'must be a boolean');
        return this.ask(
          {
            type: 'shard-assignments',
            collection: collectionName(message.collection, 'collection'),
            linearizable: message.linearizable ?? false,
          },
          timeoutMs,
        );
      }
      case 'metadata-status':
        return this.ask({ type: 'metadata-status' }, timeoutMs);
      case 'backup': {
        const backup = backupMessage(message.collection, message.to, new Date());
        return this.ask(backup, timeoutOf(message.timeoutMs, BACKUP_TIMEOUT_MS));
      }
      case 'restore': {
        const restore = restoreMessage(message.from, message.name);
        return this.changeCollections(restore, timeoutOf(message.timeoutMs, BACKUP_TIMEOUT_MS));
      }
      default:
        return unreachable(message, 'administration request');
    }
  }

  private async write(collection: string, batch: RecordBatch, timeoutMs: number): Promise<WriteResult> {
    const result = await this.ask<{ records: number }>(
      { type: 'write', collection, batch },
      timeoutMs,
      batchTransfer(batch),
    );
    return { count: result.records };
  }

  /**
   * Creates or drops a collection; the cached read routes are forgotten before and after (names may change meaning).
   */
  private async changeCollections<T>(message: Message, timeoutMs: number): Promise<T> {
    this.reads.invalidate();
    try {
      return await this.ask<T>(message, timeoutMs);
    } finally {
      this.reads.invalidate();
    }
  }

  /** The requests that select records by filter or id order (scroll, count, delete-where) or rewrite them by id. */
  private dispatchByQuery(message: QueryRequest, timeoutMs: number): Promise<unknown> {
    const collection = collectionName(message.collection, 'collection');
    switch (message.type) {
      case 'scroll':
        return this.askScroll(checkScroll(collection, message), timeoutMs);
      case 'count':
        return this.reads.count({ type: 'count', collection, filter: checkFilter(message.filter) }, timeoutMs);
      case 'delete-where':
        if (message.filter === undefined || message.filter === null) {
          throw invalidArgument('filter', 'is required ({} deletes every record)');
        }
        return this.ask({ type: 'delete-where', collection, filter: checkFilter(message.filter) }, timeoutMs);
      case 'update-metadata':
        return this.ask({ type: 'update-metadata', collection, ...packMetadataUpdates(message.records) }, timeoutMs);
      default:
        return unreachable(message, 'query request');
    }
  }

  /** A scroll page from the supervisor, its continuation encoded as an opaque cursor. */
  private async askScroll(message: SupervisorMessageOf<'scroll'>, timeoutMs: number): Promise<ScrollResult> {
    const page = await this.reads.scroll(message, timeoutMs);
    return { records: page.records, nextCursor: page.continueAfter === null ? null : encodeCursor(page.continueAfter) };
  }

  /**
   * The supervisor's stats, with the searches this client answered on the direct read route added to each collection's
   * count.
   */
  private async askStats(timeoutMs: number): Promise<ShoalStats> {
    const stats = await this.ask<ShoalStats>({ type: 'stats' }, timeoutMs);
    return {
      ...stats,
      collections: stats.collections.map((collection) => ({
        ...collection,
        searches: collection.searches + this.reads.searchesOf(collection.id),
      })),
    };
  }

  private ask<T>(message: Message, timeoutMs: number, transfer: ArrayBuffer[] = []): Promise<T> {
    return this.system.ask<T>(SUPERVISOR_ADDRESS, message, { timeoutMs, transfer });
  }

  private async addressOf(fault: FaultSpec): Promise<string> {
    if (fault.actor === 'supervisor') return SUPERVISOR_ADDRESS;
    if (fault.actor === 'metadata') return metadataReplicaAddress(integerIn(fault.replica ?? 1, 'replica', 1, 7));
    const collections = await this.listCollections();
    const entry = collections.find((each) => each.name === fault.collection);
    if (entry === undefined)
      throw new ShoalError('COLLECTION_NOT_FOUND', `no collection named ${String(fault.collection)}`);
    const shard = integerIn(fault.shard ?? 0, 'shard', 0, entry.shards - 1);
    const addressOf = { wal: walAddress, engine: engineAddress, shard: shardAddress }[fault.actor];
    return addressOf(entry.id, shard);
  }
}

/**
 * The folders an open writes to: the data directory and each storage URL's root, without repeats, in a fixed order.
 * A storage folder that does not exist is left out: the supervisor refuses such an open with INVALID_ARGUMENT.
 */
async function lockedFolders(dataDir: string, storage: StorageConfig): Promise<string[]> {
  const roots = Object.values(storage).flatMap((component) => component.urls.map(storageRootPath));
  const others = [...new Set(roots)].filter((root) => root !== dataDir).sort();
  const present = await Promise.all(others.map(async (root) => (await nodeFileSystem.stat(root)) !== null));
  return [dataDir, ...others.filter((_, index) => present[index])];
}

/** The metadata group size: an odd number of voters, so a majority is well defined. */
function metadataReplicas(value: unknown): number {
  const replicas = integerIn(value ?? DEFAULT_METADATA_SETTINGS.replicas, 'metadataReplicas', 1, 7);
  if (replicas % 2 === 0)
    throw invalidArgument(
      'metadataReplicas',
      `must be odd (1, 3, 5 or 7) so that a majority is well defined, got ${replicas}`,
    );
  return replicas;
}

/** The collection a request names, for its metrics ('' for one that names none). */
function collectionNamed(message: ShoalRequest): string {
  if (typeof message !== 'object' || message === null) return '';
  if ('collection' in message && typeof message.collection === 'string') return message.collection;
  if ('name' in message && typeof message.name === 'string') return message.name;
  return '';
}
