/**
 * A metadata replica: one member of the Raft group that holds the cluster
 * metadata, in its own worker thread. It drives the pure core
 * (`cluster/raft/`) and does its I/O, in the order the core requires:
 *
 *   tick (from ctx.clock) / step (peer messages) / propose / readIndex
 *   → ready() → persist (RaftLogFile: fsync) → send → apply → advance
 *
 * Persisting runs off the mailbox (`pipeToSelf`), so messages that arrive
 * during an fsync are stepped meanwhile and their output forms the next
 * Ready: one fsync covers many proposals (group commit). Committed entries
 * are applied to a `MetadataStore`; a proposal is answered when the entry at
 * its index is applied with its term (another term there means it was
 * superseded, answered UNAVAILABLE so the client retries). Linearizable
 * reads go through ReadIndex and are answered once the applied index reaches
 * the read index; local reads answer the applied state at once. Every
 * `snapshotEntries` applied entries the state is snapshotted and the log
 * compacted. A refusal carries `{ reason, leader }`, the leader hint the
 * client follows.
 */
import type { Actor, ActorContext, Message, Outcome, Responder } from '../runtime/actor.js';
import type { Timer } from '../runtime/clock.js';
import { ShoalError } from '../runtime/errors.js';
import { RaftNode } from '../cluster/raft/index.js';
import type { Entry, HardState, Message as RaftMessage, Ready, Refusal, RestoredState, Snapshot } from '../cluster/raft/index.js';
import { MetadataStore } from '../cluster/metadata.js';
import type { MetadataCommand, MetadataResult, MetadataState } from '../cluster/metadata.js';
import { encodeCommand } from '../cluster/metadata.js';
import { RaftLogFile } from '../storage/raft-log.js';
import { metadataReplicaAddress } from './addresses.js';

/** Arguments of one replica. */
export interface MetadataReplicaArgs {
  /** This replica's Raft id (1, 2, 3, ...). */
  readonly id: number;
  /** Every founding voter's id, this one included. */
  readonly peers: readonly number[];
  /** Its own folder (hard state, log, snapshot). */
  readonly dir: string;
  /** Milliseconds per Raft tick. */
  readonly tickMs: number;
  /** Election timeout in ticks (randomised in [electionTicks, 2 × electionTicks)). */
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  /** Applied entries between snapshots. */
  readonly snapshotEntries: number;
}

/** Messages a replica answers. */
export type MetadataReplicaMessage =
  | { readonly type: 'raft'; readonly message: RaftMessage }
  | { readonly type: 'propose'; readonly command: MetadataCommand }
  /** `linearizable`: through ReadIndex; otherwise the local applied state. */
  | { readonly type: 'read'; readonly linearizable: boolean }
  | { readonly type: 'status' };

/** The answer to `propose`: where the command landed and what applying it answered. */
export interface ProposeAnswer {
  readonly index: number;
  readonly result: MetadataResult;
}

/** The answer to `read`. */
export interface ReadAnswer {
  readonly state: MetadataState;
  /** The replica's applied index when it answered. */
  readonly applied: number;
  /** The leader the replica knows of (0: none). */
  readonly leader: number;
}

/** One replica's view, for operators and tests. */
export interface ReplicaStatus {
  readonly id: number;
  readonly role: string;
  readonly term: number;
  readonly leader: number;
  readonly commit: number;
  readonly applied: number;
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly voters: readonly number[];
  /** Index of the latest snapshot (0: none yet). */
  readonly snapshotIndex: number;
  /** Names of the collections in the applied state. */
  readonly collections: readonly string[];
}

/** Ticks after start during which the first replica campaigns eagerly. */
const EAGER_CAMPAIGN_TICKS = 50;
/** Clock times this close count as equal when ticks are counted. */
const TICK_EPSILON_MS = 1e-6;
/** Ticks between eager campaigns. */
const EAGER_CAMPAIGN_EVERY = 5;

type Internal =
  | { readonly type: 'tick' }
  | { readonly type: 'saved'; readonly outcome: Outcome<void> }
  | { readonly type: 'compacted'; readonly outcome: Outcome<void> };

interface PendingProposal {
  readonly term: number;
  readonly responder: Responder;
}

/** Creates a metadata replica. */
export function createMetadataReplica(args: MetadataReplicaArgs): Actor {
  let log: RaftLogFile<Entry, Snapshot> | null = null;
  let node: RaftNode | null = null;
  let store = new MetadataStore();
  let outstanding: Ready | null = null;
  let compacting = false;
  let snapshotIndex = 0;
  let timer: Timer | null = null;
  /** When `timer` fires. */
  let timerAt = 0;
  /** The clock time up to which ticks were given to the node. */
  let tickAnchor = 0;
  /** The file write in flight (a Ready or a snapshot), awaited by an orderly stop. */
  let writing: Promise<void> | null = null;
  let lastTerm = 0;
  /** Term and vote as last written. */
  let persistedHardState: HardState = { term: 0, vote: 0, commit: 0 };
  let readCounter = 0;
  let ticks = 0;
  const proposals = new Map<number, PendingProposal>();
  /** Reads waiting for the quorum check (ReadIndex), by request id. */
  const confirming = new Map<string, Responder>();
  /** Reads confirmed, waiting for the applied index to reach theirs. */
  let confirmed: { index: number; responder: Responder }[] = [];

  const raft = (): RaftNode => {
    if (node === null) throw new ShoalError('UNAVAILABLE', `metadata replica ${args.id} is starting`);
    return node;
  };

  const refusal = (refused: Refusal, what: string): ShoalError =>
    new ShoalError('UNAVAILABLE', `metadata replica ${args.id} cannot ${what}: ${refused.reason}`, { reason: refused.reason, leader: refused.leader, replica: args.id });

  /**
   * Ticks are counted from the clock rather than delivered one timer at a
   * time: before each message the node gets the ticks that elapsed since the
   * last ones (at most an election timeout's worth, so a stalled thread does
   * not replay a burst of elections), and the one timer is set for the tick
   * at which the node has something to do by itself (`ticksUntilDue`: an
   * election timeout, a heartbeat). The node sees the same ticks in the same
   * order with messages as with a timer per tick, but an idle group wakes
   * for its heartbeats only, not 50 times a second per replica.
   */
  const catchUpTicks = (ctx: ActorContext): void => {
    const current = raft();
    // The timer fires at tickAnchor + due × tickMs exactly; the epsilon keeps float rounding from losing that tick.
    const elapsed = Math.floor((ctx.clock.now() - tickAnchor + TICK_EPSILON_MS) / args.tickMs);
    if (elapsed <= 0) return;
    tickAnchor += elapsed * args.tickMs;
    for (let tick = 0; tick < Math.min(elapsed, args.electionTicks); tick++) {
      current.tick();
      eagerCampaign();
    }
  };

  const scheduleTick = (ctx: ActorContext): void => {
    let due = Math.min(raft().ticksUntilDue(), args.electionTicks);
    if (eagerCampaigning()) due = Math.min(due, EAGER_CAMPAIGN_EVERY - (ticks % EAGER_CAMPAIGN_EVERY));
    const at = tickAnchor + due * args.tickMs;
    if (timer !== null && timerAt === at) return;
    timer?.cancel();
    timerAt = at;
    timer = ctx.clock.setTimer(at - ctx.clock.now(), () => {
      timer = null;
      ctx.tell(ctx.self, { type: 'tick' });
    });
  };

  /** Takes the next Ready, if any and none is outstanding, and starts persisting it. */
  const pump = (ctx: ActorContext): void => {
    if (outstanding !== null || compacting || node === null) return;
    const ready = node.ready();
    if (ready === null) return;
    outstanding = ready;
    const hardState = durableHardState(ready);
    if (hardState === undefined && ready.entries.length === 0 && ready.snapshot === undefined) {
      finish(ctx);
      return;
    }
    writing = (log as RaftLogFile<Entry, Snapshot>).save({ entries: ready.entries, ...(hardState === undefined ? {} : { hardState }), ...(ready.snapshot === undefined ? {} : { snapshot: ready.snapshot }) });
    ctx.pipeToSelf(writing, (outcome): Internal => ({ type: 'saved', outcome }));
  };

  /**
   * The hard state to persist with a Ready: only when the term or the vote
   * changed. The commit index is volatile state in Raft (Figure 2 of the
   * paper): a restarted replica learns it again from the leader, or commits
   * again as leader, and restores at least its snapshot's index. Not writing
   * commit-only changes saves an fsync on every commit.
   */
  const durableHardState = (ready: Ready): HardState | undefined => {
    const next = ready.hardState;
    if (next === undefined || (next.term === persistedHardState.term && next.vote === persistedHardState.vote)) return undefined;
    persistedHardState = next;
    return next;
  };

  /** The outstanding Ready is durable: send, apply, advance, then look for more work. */
  const finish = (ctx: ActorContext): void => {
    const ready = outstanding as Ready;
    const current = raft();
    for (const message of ready.messages) ctx.tell(metadataReplicaAddress(message.to), { type: 'raft', message });
    if (ready.snapshot !== undefined) {
      store = MetadataStore.restore(ready.snapshot.data);
      snapshotIndex = ready.snapshot.index;
    }
    for (const entry of ready.committed) apply(entry);
    for (const read of ready.readStates) {
      const responder = confirming.get(read.requestId);
      confirming.delete(read.requestId);
      if (responder !== undefined) confirmed.push({ index: read.index, responder });
    }
    current.advance(ready);
    outstanding = null;
    serveReads();
    noticeTermChange();
    if (!maybeCompact(ctx)) pump(ctx);
  };

  const apply = (entry: Entry): void => {
    const result = entry.kind === 'normal' ? store.applyData(entry.data) : null;
    const pending = proposals.get(entry.index);
    if (pending === undefined) return;
    proposals.delete(entry.index);
    if (pending.term !== entry.term) {
      pending.responder.fail(new ShoalError('UNAVAILABLE', `metadata proposal at ${entry.index} was superseded by a new leader`, { reason: 'superseded', leader: raft().status().leader }));
      return;
    }
    const answer: ProposeAnswer = { index: entry.index, result: result ?? { ok: true, repeated: false } };
    pending.responder.ok(answer);
  };

  const readAnswer = (): ReadAnswer => {
    const status = raft().status();
    return { state: store.current(), applied: status.applied, leader: status.leader };
  };

  const serveReads = (): void => {
    if (confirmed.length === 0) return;
    const applied = raft().status().applied;
    const waiting: typeof confirmed = [];
    for (const read of confirmed) {
      if (read.index <= applied) read.responder.ok(readAnswer());
      else waiting.push(read);
    }
    confirmed = waiting;
  };

  /** A new term: reads still waiting for a quorum check will not get one from this node; the client retries. */
  const noticeTermChange = (): void => {
    const status = raft().status();
    if (status.term === lastTerm) return;
    lastTerm = status.term;
    for (const responder of confirming.values()) {
      responder.fail(new ShoalError('UNAVAILABLE', `metadata replica ${args.id}: term changed during a read`, { reason: 'term-changed', leader: status.leader }));
    }
    confirming.clear();
  };

  /** Snapshots the applied state every `snapshotEntries` entries; true while the snapshot is being written. */
  const maybeCompact = (ctx: ActorContext): boolean => {
    const current = raft();
    if (current.status().applied - snapshotIndex < args.snapshotEntries) return false;
    const snapshot = current.compact(store.snapshot());
    if (snapshot === null) return false;
    compacting = true;
    writing = (log as RaftLogFile<Entry, Snapshot>).saveSnapshot(snapshot);
    ctx.pipeToSelf(writing, (outcome): Internal => ({ type: 'compacted', outcome }));
    snapshotIndex = snapshot.index;
    return true;
  };

  /**
   * The first replica campaigns at start and, while nobody leads, again every
   * few ticks of its first second: its peers may still be starting when the
   * first pre-vote goes out, and waiting for a full election timeout would
   * add up to a second to every open. Pre-vote makes it harmless when a
   * leader exists.
   */
  const eagerCampaigning = (): boolean => args.id === args.peers[0] && ticks < EAGER_CAMPAIGN_TICKS;
  const eagerCampaign = (): void => {
    const eager = eagerCampaigning();
    ticks++;
    if (!eager || ticks % EAGER_CAMPAIGN_EVERY !== 0) return;
    const status = raft().status();
    if (status.leader === 0 && status.role === 'follower') raft().campaign();
  };

  const propose = (command: MetadataCommand, responder: Responder | null, ctx: ActorContext): void => {
    const result = raft().propose(encodeCommand(command));
    if (!result.ok) throw refusal(result, 'take a metadata write');
    if (responder !== null) proposals.set(result.index, { term: result.term, responder });
    pump(ctx);
  };

  const read = (linearizable: boolean, responder: Responder | null, ctx: ActorContext): void => {
    if (!linearizable) {
      responder?.ok(readAnswer());
      return;
    }
    const requestId = `${args.id}:${++readCounter}`;
    const result = raft().readIndex(requestId);
    if (!result.ok) throw refusal(result, 'serve a linearizable read');
    if (responder !== null) confirming.set(requestId, responder);
    pump(ctx);
  };

  const status = (): ReplicaStatus => {
    const state = raft().status();
    return {
      id: state.id,
      role: state.role,
      term: state.term,
      leader: state.leader,
      commit: state.commit,
      applied: state.applied,
      firstIndex: state.firstIndex,
      lastIndex: state.lastIndex,
      voters: state.voters,
      snapshotIndex,
      collections: store.current().collections.map((entry) => entry.name),
    };
  };

  return {
    async start(ctx: ActorContext) {
      log = await RaftLogFile.open<Entry, Snapshot>(ctx.fs, args.dir);
      const stored = log.load();
      if (stored.snapshot !== null) {
        store = MetadataStore.restore(stored.snapshot.data);
        snapshotIndex = stored.snapshot.index;
      }
      persistedHardState = stored.hardState;
      const restored: RestoredState = { hardState: stored.hardState, entries: stored.entries, snapshot: stored.snapshot };
      node = new RaftNode({ id: args.id, peers: args.peers, electionTicks: args.electionTicks, heartbeatTicks: args.heartbeatTicks, preVote: true, checkQuorum: true, random: ctx.random }, restored);
      lastTerm = node.status().term;
      if (log.recovery.truncatedBytes > 0) ctx.log.warn('raft-log-torn-tail-cut', { replica: args.id, bytes: log.recovery.truncatedBytes });
      // The first replica stands for election at once, so a cluster leads within one round trip instead of an election timeout.
      if (args.id === args.peers[0]) node.campaign();
      tickAnchor = ctx.clock.now();
      scheduleTick(ctx);
      pump(ctx);
    },
    receive(raw: Message, ctx: ActorContext, responder: Responder | null) {
      catchUpTicks(ctx);
      try {
        handle(raw as MetadataReplicaMessage | Internal, ctx, responder);
      } finally {
        scheduleTick(ctx);
      }
    },
    async stop() {
      timer?.cancel();
      await writing?.catch(() => undefined);
      await log?.close();
    },
  };

  function handle(message: MetadataReplicaMessage | Internal, ctx: ActorContext, responder: Responder | null): void {
    switch (message.type) {
      case 'tick':
        noticeTermChange();
        return pump(ctx);
      case 'raft':
        raft().step(message.message);
        noticeTermChange();
        return pump(ctx);
      // A replica that cannot persist must not go on (it would vote or acknowledge what it may forget): the
      // thrown Error crashes it, and its restart recovers from what is on disk.
      case 'saved':
        if (!message.outcome.ok) throw new Error(`metadata replica ${args.id} could not persist its Raft state: ${message.outcome.error.message}`);
        return finish(ctx);
      case 'compacted':
        if (!message.outcome.ok) throw new Error(`metadata replica ${args.id} could not write its snapshot: ${message.outcome.error.message}`);
        compacting = false;
        return pump(ctx);
      case 'propose':
        return propose(message.command, responder, ctx);
      case 'read':
        return read(message.linearizable, responder, ctx);
      case 'status':
        return responder?.ok(status());
      default:
        throw new ShoalError('INVALID_ARGUMENT', `metadata replica cannot handle ${(message as Message).type}`);
    }
  }
}
