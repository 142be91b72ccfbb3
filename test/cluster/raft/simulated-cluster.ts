/**
 * Test helper: a cluster of pure Raft cores driven through an adversarial
 * in-memory network that drops, duplicates, delays and reorders messages and
 * partitions nodes, with crash-restarts from each node's persisted state
 * (`MemoryStorage`). `act` performs one action; `check` asserts the safety
 * invariants after it:
 * - election safety: at most one leader per term, ever;
 * - log matching: two logs holding an entry with the same index and term are
 *   identical up to it;
 * - leader completeness: a committed entry is in the log of every leader of
 *   a later term;
 * - state machine safety: applied sequences are prefixes of one another;
 * - linearizable reads: a read's index covers everything committed before it was asked.
 */
import { RaftNode, describeEntry } from '../../../cluster/raft/index.js';
import type { Entry, Message, RaftConfig, Ready } from '../../../cluster/raft/index.js';
import { SeededRandom } from '../../../runtime/random.js';
import { MemoryStorage } from './memory-storage.js';
import { FaultyNetwork } from './faulty-network.js';

/** One step of a simulation; `pick` and `node` are reduced modulo the queue or cluster size. */
export type Action =
  | { readonly kind: 'tick-all' }
  | {
      readonly kind: 'tick' | 'campaign' | 'ready' | 'propose' | 'read' | 'compact' | 'crash' | 'restart' | 'drop-to';
      readonly node: number;
    }
  | { readonly kind: 'ready-all' | 'heal' }
  | { readonly kind: 'deliver' | 'duplicate' | 'drop'; readonly pick: number }
  | { readonly kind: 'partition'; readonly mask: number }
  | { readonly kind: 'transfer'; readonly node: number; readonly to: number }
  | { readonly kind: 'conf'; readonly change: number; readonly node: number };

/** Cluster-wide options for one simulation. */
export interface ClusterOptions {
  /** Founding voters. */
  readonly size: number;
  /** Extra nodes that start empty and join only through membership changes. */
  readonly spares: number;
  readonly seed: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly electionTicks: number;
  readonly queueMax: number;
}

interface Member {
  readonly id: number;
  readonly config: RaftConfig;
  readonly storage: MemoryStorage;
  node: RaftNode | null;
  applied: string[];
  checkedApplied: number;
  recordedCommit: number;
}

interface CommittedRecord {
  readonly entry: string;
  readonly term: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The simulated cluster and its invariant checker. */
export class SimulatedCluster {
  readonly members: Member[] = [];
  private readonly network: FaultyNetwork<Message>;
  private readonly leaders = new Map<number, number>();
  private readonly committed = new Map<number, CommittedRecord>();
  private canonicalApplied: string[] = [];
  private readonly readsIssued = new Map<string, number>();
  private proposals = 0;
  private reads = 0;
  /** Counters for the report: how much each run exercised. */
  readonly stats = {
    elections: 0,
    commits: 0,
    membershipChanges: 0,
    readsServed: 0,
    snapshotsSent: 0,
    restarts: 0,
    delivered: 0,
  };

  constructor(private readonly options: ClusterOptions) {
    this.network = new FaultyNetwork(options.queueMax);
    const peers = Array.from({ length: options.size }, (_, index) => index + 1);
    for (let id = 1; id <= options.size + options.spares; id += 1) {
      const config: RaftConfig = {
        id,
        peers: id <= options.size ? peers : [],
        electionTicks: options.electionTicks,
        heartbeatTicks: 1,
        preVote: options.preVote,
        checkQuorum: options.checkQuorum,
        random: new SeededRandom(options.seed * 97 + id),
        maxEntriesPerAppend: 2,
        maxInflightAppends: 4,
      };
      const member: Member = {
        id,
        config,
        storage: new MemoryStorage(),
        node: new RaftNode(config),
        applied: [],
        checkedApplied: 0,
        recordedCommit: 0,
      };
      this.members.push(member);
    }
  }

  /** Performs one action; actions that do not apply (a crashed node, an empty queue) do nothing. */
  act(action: Action): void {
    switch (action.kind) {
      case 'tick-all':
        for (const member of this.members) member.node?.tick();
        return;
      case 'ready-all':
        for (const member of this.members) this.processReady(member);
        return;
      case 'heal':
        this.network.heal();
        return;
      case 'partition':
        this.network.partition(this.members.map((member, index) => [member.id, (action.mask >> index) & 1]));
        return;
      case 'deliver':
      case 'duplicate':
      case 'drop':
        this.actOnMessage(action.kind, action.pick);
        return;
      case 'conf':
        this.changeMembership(action.change, action.node);
        return;
      default:
        this.actOnNode(action);
    }
  }

  private actOnNode(action: Action & { node: number }): void {
    const member = this.members[action.node % this.members.length] as Member;
    const node = member.node;
    if (action.kind === 'restart') {
      if (node === null) this.restart(member);
      return;
    }
    if (node === null) return;
    switch (action.kind) {
      case 'tick':
        node.tick();
        return;
      case 'campaign':
        node.campaign();
        return;
      case 'drop-to':
        this.network.discard((message) => message.to === member.id);
        return;
      case 'ready':
        this.processReady(member);
        return;
      case 'propose':
        this.proposeAt(this.leaderOrSelf(member));
        return;
      case 'read':
        this.readAt(member);
        return;
      case 'compact':
        this.compactAt(member);
        return;
      case 'crash':
        member.node = null;
        return;
      case 'transfer':
        if ('to' in action) node.transferLeadership(((action.to % this.members.length) + 1) as number);
        return;
      default:
        return;
    }
  }

  private actOnMessage(kind: 'deliver' | 'duplicate' | 'drop', pick: number): void {
    const message = this.network.take(kind, pick);
    if (message === null) return;
    const target = this.members[message.to - 1] as Member;
    if (target.node === null || !this.network.connected(message.from, message.to)) return;
    this.stats.delivered += 1;
    target.node.step(message);
  }

  /** Persists, sends and applies one Ready, as the replica actor does. */
  processReady(member: Member): void {
    const node = member.node;
    const ready = node?.ready() ?? null;
    if (node === null || node === undefined || ready === null) return;
    member.storage.save(ready);
    for (const message of ready.messages) {
      if (message.type === 'snapshot') this.stats.snapshotsSent += 1;
      this.network.send(deepFreeze(message));
    }
    this.apply(member, ready);
    node.advance(ready);
  }

  private apply(member: Member, ready: Ready): void {
    if (ready.snapshot !== undefined) {
      member.applied = JSON.parse(decoder.decode(ready.snapshot.data)) as string[];
      member.checkedApplied = 0;
    }
    for (const entry of ready.committed) member.applied.push(describeEntry(entry));
    for (const read of ready.readStates) {
      const committedAtIssue = this.readsIssued.get(read.requestId);
      if (committedAtIssue === undefined) throw new Error(`read ${read.requestId} served but never issued`);
      if (read.index < committedAtIssue) {
        throw new Error(
          `read ${read.requestId} at index ${read.index} misses index ${committedAtIssue}, committed before it was issued`,
        );
      }
      this.stats.readsServed += 1;
    }
  }

  private restart(member: Member): void {
    member.node = new RaftNode(member.config, member.storage.restored());
    const snapshot = member.storage.snapshot;
    member.applied = snapshot === null ? [] : (JSON.parse(decoder.decode(snapshot.data)) as string[]);
    member.checkedApplied = 0;
    this.stats.restarts += 1;
  }

  /**
   * Asks the current leader to add a non-member as learner, promote a learner, or remove a member; refusals are fine.
   */
  private changeMembership(change: number, pick: number): void {
    const leader = this.leaderOrSelf(this.members[0] as Member).node;
    if (leader === null || leader === undefined) return;
    const status = leader.status();
    const members = [...status.voters, ...status.learners];
    const outsiders = this.members.map((member) => member.id).filter((id) => !members.includes(id));
    const [type, candidates] = (
      [
        ['add-learner', outsiders],
        ['add-voter', status.learners],
        ['remove-node', members],
      ] as const
    )[change % 3] as readonly ['add-learner' | 'add-voter' | 'remove-node', readonly number[]];
    const node = candidates[pick % Math.max(1, candidates.length)];
    if (node !== undefined) leader.proposeConfChange({ type, node });
  }

  private proposeAt(member: Member): void {
    this.proposals += 1;
    member.node?.propose(encoder.encode(`p${this.proposals}`));
  }

  private readAt(member: Member): void {
    this.reads += 1;
    const requestId = `r${this.reads}`;
    const result = member.node?.readIndex(requestId);
    if (result?.ok === true) this.readsIssued.set(requestId, Math.max(0, ...this.committed.keys()));
  }

  private compactAt(member: Member): void {
    const node = member.node;
    const snapshot = node?.compact(encoder.encode(JSON.stringify(member.applied))) ?? null;
    if (snapshot !== null) member.storage.saveSnapshot(snapshot);
  }

  private leaderOrSelf(member: Member): Member {
    let best: Member = member;
    let bestTerm = -1;
    for (const candidate of this.members) {
      const status = candidate.node?.status();
      if (status?.role === 'leader' && status.term > bestTerm) {
        best = candidate;
        bestTerm = status.term;
      }
    }
    return best;
  }

  // ---------------------------------------------------------------- invariants

  /** Asserts every safety invariant; throws with a description of the first one broken. */
  check(): void {
    const live = this.members.filter((member) => member.node !== null);
    for (const member of live) this.checkLeader(member);
    for (const member of live) this.recordCommitted(member);
    for (const member of live) this.checkLeaderCompleteness(member);
    for (let a = 0; a < live.length; a += 1) {
      for (let b = a + 1; b < live.length; b += 1) checkLogMatching(live[a] as Member, live[b] as Member);
    }
    for (const member of live) this.checkApplied(member);
  }

  private checkLeader(member: Member): void {
    const status = (member.node as RaftNode).status();
    if (status.role !== 'leader') return;
    const known = this.leaders.get(status.term);
    if (known === undefined) {
      this.leaders.set(status.term, member.id);
      this.stats.elections += 1;
    } else if (known !== member.id) {
      throw new Error(`two leaders in term ${status.term}: ${known} and ${member.id}`);
    }
  }

  /**
   * Records newly committed entries with the observer's term; the same index
   * must always hold the same entry. Only entries durable on the observer
   * count: a single voter commits an entry as it appends it, but it is
   * committed for real (and handed out to apply) only once persisted.
   */
  private recordCommitted(member: Member): void {
    const node = member.node as RaftNode;
    const status = node.status();
    const storage = member.storage;
    const durable = storage.entries[storage.entries.length - 1]?.index ?? storage.snapshot?.index ?? 0;
    const commit = Math.min(status.commit, durable);
    if (commit <= member.recordedCommit) return;
    for (const entry of node.entries(member.recordedCommit + 1, commit)) {
      const described = describeEntry(entry);
      const known = this.committed.get(entry.index);
      if (known === undefined) {
        this.committed.set(entry.index, { entry: described, term: status.term });
        this.stats.commits += 1;
        if (entry.kind === 'conf-change' && entry.index > this.options.size) this.stats.membershipChanges += 1;
      } else if (known.entry !== described) {
        throw new Error(`index ${entry.index} committed as ${known.entry} and as ${described} (node ${member.id})`);
      }
    }
    member.recordedCommit = commit;
  }

  private checkLeaderCompleteness(member: Member): void {
    const node = member.node as RaftNode;
    const status = node.status();
    if (status.role !== 'leader') return;
    for (const [index, record] of this.committed) {
      if (record.term >= status.term || index < status.firstIndex) continue;
      const entry = node.entries(index, index)[0];
      if (entry === undefined || describeEntry(entry) !== record.entry) {
        throw new Error(
          `leader ${member.id} of term ${status.term} lacks ${record.entry}, committed in term ${record.term}` +
            ` (has ${entry === undefined ? 'nothing' : describeEntry(entry)})`,
        );
      }
    }
  }

  private checkApplied(member: Member): void {
    const canonical = this.canonicalApplied;
    const applied = member.applied;
    const common = Math.min(canonical.length, applied.length);
    for (let index = member.checkedApplied; index < common; index += 1) {
      if (canonical[index] !== applied[index]) {
        throw new Error(
          `node ${member.id} applied ${applied[index]} at position ${index}, another node ${canonical[index]}`,
        );
      }
    }
    if (applied.length > canonical.length) this.canonicalApplied = [...applied];
    member.checkedApplied = applied.length;
  }

  // ---------------------------------------------------------------- liveness

  /**
   * Heals the network, restarts crashed nodes and runs fault-free rounds
   * until one leader has committed a final proposal on every node; returns
   * whether that happened within `roundsMax` rounds.
   */
  converge(roundsMax: number): boolean {
    this.network.heal();
    for (const member of this.members) if (member.node === null) this.restart(member);
    let proposedInTerm = 0;
    for (let round = 0; round < roundsMax; round += 1) {
      this.act({ kind: 'tick-all' });
      this.settle();
      this.check();
      // The leader of the highest term: a deposed or removed node may still believe it leads an older one.
      const leader = this.leaderOrSelf(this.members[0] as Member).node;
      // A proposal can be lost with its leader's term, so each new leader is asked once.
      if (leader !== null && leader.status().role === 'leader' && leader.status().term !== proposedInTerm) {
        if (leader.propose(encoder.encode('final')).ok) proposedInTerm = leader.status().term;
        this.settle();
        this.check();
      }
      if (
        leader !== null &&
        leader.status().role === 'leader' &&
        this.membersOf(leader).every((member) => member.applied.some((entry) => entry.endsWith(' normal "final"')))
      ) {
        return true;
      }
    }
    return false;
  }

  /**
   * The nodes in `leader`'s membership (removed nodes may never learn they were removed, so they are not waited for).
   */
  private membersOf(leader: RaftNode): Member[] {
    const status = leader.status();
    const ids = new Set([...status.voters, ...status.learners]);
    return this.members.filter((member) => ids.has(member.id));
  }

  private settle(): void {
    for (let step = 0; step < 1000; step += 1) {
      for (const member of this.members) this.processReady(member);
      if (this.network.length === 0) return;
      this.act({ kind: 'deliver', pick: 0 });
    }
  }
}

function checkLogMatching(a: Member, b: Member): void {
  const left = a.node as RaftNode;
  const right = b.node as RaftNode;
  const leftStatus = left.status();
  const rightStatus = right.status();
  const low = Math.max(leftStatus.firstIndex, rightStatus.firstIndex);
  const high = Math.min(leftStatus.lastIndex, rightStatus.lastIndex);
  if (high < low) return;
  const leftEntries = left.entries(low, high);
  const rightEntries = right.entries(low, high);
  let matchedUpTo = -1;
  for (let index = leftEntries.length - 1; index >= 0; index -= 1) {
    if ((leftEntries[index] as Entry).term === (rightEntries[index] as Entry).term) {
      matchedUpTo = index;
      break;
    }
  }
  for (let index = 0; index <= matchedUpTo; index += 1) {
    const x = describeEntry(leftEntries[index] as Entry);
    const y = describeEntry(rightEntries[index] as Entry);
    if (x !== y)
      throw new Error(`log matching broken at index ${low + index}: node ${a.id} has ${x}, node ${b.id} has ${y}`);
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value) || Object.isFrozen(value)) return value;
  for (const field of Object.values(value)) deepFreeze(field);
  return Object.freeze(value);
}
