/**
 * A single-threaded harness for `ReplicaDriver` transcripts, in the style of
 * `harness.ts` (same file format and parser: `#` comments, a command, `----`, the
 * output up to a blank line). It plays the caller: it holds each replica's
 * write in flight and its snapshot being written until the transcript says
 * they are durable, queues the messages the drivers send, and prints every
 * action a driver returns, in order. Time is one clock for all replicas,
 * moved by `advance`.
 *
 * Commands (ids are replica ids):
 *   add-replicas N [election=5] [heartbeat=1] [tick-ms=10] [snapshot=1000] [seed=1] [checkquorum=true]
 *   start ID... | advance MS | tick ID... | next-tick ID
 *   propose ID REQUEST DATA | read ID REQUEST [local=true] | compact ID | campaign ID
 *   persist ID... (the write in flight is durable) | write-snapshot ID... (the snapshot is durable)
 *   deliver [ID...] (every queued message to these replicas, in order) | drop [ID...]
 *   isolate ID (its messages, both ways, are dropped at delivery) | heal
 *   stabilize (persist, write snapshots and deliver until nothing is left) | status ID...
 * Any command accepts `quiet=true` to run without printing.
 */
import { describeEntry, describeMessage, describeSnapshot } from '../../../cluster/raft/index.js';
import type { Message, Snapshot } from '../../../cluster/raft/index.js';
import { ReplicaDriver } from '../../../cluster/raft/replica-driver.js';
import type { ReplicaAction, ReplicaMachine, ReplicaWrite } from '../../../cluster/raft/replica-driver.js';
import { SeededRandom } from '../../../runtime/random.js';
import { parseCommand, parseTranscript } from './harness.js';
import type { Command } from './harness.js';
import { MemoryStorage } from './memory-storage.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const STABILIZE_ROUNDS_MAX = 200;

/** The transcripts' state machine: the data of every applied non-empty entry; a write answers `data@index`. */
type View = readonly string[];
type Driver = ReplicaDriver<string, string | null, View>;
type Action = ReplicaAction<string, string | null, View>;

interface Replica {
  readonly driver: Driver;
  readonly storage: MemoryStorage;
  persisting: { readonly token: number; readonly write: ReplicaWrite } | null;
  /** The snapshot being written, durable at `write-snapshot`. */
  snapshotting: Snapshot | null;
}

/** Runs a transcript and returns it with the actual output in place of the expected output. */
export function runDriverTranscript(text: string): string {
  const harness = new DriverHarness();
  const blocks: string[] = [];
  for (const block of parseTranscript(text)) {
    const command = parseCommand(block.command);
    const output = harness.run(command);
    const shown = command.options.get('quiet') === 'true' || output.length === 0 ? 'ok' : output.join('\n');
    blocks.push([...block.comments, block.command, '----', shown].join('\n'));
  }
  return `${blocks.join('\n\n')}\n`;
}

/** The transcripts' state machine, rebuilt from a snapshot image (a JSON array of the applied data). */
function listMachine(snapshot: Snapshot | null): ReplicaMachine<string | null, View> {
  let applied: readonly string[] = snapshot === null ? [] : (JSON.parse(decoder.decode(snapshot.data)) as string[]);
  return {
    apply: (entry) => {
      if (entry.kind !== 'normal' || entry.data.length === 0) return null;
      const data = decoder.decode(entry.data);
      applied = [...applied, data];
      return `${data}@${entry.index}`;
    },
    snapshot: () => encoder.encode(JSON.stringify(applied)),
    view: () => applied,
  };
}

class DriverHarness {
  private readonly replicas = new Map<number, Replica>();
  private queue: Message[] = [];
  private readonly isolated = new Set<number>();
  private nowMs = 0;

  run(command: Command): string[] {
    const { name, args } = command;
    const ids = args.map(Number);
    const id = ids[0] as number;
    switch (name) {
      case 'add-replicas':
        this.addReplicas(id, command.options);
        return [];
      case 'start':
        return ids.flatMap((each) => this.show(each, 'start', this.replica(each).driver.start(this.nowMs)));
      case 'advance':
        this.nowMs += id;
        return [`now=${this.nowMs}ms`];
      case 'tick':
        return ids.flatMap((each) => this.show(each, 'tick', this.replica(each).driver.tick(this.nowMs)));
      case 'next-tick':
        return [`next tick at=${this.replica(id).driver.nextTickAtMs()}ms`];
      case 'propose': {
        const actions = this.replica(id).driver.propose(this.nowMs, encoder.encode(args[2] ?? ''), args[1] ?? '');
        return this.show(id, `propose ${args[1]}`, actions);
      }
      case 'read': {
        const linearizable = command.options.get('local') !== 'true';
        return this.show(id, `read ${args[1]}`, this.replica(id).driver.read(this.nowMs, args[1] ?? '', linearizable));
      }
      case 'compact':
        return this.show(id, 'compact', this.replica(id).driver.compact(this.nowMs));
      case 'campaign':
        return this.show(id, 'campaign', this.replica(id).driver.campaign(this.nowMs));
      default:
        return this.runIoCommand(name, ids);
    }
  }

  private runIoCommand(name: string, ids: number[]): string[] {
    switch (name) {
      case 'persist':
        return ids.flatMap((each) => this.persist(each));
      case 'write-snapshot':
        return ids.flatMap((each) => this.writeSnapshot(each));
      case 'deliver':
        return this.deliver(ids);
      case 'drop':
        this.queue = this.queue.filter((message) => ids.length > 0 && !ids.includes(message.to));
        return [];
      case 'isolate':
        this.isolated.add(ids[0] as number);
        return [];
      case 'heal':
        this.isolated.clear();
        return [];
      case 'stabilize':
        return this.stabilize();
      case 'status':
        return ids.map((each) => this.status(each));
      default:
        throw new Error(`unknown command ${name}`);
    }
  }

  private addReplicas(count: number, options: Map<string, string>): void {
    const number = (key: string, fallback: number): number => Number(options.get(key) ?? fallback);
    const peers = Array.from({ length: count }, (_, index) => index + 1);
    for (const id of peers) {
      const driver: Driver = new ReplicaDriver({
        raft: {
          id,
          peers,
          electionTicks: number('election', 5),
          heartbeatTicks: number('heartbeat', 1),
          preVote: true,
          checkQuorum: options.get('checkquorum') !== 'false',
          random: new SeededRandom(number('seed', 1) * 97 + id),
        },
        tickMs: number('tick-ms', 10),
        snapshotEntries: number('snapshot', 1_000),
        readIdPrefix: `${id}:`,
        restore: listMachine,
      });
      this.replicas.set(id, { driver, storage: new MemoryStorage(), persisting: null, snapshotting: null });
    }
  }

  private replica(id: number): Replica {
    const replica = this.replicas.get(id);
    if (replica === undefined) throw new Error(`no replica ${id}`);
    return replica;
  }

  private persist(id: number): string[] {
    const replica = this.replica(id);
    const persisting = replica.persisting;
    if (persisting === null) return [];
    replica.storage.save(persisting.write);
    replica.persisting = null;
    return this.show(id, `persisted #${persisting.token}`, replica.driver.persisted(this.nowMs, persisting.token));
  }

  private writeSnapshot(id: number): string[] {
    const replica = this.replica(id);
    const snapshot = replica.snapshotting;
    if (snapshot === null) return [];
    replica.storage.saveSnapshot(snapshot);
    replica.snapshotting = null;
    return this.show(id, 'snapshot written', replica.driver.compacted(this.nowMs));
  }

  private deliver(ids: readonly number[]): string[] {
    const taken = this.queue.filter((message) => ids.length === 0 || ids.includes(message.to));
    this.queue = this.queue.filter((message) => !taken.includes(message));
    const output: string[] = [];
    for (const message of taken) {
      if (this.isolated.has(message.from) || this.isolated.has(message.to)) continue;
      const actions = this.replica(message.to).driver.step(this.nowMs, message);
      output.push(...this.show(message.to, `step ${describeMessage(message)}`, actions));
    }
    return output;
  }

  private stabilize(): string[] {
    const output: string[] = [];
    for (let round = 0; round < STABILIZE_ROUNDS_MAX; round += 1) {
      const before = output.length;
      for (const id of this.replicas.keys()) output.push(...this.persist(id), ...this.writeSnapshot(id));
      const queued = this.queue.length;
      output.push(...this.deliver([]));
      if (output.length === before && queued === 0) return output;
    }
    throw new Error(`not stable after ${STABILIZE_ROUNDS_MAX} rounds`);
  }

  private status(id: number): string {
    const status = this.replica(id).driver.status();
    const position = `term=${status.term} leader=${status.leader} commit=${status.commit} applied=${status.applied}`;
    const log = `log=${status.firstIndex}..${status.lastIndex} snapshot=${status.snapshotIndex}`;
    return `${id}: ${status.role} ${position} ${log} machine=[${this.replica(id).driver.machine.view().join(',')}]`;
  }

  /** Prints the actions of one driver call; holds its write, snapshot and messages for later commands. */
  private show(id: number, event: string, actions: readonly Action[]): string[] {
    const replica = this.replica(id);
    const lines = [`> ${id} ${event}`];
    for (const action of actions) {
      lines.push(...describeAction(action).map((line) => `  ${line}`));
      if (action.type === 'persist') replica.persisting = { token: action.token, write: action.write };
      if (action.type === 'send') this.queue.push(...action.messages);
      if (action.type === 'write-snapshot') replica.snapshotting = action.snapshot;
    }
    if (actions.length === 0) lines.push('  (no actions)');
    return lines;
  }
}

function describeAction(action: Action): string[] {
  switch (action.type) {
    case 'persist': {
      const { hardState, entries, snapshot } = action.write;
      const lines = [`persist #${action.token}`];
      if (hardState !== undefined) lines.push(`  hard-state term=${hardState.term} vote=${hardState.vote}`);
      if (snapshot !== undefined) lines.push(`  snapshot ${describeSnapshot(snapshot)}`);
      for (const entry of entries) lines.push(`  entry ${describeEntry(entry)}`);
      return lines;
    }
    case 'send':
      return action.messages.map((message) => `send ${describeMessage(message)}`);
    case 'write-snapshot':
      return [`write-snapshot ${describeSnapshot(action.snapshot)}`];
    case 'answer-proposal':
      return [`answer-proposal ${action.request} index=${action.index} result=${String(action.result)}`];
    case 'answer-read':
      return [`answer-read ${action.request} applied=${action.applied} leader=${action.leader} view=[${action.view}]`];
    case 'fail':
      return [`fail ${action.request} ${action.failure} index=${action.index} leader=${action.leader}`];
    case 'refuse':
      return [`refuse ${action.request} ${action.operation} ${action.refusal.reason} leader=${action.refusal.leader}`];
  }
}
