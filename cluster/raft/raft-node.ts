/**
 * The Raft consensus algorithm as a pure state machine, in the style of
 * etcd-io/raft: no timers, promises, clock, filesystem or network. Input is
 * `tick()` (abstract time), `step(message)` and the local requests (`propose`,
 * `readIndex`, `proposeConfChange`, `transferLeadership`, `campaign`);
 * output is a `Ready` batch that says what to persist, what to send and what
 * is committed. The caller (the metadata replica actor) does the I/O in the
 * order `ready()` documents, then calls `advance()`.
 *
 * A role change swaps the step and tick functions (`stepRole`, `tickRole`),
 * so per-role behaviour lives in one place per role instead of role checks
 * sprinkled through the code. Comments cite the Raft paper (Ongaro and
 * Ousterhout, 2014) as §N and Ongaro's thesis (2014) as "thesis §N".
 *
 * Imports only the other files of this folder and the `Random` interface.
 */
import { assert, present } from '../../runtime/assert.js';
import { invalidArgument } from '../../runtime/errors.js';
import { bootstrapEntries, isEmptyState, restoreLog, validateConfig } from './bootstrap.js';
import type { Limits } from './bootstrap.js';
import { Configuration } from './configuration.js';
import { EntryLog } from './entry-log.js';
import { Progress } from './progress.js';
import { ReadIndexQueue } from './read-index.js';
import { NONE } from './types.js';
import type {
  AppendRequest,
  AppendResponse,
  ConfChange,
  ConfChangeEntry,
  Entry,
  HardState,
  Heartbeat,
  HeartbeatResponse,
  Message,
  NodeId,
  ProposeResult,
  RaftConfig,
  ReadState,
  Ready,
  Refusal,
  RefusalReason,
  RequestResult,
  RestoredState,
  Role,
  Snapshot,
  SnapshotRequest,
  Status,
  VoteRequest,
  VoteResponse,
} from './types.js';

type ElectionKind = 'pre-election' | 'election' | 'transfer';

const EMPTY_DATA = new Uint8Array(0);

/** One member of a Raft group: feed it ticks and messages, drain `ready()`, call `advance()`. */
export class RaftNode {
  readonly id: NodeId;
  private term = 0;
  private vote: NodeId = NONE;
  private leader: NodeId = NONE;
  private role: Role = 'follower';
  private readonly log: EntryLog;
  private configuration: Configuration;
  /** The last conf-change entry applied to `configuration`. */
  private confAppliedIndex = 0;
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  private readonly votes = new Map<NodeId, boolean>();
  private readonly progress = new Map<NodeId, Progress>();
  private leadTransferee: NodeId = NONE;
  /** The index before which a new conf change may not be proposed (one change at a time). */
  private pendingConfIndex = 0;
  /** This leader has proposed its own removal: it takes no more proposals (see `stepDownAfterRemoval`). */
  private leaving = false;
  private readonly reads = new ReadIndexQueue();
  /** Reads that arrived before this leader committed an entry of its term. */
  private waitingReads: { readonly requestId: string; readonly from: NodeId }[] = [];
  private outbox: Message[] = [];
  private readStates: ReadState[] = [];
  private persistedHardState: HardState = { term: 0, vote: NONE, commit: 0 };
  private outstanding: Ready | null = null;
  private stepRole: (message: Message) => void = (message) => this.stepFollower(message);
  private tickRole: () => void = () => this.tickElection();
  private readonly options: RaftConfig;
  private readonly limits: Limits;

  /**
   * Starts from `restored` (what earlier Ready batches persisted) or, when there is none, bootstraps from
   * `config.peers`.
   */
  constructor(config: RaftConfig, restored?: RestoredState) {
    this.limits = validateConfig(config);
    this.options = config;
    this.id = config.id;
    if (restored !== undefined && !isEmptyState(restored)) {
      this.log = restoreLog(restored);
      this.term = restored.hardState.term;
      this.vote = restored.hardState.vote;
      this.persistedHardState = restored.hardState;
      this.configuration = new Configuration(restored.snapshot ?? { voters: [], learners: [] });
      this.confAppliedIndex = this.log.applied;
    } else {
      const entries = bootstrapEntries(config);
      this.log = new EntryLog();
      for (const entry of entries) this.log.append(entry);
      this.log.commitTo(entries.length);
      this.term = entries.length > 0 ? 1 : 0;
      this.configuration = new Configuration({ voters: config.peers, learners: config.learners ?? [] });
      this.confAppliedIndex = entries.length;
    }
    this.becomeFollower(this.term, NONE);
  }

  // ---------------------------------------------------------------- inputs

  /** Advances logical time by one tick: followers count toward an election, leaders toward a heartbeat. */
  tick(): void {
    this.tickRole();
  }

  /**
   * How many ticks from now the next tick can do something by itself: a
   * follower's or candidate's election timeout, a leader's next heartbeat or
   * check-quorum round (Infinity for a node that never campaigns). Ticks in
   * between only count, so a host may sleep until then instead of waking at
   * every tick, as long as it delivers the elapsed ticks before it steps the
   * next message (leases and timeouts count them).
   */
  ticksUntilDue(): number {
    if (this.role === 'leader') {
      return Math.max(
        1,
        Math.min(
          this.options.heartbeatTicks - this.heartbeatElapsed,
          this.options.electionTicks - this.electionElapsed,
        ),
      );
    }
    if (!this.configuration.isVoter(this.id)) return Number.POSITIVE_INFINITY;
    return Math.max(1, this.randomizedElectionTimeout - this.electionElapsed);
  }

  /** Starts an election now, as if the election timeout had fired (pre-vote first when enabled). */
  campaign(): void {
    if (this.role !== 'leader') this.startElection('pre-election');
  }

  /**
   * Processes one message from a peer. Messages from an older term are
   * answered or dropped here; a newer term makes this node a follower of it
   * first (§5.1: "if one server's current term is smaller than the other's,
   * then it updates its current term to the larger value"); the rest goes to
   * the current role's step function. A message addressed to another node
   * is a routing bug and throws.
   */
  step(message: Message): void {
    assert(message.to === this.id, `message for ${message.to} stepped into node ${this.id}`);
    if (message.from === this.id) return;
    if (message.term > this.term) {
      if (!this.acceptHigherTerm(message)) return;
    } else if (message.term < this.term) {
      this.answerStaleTerm(message);
      return;
    }
    if (message.type === 'vote' || message.type === 'pre-vote') {
      this.handleVoteRequest(message);
      return;
    }
    this.stepRole(message);
  }

  /**
   * Appends `data` as a new entry if this node leads; the result names its index, which commits only if the term
   * survives.
   */
  propose(data: Uint8Array): ProposeResult {
    if (!(data instanceof Uint8Array)) throw invalidArgument('data', 'must be a Uint8Array');
    const refusal = this.refuseProposal();
    if (refusal !== null) return refusal;
    const entry: Entry = Object.freeze({ kind: 'normal', index: this.log.lastIndex() + 1, term: this.term, data });
    this.appendAndReplicate(entry);
    return { ok: true, index: entry.index, term: entry.term };
  }

  /**
   * Proposes one membership change (§6, thesis §4.1). Only one may be in
   * flight: a second is refused until the first is applied, because two
   * single-server changes in flight together could form disjoint majorities.
   * A voter is added by promoting a learner that has caught up with the
   * commit index (thesis §4.2.1), so a new member never stalls commits while
   * it copies the log.
   */
  proposeConfChange(change: ConfChange): ProposeResult {
    const refusal = this.refuseProposal() ?? this.refuseConfChange(change);
    if (refusal !== null) return refusal;
    const entry: ConfChangeEntry = Object.freeze({
      kind: 'conf-change',
      index: this.log.lastIndex() + 1,
      term: this.term,
      change: Object.freeze({ type: change.type, node: change.node }),
    });
    this.pendingConfIndex = entry.index;
    this.leaving = change.type === 'remove-node' && change.node === this.id;
    this.appendAndReplicate(entry);
    return { ok: true, index: entry.index, term: entry.term };
  }

  /**
   * Asks for a linearizable read point (thesis §6.4). A ReadState with this
   * `requestId` appears in a later Ready once a quorum has confirmed this
   * node's leadership; the caller serves the read when applied ≥ its index.
   * A follower forwards the request to its leader. A request lost with a
   * leadership change never completes: the caller's deadline handles it.
   */
  readIndex(requestId: string): RequestResult {
    if (this.role === 'leader') {
      if (this.reads.size + this.waitingReads.length >= this.limits.pendingReads) return this.refuse('too-many-reads');
      this.handleReadRequest(requestId, this.id);
      return { ok: true };
    }
    if (this.leader === NONE) return this.refuse('no-leader');
    this.send({ type: 'read-index', from: this.id, to: this.leader, term: this.term, requestId });
    return { ok: true };
  }

  /**
   * Hands leadership to voter `to` (thesis §3.10): stop taking proposals,
   * bring `to` up to date, then tell it to campaign at once with
   * `timeout-now`. Abandoned if it has not happened within an election timeout.
   */
  transferLeadership(to: NodeId): RequestResult {
    if (this.role !== 'leader') return this.refuse('not-leader');
    if (to === this.id || !this.configuration.isVoter(to)) return this.refuse('invalid-target');
    if (this.leadTransferee === to) return { ok: true };
    this.leadTransferee = to;
    this.electionElapsed = 0;
    const progress = present(this.progress.get(to), `the progress of voter ${to}`);
    if (progress.match === this.log.lastIndex()) this.sendTimeoutNow(to);
    else this.sendAppend(to, true);
    return { ok: true };
  }

  /**
   * Compacts the log through the applied index into a snapshot holding the
   * caller's state-machine image `data` (which must reflect exactly the
   * applied entries) and the membership at that index (§7). The caller
   * persists the returned snapshot (and may then drop the stored entries it
   * covers); the node keeps it to catch up lagging followers. Returns null
   * when there is nothing to compact: nothing applied since the last
   * snapshot, or a snapshot from the leader is still being installed.
   */
  compact(data: Uint8Array): Snapshot | null {
    const index = this.log.applied;
    if (this.log.pendingSnapshot !== null || index < this.log.firstIndex()) return null;
    const snapshot: Snapshot = Object.freeze({
      index,
      term: this.log.termAt(index) as number,
      ...this.configuration.state(),
      data,
    });
    this.log.compact(snapshot);
    return snapshot;
  }

  // ---------------------------------------------------------------- output

  /** True when `ready()` would return a batch. */
  hasReady(): boolean {
    if (this.outstanding !== null) return false;
    return (
      !sameHardState(this.hardState(), this.persistedHardState) ||
      this.log.pendingSnapshot !== null ||
      this.log.unstableEntries().length > 0 ||
      this.outbox.length > 0 ||
      this.readStates.length > 0 ||
      this.log.committed > Math.max(this.log.applied, this.log.firstIndex() - 1)
    );
  }

  /**
   * The next batch of work, or null. The caller must, in order:
   * 1. persist `snapshot`, `entries` and `hardState` durably (fsync);
   * 2. send `messages`;
   * 3. apply `committed` (after restoring the state machine from `snapshot`);
   * 4. call `advance(ready)` before asking for the next Ready.
   * `step`, `tick` and the requests may be called while a Ready is being
   * processed; what they produce goes into the next Ready.
   *
   * Why persist before sending: every message may depend on the durable
   * state. A vote response promises that this node will not vote for anyone
   * else in the term (§5.2); if the vote were lost in a crash it could vote
   * twice and elect two leaders. An append response tells the leader the
   * entries are stored; the leader counts it toward commitment (§5.3), so a
   * follower that forgot them after a crash could un-commit an entry. And a
   * term forgotten in a crash would let a deposed leader's messages back in.
   * Applying after persisting is what makes a committed entry stay committed
   * on this node across restarts.
   */
  ready(): Ready | null {
    assert(this.outstanding === null, 'ready() called again before advance()');
    if (!this.hasReady()) return null;
    const hardState = this.hardState();
    const snapshot = this.log.pendingSnapshot;
    const ready: Ready = {
      ...(sameHardState(hardState, this.persistedHardState) ? {} : { hardState }),
      entries: this.log.unstableEntries(),
      ...(snapshot === null ? {} : { snapshot }),
      messages: this.outbox,
      committed: this.log.committedEntries(),
      readStates: this.readStates,
    };
    this.outbox = [];
    this.readStates = [];
    this.outstanding = ready;
    return ready;
  }

  /**
   * Acknowledges that `ready` was persisted, sent and applied. Committed
   * membership changes take effect here, when applied, as in etcd: a leader
   * that applies its own removal steps down (thesis §4.2.2).
   */
  advance(ready: Ready): void {
    assert(ready === this.outstanding, 'advance() with a Ready that is not the outstanding one');
    this.outstanding = null;
    if (ready.hardState !== undefined) this.persistedHardState = ready.hardState;
    if (ready.snapshot !== undefined) {
      if (this.log.pendingSnapshot === ready.snapshot) this.log.pendingSnapshot = null;
      this.log.applied = Math.max(this.log.applied, ready.snapshot.index);
    }
    const lastEntry = ready.entries[ready.entries.length - 1];
    if (lastEntry !== undefined) this.log.stableTo(lastEntry);
    for (const entry of ready.committed) {
      if (entry.kind === 'conf-change') this.applyConfChange(entry);
    }
    const lastCommitted = ready.committed[ready.committed.length - 1];
    if (lastCommitted !== undefined) this.log.appliedTo(lastCommitted.index);
  }

  /** The node's state as plain data. */
  status(): Status {
    const state = this.configuration.state();
    const base: Status = {
      id: this.id,
      term: this.term,
      vote: this.vote,
      role: this.role,
      leader: this.leader,
      commit: this.log.committed,
      applied: this.log.applied,
      firstIndex: this.log.firstIndex(),
      lastIndex: this.log.lastIndex(),
      voters: state.voters,
      learners: state.learners,
    };
    if (this.role !== 'leader') return base;
    const progress: Record<number, ReturnType<Progress['view']>> = {};
    for (const [id, tracker] of this.progress) progress[id] = tracker.view();
    return { ...base, progress };
  }

  /** Entries in [low, high] still in memory (not compacted), for inspection and tests. */
  entries(low: number, high: number): Entry[] {
    return this.log.slice(Math.max(low, this.log.firstIndex()), high) ?? [];
  }

  // ---------------------------------------------------------------- terms and votes

  /**
   * A message from a newer term. Vote requests are ignored while this node
   * believes a leader is alive (thesis §4.2.3, enabled with check-quorum as
   * in etcd): a server removed from the cluster, or one that was partitioned
   * and kept bumping its term, must not depose a healthy leader. A pre-vote
   * and a granted pre-vote response carry a term nobody is in yet, so they
   * change nothing; anything else makes us a follower of the newer term.
   */
  private acceptHigherTerm(message: Message): boolean {
    if (message.type === 'vote' || message.type === 'pre-vote') {
      const inLease =
        this.options.checkQuorum && this.leader !== NONE && this.electionElapsed < this.options.electionTicks;
      if (inLease && !message.transfer) return false;
    }
    if (message.type === 'pre-vote') return true;
    if (message.type === 'pre-vote-response' && !message.reject) return true;
    const fromLeader = message.type === 'append' || message.type === 'heartbeat' || message.type === 'snapshot';
    this.becomeFollower(message.term, fromLeader ? message.from : NONE);
    return true;
  }

  /**
   * A message from an older term is dropped (§5.1), with two answers. A
   * stale leader's append or heartbeat gets a response carrying our term so
   * it steps down: with check-quorum or pre-vote, this node may have moved to
   * a higher term that the old leader would otherwise never learn, while its
   * lease keeps ignoring our votes. A stale pre-vote gets a rejection so the
   * pre-candidate learns the term.
   */
  private answerStaleTerm(message: Message): void {
    const fromStaleLeader = message.type === 'append' || message.type === 'heartbeat';
    if (fromStaleLeader && (this.options.checkQuorum || this.options.preVote)) {
      this.send(appendResponse(this.id, message.from, this.term, 0, false));
    } else if (message.type === 'pre-vote') {
      this.send(voteResponse('pre-vote-response', this.id, message.from, this.term, true));
    }
  }

  /**
   * §5.2 and §5.4.1: grant at most one vote per term, first come first
   * served, and only to a candidate whose log is at least as up-to-date as
   * ours, so the winner holds every committed entry. A vote is granted
   * again to the same candidate (its request may have been duplicated). A
   * pre-vote for a future term binds nothing and is granted on the log check
   * alone. The granted vote is in the hard state of the Ready that carries
   * the response, so it is durable before the candidate can count it.
   */
  private handleVoteRequest(message: VoteRequest): void {
    const responseType = message.type === 'vote' ? 'vote-response' : 'pre-vote-response';
    const canVote =
      this.vote === message.from ||
      (this.vote === NONE && this.leader === NONE) ||
      (message.type === 'pre-vote' && message.term > this.term);
    if (canVote && this.log.isUpToDate(message.lastLogIndex, message.lastLogTerm)) {
      this.send(voteResponse(responseType, this.id, message.from, message.term, false));
      if (message.type === 'vote') {
        this.electionElapsed = 0;
        this.vote = message.from;
      }
    } else {
      this.send(voteResponse(responseType, this.id, message.from, this.term, true));
    }
  }

  /**
   * Starts a (pre-)election. Pre-vote (thesis §9.6) first asks whether a
   * majority would vote for us at term + 1 without changing any term, so a
   * node that was partitioned away cannot force the cluster into a new term
   * when it rejoins. A leadership transfer skips it: the leader asked for it.
   */
  private startElection(kind: ElectionKind): void {
    if (!this.configuration.isVoter(this.id) || this.hasUnappliedConfChange()) return;
    const preVote = kind === 'pre-election' && this.options.preVote;
    if (preVote) this.becomePreCandidate();
    else this.becomeCandidate();
    const type = preVote ? 'pre-vote' : 'vote';
    const voteTerm = preVote ? this.term + 1 : this.term;
    this.votes.set(this.id, true);
    if (this.configuration.voteResult(this.votes) === 'won') {
      if (preVote) this.startElection('election');
      else this.becomeLeader();
      return;
    }
    for (const voter of this.configuration.voterIds()) {
      if (voter === this.id) continue;
      this.send({
        type,
        from: this.id,
        to: voter,
        term: voteTerm,
        lastLogIndex: this.log.lastIndex(),
        lastLogTerm: this.log.lastTerm(),
        transfer: kind === 'transfer',
      });
    }
  }

  /**
   * A committed membership change not yet applied could remove this node or
   * change the quorum, so it must not campaign until it has applied it.
   */
  private hasUnappliedConfChange(): boolean {
    if (this.log.committed <= this.log.applied) return false;
    const unapplied = this.log.slice(this.log.applied + 1, this.log.committed) ?? [];
    return unapplied.some((entry) => entry.kind === 'conf-change' && entry.index > this.confAppliedIndex);
  }

  // ---------------------------------------------------------------- roles

  private becomeFollower(term: number, leader: NodeId): void {
    this.reset(term);
    this.leader = leader;
    this.role = 'follower';
    this.stepRole = (message) => this.stepFollower(message);
    this.tickRole = () => this.tickElection();
  }

  /** Pre-candidate: asks for pre-votes; term and vote stay as they are (thesis §9.6). */
  private becomePreCandidate(): void {
    this.votes.clear();
    this.leader = NONE;
    this.electionElapsed = 0;
    this.randomizeElectionTimeout();
    this.role = 'pre-candidate';
    this.stepRole = (message) => this.stepCandidate(message);
    this.tickRole = () => this.tickElection();
  }

  /** Candidate: a new term, voting for itself (§5.2). */
  private becomeCandidate(): void {
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = 'candidate';
    this.stepRole = (message) => this.stepCandidate(message);
    this.tickRole = () => this.tickElection();
  }

  /**
   * Leader: every member starts probing just after our last entry (§5.3,
   * "the leader initializes all nextIndex values to the index just after the
   * last one in its log"). The leader appends an empty entry of its own term
   * at once (§8): earlier-term entries can only commit through an entry of
   * the current term (§5.4.2), and until one commits this leader does not
   * know which entries are committed, so it cannot serve reads either.
   */
  private becomeLeader(): void {
    this.reset(this.term);
    this.leader = this.id;
    this.role = 'leader';
    this.stepRole = (message) => this.stepLeader(message);
    this.tickRole = () => this.tickHeartbeat();
    for (const id of this.configuration.members()) {
      if (id !== this.id) this.progress.set(id, new Progress(this.log.lastIndex() + 1, this.limits.inflightAppends));
    }
    const entry: Entry = Object.freeze({
      kind: 'normal',
      index: this.log.lastIndex() + 1,
      term: this.term,
      data: EMPTY_DATA,
    });
    this.pendingConfIndex = entry.index;
    this.appendAndReplicate(entry);
  }

  /** Enters `term` (forgetting the vote if the term changed) and clears all per-role state. */
  private reset(term: number): void {
    if (term !== this.term) {
      this.term = term;
      this.vote = NONE;
    }
    this.leader = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizeElectionTimeout();
    this.votes.clear();
    this.progress.clear();
    this.leadTransferee = NONE;
    this.leaving = false;
    this.reads.clear();
    this.waitingReads = [];
  }

  /**
   * §5.2: "Raft uses randomized election timeouts to ensure that split votes
   * are rare and that they are resolved quickly": each node waits a fresh
   * random number of ticks in [electionTicks, 2 × electionTicks), so after a
   * split vote one candidate usually times out well before the others.
   */
  private randomizeElectionTimeout(): void {
    const base = this.options.electionTicks;
    this.randomizedElectionTimeout = base + this.options.random.int(base);
  }

  // ---------------------------------------------------------------- ticks

  private tickElection(): void {
    this.electionElapsed += 1;
    if (this.configuration.isVoter(this.id) && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.startElection('pre-election');
    }
  }

  /**
   * Leader ticks: a heartbeat every heartbeatTicks (§5.2), and every
   * electionTicks the check-quorum round (thesis §6.2): a leader that has not
   * heard from a majority within an election timeout steps down, so clients
   * stuck with a leader in a minority partition can find the new one, and the
   * followers' lease (see `acceptHigherTerm`) cannot outlive the real one.
   */
  private tickHeartbeat(): void {
    this.heartbeatElapsed += 1;
    this.electionElapsed += 1;
    if (this.electionElapsed >= this.options.electionTicks) {
      this.electionElapsed = 0;
      if (this.options.checkQuorum) {
        const active = this.configuration.hasActiveQuorum(
          this.id,
          (id) => this.progress.get(id)?.recentActive ?? false,
        );
        for (const progress of this.progress.values()) progress.recentActive = false;
        if (!active) {
          this.becomeFollower(this.term, NONE);
          return;
        }
      }
      this.leadTransferee = NONE;
    }
    if (this.heartbeatElapsed >= this.options.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.broadcastHeartbeat(null);
    }
  }

  // ---------------------------------------------------------------- follower

  private stepFollower(message: Message): void {
    switch (message.type) {
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        this.electionElapsed = 0;
        this.leader = message.from;
        this.handleLeaderMessage(message);
        return;
      case 'timeout-now':
        this.startElection('transfer');
        return;
      case 'read-index-response':
        this.readStates.push({ requestId: message.requestId, index: message.index });
        return;
      default:
        return;
    }
  }

  private handleLeaderMessage(message: AppendRequest | Heartbeat | SnapshotRequest): void {
    switch (message.type) {
      case 'append':
        this.handleAppend(message);
        return;
      case 'heartbeat':
        this.log.commitTo(message.commit);
        this.send({
          type: 'heartbeat-response',
          from: this.id,
          to: message.from,
          term: this.term,
          context: message.context,
        });
        return;
      case 'snapshot':
        this.handleSnapshot(message);
        return;
    }
  }

  /**
   * AppendEntries (§5.3). The consistency check: accept only if our log holds
   * the leader's (prevLogIndex, prevLogTerm); by the Log Matching property
   * everything before it then matches too. Entries already present with the
   * same term are kept (a duplicated or reordered append must not cut off
   * later entries); from the first conflicting entry on, ours are deleted and
   * the leader's appended. The commit index follows the leader's, but never
   * past the last entry this message proved to match.
   *
   * On rejection the follower hints at where the logs may match: its last
   * entry at or below prevLogIndex whose term is ≤ prevLogTerm. Every entry
   * above that has a larger term and cannot match, so the leader skips a
   * whole term per round trip instead of one entry (fast backtracking, §5.3
   * "the follower can include the term of the conflicting entry").
   */
  private handleAppend(message: AppendRequest): void {
    if (message.prevLogIndex < this.log.committed) {
      this.send(appendResponse(this.id, message.from, this.term, this.log.committed, false));
      return;
    }
    if (this.log.matchTerm(message.prevLogIndex, message.prevLogTerm)) {
      const lastNew = message.prevLogIndex + message.entries.length;
      const conflict = this.log.findConflict(message.entries);
      if (conflict !== null)
        this.log.truncateAndAppend(message.entries.slice(conflict.index - message.prevLogIndex - 1));
      this.log.commitTo(Math.min(message.commit, lastNew));
      this.send(appendResponse(this.id, message.from, this.term, lastNew, false));
      return;
    }
    const hint = this.log.findConflictByTerm(Math.min(message.prevLogIndex, this.log.lastIndex()), message.prevLogTerm);
    this.send({
      type: 'append-response',
      from: this.id,
      to: message.from,
      term: this.term,
      index: message.prevLogIndex,
      reject: true,
      hintIndex: hint.index,
      hintTerm: hint.term,
    });
  }

  /**
   * InstallSnapshot (§7). A snapshot at or below our commit index is old
   * news. If our log already holds the snapshot's last entry, everything up
   * to it matches, so we only move the commit index and keep the entries
   * after it. Otherwise the snapshot replaces the whole log and membership;
   * the caller persists it and restores its state machine from it.
   */
  private handleSnapshot(message: SnapshotRequest): void {
    const snapshot = message.snapshot;
    if (snapshot.index > this.log.committed) {
      if (this.log.matchTerm(snapshot.index, snapshot.term)) {
        this.log.commitTo(snapshot.index);
      } else {
        this.log.installSnapshot(snapshot);
        this.configuration = new Configuration(snapshot);
        this.confAppliedIndex = snapshot.index;
      }
    }
    this.send(appendResponse(this.id, message.from, this.term, this.log.committed, false));
  }

  // ---------------------------------------------------------------- candidate

  private stepCandidate(message: Message): void {
    switch (message.type) {
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        // §5.2: a candidate that hears from a leader of its own term accepts it and returns to follower.
        this.becomeFollower(this.term, message.from);
        this.handleLeaderMessage(message);
        return;
      case 'vote-response':
      case 'pre-vote-response':
        this.handleVoteResponse(message);
        return;
      default:
        return;
    }
  }

  /** Counts a vote; a quorum of grants wins (a won pre-vote starts the real election), a quorum of rejections loses. */
  private handleVoteResponse(message: VoteResponse): void {
    const expected = this.role === 'pre-candidate' ? 'pre-vote-response' : 'vote-response';
    if (message.type !== expected) return;
    this.votes.set(message.from, !message.reject);
    const result = this.configuration.voteResult(this.votes);
    if (result === 'won') {
      if (this.role === 'pre-candidate') this.startElection('election');
      else this.becomeLeader();
    } else if (result === 'lost') {
      this.becomeFollower(this.term, NONE);
    }
  }

  // ---------------------------------------------------------------- leader

  private stepLeader(message: Message): void {
    switch (message.type) {
      case 'append-response':
        this.handleAppendResponse(message);
        return;
      case 'heartbeat-response':
        this.handleHeartbeatResponse(message);
        return;
      case 'read-index':
        if (this.reads.size + this.waitingReads.length < this.limits.pendingReads) {
          this.handleReadRequest(message.requestId, message.from);
        }
        return;
      default:
        return;
    }
  }

  /**
   * A follower's answer to an append. A rejection moves `next` back to the
   * point the follower's hint allows, mapped onto our log (the largest index
   * ≤ the hint whose term is ≤ the hint's term), and probes again. An
   * acceptance raises `match`, may commit, and keeps the stream going. A
   * transfer target that has caught up is told to campaign.
   */
  private handleAppendResponse(message: AppendResponse): void {
    const progress = this.progress.get(message.from);
    if (progress === undefined) return;
    progress.recentActive = true;
    if (message.reject) {
      const probeFrom =
        message.hintTerm > 0
          ? this.log.findConflictByTerm(message.hintIndex, message.hintTerm).index
          : message.hintIndex;
      if (progress.maybeDecreaseTo(message.index, probeFrom)) this.sendAppend(message.from, true);
      return;
    }
    const wasPaused = progress.isPaused();
    if (!progress.maybeUpdate(message.index)) return;
    if (progress.state === 'probe' || (progress.state === 'snapshot' && progress.match >= progress.pendingSnapshot)) {
      progress.becomeReplicate();
    }
    // A follower that was paused missed the commit index of any broadcast meanwhile: send it at least an empty append.
    if (this.maybeCommit()) this.broadcastAppend();
    else if (wasPaused) this.sendAppend(message.from, true);
    while (this.sendAppend(message.from, false)) {
      // Stream further batches until the window is full or the follower has everything.
    }
    if (message.from === this.leadTransferee && progress.match === this.log.lastIndex()) {
      this.sendTimeoutNow(message.from);
    }
  }

  /**
   * A heartbeat answered: the follower is alive, so a paused probe may go
   * again, and a follower still behind gets an append. In replicate state
   * that append may be empty: if an earlier append was lost, the follower
   * rejects it and we back up; a snapshot that got no answer is resent.
   * A heartbeat that carried a read's id also confirms that read.
   */
  private handleHeartbeatResponse(message: HeartbeatResponse): void {
    const progress = this.progress.get(message.from);
    if (progress === undefined) return;
    progress.recentActive = true;
    progress.heartbeatAnswered();
    if (progress.match < this.log.lastIndex()) {
      if (progress.state === 'snapshot') progress.becomeProbe();
      this.sendAppend(message.from, true);
    }
    if (message.context === null || !this.configuration.isVoter(message.from)) return;
    const confirmed = this.reads.acknowledge(message.context, message.from, (acks) =>
      this.configuration.hasActiveQuorum(this.id, (id) => acks.has(id)),
    );
    for (const read of confirmed) this.answerRead(read.requestId, read.from, read.index);
  }

  /**
   * §5.3 and §5.4.2: the commit index is the highest index stored on a
   * majority of voters, but only if that entry is from the current term.
   * Figure 8 shows why: an entry of an older term can sit on a majority and
   * still be overwritten by a later leader that never had it. Once an entry
   * of the current term is on a majority, no later leader can lack it, and
   * by Log Matching the older entries before it commit with it.
   */
  private maybeCommit(): boolean {
    const index = this.configuration.quorumMatch((id) =>
      id === this.id ? this.log.lastIndex() : (this.progress.get(id)?.match ?? 0),
    );
    if (index <= this.log.committed || this.log.termAt(index) !== this.term) return false;
    this.log.commitTo(index);
    const waiting = this.waitingReads;
    this.waitingReads = [];
    for (const read of waiting) this.handleReadRequest(read.requestId, read.from);
    return true;
  }

  /**
   * Thesis §6.4 (paper §8): a read is linearizable if served at the commit
   * index after a quorum confirms this node is still leader. A new leader
   * does not know the true commit index until it commits an entry of its own
   * term, so reads wait for that; then each read records the commit index
   * and is confirmed by a round of heartbeats carrying its id.
   */
  private handleReadRequest(requestId: string, from: NodeId): void {
    if (this.log.termAt(this.log.committed) !== this.term) {
      this.waitingReads.push({ requestId, from });
      return;
    }
    if (this.configuration.hasActiveQuorum(this.id, () => false)) {
      this.answerRead(requestId, from, this.log.committed);
      return;
    }
    this.reads.add(requestId, from, this.log.committed, this.id);
    this.broadcastHeartbeat(requestId);
  }

  private answerRead(requestId: string, from: NodeId, index: number): void {
    if (from === this.id) this.readStates.push({ requestId, index });
    else this.send({ type: 'read-index-response', from: this.id, to: from, term: this.term, requestId, index });
  }

  private appendAndReplicate(entry: Entry): void {
    this.log.append(entry);
    this.maybeCommit();
    this.broadcastAppend();
  }

  private broadcastAppend(): void {
    for (const id of this.progress.keys()) this.sendAppend(id, true);
  }

  /** Heartbeats carry commit capped at each follower's match, so nobody commits an entry it may not have. */
  private broadcastHeartbeat(context: string | null): void {
    for (const [id, progress] of this.progress) {
      const commit = Math.min(progress.match, this.log.committed);
      this.send({ type: 'heartbeat', from: this.id, to: id, term: this.term, commit, context });
    }
  }

  /**
   * Sends `to` the entries from its `next` index, or the snapshot when they
   * were compacted away. Returns whether a message went out (false when the
   * follower is paused or, unless `sendIfEmpty`, has nothing to receive).
   */
  private sendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const progress = this.progress.get(to);
    if (progress === undefined || progress.isPaused()) return false;
    const prevLogIndex = progress.next - 1;
    const prevLogTerm = this.log.termAt(prevLogIndex);
    const entries = this.log.slice(progress.next, this.log.lastIndex(), this.limits.entriesPerAppend);
    if (prevLogTerm === undefined || entries === undefined) {
      const snapshot = present(this.log.snapshot, `the snapshot that replaced the entries before ${progress.next}`);
      this.send({ type: 'snapshot', from: this.id, to, term: this.term, snapshot });
      progress.becomeSnapshot(snapshot.index);
      return true;
    }
    if (entries.length === 0 && !sendIfEmpty) return false;
    const commit = this.log.committed;
    this.send({ type: 'append', from: this.id, to, term: this.term, prevLogIndex, prevLogTerm, entries, commit });
    progress.sentEntries(prevLogIndex + entries.length, entries.length);
    return true;
  }

  private sendTimeoutNow(to: NodeId): void {
    this.send({ type: 'timeout-now', from: this.id, to, term: this.term });
  }

  // ---------------------------------------------------------------- proposals and membership

  private refuseProposal(): Refusal | null {
    if (this.role !== 'leader') return this.refuse('not-leader');
    // Thesis §3.10: during a transfer the leader stops accepting proposals, or the target might never catch up.
    if (this.leadTransferee !== NONE) return this.refuse('transferring-leadership');
    if (this.leaving) return this.refuse('leader-leaving');
    if (this.log.lastIndex() - this.log.committed >= this.limits.uncommittedEntries)
      return this.refuse('too-many-uncommitted');
    return null;
  }

  private refuseConfChange(change: ConfChange): Refusal | null {
    if (this.pendingConfIndex > this.log.applied) return this.refuse('conf-change-pending');
    const node = change.node;
    if (!Number.isSafeInteger(node) || node <= 0) return this.refuse('invalid-conf-change');
    switch (change.type) {
      case 'add-learner':
        return this.configuration.isMember(node) ? this.refuse('invalid-conf-change') : null;
      case 'add-voter': {
        if (!this.configuration.isLearner(node)) return this.refuse('invalid-conf-change');
        const match = this.progress.get(node)?.match ?? 0;
        return match >= this.log.committed ? null : this.refuse('learner-not-caught-up');
      }
      case 'remove-node': {
        const lastVoter = this.configuration.isVoter(node) && this.configuration.voterIds().length === 1;
        return !this.configuration.isMember(node) || lastVoter ? this.refuse('invalid-conf-change') : null;
      }
      default:
        return this.refuse('invalid-conf-change');
    }
  }

  /**
   * Applies a committed membership change. The leader starts or stops
   * replicating to the member and recomputes its commit index under the new
   * quorum. A leader that removed itself steps down (thesis §4.2.2).
   */
  private applyConfChange(entry: ConfChangeEntry): void {
    if (entry.index <= this.confAppliedIndex) return;
    this.confAppliedIndex = entry.index;
    this.configuration.apply(entry.change);
    if (this.role !== 'leader') return;
    const node = entry.change.node;
    if (entry.change.type === 'remove-node') {
      if (node === this.id) {
        this.stepDownAfterRemoval();
        return;
      }
      this.progress.delete(node);
      if (this.leadTransferee === node) this.leadTransferee = NONE;
    } else if (node !== this.id && !this.progress.has(node)) {
      this.progress.set(node, new Progress(this.log.lastIndex() + 1, this.limits.inflightAppends));
    }
    if (this.maybeCommit()) this.broadcastAppend();
    else if (entry.change.type !== 'remove-node') this.sendAppend(node, true);
  }

  /**
   * The remaining voters apply membership only once they learn the removal
   * committed, so until then they may still need this node's vote, which it
   * grants only to a log at least as up-to-date as its own. That is why a
   * leaving leader took no proposals after its removal entry: its log ends
   * there, and every voter that holds the committed removal qualifies. It
   * also hands over at once (thesis §3.10) to a voter that has its whole
   * log, so nobody waits for an election timeout. (It does not tell the
   * voters the new commit index first: a node that knows of a committed but
   * unapplied membership change does not campaign.)
   */
  private stepDownAfterRemoval(): void {
    for (const [id, progress] of this.progress) {
      if (this.configuration.isVoter(id) && progress.match === this.log.lastIndex()) {
        this.sendTimeoutNow(id);
        break;
      }
    }
    this.becomeFollower(this.term, NONE);
  }

  // ---------------------------------------------------------------- helpers

  private hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  private send(message: Message): void {
    this.outbox.push(message);
  }

  private refuse(reason: RefusalReason): Refusal {
    return { ok: false, reason, leader: this.leader };
  }
}

function appendResponse(from: NodeId, to: NodeId, term: number, index: number, reject: boolean): AppendResponse {
  return { type: 'append-response', from, to, term, index, reject, hintIndex: 0, hintTerm: 0 };
}

function voteResponse(
  type: VoteResponse['type'],
  from: NodeId,
  to: NodeId,
  term: number,
  reject: boolean,
): VoteResponse {
  return { type, from, to, term, reject };
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
