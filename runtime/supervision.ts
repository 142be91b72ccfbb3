/**
 * Supervision groups, as Erlang/OTP has them: children started in order,
 * `one_for_one` or `rest_for_one` restarts within a restart intensity,
 * escalation to the group's owner past it, one operation per group at a
 * time. Pure bookkeeping: the host (the threaded ActorSystem, or the
 * simulator) starts and stops incarnations and publishes where they are.
 */
import type { ActorSpec, Address, GroupFailedMessage, GroupSpec, SystemDescription } from './actor.js';
import { present } from './assert.js';
import { ShoalError, toShoalError } from './errors.js';
import type { ErrorData } from './errors.js';
import type { Logger } from './log.js';
import { RestartIntensity } from './restart-intensity.js';

/** What supervision needs from the system hosting it. */
export interface SupervisionHost {
  /** Milliseconds (virtual under the simulator), for the restart intensity. */
  now(): number;
  /**
   * Starts a new incarnation of `spec`: its id at once, and its thread id once it runs and is published (or its start
   * error).
   */
  spawn(spec: ActorSpec): { readonly id: number; readonly started: Promise<number> };
  /** Orderly stop of the incarnation now at `address`, if any; its thread ends. */
  stop(address: Address): Promise<void>;
  /** Messages to these addresses wait until they are published again. */
  markRestarting(addresses: readonly Address[]): void;
  /** These addresses are gone: messages to them fail. */
  forget(addresses: readonly Address[]): void;
  /** Tells a group's owner that the group gave up. */
  notify(owner: Address, message: GroupFailedMessage): void;
  /** One trace line. */
  record(line: string): void;
  readonly log: Logger;
}

interface ActorRecord {
  readonly spec: ActorSpec;
  readonly group: string;
  /** Id of the current incarnation (0 before the first spawn). */
  incarnation: number;
  restarts: number;
  threadId: number;
  /**
   * The incarnation reported crashed and not yet restarted (its restart may wait behind another operation of the
   * group).
   */
  crashedIncarnation?: number;
}

interface GroupState {
  readonly spec: GroupSpec;
  readonly intensity: RestartIntensity;
  restarts: number;
  failed: boolean;
  stopping: boolean;
}

/** The supervision tree of one actor system (one node epoch under the simulator). */
export class Supervision {
  private readonly actors = new Map<Address, ActorRecord>();
  private readonly groups = new Map<string, GroupState>();
  /** Supervision operations of one group run one at a time; different groups proceed concurrently. */
  private readonly queues = new Map<string, Promise<unknown>>();
  private closed = false;

  constructor(private readonly host: SupervisionHost) {}

  /** Starts a group's children in order; rejects (and starts nothing) if any child fails to start. */
  startGroup(spec: GroupSpec): Promise<void> {
    return this.serialized(spec.name, () => this.doStartGroup(spec));
  }

  /** Stops a group's children in reverse order, running each actor's `stop`. */
  stopGroup(name: string): Promise<void> {
    return this.serialized(name, () => this.doStopGroup(name));
  }

  /** An actor crashed or its thread died: restart per its group's strategy (or escalate). */
  crashed(address: Address, incarnation: number, error: ErrorData): void {
    const record = this.actors.get(address);
    if (record === undefined) return;
    record.crashedIncarnation = incarnation;
    void this.serialized(record.group, () => this.restart(address, incarnation, error));
  }

  /** Stops every group; later starts fail CLOSED. */
  async shutdown(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.groups.keys()].map((name) => this.serialized(name, () => this.doStopGroup(name))));
  }

  /** Actors and groups as `describe` reports them. */
  describe(workers: number): SystemDescription {
    return {
      workers,
      actors: [...this.actors.entries()].map(([address, record]) => ({
        address,
        threadId: record.threadId,
        restarts: record.restarts,
      })),
      groups: [...this.groups.entries()].map(([name, group]) => ({
        name,
        restarts: group.restarts,
        failed: group.failed,
      })),
    };
  }

  private serialized<T>(group: string, operation: () => Promise<T>): Promise<T> {
    const result = (this.queues.get(group) ?? Promise.resolve()).then(operation);
    const settled = result.catch(() => undefined);
    this.queues.set(group, settled);
    void settled.then(() => {
      if (this.queues.get(group) === settled) this.queues.delete(group);
    });
    return result;
  }

  private async doStartGroup(spec: GroupSpec): Promise<void> {
    if (this.closed) throw new ShoalError('CLOSED', 'the actor system is shut down');
    if (this.groups.has(spec.name)) throw new ShoalError('INVALID_ARGUMENT', `group ${spec.name} already exists`);
    const clash = spec.children.find((child) => this.actors.has(child.address));
    if (clash !== undefined) throw new ShoalError('INVALID_ARGUMENT', `actor ${clash.address} already exists`);
    this.groups.set(spec.name, {
      spec,
      intensity: new RestartIntensity(spec.maxRestarts, spec.withinMs),
      restarts: 0,
      failed: false,
      stopping: false,
    });
    this.host.markRestarting(spec.children.map((child) => child.address));
    const started: Address[] = [];
    try {
      for (const child of spec.children) {
        this.actors.set(child.address, { spec: child, group: spec.name, incarnation: 0, restarts: 0, threadId: -1 });
        await this.spawn(child.address);
        started.push(child.address);
      }
    } catch (error) {
      for (const address of started.reverse()) await this.host.stop(address);
      this.forget(spec);
      throw toShoalError(error);
    }
  }

  private async doStopGroup(name: string): Promise<void> {
    const group = this.groups.get(name);
    if (group === undefined) return;
    group.stopping = true;
    for (const child of [...group.spec.children].reverse()) await this.host.stop(child.address);
    this.forget(group.spec);
  }

  private forget(spec: GroupSpec): void {
    for (const child of spec.children) this.actors.delete(child.address);
    this.groups.delete(spec.name);
    this.host.forget(spec.children.map((child) => child.address));
  }

  private async spawn(address: Address): Promise<void> {
    const record = present(this.actors.get(address), `the record of actor ${address}`);
    const { id, started } = this.host.spawn(record.spec);
    record.incarnation = id;
    record.threadId = await started;
  }

  /** Applies the group's strategy after `address` crashed, or escalates when the intensity is exceeded. */
  private async restart(address: Address, incarnation: number, error: ErrorData): Promise<void> {
    const record = this.actors.get(address);
    if (record === undefined || record.incarnation !== incarnation) return;
    const group = this.groups.get(record.group);
    if (group === undefined || group.failed || group.stopping || this.closed) return;
    if (!group.intensity.allow(this.host.now())) return this.escalate(group, error);
    group.restarts++;
    const children = group.spec.children.map((child) => child.address);
    const from = children.indexOf(address);
    const affected = group.spec.strategy === 'one_for_one' ? [address] : children.slice(from);
    this.host.log.warn('restarting', {
      group: group.spec.name,
      crashed: address,
      error: error.message,
      restarting: affected,
    });
    this.host.record(`restart ${group.spec.name} after ${address}: ${affected.join(' ')}`);
    this.host.markRestarting(affected);
    for (const each of [...affected].reverse()) if (each !== address) await this.host.stop(each);
    for (const each of affected) {
      const child = this.actors.get(each);
      if (child === undefined) continue;
      child.restarts++;
      try {
        await this.spawn(each);
      } catch (startError) {
        // A child that cannot start may depend on an earlier one that crashed meanwhile (an engine whose WAL
        // writer died): under rest_for_one, restart from that earlier child rather than retrying this one
        // until the intensity runs out. Its queued crash report then finds a newer incarnation and is ignored.
        const crashedEarlier =
          group.spec.strategy === 'rest_for_one' ? this.firstCrashedBefore(group.spec, each) : undefined;
        if (crashedEarlier !== undefined)
          return this.restart(crashedEarlier.address, crashedEarlier.incarnation, toShoalError(startError).toData());
        return this.restart(each, child.incarnation, toShoalError(startError).toData());
      }
    }
  }

  /** The first child before `address` in `spec` whose current incarnation is reported crashed. */
  private firstCrashedBefore(spec: GroupSpec, address: Address): { address: Address; incarnation: number } | undefined {
    for (const child of spec.children) {
      if (child.address === address) return undefined;
      const record = this.actors.get(child.address);
      if (record !== undefined && record.crashedIncarnation === record.incarnation)
        return { address: child.address, incarnation: record.incarnation };
    }
    return undefined;
  }

  private async escalate(group: GroupState, error: ErrorData): Promise<void> {
    group.failed = true;
    this.host.log.error('group-failed', { group: group.spec.name, error: error.message });
    this.host.record(`escalate ${group.spec.name}: ${error.code} ${error.message}`);
    for (const child of [...group.spec.children].reverse()) await this.host.stop(child.address);
    this.host.forget(group.spec.children.map((child) => child.address));
    if (group.spec.owner !== undefined)
      this.host.notify(group.spec.owner, { type: 'group-failed', group: group.spec.name, error });
  }
}
