/**
 * The host client under the simulator: the methods of `Shoal`
 * (actors/shoal.ts), posting the same messages, validated and packed by the
 * same functions (actors/validation.ts), to the same supervisor actor — but
 * through a `SimSystem` instead of worker threads. `Shoal` builds its own
 * ActorSystem, so this is a thin equivalent rather than a reuse; the two
 * must change together (the dispatch below is Shoal's, line for line).
 *
 * One difference on purpose: collections are created with flushes off
 * (`flushThresholdRows` at its maximum, set on the engine specs), because the
 * engine builds segments in a piscina pool on the real filesystem, which
 * cannot run inside the simulator. See `SIM_ENGINE_SETTINGS`.
 */
import { posix } from 'node:path';
import type { ActorSpec, Message } from '../../runtime/actor.js';
import { ShoalError, invalidArgument } from '../../runtime/errors.js';
import type { SimSystem } from '../../runtime/sim/sim-system.js';
import { batchTransfer } from '../../storage/record-batch.js';
import type { RecordBatch } from '../../storage/record-batch.js';
import { SUPERVISOR_ADDRESS, engineAddress, shardAddress, walAddress } from '../../actors/addresses.js';
import type {
  CollectionInfo,
  CreateCollectionOptions,
  FaultSpec,
  RecordResult,
  SearchHit,
  SearchOptions,
  ShoalRequest,
  ShoalResults,
  ShoalStats,
  StorageOptions,
  UpsertRecord,
  WriteResult,
} from '../../actors/public-api.js';
import type { SupervisorArgs } from '../../actors/supervisor-actor.js';
import type { PingResult } from '../../actors/supervisor-protocol.js';
import { checkSearch, collectionName, createCollectionMessage, integerIn, packDelete, packUpsert, recordIds, storageConfig, timeoutOf } from '../../actors/validation.js';

const SUPERVISOR_MODULE = new URL('../../actors/supervisor-actor.ts', import.meta.url).href;
const OPEN_TIMEOUT_MS = 300_000;

/** Options of `SimShoal.open`: those of `Shoal.open` that mean something in one simulated node. */
export interface SimShoalOptions {
  readonly dataDir: string;
  readonly requestTimeoutMs?: number;
  readonly maxRestarts?: number;
  readonly restartWindowMs?: number;
  readonly storage?: StorageOptions;
}

/**
 * Engine settings the simulator forces: segments are built in the engine's
 * own thread through the simulated filesystem (`buildInThread`), with the
 * `lsm` policy (no HNSW index files: hnswlib writes those to a real disk),
 * and a small flush threshold so that flushes and compactions happen often.
 */
export const SIM_ENGINE_SETTINGS = { engine: 'lsm', flushThresholdRows: 5 } as const;

/** Rewrites engine specs with `SIM_ENGINE_SETTINGS` and in-thread builds; pass as `SimSystemOptions.specTransform`. */
export function simSpecTransform(spec: ActorSpec): ActorSpec {
  if (!spec.address.startsWith('engine/')) return spec;
  const args = spec.args as { settings?: Record<string, unknown> };
  return { ...spec, args: { ...args, buildInThread: true, settings: { ...args.settings, ...SIM_ENGINE_SETTINGS } } };
}

/** A Shoal instance inside a simulated node. Every method runs the simulation until it settles. */
export class SimShoal {
  private constructor(private readonly sim: SimSystem, private readonly requestTimeoutMs: number) {}

  /** Opens (or creates) the database in `options.dataDir` of the simulated filesystem, as `Shoal.open` does. */
  static async open(sim: SimSystem, options: SimShoalOptions): Promise<SimShoal> {
    if (typeof options.dataDir !== 'string' || options.dataDir.length === 0) throw invalidArgument('dataDir', 'must be a non-empty path');
    const dataDir = posix.resolve(options.dataDir);
    const requestTimeoutMs = timeoutOf(options.requestTimeoutMs, 30_000);
    const supervisorArgs: SupervisorArgs = {
      dataDir,
      storage: storageConfig(options.storage, dataDir),
      maxRestarts: integerIn(options.maxRestarts ?? 5, 'maxRestarts', 0, 1000),
      withinMs: integerIn(options.restartWindowMs ?? 60_000, 'restartWindowMs', 1, 86_400_000),
    };
    // Like Shoal.open: the folder is created, but its entry is not fsynced.
    await sim.runUntil(sim.fs.mkdir(dataDir));
    await sim.startGroup({
      name: 'root',
      strategy: 'one_for_one',
      maxRestarts: supervisorArgs.maxRestarts,
      withinMs: supervisorArgs.withinMs,
      children: [{ address: SUPERVISOR_ADDRESS, module: SUPERVISOR_MODULE, factory: 'createSupervisor', args: supervisorArgs }],
    });
    const shoal = new SimShoal(sim, requestTimeoutMs);
    await shoal.ready();
    return shoal;
  }

  /** After `sim.crashNode()`: restarts the node from its durable state and waits until the supervisor has booted. */
  async restart(): Promise<void> {
    await this.sim.restartNode();
    await this.ready();
  }

  /** Creates a collection. */
  createCollection(options: CreateCollectionOptions): Promise<CollectionInfo> {
    return this.request({ type: 'create-collection', ...options });
  }

  /** The collections, in creation order. */
  listCollections(): Promise<CollectionInfo[]> {
    return this.request({ type: 'list-collections' });
  }

  /** Drops a collection and deletes its files. */
  async dropCollection(name: string): Promise<void> {
    await this.request({ type: 'drop-collection', name });
  }

  /** Inserts or replaces records; resolves once durable. */
  upsert(collection: string, records: readonly UpsertRecord[]): Promise<WriteResult> {
    return this.request({ type: 'upsert', collection, records });
  }

  /** The stored records of those ids that exist, in the order asked. */
  get(collection: string, ids: readonly string[]): Promise<RecordResult[]> {
    return this.request({ type: 'get', collection, ids });
  }

  /** Deletes records; durable when it resolves. */
  delete(collection: string, ids: readonly string[]): Promise<WriteResult> {
    return this.request({ type: 'delete', collection, ids });
  }

  /** The k nearest records, best first. */
  async search(collection: string, options: SearchOptions): Promise<SearchHit[]> {
    return (await this.request({ type: 'search', collection, ...options })).hits;
  }

  /** Counts and sizes per collection, and where the actors run. */
  stats(): Promise<ShoalStats> {
    return this.request({ type: 'stats' });
  }

  /** Sends one request, as `Shoal.request` does. */
  request<T extends ShoalRequest['type']>(message: Extract<ShoalRequest, { type: T }>): Promise<ShoalResults[T]> {
    try {
      return this.dispatch(message as ShoalRequest) as Promise<ShoalResults[T]>;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Injects a fault into a running actor, as `Shoal.injectFault` does (always enabled here). */
  async injectFault(fault: FaultSpec): Promise<void> {
    const address = await this.addressOf(fault);
    if (fault.kind === 'kill-worker') await this.sim.killActor(address);
    else if (fault.kind === 'crash') await this.sim.crashActor(address);
    else if (fault.kind === 'io-error' && fault.actor === 'wal') {
      await this.sim.ask(address, { type: 'inject-io-error', operation: fault.operation ?? 'write', code: fault.code ?? 'EIO' }, { timeoutMs: this.requestTimeoutMs });
    } else throw invalidArgument('kind', `cannot inject ${String(fault.kind)} into ${String(fault.actor)}`);
  }

  /** Stops every actor in order. */
  close(): Promise<void> {
    return this.sim.shutdown();
  }

  private async ready(): Promise<void> {
    const ping = await this.sim.ask<PingResult>(SUPERVISOR_ADDRESS, { type: 'ping' }, { timeoutMs: OPEN_TIMEOUT_MS });
    if (ping.bootFailure !== null) throw ShoalError.fromData(ping.bootFailure);
  }

  private dispatch(message: ShoalRequest): Promise<unknown> {
    if (typeof message !== 'object' || message === null) throw invalidArgument('request', 'must be an object with a type');
    const timeoutMs = timeoutOf(message.timeoutMs, this.requestTimeoutMs);
    switch (message.type) {
      case 'create-collection': {
        const { type: _type, timeoutMs: _timeout, ...options } = message;
        return this.ask(createCollectionMessage(options), timeoutMs);
      }
      case 'drop-collection':
        return this.ask({ type: 'drop-collection', name: collectionName(message.name) }, timeoutMs);
      case 'list-collections':
        return this.ask({ type: 'list-collections' }, timeoutMs);
      case 'upsert':
        return this.write(collectionName(message.collection, 'collection'), packUpsert(message.records), timeoutMs);
      case 'delete': {
        const ids = recordIds(message.ids);
        if (ids.length === 0) return Promise.resolve({ count: 0 });
        return this.write(collectionName(message.collection, 'collection'), packDelete(ids), timeoutMs);
      }
      case 'get':
        return this.ask({ type: 'get', collection: collectionName(message.collection, 'collection'), ids: recordIds(message.ids) }, timeoutMs);
      case 'search': {
        const checked = checkSearch(message);
        const request = { type: 'search', collection: collectionName(message.collection, 'collection'), ...checked };
        return this.ask(request, timeoutMs, [checked.vector.buffer as ArrayBuffer]);
      }
      case 'stats':
        return this.ask({ type: 'stats' }, timeoutMs);
      default:
        throw invalidArgument('type', `unknown request type ${JSON.stringify((message as { type?: unknown }).type)}`);
    }
  }

  private async write(collection: string, batch: RecordBatch, timeoutMs: number): Promise<WriteResult> {
    const result = await this.ask<{ records: number }>({ type: 'write', collection, batch }, timeoutMs, batchTransfer(batch));
    return { count: result.records };
  }

  private ask<T>(message: Message, timeoutMs: number, transfer: ArrayBuffer[] = []): Promise<T> {
    return this.sim.ask<T>(SUPERVISOR_ADDRESS, message, { timeoutMs, transfer });
  }

  private async addressOf(fault: FaultSpec): Promise<string> {
    if (fault.actor === 'supervisor') return SUPERVISOR_ADDRESS;
    const entry = (await this.listCollections()).find((each) => each.name === fault.collection);
    if (entry === undefined) throw new ShoalError('COLLECTION_NOT_FOUND', `no collection named ${String(fault.collection)}`);
    const shard = integerIn(fault.shard ?? 0, 'shard', 0, entry.shards - 1);
    return { wal: walAddress, engine: engineAddress, shard: shardAddress }[fault.actor](entry.id, shard);
  }
}
