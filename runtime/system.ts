/**
 * The actor system: lives in the main thread and does only bookkeeping. It
 * creates worker threads (one per actor up to `maxWorkers`, then actors share
 * the least loaded worker), places actors, keeps every station's directory up
 * to date, brokers direct MessagePorts between workers, and supervises groups
 * of actors: `one_for_one` or `rest_for_one` restarts within a restart
 * intensity, escalating to the group's owner when it is exceeded.
 */
import { cpus } from 'node:os';
import { MessageChannel, Worker } from 'node:worker_threads';
import type { TransferListItem } from 'node:worker_threads';
import type { ActorFactory, ActorSpec, Address, AskOptions, GroupFailedMessage, GroupSpec, Message, Responder, SystemDescription, SystemRequest, TransferList } from './actor.js';
import { systemClock } from './clock.js';
import { ShoalError, toShoalError } from './errors.js';
import type { ErrorData } from './errors.js';
import { nodeFileSystem } from './fs.js';
import { createLogger } from './log.js';
import type { ControlEnvelope, Envelope, ReportEnvelope, WorkerBootData } from './protocol.js';
import { systemRandom } from './random.js';
import { RestartIntensity } from './restart-intensity.js';
import { Station } from './station.js';

/** Options of an actor system. */
export interface ActorSystemOptions {
  /** Most worker threads at once; beyond it actors share workers. Default: 8 per core, at least 8. */
  readonly maxWorkers?: number;
  /** How long an actor's `start` may take. Default 60 s. */
  readonly startTimeoutMs?: number;
  /** How long an orderly stop may take before the worker is terminated. Default 60 s (an engine finishes its running segment build first). */
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
  terminating: boolean;
}

interface ActorRecord {
  readonly spec: ActorSpec;
  readonly group: string;
  station: number;
  incarnation: number;
  restarts: number;
  threadId: number;
}

interface GroupState {
  readonly spec: GroupSpec;
  readonly intensity: RestartIntensity;
  restarts: number;
  failed: boolean;
  stopping: boolean;
}

interface Waiter {
  readonly station: number;
  readonly resolve: (report: ReportEnvelope) => void;
  readonly reject: (error: ShoalError) => void;
}

const WORKER_ENTRY = new URL(import.meta.url.endsWith('.ts') ? './worker-main.ts' : './worker-main.js', import.meta.url).href;
const WORKER_BOOTSTRAP = new URL('./worker-bootstrap.mjs', import.meta.url);

/** Hosts actors in worker threads and supervises them. */
export class ActorSystem {
  readonly station: Station;
  private readonly workers = new Map<number, WorkerSlot>();
  private readonly actors = new Map<Address, ActorRecord>();
  private readonly groups = new Map<string, GroupState>();
  private readonly waiters = new Map<string, Waiter>();
  /** Every station's directory, mirrored, so a new worker starts with all of it. */
  private readonly directory = new Map<Address, number>();
  private readonly maxWorkers: number;
  private readonly startTimeoutMs: number;
  private readonly stopTimeoutMs: number;
  private readonly log = createLogger('system');
  /** Supervision operations of one group run one at a time; different groups proceed concurrently. */
  private readonly groupQueues = new Map<string, Promise<unknown>>();
  private nextStationId = 1;
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
      mailboxCapacity: 100_000,
      schedule: (work) => setImmediate(work),
      loadFactory: async (spec) => ((await import(spec.module)) as Record<string, ActorFactory>)[spec.factory] as ActorFactory,
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
    return this.serialized(spec.name, () => this.doStartGroup(spec));
  }

  /** Stops a group's children in reverse order, running each actor's `stop`. */
  stopGroup(name: string): Promise<void> {
    return this.serialized(name, () => this.doStopGroup(name));
  }

  /** Where every actor runs, and how often it was restarted. */
  describe(): SystemDescription {
    return {
      workers: this.workers.size,
      actors: [...this.actors.entries()].map(([address, record]) => ({ address, threadId: record.threadId, restarts: record.restarts })),
      groups: [...this.groups.entries()].map(([name, group]) => ({ name, restarts: group.restarts, failed: group.failed })),
    };
  }

  /** Stops every group (newest first) and every worker. */
  async shutdown(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.groups.keys()].map((name) => this.serialized(name, () => this.doStopGroup(name))));
    await Promise.all([...this.workers.values()].map((slot) => this.terminate(slot)));
  }

  private serialized<T>(group: string, operation: () => Promise<T>): Promise<T> {
    const result = (this.groupQueues.get(group) ?? Promise.resolve()).then(operation);
    const settled = result.catch(() => undefined);
    this.groupQueues.set(group, settled);
    void settled.then(() => {
      if (this.groupQueues.get(group) === settled) this.groupQueues.delete(group);
    });
    return result;
  }

  private async doStartGroup(spec: GroupSpec): Promise<void> {
    if (this.closed) throw new ShoalError('CLOSED', 'the actor system is shut down');
    if (this.groups.has(spec.name)) throw new ShoalError('INVALID_ARGUMENT', `group ${spec.name} already exists`);
    const clash = spec.children.find((child) => this.actors.has(child.address));
    if (clash !== undefined) throw new ShoalError('INVALID_ARGUMENT', `actor ${clash.address} already exists`);
    const group: GroupState = { spec, intensity: new RestartIntensity(spec.maxRestarts, spec.withinMs), restarts: 0, failed: false, stopping: false };
    this.groups.set(spec.name, group);
    this.broadcastDirectory(spec.children.map((child) => [child.address, -1]));
    const started: Address[] = [];
    try {
      for (const child of spec.children) {
        this.actors.set(child.address, { spec: child, group: spec.name, station: -1, incarnation: 0, restarts: 0, threadId: -1 });
        await this.spawn(child.address);
        started.push(child.address);
      }
    } catch (error) {
      for (const address of started.reverse()) await this.stopActor(address);
      this.forget(spec);
      throw toShoalError(error);
    }
  }

  private async doStopGroup(name: string): Promise<void> {
    const group = this.groups.get(name);
    if (group === undefined) return;
    group.stopping = true;
    for (const child of [...group.spec.children].reverse()) await this.stopActor(child.address);
    this.forget(group.spec);
  }

  private forget(spec: GroupSpec): void {
    for (const child of spec.children) this.actors.delete(child.address);
    this.groups.delete(spec.name);
    this.broadcastDirectory(spec.children.map((child) => [child.address, null]));
  }

  /** Starts (or restarts) an actor on a worker and publishes where it is once it has started. */
  private async spawn(address: Address): Promise<void> {
    const record = this.actors.get(address);
    if (record === undefined) throw new ShoalError('INTERNAL', `no record of actor ${address}`);
    const slot = this.place();
    record.incarnation++;
    record.station = slot.id;
    slot.actors.add(address);
    const report = this.waitFor(address, record.incarnation, slot.id, this.startTimeoutMs);
    this.post(slot, { k: 'spawn', spec: record.spec, incarnation: record.incarnation });
    const outcome = await report;
    if (outcome.k === 'start-failed') {
      slot.actors.delete(address);
      throw ShoalError.fromData(outcome.error);
    }
    if (outcome.k === 'started') record.threadId = outcome.threadId;
    this.broadcastDirectory([[address, slot.id]]);
  }

  /** Orderly stop of one actor; a worker left with no actors is terminated. */
  private async stopActor(address: Address): Promise<void> {
    const record = this.actors.get(address);
    if (record === undefined) return;
    const slot = this.workers.get(record.station);
    if (slot === undefined || !slot.actors.has(address)) return;
    const stopped = this.waitFor(address, record.incarnation, slot.id, this.stopTimeoutMs);
    this.post(slot, { k: 'stop', address, incarnation: record.incarnation });
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
    const workerData: WorkerBootData = { stationId: id, entry: WORKER_ENTRY, useTsx: WORKER_ENTRY.endsWith('.ts') };
    const worker = new Worker(WORKER_BOOTSTRAP, { workerData });
    const slot: WorkerSlot = { id, worker, actors: new Set(), terminating: false };
    this.workers.set(id, slot);
    worker.on('message', (envelope: Envelope) => this.fromWorker(slot, envelope));
    worker.on('error', (error) => this.log.error('worker-error', { station: id, error: error.message, stack: error.stack }));
    worker.on('exit', (code) => this.workerExited(slot, code));
    if (this.directory.size > 0) this.post(slot, { k: 'dir', entries: [...this.directory] });
    return slot;
  }

  private async terminate(slot: WorkerSlot): Promise<void> {
    slot.terminating = true;
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
        if (this.waiters.delete(key)) reject(new ShoalError('TIMEOUT', `${address} did not answer within ${timeoutMs} ms`, { address }));
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
      case 'crashed': {
        const group = this.actors.get(envelope.address)?.group;
        if (group !== undefined) void this.serialized(group, () => this.restart(envelope.address, envelope.incarnation, envelope.error));
        return;
      }
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
      const record = this.actors.get(address);
      if (record === undefined) continue;
      const incarnation = record.incarnation;
      void this.serialized(record.group, () => this.restart(address, incarnation, error));
    }
  }

  /** Applies the group's strategy after `address` crashed, or escalates when the intensity is exceeded. */
  private async restart(address: Address, incarnation: number, error: ErrorData): Promise<void> {
    const record = this.actors.get(address);
    if (record === undefined || record.incarnation !== incarnation) return;
    const group = this.groups.get(record.group);
    if (group === undefined || group.failed || group.stopping || this.closed) return;
    this.workers.get(record.station)?.actors.delete(address);
    if (!group.intensity.allow(systemClock.now())) return this.escalate(group, error);
    group.restarts++;
    const children = group.spec.children.map((child) => child.address);
    const from = children.indexOf(address);
    const affected = group.spec.strategy === 'one_for_one' ? [address] : children.slice(from);
    this.log.warn('restarting', { group: group.spec.name, crashed: address, error: error.message, restarting: affected });
    this.broadcastDirectory(affected.map((each) => [each, -1]));
    for (const each of [...affected].reverse()) if (each !== address) await this.stopActor(each);
    for (const each of affected) {
      const child = this.actors.get(each);
      if (child === undefined) continue;
      child.restarts++;
      try {
        await this.spawn(each);
      } catch (startError) {
        return this.restart(each, child.incarnation, toShoalError(startError).toData());
      }
    }
  }

  private async escalate(group: GroupState, error: ErrorData): Promise<void> {
    group.failed = true;
    this.log.error('group-failed', { group: group.spec.name, error: error.message });
    for (const child of [...group.spec.children].reverse()) await this.stopActor(child.address);
    this.broadcastDirectory(group.spec.children.map((child) => [child.address, null]));
    if (group.spec.owner !== undefined) {
      const failed: GroupFailedMessage = { type: 'group-failed', group: group.spec.name, error };
      this.station.tell(group.spec.owner, failed);
    }
  }

  private handleRequest(request: SystemRequest, responder: Responder): void {
    const answer = (work: Promise<unknown>): void => {
      work.then((value) => responder.ok(value ?? null), (error: unknown) => responder.fail(error));
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

  /** Fault injection: terminates the worker thread hosting `address`, as a crash would. */
  async killWorkerOf(address: Address): Promise<void> {
    const slot = this.slotOf(address);
    await slot.worker.terminate();
  }

  /** Fault injection: makes `address` crash as if it had thrown. */
  async crashActor(address: Address): Promise<void> {
    this.post(this.slotOf(address), { k: 'crash', address });
  }

  private slotOf(address: Address): WorkerSlot {
    const record = this.actors.get(address);
    const slot = record === undefined ? undefined : this.workers.get(record.station);
    if (slot === undefined) throw new ShoalError('UNAVAILABLE', `no running actor at ${address}`, { address });
    return slot;
  }
}
