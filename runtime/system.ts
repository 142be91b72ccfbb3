/**
 * The actor system: lives in the main thread and does only bookkeeping. It
 * creates worker threads (one per actor up to `maxWorkers`, then actors share
 * the least loaded worker), places actors, keeps every station's directory up
 * to date, brokers direct MessagePorts between workers, and hosts the
 * supervision groups of `supervision.ts` (the same rules the simulator uses):
 * it starts and stops incarnations on workers and reports their crashes.
 */
import { cpus } from 'node:os';
import { MessageChannel, Worker } from 'node:worker_threads';
import type { TransferListItem } from 'node:worker_threads';
import type {
  ActorFactory,
  ActorSpec,
  Address,
  AskOptions,
  GroupSpec,
  Message,
  Responder,
  SystemDescription,
  SystemRequest,
  TransferList,
} from './actor.js';
import { systemClock } from './clock.js';
import { ShoalError, toShoalError } from './errors.js';
import type { ErrorData } from './errors.js';
import { nodeFileSystem } from './fs.js';
import { RUNTIME_LIMITS } from './limits.js';
import { KeepAlive } from './keep-alive.js';
import { createLogger } from './log.js';
import { runsFromSource, siblingModuleUrl } from './module-url.js';
import type { ControlEnvelope, Envelope, ReportEnvelope, WorkerBootData } from './protocol.js';
import { systemRandom } from './random.js';
import { Supervision } from './supervision.js';
import { Station } from './station.js';
import { minimalExecArgv, workerExecArgv } from './worker-exec-argv.js';

/** Options of an actor system. */
export interface ActorSystemOptions {
  /** Most worker threads at once; beyond it actors share workers. Default: 8 per core, at least 8. */
  readonly maxWorkers?: number;
  /** How long an actor's `start` may take. Default 60 s. */
  readonly startTimeoutMs?: number;
  /**
   * How long an orderly stop may take before the worker is terminated. Default 60 s (an engine finishes its running
   * segment build first).
   */
  readonly stopTimeoutMs?: number;
}

/** The default cap on worker threads: a small multiple of the core count. */
export function defaultMaxWorkers(): number {
  return Math.max(8, 8 * cpus().length);
}

interface WorkerSlot {
  readonly id: number;
  readonly worker: Worker;
  readonly actors: Set<Address>;
  /** The thread's dying flag (thread.ts), set just before it is terminated. */
  readonly dying: Int32Array;
  terminating: boolean;
}

/** Where the current incarnation of an actor runs. */
interface Placement {
  readonly station: number;
  readonly incarnation: number;
}

interface Waiter {
  readonly station: number;
  readonly resolve: (report: ReportEnvelope) => void;
  readonly reject: (error: ShoalError) => void;
}

const WORKER_ENTRY = siblingModuleUrl('./worker-main', import.meta.url);
const WORKER_BOOTSTRAP = new URL('./worker-bootstrap.mjs', import.meta.url);
/**
 * How long a killed thread's nested threads get to leave native code once its dying flag is set (a build checks after
 * every HNSW point, well under a millisecond).
 */
const KILL_GRACE_MS = 50;

/** Hosts actors in worker threads; the supervision rules live in `Supervision`, this class is its host. */
export class ActorSystem {
  readonly station: Station;
  private readonly workers = new Map<number, WorkerSlot>();
  private readonly placed = new Map<Address, Placement>();
  private readonly waiters = new Map<string, Waiter>();
  /** Every station's directory, mirrored, so a new worker starts with all of it. */
  private readonly directory = new Map<Address, number>();
  private readonly supervision: Supervision;
  private readonly maxWorkers: number;
  private readonly startTimeoutMs: number;
  private readonly stopTimeoutMs: number;
  private readonly log = createLogger('system');
  /** The worker threads are unref'd; this holds the process open while a caller has work in flight. */
  private readonly keepAlive = new KeepAlive();
  private nextStationId = 1;
  private nextIncarnation = 1;
  private closed = false;

  constructor(options: ActorSystemOptions = {}) {
    this.maxWorkers = options.maxWorkers ?? defaultMaxWorkers();
    this.startTimeoutMs = options.startTimeoutMs ?? 60_000;
    this.stopTimeoutMs = options.stopTimeoutMs ?? 60_000;
    this.station = new Station({
      id: 0,
      threadId: 0,
      clock: systemClock,
      random: systemRandom(),
      fs: nodeFileSystem,
      mailboxCapacity: RUNTIME_LIMITS.mailboxCapacity,
      schedule: (work) => setImmediate(work),
      loadFactory: async (spec) =>
        ((await import(spec.module)) as Record<string, ActorFactory>)[spec.factory] as ActorFactory,
      systemHandler: (request, responder) => this.handleRequest(request, responder),
      links: {
        post: (target, envelope, transfer) => {
          const slot = this.workers.get(target);
          if (slot === undefined) return false;
          slot.worker.postMessage(envelope, transfer);
          return true;
        },
        requestLink: () => false,
        drop: () => undefined,
      },
    });
    this.supervision = new Supervision({
      now: () => systemClock.now(),
      spawn: (spec) => this.spawn(spec),
      stop: (address) => this.stopActor(address),
      markRestarting: (addresses) => this.broadcastDirectory(addresses.map((address) => [address, -1])),
      forget: (addresses) => {
        for (const address of addresses) this.placed.delete(address);
        this.broadcastDirectory(addresses.map((address) => [address, null]));
      },
      notify: (owner, message) => this.station.tell(owner, message),
      record: () => undefined,
      log: this.log,
    });
  }

  /** Asks an actor from the main thread. */
  ask<T>(to: Address, message: Message, options: AskOptions): Promise<T> {
    return this.station.ask<T>(to, message, options);
  }

  /** Tells an actor from the main thread. */
  tell(to: Address, message: Message, transfer?: TransferList): void {
    this.station.tell(to, message, transfer);
  }

  /** Starts a group's children in order; rejects (and starts nothing) if any child fails to start. */
  startGroup(spec: GroupSpec): Promise<void> {
    return this.supervision.startGroup(spec);
  }

  /** Stops a group's children in reverse order, running each actor's `stop`. */
  stopGroup(name: string): Promise<void> {
    return this.supervision.stopGroup(name);
  }

  /** Where every actor runs, and how often it was restarted. */
  describe(): SystemDescription {
    return this.supervision.describe(this.workers.size);
  }

  /**
   * Keeps the host process alive until the returned release is called. The
   * worker threads do not (an idle system lets the process exit), so whoever
   * waits for the actors holds the process meanwhile: the client, for each
   * request and for open and close.
   */
  hold(): () => void {
    return this.keepAlive.hold();
  }

  /** Stops every group and every worker. */
  async shutdown(): Promise<void> {
    this.closed = true;
    const release = this.hold();
    try {
      await this.supervision.shutdown();
      await Promise.all([...this.workers.values()].map((slot) => this.terminate(slot)));
    } finally {
      release();
      this.keepAlive.dispose();
    }
  }

  /** Starts an incarnation of `spec` on a worker; `started` resolves with its thread once it runs and is published. */
  private spawn(spec: ActorSpec): { readonly id: number; readonly started: Promise<number> } {
    const id = this.nextIncarnation++;
    const slot = this.place();
    slot.actors.add(spec.address);
    this.placed.set(spec.address, { station: slot.id, incarnation: id });
    const report = this.waitFor(spec.address, id, slot.id, this.startTimeoutMs);
    this.post(slot, { k: 'spawn', spec, incarnation: id });
    const started = report.then((outcome) => {
      if (outcome.k === 'start-failed') {
        slot.actors.delete(spec.address);
        throw ShoalError.fromData(outcome.error);
      }
      this.broadcastDirectory([[spec.address, slot.id]]);
      return outcome.k === 'started' ? outcome.threadId : -1;
    });
    return { id, started };
  }

  /** Orderly stop of the incarnation at `address`; a worker left with no actors is terminated. */
  private async stopActor(address: Address): Promise<void> {
    const placement = this.placed.get(address);
    if (placement === undefined) return;
    const slot = this.workers.get(placement.station);
    if (slot === undefined || !slot.actors.has(address)) return;
    const stopped = this.waitFor(address, placement.incarnation, slot.id, this.stopTimeoutMs);
    this.post(slot, { k: 'stop', address, incarnation: placement.incarnation });
    try {
      await stopped;
    } catch (error) {
      this.log.warn('stop-timeout', { address, error: toShoalError(error).message });
      slot.actors.delete(address);
      await this.terminate(slot);
      return;
    }
    slot.actors.delete(address);
    if (slot.actors.size === 0) await this.terminate(slot);
  }

  private place(): WorkerSlot {
    if (this.workers.size < this.maxWorkers) return this.createWorker();
    let best: WorkerSlot | undefined;
    for (const slot of this.workers.values()) {
      if (slot.terminating) continue;
      if (best === undefined || slot.actors.size < best.actors.size) best = slot;
    }
    return best ?? this.createWorker();
  }

  private createWorker(): WorkerSlot {
    const id = this.nextStationId++;
    const dying = new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT);
    const workerData: WorkerBootData = {
      stationId: id,
      entry: WORKER_ENTRY,
      useTsx: runsFromSource(WORKER_ENTRY),
      dying,
    };
    const worker = startWorker(workerData);
    const slot: WorkerSlot = { id, worker, actors: new Set(), dying: new Int32Array(dying), terminating: false };
    this.workers.set(id, slot);
    worker.on('message', (envelope: Envelope) => this.fromWorker(slot, envelope));
    worker.on('error', (error) =>
      this.log.error('worker-error', { station: id, error: error.message, stack: error.stack }),
    );
    worker.on('exit', (code) => this.workerExited(slot, code));
    // Unref'd, so an idle Shoal lets the host exit (`hold` keeps it alive while work is in flight); the thread
    // runs on while the host lives. After the listeners: adding a 'message' listener refs the worker's port again.
    worker.unref();
    if (this.directory.size > 0) this.post(slot, { k: 'dir', entries: [...this.directory] });
    return slot;
  }

  private async terminate(slot: WorkerSlot): Promise<void> {
    slot.terminating = true;
    // Its actors have stopped (and closed their build pools); the flag only guards what outlived them.
    markDying(slot);
    this.workers.delete(slot.id);
    await slot.worker.terminate();
  }

  private post(slot: WorkerSlot, envelope: ControlEnvelope, transfer: TransferListItem[] = []): void {
    slot.worker.postMessage(envelope, transfer);
  }

  private broadcastDirectory(entries: (readonly [Address, number | null])[]): void {
    for (const [address, station] of entries) {
      if (station === null) this.directory.delete(address);
      else this.directory.set(address, station);
    }
    const envelope: ControlEnvelope = { k: 'dir', entries };
    for (const slot of this.workers.values()) if (!slot.terminating) this.post(slot, envelope);
    this.station.receive(envelope);
  }

  private waitFor(address: Address, incarnation: number, station: number, timeoutMs: number): Promise<ReportEnvelope> {
    const key = `${address}#${incarnation}`;
    return new Promise<ReportEnvelope>((resolve, reject) => {
      const timer = systemClock.setTimer(timeoutMs, () => {
        if (this.waiters.delete(key))
          reject(new ShoalError('TIMEOUT', `${address} did not answer within ${timeoutMs} ms`, { address }));
      });
      const settle = (action: () => void): void => {
        timer.cancel();
        this.waiters.delete(key);
        action();
      };
      this.waiters.set(key, {
        station,
        resolve: (report) => settle(() => resolve(report)),
        reject: (error) => settle(() => reject(error)),
      });
    });
  }

  private fromWorker(slot: WorkerSlot, envelope: Envelope): void {
    switch (envelope.k) {
      case 'started':
      case 'start-failed':
      case 'stopped':
        this.waiters.get(`${envelope.address}#${envelope.incarnation}`)?.resolve(envelope);
        return;
      case 'crashed':
        slot.actors.delete(envelope.address);
        this.supervision.crashed(envelope.address, envelope.incarnation, envelope.error);
        return;
      case 'connect':
        this.connect(slot, envelope.peer);
        return;
      default:
        this.station.receive(envelope);
    }
  }

  /** Gives two workers a direct channel. */
  private connect(requester: WorkerSlot, peer: number): void {
    const other = this.workers.get(peer);
    if (other === undefined || other.terminating) {
      this.post(requester, { k: 'down', station: peer });
      return;
    }
    const { port1, port2 } = new MessageChannel();
    this.post(other, { k: 'port', peer: requester.id, port: port2 }, [port2]);
    this.post(requester, { k: 'port', peer, port: port1 }, [port1]);
  }

  private workerExited(slot: WorkerSlot, code: number): void {
    const intentional = slot.terminating;
    this.workers.delete(slot.id);
    const down: ControlEnvelope = { k: 'down', station: slot.id };
    for (const other of this.workers.values()) this.post(other, down);
    this.station.receive(down);
    for (const [key, waiter] of this.waiters) {
      if (waiter.station === slot.id) waiter.reject(new ShoalError('UNAVAILABLE', `worker exited (${key})`));
    }
    if (intentional || this.closed) return;
    this.log.warn('worker-exited', { station: slot.id, code, actors: [...slot.actors] });
    const error: ErrorData = { code: 'UNAVAILABLE', message: `worker thread exited with code ${code}` };
    for (const address of slot.actors) {
      const placement = this.placed.get(address);
      if (placement !== undefined && placement.station === slot.id)
        this.supervision.crashed(address, placement.incarnation, error);
    }
  }

  private handleRequest(request: SystemRequest, responder: Responder): void {
    const answer = (work: Promise<unknown>): void => {
      work.then(
        (value) => responder.ok(value ?? null),
        (error: unknown) => responder.fail(error),
      );
    };
    switch (request.type) {
      case 'start-group':
        return answer(this.startGroup(request.group));
      case 'stop-group':
        return answer(this.stopGroup(request.name));
      case 'describe':
        return answer(Promise.resolve(this.describe()));
      case 'kill-worker':
        return answer(this.killWorkerOf(request.address));
      case 'crash-actor':
        return answer(this.crashActor(request.address));
    }
  }

  /**
   * Fault injection: terminates the worker thread hosting `address`, as a
   * crash would. The thread's dying flag is set first, and the threads it
   * started (segment builds) get KILL_GRACE_MS to leave native code: cut
   * inside an hnswlib call, a nested thread aborts the whole process. The
   * actors themselves get no warning.
   */
  async killWorkerOf(address: Address): Promise<void> {
    const slot = this.slotOf(address);
    markDying(slot);
    await new Promise<void>((resolve) => systemClock.setTimer(KILL_GRACE_MS, resolve));
    await slot.worker.terminate();
  }

  /** Fault injection: makes `address` crash as if it had thrown. */
  async crashActor(address: Address): Promise<void> {
    this.post(this.slotOf(address), { k: 'crash', address });
  }

  private slotOf(address: Address): WorkerSlot {
    const placement = this.placed.get(address);
    const slot = placement === undefined ? undefined : this.workers.get(placement.station);
    if (slot === undefined) throw new ShoalError('UNAVAILABLE', `no running actor at ${address}`, { address });
    return slot;
  }
}

/**
 * A worker thread on the bootstrap, with the host's Node options minus those
 * that break a worker (worker-exec-argv.ts).
 */
function startWorker(workerData: WorkerBootData): Worker {
  const execArgv = workerExecArgv(process.execArgv);
  let worker: Worker;
  try {
    worker = new Worker(WORKER_BOOTSTRAP, execArgv === undefined ? { workerData } : { workerData, execArgv });
  } catch (error) {
    // An explicit list is refused when it holds a process-wide flag (--max-old-space-size): keep what loads modules.
    if (execArgv === undefined || (error as { code?: unknown }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw error;
    worker = new Worker(WORKER_BOOTSTRAP, { workerData, execArgv: minimalExecArgv(process.execArgv) });
  }
  return worker;
}

/** Sets a thread's dying flag and wakes whatever waits on it (see thread.ts). */
function markDying(slot: WorkerSlot): void {
  Atomics.store(slot.dying, 0, 1);
  Atomics.notify(slot.dying, 0);
}
