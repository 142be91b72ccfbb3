/**
 * The serving logic of one Raft replica, as a pure class in the etcd "Ready"
 * style: the caller feeds it events (`tick`, `step`, `propose`, `read`,
 * `persisted`, `compacted`, ...), each with the clock time as a number, and
 * performs the actions each call returns, in order: persist a write, send
 * messages, write a snapshot, answer or fail a request. No I/O, timers or
 * ambient randomness (the Raft core gets its `Random` from the config).
 *
 * What it adds to the core (`raft-node.ts`):
 * - tick accounting: ticks are counted from the clock times the caller
 *   passes, and `nextTickAtMs` says when the core next has something to do
 *   by itself, so the caller sets one timer instead of one per tick;
 * - persistence sequencing: one Ready at a time is being persisted; its
 *   messages, applies and answers are released only by `persisted(token)`,
 *   so nothing that depends on the new term, vote or entries leaves before
 *   they are durable. Events that arrive meanwhile form the next Ready
 *   (group commit). A Ready with nothing durable is released at once;
 * - proposal bookkeeping: a proposal is answered when the entry at its index
 *   is applied with its term; another term there means a new leader
 *   overwrote it, and it is failed as superseded;
 * - linearizable reads through ReadIndex: confirmed by a heartbeat quorum,
 *   answered once the applied index reaches the read's index; failed when
 *   the term changes before the confirmation arrives;
 * - compaction: every `snapshotEntries` applied entries the state machine is
 *   snapshotted and the log compacted; no Ready is taken while the snapshot
 *   is being written.
 * The state machine is the caller's (`ReplicaMachine`); requests are opaque
 * handles (`Request`) that come back in the answering action.
 */
import { assert } from '../../runtime/assert.js';
import { RaftNode } from './raft-node.js';
import type { Entry, HardState, Message, NodeId, RaftConfig, Ready, Refusal, RestoredState } from './types.js';
import type { Snapshot, Status } from './types.js';

/** The replicated state machine a driver applies committed entries to. */
export interface ReplicaMachine<Result, View> {
  /** Applies one committed entry (a leader's empty entry and membership changes included), in log order. */
  apply(entry: Entry): Result;
  /** The image `ReplicaDriverConfig.restore` rebuilds the machine from. */
  snapshot(): Uint8Array;
  /** What a read answers (immutable: later applies must not change it). */
  view(): View;
}

/** Construction parameters of a driver. */
export interface ReplicaDriverConfig<Result, View> {
  readonly raft: RaftConfig;
  /** What an earlier incarnation made durable (absent: a fresh replica). */
  readonly restored?: RestoredState;
  readonly tickMs: number;
  /** Applied entries between snapshots. */
  readonly snapshotEntries: number;
  /** Prefixes read ids; must differ between incarnations that a late ReadIndex answer could reach. */
  readonly readIdPrefix: string;
  /** The state machine as of `snapshot` (null: the empty state). */
  readonly restore: (snapshot: Snapshot | null) => ReplicaMachine<Result, View>;
}

/** What a driver persists before it releases a Ready: the fields `storage/raft-log.ts` saves. */
export interface ReplicaWrite {
  readonly hardState?: HardState;
  readonly entries: readonly Entry[];
  /** A snapshot received from the leader: it replaces the whole log. */
  readonly snapshot?: Snapshot;
}

/** Why a request was not answered; the caller tells its client `leader` (NONE: none known). */
export type ReplicaFailure = 'superseded' | 'term-changed';

/** What the caller does, in the order given. */
export type ReplicaAction<Request, Result, View> =
  /** Make `write` durable, then call `persisted(token)`; nothing else is persisted meanwhile. */
  | { readonly type: 'persist'; readonly token: number; readonly write: ReplicaWrite }
  | { readonly type: 'send'; readonly messages: readonly Message[] }
  /** Make the snapshot durable (entries it covers may go), then call `compacted()`. */
  | { readonly type: 'write-snapshot'; readonly snapshot: Snapshot }
  | { readonly type: 'answer-proposal'; readonly request: Request; readonly index: number; readonly result: Result }
  | {
      readonly type: 'answer-read';
      readonly request: Request;
      readonly view: View;
      readonly applied: number;
      readonly leader: NodeId;
    }
  /** `index`: the superseded proposal's (0 for a read). */
  | {
      readonly type: 'fail';
      readonly request: Request;
      readonly failure: ReplicaFailure;
      readonly index: number;
      readonly leader: NodeId;
    }
  /** The core did not take the request (`operation`: what it was). */
  | {
      readonly type: 'refuse';
      readonly request: Request;
      readonly operation: 'propose' | 'read';
      readonly refusal: Refusal;
    };

/** The core's status plus the driver's own. */
export interface ReplicaDriverStatus extends Status {
  /** Index of the latest snapshot (0: none yet). */
  readonly snapshotIndex: number;
}

/** Ticks after start during which the first replica campaigns eagerly. */
const EAGER_CAMPAIGN_TICKS = 50;
/** Ticks between eager campaigns. */
const EAGER_CAMPAIGN_EVERY = 5;
/** Clock times this close count as equal when ticks are counted. */
const TICK_EPSILON_MS = 1e-6;

interface PendingProposal<Request> {
  readonly term: number;
  readonly request: Request;
}

/** One replica's driver; see the file header. */
export class ReplicaDriver<Request, Result, View> {
  private readonly node: RaftNode;
  private machineNow: ReplicaMachine<Result, View>;
  private actions: ReplicaAction<Request, Result, View>[] = [];
  /** The Ready being persisted, and the token `persisted` must bring back. */
  private outstanding: { readonly token: number; readonly ready: Ready } | null = null;
  private tokens = 0;
  private compacting = false;
  private snapshotIndex = 0;
  /** The clock time up to which ticks were given to the core. */
  private tickAnchorMs = 0;
  private ticks = 0;
  private lastTerm: number;
  /** Term and vote as last written. */
  private persistedHardState: HardState;
  private reads = 0;
  private readonly proposals = new Map<number, PendingProposal<Request>>();
  /** Reads waiting for the quorum check (ReadIndex), by read id. */
  private readonly confirming = new Map<string, Request>();
  /** Reads confirmed, waiting for the applied index to reach theirs. */
  private confirmed: { readonly index: number; readonly request: Request }[] = [];

  constructor(private readonly config: ReplicaDriverConfig<Result, View>) {
    const snapshot = config.restored?.snapshot ?? null;
    this.machineNow = config.restore(snapshot);
    this.snapshotIndex = snapshot?.index ?? 0;
    this.persistedHardState = config.restored?.hardState ?? { term: 0, vote: 0, commit: 0 };
    this.node = new RaftNode(config.raft, config.restored);
    this.lastTerm = this.node.status().term;
  }

  /** The state machine as of the last applied entry. */
  get machine(): ReplicaMachine<Result, View> {
    return this.machineNow;
  }

  /**
   * Starts counting ticks from `nowMs`. The first replica stands for
   * election at once, so a group leads within one round trip instead of an
   * election timeout.
   */
  start(nowMs: number): ReplicaAction<Request, Result, View>[] {
    this.tickAnchorMs = nowMs;
    if (this.campaignsEagerly()) this.node.campaign();
    return this.drain();
  }

  /** The caller's timer fired (or any time): give the core the ticks that elapsed. */
  tick(nowMs: number): ReplicaAction<Request, Result, View>[] {
    this.elapse(nowMs);
    this.noticeTermChange();
    return this.drain();
  }

  /** A message from a peer. */
  step(nowMs: number, message: Message): ReplicaAction<Request, Result, View>[] {
    this.elapse(nowMs);
    this.node.step(message);
    this.noticeTermChange();
    return this.drain();
  }

  /** Proposes `data`; `request` is answered once its entry is applied (or failed, or refused at once). */
  propose(nowMs: number, data: Uint8Array, request: Request): ReplicaAction<Request, Result, View>[] {
    this.elapse(nowMs);
    const result = this.node.propose(data);
    if (!result.ok) return [{ type: 'refuse', request, operation: 'propose', refusal: result }];
    this.proposals.set(result.index, { term: result.term, request });
    return this.drain();
  }

  /** A read: `linearizable` through ReadIndex, otherwise answered at once from the applied state. */
  read(nowMs: number, request: Request, linearizable: boolean): ReplicaAction<Request, Result, View>[] {
    this.elapse(nowMs);
    if (!linearizable) return [this.readAnswer(request)];
    this.reads += 1;
    const readId = `${this.config.readIdPrefix}${this.reads}`;
    const result = this.node.readIndex(readId);
    if (!result.ok) return [{ type: 'refuse', request, operation: 'read', refusal: result }];
    this.confirming.set(readId, request);
    return this.drain();
  }

  /** The write of `persist` `token` is durable: release its Ready. */
  persisted(nowMs: number, token: number): ReplicaAction<Request, Result, View>[] {
    this.elapse(nowMs);
    const outstanding = this.outstanding;
    assert(outstanding !== null && outstanding.token === token, `persisted ${token} is not the write in flight`);
    this.outstanding = null;
    this.release(outstanding.ready);
    this.maybeCompact();
    return this.drain();
  }

  /** The snapshot of `write-snapshot` is durable. */
  compacted(nowMs: number): ReplicaAction<Request, Result, View>[] {
    this.elapse(nowMs);
    assert(this.compacting, 'compacted without a snapshot being written');
    this.compacting = false;
    return this.drain();
  }

  /** Snapshots now, whatever `snapshotEntries` says, unless a write is in flight (then: nothing). */
  compact(nowMs: number): ReplicaAction<Request, Result, View>[] {
    this.elapse(nowMs);
    if (this.outstanding === null && !this.compacting) this.snapshotApplied();
    return this.drain();
  }

  /** Stands for election (as the core's `campaign`). */
  campaign(nowMs: number): ReplicaAction<Request, Result, View>[] {
    this.elapse(nowMs);
    this.node.campaign();
    return this.drain();
  }

  /** Hands leadership to `to` (as the core's `transferLeadership`; a refusal changes nothing). */
  transferLeadership(nowMs: number, to: NodeId): ReplicaAction<Request, Result, View>[] {
    this.elapse(nowMs);
    this.node.transferLeadership(to);
    return this.drain();
  }

  /**
   * Gives the core the ticks that elapsed since the last ones: at most an
   * election timeout's worth, so a stalled thread does not replay a burst of
   * elections. The core sees the same ticks in the same order with messages
   * as with a timer per tick, but an idle group wakes for its heartbeats only.
   */
  elapse(nowMs: number): void {
    // The timer fires at tickAnchorMs + due × tickMs exactly; the epsilon keeps float rounding from losing that tick.
    const elapsed = Math.floor((nowMs - this.tickAnchorMs + TICK_EPSILON_MS) / this.config.tickMs);
    if (elapsed <= 0) return;
    this.tickAnchorMs += elapsed * this.config.tickMs;
    for (let tick = 0; tick < Math.min(elapsed, this.config.raft.electionTicks); tick++) {
      this.node.tick();
      this.eagerCampaign();
    }
  }

  /** When the core next has something to do by itself (an election timeout, a heartbeat): the caller's timer. */
  nextTickAtMs(): number {
    let due = Math.min(this.node.ticksUntilDue(), this.config.raft.electionTicks);
    if (this.eagerCampaigning()) due = Math.min(due, EAGER_CAMPAIGN_EVERY - (this.ticks % EAGER_CAMPAIGN_EVERY));
    return this.tickAnchorMs + due * this.config.tickMs;
  }

  status(): ReplicaDriverStatus {
    return { ...this.node.status(), snapshotIndex: this.snapshotIndex };
  }

  /** Takes whatever Ready work there is, then hands the caller every action collected. */
  private drain(): ReplicaAction<Request, Result, View>[] {
    this.pump();
    const actions = this.actions;
    this.actions = [];
    return actions;
  }

  /** Takes Readies while none is outstanding and no snapshot is being written; stops at one that must be persisted. */
  private pump(): void {
    while (this.outstanding === null && !this.compacting) {
      const ready = this.node.ready();
      if (ready === null) return;
      const hardState = this.durableHardState(ready);
      if (hardState === undefined && ready.entries.length === 0 && ready.snapshot === undefined) {
        this.release(ready);
        this.maybeCompact();
        continue;
      }
      this.tokens += 1;
      this.outstanding = { token: this.tokens, ready };
      const write: ReplicaWrite = {
        entries: ready.entries,
        ...(hardState === undefined ? {} : { hardState }),
        ...(ready.snapshot === undefined ? {} : { snapshot: ready.snapshot }),
      };
      this.actions.push({ type: 'persist', token: this.tokens, write });
    }
  }

  /**
   * The hard state to persist with a Ready: only when the term or the vote
   * changed. The commit index is volatile state in Raft (Figure 2 of the
   * paper): a restarted replica learns it again from the leader, or commits
   * again as leader, and restores at least its snapshot's index. Not writing
   * commit-only changes saves an fsync on every commit.
   */
  private durableHardState(ready: Ready): HardState | undefined {
    const next = ready.hardState;
    const previous = this.persistedHardState;
    if (next === undefined || (next.term === previous.term && next.vote === previous.vote)) return undefined;
    this.persistedHardState = next;
    return next;
  }

  /** A durable Ready: send, restore or apply, note confirmed reads, advance, then answer the reads now due. */
  private release(ready: Ready): void {
    if (ready.messages.length > 0) this.actions.push({ type: 'send', messages: ready.messages });
    if (ready.snapshot !== undefined) {
      this.machineNow = this.config.restore(ready.snapshot);
      this.snapshotIndex = ready.snapshot.index;
    }
    for (const entry of ready.committed) this.apply(entry);
    for (const read of ready.readStates) {
      if (!this.confirming.has(read.requestId)) continue;
      this.confirmed.push({ index: read.index, request: this.confirming.get(read.requestId) as Request });
      this.confirming.delete(read.requestId);
    }
    this.node.advance(ready);
    this.serveReads();
    this.noticeTermChange();
  }

  private apply(entry: Entry): void {
    const result = this.machineNow.apply(entry);
    const pending = this.proposals.get(entry.index);
    if (pending === undefined) return;
    this.proposals.delete(entry.index);
    if (pending.term !== entry.term) {
      const leader = this.node.status().leader;
      this.actions.push({ type: 'fail', request: pending.request, failure: 'superseded', index: entry.index, leader });
      return;
    }
    this.actions.push({ type: 'answer-proposal', request: pending.request, index: entry.index, result });
  }

  private readAnswer(request: Request): ReplicaAction<Request, Result, View> {
    const status = this.node.status();
    const view = this.machineNow.view();
    return { type: 'answer-read', request, view, applied: status.applied, leader: status.leader };
  }

  private serveReads(): void {
    if (this.confirmed.length === 0) return;
    const applied = this.node.status().applied;
    const waiting: typeof this.confirmed = [];
    for (const read of this.confirmed) {
      if (read.index <= applied) this.actions.push(this.readAnswer(read.request));
      else waiting.push(read);
    }
    this.confirmed = waiting;
  }

  /** A new term: reads still waiting for a quorum check will not get one from this node; the client retries. */
  private noticeTermChange(): void {
    const status = this.node.status();
    if (status.term === this.lastTerm) return;
    this.lastTerm = status.term;
    for (const request of this.confirming.values()) {
      this.actions.push({ type: 'fail', request, failure: 'term-changed', index: 0, leader: status.leader });
    }
    this.confirming.clear();
  }

  /** Snapshots the applied state every `snapshotEntries` entries. */
  private maybeCompact(): void {
    if (this.node.status().applied - this.snapshotIndex < this.config.snapshotEntries) return;
    this.snapshotApplied();
  }

  private snapshotApplied(): void {
    const snapshot = this.node.compact(this.machineNow.snapshot());
    if (snapshot === null) return;
    this.compacting = true;
    this.snapshotIndex = snapshot.index;
    this.actions.push({ type: 'write-snapshot', snapshot });
  }

  /**
   * The first replica campaigns at start and, while nobody leads, again every
   * few ticks of its first second: its peers may still be starting when the
   * first pre-vote goes out, and waiting for a full election timeout would
   * add up to a second to every open. Pre-vote makes it harmless when a
   * leader exists.
   */
  private campaignsEagerly(): boolean {
    return this.config.raft.id === this.config.raft.peers[0];
  }

  private eagerCampaigning(): boolean {
    return this.campaignsEagerly() && this.ticks < EAGER_CAMPAIGN_TICKS;
  }

  private eagerCampaign(): void {
    const eager = this.eagerCampaigning();
    this.ticks++;
    if (!eager || this.ticks % EAGER_CAMPAIGN_EVERY !== 0) return;
    const status = this.node.status();
    if (status.leader === 0 && status.role === 'follower') this.node.campaign();
  }
}
