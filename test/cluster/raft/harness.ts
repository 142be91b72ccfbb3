/**
 * A small, single-threaded, deterministic harness for Raft transcript tests
 * in the style of etcd's interaction tests. A transcript is a sequence of
 * blocks: optional `#` comment lines, one command line, a `----` line, and
 * the expected output up to a blank line. `runTranscript` executes the
 * commands against real `RaftNode`s and returns the transcript with the
 * output it produced, so a test compares it with the file (and
 * `REWRITE=1` rewrites the file for review).
 *
 * Commands (ids are node ids; positions print as term/index):
 *   add-nodes N [voters=(1,2,3)] [learners=(4)] [prevote=true] [checkquorum=true]
 *               [election=10] [heartbeat=1] [max-append=64] [seed=1]
 *   campaign ID | tick ID [COUNT] | tick-heartbeat ID | tick-election ID
 *   tick-until-leader [max=TICKS]: tick every live node once and stabilize, until one leads
 *   propose ID DATA | propose-conf-change ID add-learner|add-voter|remove-node NODE
 *   transfer-leadership ID TO | read-index ID REQUEST | compact ID
 *   process-ready ID... | deliver-msgs [ID...] [type=T] [count=N] | drop-msgs [ID...] [type=T]
 *   duplicate-msgs [ID...] [type=T] (queues a second copy of each)
 *   stabilize [ID...] | partition GROUP... (a GROUP is `3` or `(1,2)`) | heal
 *   crash ID (messages to it stay queued; delivered while it is down they are lost) | restart ID
 *   status [ID...] | raft-log ID | applied ID
 * Any command accepts `quiet=true` to run without printing.
 */
import {
  RaftNode,
  describeData,
  describeEntry,
  describeMessage,
  describeSnapshot,
} from '../../../cluster/raft/index.js';
import type { ConfChange, Message, RaftConfig, Ready, Status } from '../../../cluster/raft/index.js';
import { SeededRandom } from '../../../runtime/random.js';
import { MemoryStorage } from './memory-storage.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const STABILIZE_ROUNDS_MAX = 200;

interface SimulatedNode {
  readonly config: RaftConfig;
  readonly storage: MemoryStorage;
  node: RaftNode | null;
  /** The state machine: the data of every applied non-empty normal entry, in order. */
  applied: string[];
  shownState: string;
}

/** One parsed command line: name, positional arguments and `key=value` options. */
export interface Command {
  readonly name: string;
  readonly args: string[];
  readonly options: Map<string, string>;
}

/** Runs a transcript and returns it with the actual output in place of the expected output. */
export function runTranscript(text: string): string {
  const harness = new Harness();
  const blocks: string[] = [];
  for (const block of parseTranscript(text)) {
    const output = harness.run(parseCommand(block.command));
    blocks.push([...block.comments, block.command, '----', output.length === 0 ? 'ok' : output.join('\n')].join('\n'));
  }
  return `${blocks.join('\n\n')}\n`;
}

/** Splits a transcript into its blocks' comments and command lines (the expected output is skipped). */
export function parseTranscript(text: string): { comments: string[]; command: string }[] {
  const blocks: { comments: string[]; command: string }[] = [];
  const lines = text.split('\n');
  let index = 0;
  while (index < lines.length) {
    const comments: string[] = [];
    while (
      index < lines.length &&
      ((lines[index] as string).startsWith('#') || (lines[index] as string).trim() === '')
    ) {
      if ((lines[index] as string).startsWith('#')) comments.push(lines[index] as string);
      index += 1;
    }
    if (index >= lines.length) break;
    const command = lines[index] as string;
    index += 1;
    if (lines[index] !== '----') throw new Error(`expected ---- after "${command}"`);
    index += 1;
    while (index < lines.length && (lines[index] as string).trim() !== '') index += 1;
    blocks.push({ comments, command });
  }
  return blocks;
}

export function parseCommand(line: string): Command {
  const [name, ...tokens] = line.trim().split(/\s+/);
  const args: string[] = [];
  const options = new Map<string, string>();
  for (const token of tokens) {
    const equals = token.indexOf('=');
    if (equals > 0) options.set(token.slice(0, equals), token.slice(equals + 1));
    else args.push(token);
  }
  return { name: name as string, args, options };
}

function idList(value: string | undefined): number[] {
  if (value === undefined) return [];
  const inner = value.replace(/^\(/, '').replace(/\)$/, '');
  return inner === '' ? [] : inner.split(',').map(Number);
}

class Harness {
  private readonly nodes = new Map<number, SimulatedNode>();
  private queue: Message[] = [];
  private readonly groups = new Map<number, number>();

  /** Runs one command; `quiet=true` runs it without printing. */
  run(command: Command): string[] {
    const output = this.runCommand(command);
    return command.options.get('quiet') === 'true' ? [] : output;
  }

  private runCommand(command: Command): string[] {
    const { name, args } = command;
    const id = Number(args[0]);
    switch (name) {
      case 'add-nodes':
        return this.addNodes(Number(args[0]), command.options);
      case 'campaign':
        this.live(id).campaign();
        return [];
      case 'tick':
        for (let count = 0; count < Number(args[1] ?? 1); count += 1) this.live(id).tick();
        return [];
      case 'tick-heartbeat':
        return this.tickTimes(id, this.simulated(id).config.heartbeatTicks);
      case 'tick-election':
        return this.tickElection(id);
      case 'tick-until-leader':
        return this.tickUntilLeader(Number(command.options.get('max') ?? 100));
      case 'propose':
        return [describeResult(this.live(id).propose(encoder.encode(args[1] ?? '')))];
      case 'propose-conf-change': {
        const change: ConfChange = { type: args[1] as ConfChange['type'], node: Number(args[2]) };
        return [describeResult(this.live(id).proposeConfChange(change))];
      }
      case 'transfer-leadership':
        return [describeResult(this.live(id).transferLeadership(Number(args[1])))];
      case 'read-index':
        return [describeResult(this.live(id).readIndex(args[1] ?? ''))];
      case 'compact':
        return this.compact(id);
      default:
        return this.runNetworkCommand(command);
    }
  }

  private runNetworkCommand(command: Command): string[] {
    const ids = command.args.map(Number);
    const type = command.options.get('type');
    switch (command.name) {
      case 'process-ready':
        return ids.flatMap((id) => this.processReady(id));
      case 'deliver-msgs':
        return this.deliver(
          ids.length === 0 ? this.ids() : ids,
          type,
          false,
          Number(command.options.get('count') ?? Infinity),
        );
      case 'drop-msgs':
        return this.deliver(ids.length === 0 ? this.ids() : ids, type, true, Infinity);
      case 'duplicate-msgs':
        this.queue.push(...this.queue.filter((message) => matches(message, ids.length === 0 ? this.ids() : ids, type)));
        return [];
      case 'stabilize':
        return this.stabilize(ids.length === 0 ? this.ids() : ids);
      case 'partition':
        this.groups.clear();
        command.args.forEach((group, position) => idList(group).forEach((id) => this.groups.set(id, position + 1)));
        return [];
      case 'heal':
        this.groups.clear();
        return [];
      default:
        return this.runNodeCommand(command);
    }
  }

  private runNodeCommand(command: Command): string[] {
    const id = Number(command.args[0]);
    switch (command.name) {
      case 'crash':
        this.simulated(id).node = null;
        return [];
      case 'restart':
        return this.restart(id);
      case 'status':
        return (command.args.length === 0 ? this.ids() : command.args.map(Number)).flatMap((each) => this.status(each));
      case 'raft-log':
        return this.raftLog(id);
      case 'applied':
        return [`${id}: [${this.simulated(id).applied.join(', ')}]`];
      default:
        throw new Error(`unknown command ${command.name}`);
    }
  }

  private addNodes(count: number, options: Map<string, string>): string[] {
    const first = Math.max(0, ...this.nodes.keys()) + 1;
    const number = (key: string, fallback: number): number => Number(options.get(key) ?? fallback);
    for (let id = first; id < first + count; id += 1) {
      const config: RaftConfig = {
        id,
        peers: idList(options.get('voters')),
        learners: idList(options.get('learners')),
        electionTicks: number('election', 10),
        heartbeatTicks: number('heartbeat', 1),
        preVote: options.get('prevote') === 'true',
        checkQuorum: options.get('checkquorum') === 'true',
        random: new SeededRandom(number('seed', 1) * 1000 + id),
        maxEntriesPerAppend: number('max-append', 64),
      };
      const simulated: SimulatedNode = {
        config,
        storage: new MemoryStorage(),
        node: null,
        applied: [],
        shownState: '',
      };
      simulated.node = new RaftNode(config);
      simulated.shownState = softState(simulated.node.status());
      this.nodes.set(id, simulated);
    }
    return [];
  }

  private tickTimes(id: number, count: number): string[] {
    for (let tick = 0; tick < count; tick += 1) this.live(id).tick();
    return [];
  }

  /** A leader ticks one election timeout; anyone else ticks until its election timeout fires (at most two timeouts). */
  private tickElection(id: number): string[] {
    const node = this.live(id);
    const electionTicks = this.simulated(id).config.electionTicks;
    const before = node.status();
    if (before.role === 'leader') return this.tickTimes(id, electionTicks);
    for (let tick = 0; tick < 2 * electionTicks; tick += 1) {
      node.tick();
      const after = node.status();
      if (after.role !== before.role || after.term !== before.term) break;
    }
    return [];
  }

  /** Ticks all live nodes in lockstep, settling the network after each tick; prints each role or term change. */
  private tickUntilLeader(ticksMax: number): string[] {
    const lines: string[] = [];
    const live = () => this.ids().filter((id) => this.simulated(id).node !== null);
    let shown = new Map(live().map((id) => [id, roleAndTerm(this.live(id).status())]));
    for (let tick = 1; tick <= ticksMax; tick += 1) {
      for (const id of live()) this.live(id).tick();
      this.stabilize(live());
      for (const id of live()) {
        const now = roleAndTerm(this.live(id).status());
        if (shown.get(id) !== now) lines.push(`tick ${tick}: ${id} ${now}`);
      }
      shown = new Map(live().map((id) => [id, roleAndTerm(this.live(id).status())]));
      if (live().some((id) => this.live(id).status().role === 'leader')) return lines;
    }
    lines.push(`no leader after ${ticksMax} ticks`);
    return lines;
  }

  private compact(id: number): string[] {
    const simulated = this.simulated(id);
    const snapshot = this.live(id).compact(encoder.encode(JSON.stringify(simulated.applied)));
    if (snapshot === null) return ['nothing to compact'];
    simulated.storage.saveSnapshot(snapshot);
    return [`snapshot ${describeSnapshot(snapshot)}`];
  }

  private restart(id: number): string[] {
    const simulated = this.simulated(id);
    simulated.node = new RaftNode(simulated.config, simulated.storage.restored());
    const snapshot = simulated.storage.snapshot;
    simulated.applied = snapshot === null ? [] : (JSON.parse(decoder.decode(snapshot.data)) as string[]);
    simulated.shownState = softState(simulated.node.status());
    return [];
  }

  /** Persists, routes and applies one Ready, printing it. */
  private processReady(id: number): string[] {
    const simulated = this.simulated(id);
    const node = this.live(id);
    const ready = node.ready();
    if (ready === null) return [];
    const lines = [`> ${id} handling Ready`];
    const state = softState(node.status());
    if (state !== simulated.shownState) lines.push(`  State: ${state}`);
    simulated.shownState = state;
    simulated.storage.save(ready);
    lines.push(...describeReady(ready).map((line) => `  ${line}`));
    if (ready.messages.length > 0) lines.push('  Messages:');
    for (const message of ready.messages) {
      const connected = this.connected(message.from, message.to);
      if (connected) this.queue.push(message);
      lines.push(`  ${describeMessage(message)}${connected ? '' : ' (dropped)'}`);
    }
    this.apply(simulated, ready);
    node.advance(ready);
    return lines;
  }

  private apply(simulated: SimulatedNode, ready: Ready): void {
    if (ready.snapshot !== undefined) simulated.applied = JSON.parse(decoder.decode(ready.snapshot.data)) as string[];
    for (const entry of ready.committed) {
      if (entry.kind === 'normal' && entry.data.byteLength > 0) simulated.applied.push(describeData(entry.data));
    }
  }

  /** Delivers (or drops) the queued messages addressed to `ids` that match `type`, in queue order. */
  private deliver(ids: number[], type: string | undefined, drop: boolean, countMax: number): string[] {
    const lines: string[] = [];
    for (const id of ids) {
      const chosen: Message[] = [];
      const kept: Message[] = [];
      for (const message of this.queue) {
        if (chosen.length < countMax && matches(message, [id], type)) chosen.push(message);
        else kept.push(message);
      }
      if (chosen.length === 0) continue;
      this.queue = kept;
      lines.push(`> ${id} ${drop ? 'dropping' : 'receiving'} messages`);
      for (const message of chosen) {
        const lost = drop || !this.connected(message.from, message.to);
        lines.push(`  ${describeMessage(message)}${lost && !drop ? ' (dropped)' : ''}`);
        if (!lost) this.live(id).step(message);
      }
    }
    return lines;
  }

  private stabilize(ids: number[]): string[] {
    const lines: string[] = [];
    for (let round = 0; round < STABILIZE_ROUNDS_MAX; round += 1) {
      const before = lines.length;
      for (const id of ids) if (this.simulated(id).node?.hasReady() === true) lines.push(...this.processReady(id));
      lines.push(...this.deliver(ids, undefined, false, Infinity));
      if (lines.length === before) return lines;
    }
    throw new Error(`stabilize did not settle in ${STABILIZE_ROUNDS_MAX} rounds`);
  }

  private status(id: number): string[] {
    const node = this.simulated(id).node;
    if (node === null) return [`${id}: crashed`];
    const status = node.status();
    const lines = [
      `${id}: ${status.role} term=${status.term} vote=${status.vote} leader=${status.leader} ` +
        `commit=${status.commit} applied=${status.applied} log=${status.firstIndex}..${status.lastIndex} ` +
        `voters=(${status.voters.join(',')}) learners=(${status.learners.join(',')})`,
    ];
    for (const [peer, progress] of Object.entries(status.progress ?? {})) {
      lines.push(`  ${peer}: ${progress.state} match=${progress.match} next=${progress.next}`);
    }
    return lines;
  }

  private raftLog(id: number): string[] {
    const simulated = this.simulated(id);
    if (simulated.node === null) {
      const storage = simulated.storage;
      const snapshot = storage.snapshot === null ? [] : [`snapshot ${describeSnapshot(storage.snapshot)}`];
      return [...snapshot, ...storage.entries.map(describeEntry)];
    }
    const status = simulated.node.status();
    const entries = simulated.node.entries(status.firstIndex, status.lastIndex).map(describeEntry);
    const compacted = status.firstIndex > 1 ? [`(compacted through ${status.firstIndex - 1})`] : [];
    return entries.length + compacted.length === 0 ? ['(empty)'] : [...compacted, ...entries];
  }

  private connected(from: number, to: number): boolean {
    const target = this.nodes.get(to);
    if (target === undefined || target.node === null) return false;
    return (this.groups.get(from) ?? 0) === (this.groups.get(to) ?? 0);
  }

  private ids(): number[] {
    return [...this.nodes.keys()].sort((a, b) => a - b);
  }

  private simulated(id: number): SimulatedNode {
    const simulated = this.nodes.get(id);
    if (simulated === undefined) throw new Error(`no node ${id}`);
    return simulated;
  }

  private live(id: number): RaftNode {
    const node = this.simulated(id).node;
    if (node === null) throw new Error(`node ${id} is crashed`);
    return node;
  }
}

function matches(message: Message, to: readonly number[], type: string | undefined): boolean {
  return to.includes(message.to) && (type === undefined || message.type === type);
}

function roleAndTerm(status: Status): string {
  return `${status.role} term=${status.term}`;
}

function softState(status: Status): string {
  return `${status.role} term=${status.term} leader=${status.leader}`;
}

function describeResult(
  result: { ok: true; index?: number; term?: number } | { ok: false; reason: string; leader: number },
): string {
  if (!result.ok) return `refused: ${result.reason} (leader=${result.leader})`;
  return result.index === undefined ? 'ok' : `index=${result.index} term=${result.term}`;
}

function describeReady(ready: Ready): string[] {
  const lines: string[] = [];
  const hardState = ready.hardState;
  if (hardState !== undefined)
    lines.push(`HardState term=${hardState.term} vote=${hardState.vote} commit=${hardState.commit}`);
  if (ready.snapshot !== undefined) lines.push(`Snapshot ${describeSnapshot(ready.snapshot)}`);
  if (ready.entries.length > 0) lines.push('Entries:', ...ready.entries.map(describeEntry));
  if (ready.committed.length > 0) lines.push('Committed:', ...ready.committed.map(describeEntry));
  if (ready.readStates.length > 0) {
    lines.push(`ReadStates: ${ready.readStates.map((read) => `${read.requestId}@${read.index}`).join(' ')}`);
  }
  return lines;
}
