/**
 * The simulated actor system: every actor of a node in one thread, on one
 * seeded scheduler. It offers what `ActorSystem` (runtime/system.ts) offers
 * — supervision groups loaded from the same `ActorSpec`s (module URL,
 * factory, args) by dynamic import, asks and tells from the host, the
 * system requests actors make (start-group, stop-group, describe,
 * kill-worker, crash-actor) — and what a simulation needs on top: a
 * virtual clock, a seeded network (delays, drops, duplicates, partitions),
 * a crash-aware filesystem, `crashNode`/`restartNode` from durable state,
 * and a trace of everything that happened.
 *
 * Each actor incarnation runs on a virtual thread of its own (as with one
 * actor per worker). A crash (the actor threw) ends the cell but not the
 * thread, as in a worker; a killed thread (kill-worker, a node crash) runs
 * nothing of its code ever again. Host-facing methods that return promises
 * run the scheduler until they settle, so a test reads like ordinary async
 * code. Host code must not await anything real in between (timers, files).
 */
import type {
  ActorFactory,
  ActorSpec,
  Address,
  AskOptions,
  GroupFailedMessage,
  GroupSpec,
  Message,
  Responder,
  SystemDescription,
  SystemRequest,
  TransferList,
} from '../actor.js';
import { assert } from '../assert.js';
import { ShoalError, toShoalError } from '../errors.js';
import type { ErrorData } from '../errors.js';
import { RUNTIME_LIMITS } from '../limits.js';
import type { Logger, LogLevel } from '../log.js';
import { SYSTEM_ADDRESS } from '../protocol.js';
import { SeededRandom } from '../random.js';
import { Gate } from './gate.js';
import { Network } from './network.js';
import type { NetworkOptions } from './network.js';
import { Scheduler } from './scheduler.js';
import { SimFileSystem } from './sim-fs.js';
import type { CrashOptions, CrashReport, SimFileSystemOptions } from './sim-fs.js';
import { createCell, createIncarnation, createTraceLogger } from './sim-incarnation.js';
import type { Incarnation, IncarnationServices } from './sim-incarnation.js';
import { HOST_ADDRESS, Post } from './sim-post.js';
import type { Endpoint, Whereabouts } from './sim-post.js';
import { Supervision } from '../supervision.js';
import type { SupervisionHost } from '../supervision.js';
import { Trace } from './trace.js';
import { VirtualClock } from './virtual-clock.js';

/** Options of a simulated system; only the seed is required. */
export interface SimSystemOptions {
  /** Decides every delay, drop, latency, crash outcome and actor's `ctx.random`. */
  readonly seed: number;
  readonly network?: Partial<NetworkOptions>;
  readonly fs?: SimFileSystemOptions;
  /** How long an actor's `start` may take, in virtual ms (default 60,000, as in threads). */
  readonly startTimeoutMs?: number;
  /** How long an orderly stop may take before the thread is ended (default 10,000). */
  readonly stopTimeoutMs?: number;
  readonly mailboxCapacity?: number;
  /**
   * Rewrites each actor spec before it is started: the seam for simulation-only arguments (e.g. in-thread segment
   * builds).
   */
  readonly specTransform?: (spec: ActorSpec) => ActorSpec;
  /** Loads an actor factory; default: dynamic import of `spec.module`, export `spec.factory`. */
  readonly loadFactory?: (spec: ActorSpec) => Promise<ActorFactory>;
  /** Log events at or above this level become trace lines (default `info`). */
  readonly logLevel?: LogLevel | 'silent';
  /** Trace lines kept in memory (all are hashed); `traceEcho` sees each line. */
  readonly traceLinesMax?: number;
  readonly traceEcho?: (line: string) => void;
  /** Scheduler events before a run is declared a livelock. */
  readonly eventsMax?: number;
}

/** Control hops (spawn, reports) between the system and its threads, in µs. */
const CONTROL_HOP_US: readonly [number, number] = [20, 300];

/** FNV-1a of `text`: derives independent PRNG streams from one seed. */
function streamSeed(seed: number, name: string): number {
  let hash = 0x811c9dc5 ^ (seed >>> 0);
  for (let index = 0; index < name.length; index++) hash = Math.imul(hash ^ name.charCodeAt(index), 0x01000193);
  return hash >>> 0;
}

async function importFactory(spec: ActorSpec): Promise<ActorFactory> {
  const module = (await import(spec.module)) as Record<string, unknown>;
  const factory = module[spec.factory];
  assert(typeof factory === 'function', `${spec.module} exports no function ${spec.factory}`);
  return factory as ActorFactory;
}

/** A whole node's actors on one seeded scheduler; see the module header. */
export class SimSystem {
  readonly scheduler: Scheduler;
  readonly fs: SimFileSystem;
  readonly network: Network;
  /** The host's clock (virtual). */
  readonly clock: VirtualClock;
  /** Randomness for the harness (workloads, fault choices), independent of the system's own streams. */
  readonly random: SeededRandom;
  private readonly post: Post;
  private readonly controlRandom: SeededRandom;
  private readonly crashRandom: SeededRandom;
  private readonly host: Endpoint = { address: HOST_ADDRESS, id: 0, gate: new Gate() };
  private readonly log: Logger;
  private supervision: Supervision;
  private nodeGate = new Gate();
  /** Where messages to each address go: an incarnation, or 'restarting' (they wait). */
  private readonly directory = new Map<Address, Incarnation | 'restarting'>();
  /** The latest incarnation of each address (running, starting, or crashed and not yet replaced). */
  private readonly current = new Map<Address, Incarnation>();
  /** Incarnations whose threads are alive (a crashed actor's thread lives on, as a worker does). */
  private readonly threads = new Map<number, Incarnation>();
  private readonly bootGroups: GroupSpec[] = [];
  private readonly spawnCounts = new Map<Address, number>();
  private readonly factories = new Map<string, ActorFactory>();
  private readonly hostCalls = new Set<(error: ShoalError) => void>();
  private nextIncarnationId = 1;

  constructor(private readonly options: SimSystemOptions) {
    const seed = options.seed;
    this.scheduler = new Scheduler({
      trace: new Trace(options.traceLinesMax, options.traceEcho ?? null),
      ...(options.eventsMax === undefined ? {} : { eventsMax: options.eventsMax }),
    });
    this.network = new Network(new SeededRandom(streamSeed(seed, 'network')), options.network);
    this.fs = new SimFileSystem(this.scheduler, new SeededRandom(streamSeed(seed, 'fs')), options.fs);
    this.clock = new VirtualClock(this.scheduler);
    this.random = new SeededRandom(streamSeed(seed, 'harness'));
    this.controlRandom = new SeededRandom(streamSeed(seed, 'control'));
    this.crashRandom = new SeededRandom(streamSeed(seed, 'crash'));
    this.log = createTraceLogger(this.scheduler, 'system', options.logLevel ?? 'info');
    this.supervision = new Supervision(this.supervisionHost());
    this.post = new Post({
      scheduler: this.scheduler,
      network: this.network,
      locate: (address) => this.locate(address),
      system: (request, responder) => this.handleRequest(request, responder),
      systemEndpoint: () => ({ address: SYSTEM_ADDRESS, id: -1, gate: this.nodeGate }),
    });
  }

  // ------------------------------------------------------------ host API

  /** Asks an actor from the host, running the simulation until the answer (or TIMEOUT/UNAVAILABLE). */
  ask<T>(to: Address, message: Message, options: AskOptions): Promise<T> {
    return this.scheduler.runUntil(this.post.ask<T>(this.host, to, message, options));
  }

  /** Tells an actor from the host (delivered once the simulation runs). */
  tell(to: Address, message: Message, transfer?: TransferList): void {
    this.post.tell(this.host, to, message, transfer ?? []);
  }

  /** Starts a group from the host; it is started again by `restartNode`. */
  async startGroup(spec: GroupSpec): Promise<void> {
    await this.hostCall(this.supervision.startGroup(spec));
    this.bootGroups.push(spec);
  }

  /** Stops a group started from the host (or by an actor). */
  async stopGroup(name: string): Promise<void> {
    await this.hostCall(this.supervision.stopGroup(name));
    const index = this.bootGroups.findIndex((spec) => spec.name === name);
    if (index >= 0) this.bootGroups.splice(index, 1);
  }

  /** Where every actor runs and how often it restarted. */
  describe(): SystemDescription {
    return this.supervision.describe(this.threads.size);
  }

  /** Fault injection: makes `address` crash as if it had thrown (its thread lives on). */
  crashActor(address: Address): Promise<void> {
    return this.hostCall(this.injectCrash(address));
  }

  /** Fault injection: ends the thread of `address`, as a terminated worker. */
  killActor(address: Address): Promise<void> {
    return this.hostCall(this.killWorkerOf(address));
  }

  /**
   * Power failure of the whole node: every thread dies at once, everything
   * in flight is lost, host requests in flight fail UNAVAILABLE, and the
   * filesystem loses (or tears) what was not synced. With
   * `powerLoss: false`, the process dies but the machine does not: the page
   * cache keeps every write. Nothing runs until `restartNode`.
   */
  crashNode(options: CrashOptions = {}): CrashReport {
    this.scheduler.record(options.powerLoss === false ? 'crash-node process' : 'crash-node');
    this.nodeGate.close();
    for (const incarnation of [...this.threads.values()]) this.endThread(incarnation);
    this.post.nodeCrashed(this.host.id);
    const calls = [...this.hostCalls];
    this.hostCalls.clear();
    for (const abort of calls) abort(new ShoalError('UNAVAILABLE', 'the node crashed'));
    this.directory.clear();
    this.current.clear();
    this.network.reset();
    this.nodeGate = new Gate();
    this.supervision = new Supervision(this.supervisionHost());
    return this.fs.crash(options, this.crashRandom);
  }

  /** Starts the node again from its durable state: the groups the host had started, in order. */
  async restartNode(): Promise<void> {
    this.scheduler.record('restart-node');
    for (const spec of this.bootGroups) await this.hostCall(this.supervision.startGroup(spec));
  }

  /** Orderly stop of every group, newest first. */
  shutdown(): Promise<void> {
    return this.hostCall(this.supervision.shutdown());
  }

  /** Runs the simulation until `promise` settles. */
  runUntil<T>(promise: Promise<T>): Promise<T> {
    return this.scheduler.runUntil(promise);
  }

  /** Runs `durationMs` of virtual time. */
  runFor(durationMs: number): Promise<void> {
    return this.scheduler.runFor(durationMs);
  }

  /** Lets `durationMs` of virtual time pass for one host task (others keep running). */
  sleep(durationMs: number): Promise<void> {
    return this.scheduler.runUntil(this.scheduler.sleep(durationMs));
  }

  /** Virtual milliseconds since the start. */
  now(): number {
    return this.scheduler.nowMs;
  }

  /** The trace so far: one line per event. */
  trace(): string {
    return this.scheduler.trace.text();
  }

  /** SHA-256 of the whole trace. */
  traceDigest(): string {
    return this.scheduler.trace.digest();
  }

  // ------------------------------------------------------------ internals

  /** A host call that fails UNAVAILABLE if the node crashes first, run on the scheduler. */
  private hostCall<T>(work: Promise<T>): Promise<T> {
    const guarded = new Promise<T>((resolve, reject) => {
      const abort = (error: ShoalError): void => reject(error);
      this.hostCalls.add(abort);
      work.then(
        (value) => {
          this.hostCalls.delete(abort);
          resolve(value);
        },
        (error: unknown) => {
          this.hostCalls.delete(abort);
          reject(error);
        },
      );
    });
    return this.scheduler.runUntil(guarded);
  }

  private locate(address: Address): Whereabouts {
    const entry = this.directory.get(address);
    if (entry === undefined) return { kind: 'unknown' };
    if (entry === 'restarting' || entry.actorCell === null) return { kind: 'restarting' };
    return { kind: 'placed', endpoint: entry, cell: entry.actorCell };
  }

  /** A control hop; like everything the system awaits, it never completes once the node has crashed. */
  private hop(): Promise<void> {
    const [minUs, maxUs] = CONTROL_HOP_US;
    const delayUs = minUs + this.controlRandom.int(maxUs - minUs + 1);
    return this.nodeGate.promise(new Promise<void>((resolve) => this.scheduler.at(delayUs, resolve)));
  }

  /** Runs `action` after a control hop, unless the node crashed meanwhile. */
  private afterHop(action: () => void): void {
    const gate = this.nodeGate;
    void this.hop().then(gate.guard(action));
  }

  /**
   * The host of one node's supervision. Bound to that node's gate: once the
   * node crashed, a restart the old supervision had begun (it may resume
   * from a promise that settled just before the crash) spawns, stops,
   * redirects and notifies nothing in the node that replaced it.
   */
  private supervisionHost(): SupervisionHost {
    const node = this.nodeGate;
    return {
      now: () => this.scheduler.nowMs,
      spawn: (spec) => {
        if (!node.open) return { id: -1, started: node.promise(Promise.resolve(-1)) };
        const id = this.nextIncarnationId++;
        return { id, started: node.promise(this.startIncarnation(id, this.options.specTransform?.(spec) ?? spec)) };
      },
      stop: (address) => (node.open ? node.promise(this.stopActor(address)) : node.promise(Promise.resolve())),
      markRestarting: (addresses) => {
        if (!node.open) return;
        for (const address of addresses) this.directory.set(address, 'restarting');
      },
      forget: (addresses) => {
        if (!node.open) return;
        for (const address of addresses) {
          this.directory.delete(address);
          this.post.release(address);
        }
      },
      notify: (owner, message: GroupFailedMessage) => {
        if (node.open) this.post.tell({ address: SYSTEM_ADDRESS, id: -1, gate: node }, owner, message);
      },
      record: (line) => {
        if (node.open) this.scheduler.record(line);
      },
      log: this.log,
    };
  }

  private async loadFactory(spec: ActorSpec): Promise<ActorFactory> {
    const key = `${spec.module}#${spec.factory}`;
    const known = this.factories.get(key);
    const loading = known !== undefined ? Promise.resolve(known) : (this.options.loadFactory ?? importFactory)(spec);
    const factory = await this.scheduler.fromOutside(loading);
    this.factories.set(key, factory);
    return factory;
  }

  /** Spawns, starts and publishes one incarnation; rejects with its start error (and ends its thread). */
  private async startIncarnation(id: number, spec: ActorSpec): Promise<number> {
    const node = this.nodeGate;
    await this.hop();
    const factory = await node.promise(this.loadFactory(spec));
    const incarnation = createIncarnation(id, spec.address);
    this.threads.set(id, incarnation);
    this.current.set(spec.address, incarnation);
    this.scheduler.record(`spawn ${spec.address} #${id}`);
    try {
      const actor = (factory as (args: unknown) => ReturnType<ActorFactory>)(spec.args);
      const cell = createCell(incarnation, actor, this.services(spec.address));
      await node.promise(this.awaitStart(incarnation, cell.start()));
    } catch (error) {
      const failure = toShoalError(error);
      this.scheduler.record(`start-failed ${spec.address} #${id} ${failure.code} ${failure.message}`);
      this.endThread(incarnation);
      throw failure;
    }
    await this.hop();
    if (!incarnation.gate.open)
      throw new ShoalError('UNAVAILABLE', `the thread of ${spec.address} exited while it started`, {
        address: spec.address,
      });
    this.directory.set(spec.address, incarnation);
    this.scheduler.record(`started ${spec.address} #${id}`);
    this.post.release(spec.address);
    return incarnation.threadId;
  }

  /** `start` within the start timeout; a thread that dies meanwhile rejects at once. */
  private awaitStart(incarnation: Incarnation, start: Promise<void>): Promise<void> {
    const timeoutMs = this.options.startTimeoutMs ?? 60_000;
    return new Promise<void>((resolve, reject) => {
      const finish = (action: () => void): void => {
        timer.cancel();
        incarnation.abortStart = null;
        action();
      };
      const timer = this.scheduler.at(timeoutMs * 1000, () =>
        finish(() =>
          reject(
            new ShoalError('TIMEOUT', `${incarnation.address} did not answer within ${timeoutMs} ms`, {
              address: incarnation.address,
            }),
          ),
        ),
      );
      incarnation.abortStart = (error) => finish(() => reject(error));
      start.then(
        () => finish(resolve),
        (error: unknown) => finish(() => reject(error)),
      );
    });
  }

  /** Orderly stop of the incarnation at `address` (its `stop` runs, within the stop timeout), then its thread ends. */
  private async stopActor(address: Address): Promise<void> {
    const incarnation = this.current.get(address);
    if (incarnation === undefined || !incarnation.gate.open) return;
    await this.hop();
    const cell = incarnation.actorCell;
    if (cell?.alive) {
      const timeoutMs = this.options.stopTimeoutMs ?? 10_000;
      const stopped = await this.nodeGate.promise(
        new Promise<boolean>((resolve) => {
          const timer = this.scheduler.at(timeoutMs * 1000, () => resolve(false));
          cell
            .stop()
            .then(
              () => resolve(true),
              (error: unknown) => {
                this.log.warn('stop-failed', { address, error: toShoalError(error).message });
                resolve(true);
              },
            )
            .finally(() => timer.cancel());
        }),
      );
      if (!stopped) this.log.warn('stop-timeout', { address, timeoutMs });
    }
    this.endThread(incarnation);
    this.scheduler.record(`stopped ${address} #${incarnation.id}`);
    await this.hop();
  }

  /**
   * Ends an incarnation's thread for good: nothing of its code runs again; asks made to it fail, asks it made vanish.
   */
  private endThread(incarnation: Incarnation): void {
    if (!incarnation.gate.open) return;
    incarnation.killed = true;
    incarnation.gate.close();
    this.threads.delete(incarnation.id);
    incarnation.abortStart?.(
      new ShoalError('UNAVAILABLE', `the thread of ${incarnation.address} exited`, { address: incarnation.address }),
    );
    this.post.killed(incarnation.id);
    const cell = incarnation.actorCell;
    if (cell?.alive) cell.crash(new ShoalError('UNAVAILABLE', `the thread of ${incarnation.address} exited`));
  }

  /** kill-worker: ends the thread of `address`; its group restarts it as after a worker exit. */
  private async killWorkerOf(address: Address): Promise<void> {
    const incarnation = this.current.get(address);
    if (incarnation === undefined || !incarnation.gate.open)
      throw new ShoalError('UNAVAILABLE', `no running actor at ${address}`, { address });
    this.scheduler.record(`kill ${address} #${incarnation.id}`);
    this.threadDied(incarnation, { code: 'UNAVAILABLE', message: 'worker thread exited with code 1' });
  }

  private threadDied(incarnation: Incarnation, error: ErrorData): void {
    this.endThread(incarnation);
    this.afterHop(() => this.supervision.crashed(incarnation.address, incarnation.id, error));
  }

  /** crash-actor: after a hop, the actor crashes as if it had thrown. */
  private async injectCrash(address: Address): Promise<void> {
    const incarnation = this.current.get(address);
    if (incarnation === undefined || !incarnation.gate.open)
      throw new ShoalError('UNAVAILABLE', `no running actor at ${address}`, { address });
    this.afterHop(() => {
      this.scheduler.record(`crash-injected ${address} #${incarnation.id}`);
      incarnation.actorCell?.crash(new ShoalError('INTERNAL', 'crash injected'));
    });
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
        return answer(this.supervision.startGroup(request.group));
      case 'stop-group':
        return answer(this.supervision.stopGroup(request.name));
      case 'describe':
        return answer(Promise.resolve(this.describe()));
      case 'kill-worker':
        return answer(this.killWorkerOf(request.address));
      case 'crash-actor':
        return answer(this.injectCrash(request.address));
    }
  }

  private services(address: Address): IncarnationServices {
    const count = (this.spawnCounts.get(address) ?? 0) + 1;
    this.spawnCounts.set(address, count);
    return {
      scheduler: this.scheduler,
      fs: this.fs,
      post: this.post,
      random: new SeededRandom(streamSeed(this.options.seed, `actor ${address} ${count}`)),
      log: createTraceLogger(this.scheduler, address, this.options.logLevel ?? 'info'),
      mailboxCapacity: this.options.mailboxCapacity ?? RUNTIME_LIMITS.mailboxCapacity,
      crashed: (incarnation, error) => {
        if (incarnation.killed) return;
        this.scheduler.record(`crashed ${incarnation.address} #${incarnation.id} ${error.code} ${error.message}`);
        this.afterHop(() => this.supervision.crashed(incarnation.address, incarnation.id, error.toData()));
      },
      uncaught: (incarnation, error) => {
        const failure = toShoalError(error);
        this.scheduler.record(`uncaught ${incarnation.address} #${incarnation.id} ${failure.message}`);
        this.threadDied(incarnation, {
          code: 'UNAVAILABLE',
          message: `worker thread exited with code 1: ${failure.message}`,
        });
      },
    };
  }
}
