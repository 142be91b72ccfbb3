/**
 * A metadata replica: one member of the Raft group that holds the cluster
 * metadata, in its own worker thread. The serving logic (tick accounting,
 * persistence sequencing, proposals, ReadIndex reads, compaction) is the
 * pure `ReplicaDriver` (`cluster/raft/replica-driver.ts`); this actor turns
 * messages into driver events and performs the actions the driver returns:
 * persist through `RaftLogFile` (fsync), tell peers, answer responders.
 *
 * Persisting runs off the mailbox (`pipeToSelf`), so messages that arrive
 * during an fsync are stepped meanwhile and their output forms the next
 * Ready: one fsync covers many proposals (group commit). Committed entries
 * are applied to a `ClusterStore`; a proposal whose entry was superseded is
 * answered UNAVAILABLE so the client retries. Local reads answer the applied
 * state at once. A refusal carries `{ reason, leader }`, the leader hint the
 * client follows.
 */
import type { Actor, ActorContext, Message, Outcome, Responder } from '../runtime/actor.js';
import type { Timer } from '../runtime/clock.js';
import { unreachable } from '../runtime/assert.js';
import { ShoalError } from '../runtime/errors.js';
import type { Entry, Message as RaftMessage, Refusal, Snapshot } from '../cluster/raft/index.js';
import { ReplicaDriver } from '../cluster/raft/replica-driver.js';
import type { ReplicaAction, ReplicaMachine } from '../cluster/raft/replica-driver.js';
import { ClusterStore } from '../cluster/metadata.js';
import type { ClusterCommand, ClusterResult, ClusterState } from '../cluster/metadata.js';
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
  | { readonly type: 'propose'; readonly command: ClusterCommand }
  /** `linearizable`: through ReadIndex; otherwise the local applied state. */
  | { readonly type: 'read'; readonly linearizable: boolean }
  | { readonly type: 'status' };

/** The answer to `propose`: where the command landed and what applying it answered. */
export interface ProposeAnswer {
  readonly index: number;
  readonly result: ClusterResult;
}

/** The answer to `read`. */
export interface ReadAnswer {
  readonly state: ClusterState;
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

type Internal =
  | { readonly type: 'tick' }
  | { readonly type: 'saved'; readonly token: number; readonly outcome: Outcome<void> }
  | { readonly type: 'compacted'; readonly outcome: Outcome<void> };

type Driver = ReplicaDriver<Responder | null, ClusterResult, ClusterState>;
type Action = ReplicaAction<Responder | null, ClusterResult, ClusterState>;

/** The answer a proposal gets for a leader's empty entry or a membership change (never proposed by a client). */
const APPLIED: ClusterResult = { ok: true, repeated: false };

const READ_WHAT = 'serve a linearizable read';

/** `ClusterStore` as the driver's state machine. */
function metadataMachine(snapshot: Snapshot | null): ReplicaMachine<ClusterResult, ClusterState> {
  const store = snapshot === null ? new ClusterStore() : ClusterStore.restore(snapshot.data);
  return {
    apply: (entry: Entry) => (entry.kind === 'normal' ? store.applyData(entry.data) : null) ?? APPLIED,
    snapshot: () => store.snapshot(),
    view: () => store.current(),
  };
}

/** Creates a metadata replica. */
export function createMetadataReplica(args: MetadataReplicaArgs): Actor {
  return new MetadataReplica(args);
}

/** The replica actor: its state, the message dispatch and the I/O the driver asks for. */
class MetadataReplica implements Actor {
  private log: RaftLogFile<Entry, Snapshot> | null = null;
  private driver: Driver | null = null;
  private timer: Timer | null = null;
  /** When `timer` fires. */
  private timerAt = 0;
  /** The file write in flight (a Ready or a snapshot), awaited by an orderly stop. */
  private writing: Promise<void> | null = null;

  constructor(private readonly args: MetadataReplicaArgs) {}

  async start(ctx: ActorContext): Promise<void> {
    const args = this.args;
    this.log = await RaftLogFile.open<Entry, Snapshot>(ctx.fs, args.dir);
    const stored = this.log.load();
    const raft = {
      id: args.id,
      peers: args.peers,
      electionTicks: args.electionTicks,
      heartbeatTicks: args.heartbeatTicks,
      preVote: true,
      checkQuorum: true,
      random: ctx.random,
    };
    this.driver = new ReplicaDriver({
      raft,
      restored: { hardState: stored.hardState, entries: stored.entries, snapshot: stored.snapshot },
      tickMs: args.tickMs,
      snapshotEntries: args.snapshotEntries,
      // A nonce per incarnation: read ids restart with the actor, and a late ReadIndex answer meant for the
      // previous incarnation must not confirm a new read at an older index.
      readIdPrefix: `${args.id}:${ctx.random.int(2 ** 30).toString(36)}:`,
      restore: metadataMachine,
    });
    if (this.log.recovery.truncatedBytes > 0) {
      ctx.log.warn('raft-log-torn-tail-cut', { replica: args.id, bytes: this.log.recovery.truncatedBytes });
    }
    this.perform(this.driver.start(ctx.clock.now()), ctx);
    this.scheduleTick(ctx);
  }

  receive(raw: Message, ctx: ActorContext, responder: Responder | null): void {
    try {
      this.handle(raw as MetadataReplicaMessage | Internal, ctx, responder);
    } finally {
      this.scheduleTick(ctx);
    }
  }

  async stop(): Promise<void> {
    this.timer?.cancel();
    await this.writing?.catch(() => undefined);
    await this.log?.close();
  }

  /**
   * Every message holds the mailbox only while it is handled, synchronously: the file writes the
   * driver asks for run concurrently (pipeToSelf) and come back as 'saved' / 'compacted', and the
   * driver releases what waited on them; peer messages and requests are stepped meanwhile.
   */
  private handle(message: MetadataReplicaMessage | Internal, ctx: ActorContext, responder: Responder | null): void {
    const driver = this.replica();
    const nowMs = ctx.clock.now();
    switch (message.type) {
      case 'tick':
        return this.perform(driver.tick(nowMs), ctx);
      case 'raft':
        return this.perform(driver.step(nowMs, message.message), ctx);
      // A replica that cannot persist must not go on (it would vote or acknowledge what it may forget): the
      // thrown Error crashes it, and its restart recovers from what is on disk.
      case 'saved':
        if (!message.outcome.ok) {
          const why = message.outcome.error.message;
          throw new Error(`metadata replica ${this.args.id} could not persist its Raft state: ${why}`);
        }
        return this.perform(driver.persisted(nowMs, message.token), ctx);
      case 'compacted':
        if (!message.outcome.ok) {
          const why = message.outcome.error.message;
          throw new Error(`metadata replica ${this.args.id} could not write its snapshot: ${why}`);
        }
        return this.perform(driver.compacted(nowMs), ctx);
      case 'propose':
        return this.perform(driver.propose(nowMs, encodeCommand(message.command), responder), ctx);
      case 'read':
        return this.perform(driver.read(nowMs, responder, message.linearizable), ctx);
      case 'status':
        driver.elapse(nowMs);
        return responder?.ok(this.status(driver));
      default:
        return unreachable(message, 'metadata replica message');
    }
  }

  private replica(): Driver {
    if (this.driver === null) throw new ShoalError('UNAVAILABLE', `metadata replica ${this.args.id} is starting`);
    return this.driver;
  }

  /** One timer, for the tick at which the core has something to do by itself. */
  private scheduleTick(ctx: ActorContext): void {
    if (this.driver === null) return;
    const at = this.driver.nextTickAtMs();
    if (this.timer !== null && this.timerAt === at) return;
    this.timer?.cancel();
    this.timerAt = at;
    this.timer = ctx.clock.setTimer(at - ctx.clock.now(), () => {
      this.timer = null;
      ctx.tell(ctx.self, { type: 'tick' });
    });
  }

  private perform(actions: readonly Action[], ctx: ActorContext): void {
    for (const action of actions) this.performOne(action, ctx);
  }

  private performOne(action: Action, ctx: ActorContext): void {
    const log = this.log as RaftLogFile<Entry, Snapshot>;
    switch (action.type) {
      case 'persist':
        this.writing = log.save(action.write);
        ctx.pipeToSelf(this.writing, (outcome): Internal => ({ type: 'saved', token: action.token, outcome }));
        return;
      case 'write-snapshot':
        this.writing = log.saveSnapshot(action.snapshot);
        ctx.pipeToSelf(this.writing, (outcome): Internal => ({ type: 'compacted', outcome }));
        return;
      case 'send':
        for (const message of action.messages) ctx.tell(metadataReplicaAddress(message.to), { type: 'raft', message });
        return;
      case 'answer-proposal':
        return action.request?.ok({ index: action.index, result: action.result } satisfies ProposeAnswer);
      case 'answer-read':
        return action.request?.ok({
          state: action.view,
          applied: action.applied,
          leader: action.leader,
        } satisfies ReadAnswer);
      case 'fail':
        return action.request?.fail(this.failure(action));
      // Refused before anything else was done: the thrown error answers the asker.
      case 'refuse':
        throw this.refusal(action.refusal, action.operation === 'propose' ? 'take a metadata write' : READ_WHAT);
      default:
        return unreachable(action, 'metadata replica action');
    }
  }

  private refusal(refused: Refusal, what: string): ShoalError {
    const details = { reason: refused.reason, leader: refused.leader, replica: this.args.id };
    return new ShoalError('UNAVAILABLE', `metadata replica ${this.args.id} cannot ${what}: ${refused.reason}`, details);
  }

  private failure(action: Extract<Action, { type: 'fail' }>): ShoalError {
    const details = { reason: action.failure, leader: action.leader };
    if (action.failure === 'superseded') {
      const what = `metadata proposal at ${action.index} was superseded by a new leader`;
      return new ShoalError('UNAVAILABLE', what, details);
    }
    return new ShoalError('UNAVAILABLE', `metadata replica ${this.args.id}: term changed during a read`, details);
  }

  private status(driver: Driver): ReplicaStatus {
    const state = driver.status();
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
      snapshotIndex: state.snapshotIndex,
      collections: driver.machine.view().collections.map((entry) => entry.name),
    };
  }
}
