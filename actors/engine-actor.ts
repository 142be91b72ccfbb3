/**
 * The engine actor of one shard: the shard's tiers (a ShardStore: active
 * memtable, a bounded queue of frozen memtables, immutable VIPER segments)
 * and the I/O that moves data between them. On start it loads the segment
 * set, deletes leftovers of crashed builds, opens the segments and replays
 * only the WAL above the checkpoint. A memtable past the flush threshold is
 * frozen into the queue, and the oldest frozen memtable is built into a
 * segment (Parquet + HNSW) in a piscina thread while this actor keeps
 * answering; the finished segment is swapped in, the segment set is made
 * durable, and only then is the WAL checkpointed. Size-tiered compaction
 * merges adjacent segments the same way, alongside flushes (one of each at a
 * time). When the queue is full and the active memtable past the threshold,
 * writes are held (a write stall) until a flush makes room; searches and gets
 * are answered throughout. Stopping aborts running builds cooperatively.
 *
 * The decisions are pure modules of `storage/engine/`: when to freeze, flush,
 * compact and optimize (`BuildScheduler`), which LSNs are applied and which
 * are durable in segments (`LsnWatermark`), what the settings mean
 * (`resolveEnginePolicy`), the held writes (`WriteStall`). This file
 * translates messages into their events and carries out their actions.
 * Every completion comes back as a message, so state changes only inside
 * `receive`.
 */
import type { Actor, ActorContext, Message, Outcome, Responder } from '../runtime/actor.js';
import { assert, present, unreachable } from '../runtime/assert.js';
import { ShoalError } from '../runtime/errors.js';
import type { FileSystem } from '../runtime/fs.js';
import { threadDyingFlag } from '../runtime/thread.js';
import { BuildScheduler } from '../storage/engine/build-scheduler.js';
import type { BuildAction, BuildEvent, BuildKind, OptimizeFailure } from '../storage/engine/build-scheduler.js';
import type { TierShape } from '../storage/engine/build-scheduler.js';
import { BUILD_RETRY_MS, BUILD_THREADS, DEFAULT_REPLAY_PAGE_RECORDS } from '../storage/engine/engine-policy.js';
import { resolveEnginePolicy } from '../storage/engine/engine-policy.js';
import type { ResolvedEnginePolicy } from '../storage/engine/engine-policy.js';
import { LsnWatermark } from '../storage/engine/lsn-watermark.js';
import { SegmentPins } from '../storage/engine/segment-pins.js';
import type { PinnedSegment, ShardPin } from '../storage/engine/segment-pins.js';
import { WriteStall } from '../storage/engine/write-stall.js';
import type { WriteStallStats } from '../storage/engine/write-stall.js';
import { compileFilter } from '../storage/filter.js';
import { batchRows } from '../storage/record-batch.js';
import type { RecordBatch } from '../storage/record-batch.js';
import { ShardStore } from '../storage/shard-store.js';
import type { ScannedRecord, ShardStoreStats } from '../storage/shard-store.js';
import { confineRenames } from '../storage/storage-backend.js';
import type { EngineSettings, Hit, Metric, StoredRecord } from '../storage/types.js';
import { abortBuild, createBuildAbortFlag, isBuildAbortedError } from '../storage/viper/build-abort.js';
import type { BuildAbortFlag } from '../storage/viper/build-abort.js';
import { SegmentBuildPool } from '../storage/viper/build-pool.js';
import { mergeRows } from '../storage/viper/compaction.js';
import { Segment } from '../storage/viper/segment.js';
import { buildSegment } from '../storage/viper/segment-builder.js';
import type { SegmentBuildOptions } from '../storage/viper/segment-builder.js';
import type { SegmentRows } from '../storage/viper/segment-rows.js';
import { removeSegment } from '../storage/viper/segment-files.js';
import { segmentFileNames } from '../storage/viper/manifest.js';
import { EMPTY_SEGMENT_SET, openSegmentSet, readSegmentSet, segmentName } from '../storage/viper/segment-set.js';
import { writeSegmentSet } from '../storage/viper/segment-set.js';
import type { SegmentSet } from '../storage/viper/segment-set.js';
import { LatencyWindow } from './latency-window.js';
import type { OptimizeResult } from './public-api.js';
import type { CheckedQuery } from './read-protocol.js';
import type { ReplayPage, WalWriterMessage } from './wal-writer-actor.js';

/** Arguments of an engine. */
export interface EngineArgs {
  readonly dimension: number;
  readonly metric: Metric;
  /** The address of this shard's WAL writer, replayed on start and checkpointed after flushes. */
  readonly wal: string;
  /** This shard's segment folder; without one the engine keeps everything in memory (no flushes). */
  readonly viperDir?: string;
  readonly settings?: EngineSettings;
  /** Records asked of the WAL writer per replay page. */
  readonly replayPageRecords?: number;
  /**
   * Build segments in this actor's own thread, through `ctx.fs` and `ctx.clock`,
   * instead of in a piscina thread: for the deterministic simulator (with the
   * `lsm` policy, since HNSW index files need a real disk). Blocks the engine
   * while it builds.
   */
  readonly buildInThread?: boolean;
  /**
   * Tests only: every HNSW point of a build pauses this long (`SegmentBuildOptions.pointPauseMs`),
   * so builds are slow but still abort at once.
   */
  readonly buildPointPauseMs?: number;
}

/**
 * Messages an engine answers. `apply` is answered once applied: at once, or
 * during a write stall once a flush makes room (or TIMEOUT at its deadline,
 * the batch still to be applied).
 */
export type EngineMessage =
  | { readonly type: 'apply'; readonly batch: RecordBatch }
  /**
   * Queries answered in one turn, hits per query in query order; query i's
   * vector is `vectors[i × dimension, (i + 1) × dimension)`.
   */
  | {
      readonly type: 'search';
      readonly vectors: Float32Array;
      readonly dimension: number;
      readonly queries: readonly CheckedQuery[];
    }
  | { readonly type: 'get'; readonly ids: readonly string[] }
  /** The first `limit` live records with ids above `afterId` that match `filter`, ascending by id (ScannedRecord[]). */
  | {
      readonly type: 'scroll';
      readonly filter: unknown;
      readonly afterId: string | null;
      readonly limit: number;
      readonly withVectors: boolean;
    }
  /** The live records matching `filter`, exactly (a number). */
  | { readonly type: 'count'; readonly filter: unknown }
  /**
   * Flushes the memtable and merges every segment into one (one HNSW graph to
   * search); answered with its shard's OptimizeResult once that merge commits.
   */
  | { readonly type: 'optimize' }
  /**
   * Applies what the WAL holds from the first LSN this engine has not
   * received: told by a (re)started shard, because a shard that died between
   * the WAL's acknowledgement and its apply left records that are durable but
   * not in the engine (they would appear only at the engine's next restart).
   */
  | { readonly type: 'catch-up' }
  | { readonly type: 'stats' }
  /**
   * A backup's cut of this shard, taken in one turn: its LSN, checkpoint and
   * live segments, answered as a ShardPin. The segments stay on disk and the
   * WAL above the checkpoint stays readable until `backup-unpin`, or until
   * `leaseMs` passes (a backup whose supervisor died never holds them for good).
   */
  | { readonly type: 'backup-pin'; readonly leaseMs: number }
  /** Releases a backup pin; answered `{ held }`, false when the pin was gone (a restart or an expired lease). */
  | { readonly type: 'backup-unpin'; readonly pin: string };

/** Completions and timers an engine sends itself. */
type EngineSelfMessage =
  | { readonly type: 'flushed'; readonly outcome: Outcome<Segment>; readonly maxLsn: number }
  | { readonly type: 'compacted'; readonly outcome: Outcome<Segment | null>; readonly inputs: readonly Segment[] }
  | { readonly type: 'retry-builds' }
  | { readonly type: 'held-deadline' }
  /** A page of a catch-up read from the WAL (see `catch-up`). */
  | { readonly type: 'catch-up-page'; readonly outcome: Outcome<ReplayPage> }
  /** A backup pin's lease ran out. */
  | { readonly type: 'backup-pin-expired'; readonly pin: string };

/** The self message of one type. */
type SelfMessage<T extends EngineSelfMessage['type']> = Extract<EngineSelfMessage, { readonly type: T }>;

/** Every message an engine's `receive` handles. */
type EngineInbox = EngineMessage | EngineSelfMessage;

/**
 * What an engine reports in stats: its tiers, counters, and write stalls
 * (`writesHeld` and `heldBytes` now; `heldBytes` is part of `memoryBytes`).
 */
export interface EngineStats extends ShardStoreStats, WriteStallStats {
  readonly rows: number;
  readonly memoryBytes: number;
  readonly segmentBytes: number;
  readonly checkpointLsn: number;
  readonly replayedRecords: number;
  readonly searches: number;
  readonly applied: number;
  readonly flushes: number;
  readonly compactions: number;
  /** Builds running: 0 to 2 (a flush and a compaction may run side by side). */
  readonly buildsRunning: number;
  readonly buildFailures: number;
  readonly buildMsTotal: number;
  readonly searchP50Ms: number;
  readonly searchP99Ms: number;
}

const REPLAY_TIMEOUT_MS = 120_000;
/** How long a flush waits for the WAL's fdatasync. */
const WAL_SYNC_TIMEOUT_MS = 60_000;
const WAL_CHECKPOINT_TIMEOUT_MS = 60_000;
/** A hole that outlives this many batches after it is filled by a catch-up of the engine's own. */
const RANGES_AHEAD_MAX = 1_024;
const SEARCH_LATENCY_SAMPLES = 1_024;

/** The counters an engine reports in stats. */
interface EngineCounters {
  replayedRecords: number;
  searches: number;
  applied: number;
  flushes: number;
  compactions: number;
  buildFailures: number;
  buildMsTotal: number;
}

/** Where an engine keeps its segments: its folder, through a filesystem whose renames stay inside it. */
interface SegmentFolder {
  readonly fs: FileSystem;
  readonly dir: string;
}

/** Everything one engine holds, declared here and nowhere else. */
interface Engine {
  readonly args: EngineArgs;
  readonly policy: ResolvedEnginePolicy;
  readonly store: ShardStore;
  /** Writes held during a write stall, with their askers. */
  readonly stall: WriteStall<RecordBatch, Responder>;
  /** When to freeze, flush, compact and optimize; its optimize callers are the askers' responders. */
  readonly scheduler: BuildScheduler<Responder>;
  /** Which LSNs are applied here and which are durable in segments; set from the segment set at start. */
  watermark: LsnWatermark;
  readonly counters: EngineCounters;
  readonly latency: LatencyWindow;
  /** Set once, on stop: every build of this engine, in a pool thread or in this one, gives up at its next check. */
  readonly abort: BuildAbortFlag;
  readonly buildOptions: SegmentBuildOptions;
  /** `buildOptions` for pool threads, which also watch this thread's dying flag. */
  readonly poolBuildOptions: SegmentBuildOptions;
  /** The segment folder once started; null for an engine kept in memory. */
  folder: SegmentFolder | null;
  pool: SegmentBuildPool | null;
  /** The segment set as last saved: segment names and the next name; its checkpoint is the watermark's. */
  set: SegmentSet;
  /** Segment-set writes in call order, each followed by what waited for it. */
  setWrites: Promise<void>;
  /** Builds not yet settled (stop waits for them). */
  readonly builds: Set<Promise<unknown>>;
  /** A catch-up read of the WAL: told to run, running, and the records it applied so far. */
  readonly catchUp: { queued: boolean; running: boolean; records: number };
  /** Segments and the WAL checkpoint held still for backups. */
  readonly pins: SegmentPins;
}

/** Creates the engine actor of one shard. */
export function createEngine(args: EngineArgs): Actor {
  const engine = newEngine(args);
  return {
    start: (ctx) => start(engine, ctx),
    // Any message type outside the union reaches the switch's `unreachable`.
    receive: (message: Message, ctx, responder) => receive(engine, message as EngineInbox, ctx, responder),
    stop: (ctx) => stop(engine, ctx),
  };
}

function newEngine(args: EngineArgs): Engine {
  const policy = resolveEnginePolicy(args.settings);
  const abort = createBuildAbortFlag();
  const buildOptions: SegmentBuildOptions = {
    metric: args.metric,
    indexThresholdRows: policy.indexThresholdRows,
    ...(policy.hnswM === undefined ? {} : { M: policy.hnswM }),
    ...(policy.hnswEfConstruction === undefined ? {} : { efConstruction: policy.hnswEfConstruction }),
    ...(args.buildPointPauseMs === undefined ? {} : { pointPauseMs: args.buildPointPauseMs }),
    abort,
  };
  // Pool builds also watch this thread's dying flag: a killed engine thread takes its build threads with it,
  // and one cut inside hnswlib aborts the process.
  const dying = threadDyingFlag();
  const scheduler = new BuildScheduler<Responder>({
    flushThresholdRows: policy.flushThresholdRows,
    frozenMemtablesMax: policy.frozenMemtablesMax,
    retryMs: BUILD_RETRY_MS,
    persistent: args.viperDir !== undefined,
  });
  return {
    args,
    policy,
    store: new ShardStore(args.dimension, args.metric, policy.frozenMemtablesMax),
    stall: new WriteStall<RecordBatch, Responder>(batchBytes),
    scheduler,
    watermark: new LsnWatermark(),
    counters: {
      replayedRecords: 0,
      searches: 0,
      applied: 0,
      flushes: 0,
      compactions: 0,
      buildFailures: 0,
      buildMsTotal: 0,
    },
    latency: new LatencyWindow(SEARCH_LATENCY_SAMPLES),
    abort,
    buildOptions,
    poolBuildOptions: dying === undefined ? buildOptions : { ...buildOptions, threadDying: dying },
    folder: null,
    pool: null,
    set: EMPTY_SEGMENT_SET,
    setWrites: Promise.resolve(),
    builds: new Set(),
    catchUp: { queued: false, running: false, records: 0 },
    pins: new SegmentPins(),
  };
}

// ------------------------------------------------------------------ lifecycle

async function start(engine: Engine, ctx: ActorContext): Promise<void> {
  const { args, store } = engine;
  if (args.viperDir !== undefined) {
    const fs = confineRenames(ctx.fs, args.viperDir);
    engine.folder = { fs, dir: args.viperDir };
    await ctx.fs.mkdir(args.viperDir);
    engine.set = await readSegmentSet(fs, args.viperDir);
    store.load(await openSegmentSet(fs, args.viperDir, engine.set));
  }
  const checkpointLsn = engine.set.checkpointLsn;
  const walEnd = await replay(ctx, checkpointLsn + 1, args, (batch) => {
    store.apply(batch);
    engine.counters.replayedRecords += batchRows(batch);
  });
  engine.watermark = new LsnWatermark(checkpointLsn, walEnd);
  if (checkpointLsn > 0) {
    // Before the shard takes writes: new LSNs must be above the checkpoint, or replay would skip them.
    const skip: WalWriterMessage = { type: 'skip-past', lsn: checkpointLsn };
    await ctx.ask(args.wal, skip, { timeoutMs: REPLAY_TIMEOUT_MS });
    // A skip moves the log's end up to the checkpoint, which the watermark already covers.
    ctx.tell(args.wal, { type: 'checkpoint', lsn: checkpointLsn } satisfies WalWriterMessage);
  }
  const replayed = engine.counters.replayedRecords;
  ctx.log.info('engine-started', { segments: store.segments.length, replayed, checkpointLsn });
  drive(engine, { type: 'rows-applied' }, ctx);
}

/**
 * One message. No engine handler holds the mailbox: each runs to its end in
 * the turn and returns nothing for the cell to await (the `void` return type
 * keeps it so: a handler that returned a promise fails the typecheck, since
 * the cell would then hold the mailbox until it settles). What takes longer runs
 * concurrently and comes back as a self message: builds (`flushed`,
 * `compacted`), catch-up reads (`catch-up-page`), timers (`retry-builds`,
 * `held-deadline`); segment-set writes chain among themselves.
 */
function receive(engine: Engine, message: EngineInbox, ctx: ActorContext, responder: Responder | null): void {
  switch (message.type) {
    case 'apply':
      return write(engine, message.batch, responder, ctx);
    case 'search':
      return responder?.ok(search(engine, message, ctx));
    case 'get':
      return responder?.ok(get(engine, message.ids));
    case 'scroll':
      return responder?.ok(scroll(engine, message));
    case 'count':
      return responder?.ok(engine.store.count(compileFilter(message.filter)));
    case 'optimize':
      return drive(engine, { type: 'optimize-requested', waiter: responder }, ctx);
    case 'catch-up':
      return startCatchUp(engine, ctx);
    case 'stats':
      return responder?.ok(stats(engine, ctx));
    case 'flushed':
      return flushed(engine, message, ctx);
    case 'compacted':
      return compacted(engine, message, ctx);
    case 'retry-builds':
      return drive(engine, { type: 'retry-due' }, ctx);
    case 'held-deadline':
      engine.stall.expire(ctx.clock.now());
      return undefined;
    case 'catch-up-page':
      return catchUpPage(engine, message, ctx);
    case 'backup-pin':
      return responder?.ok(pinForBackup(engine, message.leaseMs, ctx));
    case 'backup-unpin':
      return responder?.ok({ held: unpinBackup(engine, message.pin, ctx) });
    case 'backup-pin-expired':
      if (unpinBackup(engine, message.pin, ctx)) ctx.log.warn('backup-pin-expired', { pin: message.pin });
      return undefined;
    default:
      return unreachable(message, 'engine message');
  }
}

/**
 * Orderly stop: aborts running builds (they give up at their next HNSW
 * point or step, publishing nothing; the WAL still covers their rows),
 * answers held writes UNAVAILABLE (they are in the WAL: the restarted
 * engine replays them), then waits for the builds and segment-set writes.
 */
async function stop(engine: Engine, ctx: ActorContext): Promise<void> {
  abortBuild(engine.abort);
  drive(engine, { type: 'stop' }, ctx);
  const message =
    'the engine stopped while the write was held by a write stall; ' +
    'it is in the WAL and is applied when the shard restarts';
  engine.stall.failAll(new ShoalError('UNAVAILABLE', message), ctx.clock.now());
  await engine.pool?.close();
  await Promise.all(engine.builds);
  await engine.setWrites;
}

// ------------------------------------------------------------------ builds

/** Steps the build scheduler with `event` and carries out what it hands out, in order. */
function drive(engine: Engine, event: BuildEvent<Responder>, ctx: ActorContext, failure?: ShoalError): void {
  engine.scheduler.step(event, tierShape(engine), ctx.clock.now());
  for (let ready = engine.scheduler.ready(); ready !== null; ready = engine.scheduler.ready()) {
    for (const action of ready.actions) perform(engine, action, ctx, failure);
  }
}

/** Carries out one action; `failure` is the error of the build whose failure was the event. */
function perform(engine: Engine, action: BuildAction<Responder>, ctx: ActorContext, failure?: ShoalError): void {
  switch (action.type) {
    case 'freeze':
      engine.store.freeze();
      return undefined;
    case 'flush':
      return startFlush(engine, ctx);
    case 'compact':
      return startCompaction(engine, action, ctx);
    case 'release-held':
      return releaseHeld(engine, ctx);
    case 'answer-optimize':
      for (const responder of action.waiters) responder.ok(optimizeSummary(engine));
      return undefined;
    case 'fail-optimize': {
      const error = optimizeFailure(action.reason, failure, ctx);
      for (const responder of action.waiters) responder.fail(error);
      return undefined;
    }
    case 'retry-after':
      ctx.clock.setTimer(action.delayMs, () => ctx.tell(ctx.self, { type: 'retry-builds' }));
      return undefined;
    default:
      return unreachable(action, 'build action');
  }
}

function tierShape(engine: Engine): TierShape {
  const { store } = engine;
  return {
    memtableRows: store.memtable.entries,
    frozenMemtables: store.frozen.length,
    segmentRows: store.segments.map((segment) => segment.rows),
    writesHeld: engine.stall.holding,
  };
}

function optimizeSummary(engine: Engine): OptimizeResult {
  return { segments: engine.store.segments.length, memtableRows: engine.store.memtable.entries };
}

function optimizeFailure(reason: OptimizeFailure, failure: ShoalError | undefined, ctx: ActorContext): ShoalError {
  switch (reason) {
    case 'merge-failed':
      return present(failure, 'the error of the failed merge');
    case 'merge-aborted':
      // The engine is stopping or its thread is being killed: UNAVAILABLE, so the asker retries on the
      // next incarnation.
      return new ShoalError('UNAVAILABLE', `${ctx.self} is going away; its merge was aborted`, { address: ctx.self });
    case 'stopped':
      return new ShoalError('UNAVAILABLE', 'the engine stopped before the optimize finished; ask again');
    default:
      return unreachable(reason, 'optimize failure');
  }
}

function startFlush(engine: Engine, ctx: ActorContext): void {
  const oldest = present(engine.store.frozen[0], 'the frozen memtable to flush');
  const maxLsn = oldest.maxLsn;
  // The WAL must hold every row of the segment durably before the segment set checkpoints it: in
  // `periodic` and `never` modes acknowledged rows may not be synced yet, and a power loss would cut the
  // WAL back below the checkpoint and make it hand out those LSNs again. The sync runs beside the build.
  const sync: WalWriterMessage = { type: 'sync' };
  const synced = ctx.ask(engine.args.wal, sync, { timeoutMs: WAL_SYNC_TIMEOUT_MS });
  const built = build(engine, nextSegmentName(engine), oldest.exportRows(), ctx);
  const done = Promise.all([built, synced]).then(([segment]) => segment);
  ctx.pipeToSelf(done, (outcome): EngineSelfMessage => ({ type: 'flushed', outcome, maxLsn }));
}

type CompactAction = Extract<BuildAction<Responder>, { type: 'compact' }>;

function startCompaction(engine: Engine, plan: CompactAction, ctx: ActorContext): void {
  const inputs = engine.store.segments.slice(plan.from, plan.from + plan.count);
  const range = `${plan.from} .. ${plan.from + plan.count - 1}`;
  assert(inputs.length === plan.count && inputs.length > 0, `compaction of segments ${range} out of range`);
  const merged = mergeRows(
    inputs.map((segment) => segment.toRows()),
    { dropTombstones: plan.dropTombstones },
  );
  const done = merged.ids.length === 0 ? Promise.resolve(null) : build(engine, nextSegmentName(engine), merged, ctx);
  ctx.pipeToSelf(done, (outcome): EngineSelfMessage => ({ type: 'compacted', outcome, inputs }));
}

/** The engine's build thread pool, started on its first build. */
function buildPool(engine: Engine): SegmentBuildPool {
  if (engine.pool === null) engine.pool = new SegmentBuildPool({ maxThreads: BUILD_THREADS });
  return engine.pool;
}

/** Builds `rows` into segment `name` and opens it; the build runs concurrently (a pool thread, or this one). */
function build(engine: Engine, name: string, rows: SegmentRows, ctx: ActorContext): Promise<Segment> {
  const folder = present(engine.folder, 'the segment folder');
  const started = ctx.clock.now();
  const built =
    engine.args.buildInThread === true
      ? buildSegment(folder.fs, folder.dir, name, rows, { ...engine.buildOptions, now: () => ctx.clock.now() })
      : buildPool(engine).build(folder.dir, name, rows, engine.poolBuildOptions);
  const opened = built.then(async (manifest) => {
    engine.counters.buildMsTotal += manifest.buildMs;
    const totalMs = Math.round(ctx.clock.now() - started);
    ctx.log.info('segment-built', { name, rows: manifest.rows, buildMs: manifest.buildMs, totalMs });
    return Segment.open(folder.fs, folder.dir, name);
  });
  const settled = opened.then(
    () => undefined,
    () => undefined,
  );
  engine.builds.add(settled);
  void settled.then(() => engine.builds.delete(settled));
  return opened;
}

function nextSegmentName(engine: Engine): string {
  const name = segmentName(engine.set.nextSegment);
  engine.set = { ...engine.set, nextSegment: engine.set.nextSegment + 1 };
  return name;
}

function flushed(engine: Engine, message: SelfMessage<'flushed'>, ctx: ActorContext): void {
  if (!message.outcome.ok) return buildFailed(engine, 'flush', message.outcome.error, ctx);
  engine.store.flushed(message.outcome.value);
  engine.counters.flushes++;
  engine.watermark.checkpointed(message.maxLsn);
  // The WAL below the checkpoint may go only once the segment set naming the new segment is durable.
  // A backup pin holds the WAL's checkpoint at or below its own, so the records it copies stay readable.
  saveSet(engine, ctx, () => checkpointWal(engine, engine.pins.walCheckpoint(message.maxLsn), ctx));
  drive(engine, { type: 'build-finished', build: 'flush' }, ctx);
}

function compacted(engine: Engine, message: SelfMessage<'compacted'>, ctx: ActorContext): void {
  if (!message.outcome.ok) return buildFailed(engine, 'compaction', message.outcome.error, ctx);
  engine.store.compacted(message.inputs, message.outcome.value);
  engine.counters.compactions++;
  const folder = present(engine.folder, 'the segment folder');
  // The inputs' files go only once the set without them is durable.
  // Inputs a backup has pinned stay until it releases them.
  const dropped = engine.pins.removable(message.inputs.map((segment) => segment.manifest.name));
  const removeInputs = (): Promise<unknown> =>
    Promise.all(dropped.map((name) => removeSegment(folder.fs, folder.dir, name)));
  saveSet(engine, ctx, removeInputs);
  drive(engine, { type: 'build-finished', build: 'compaction' }, ctx);
}

function buildFailed(engine: Engine, build: BuildKind, error: ShoalError, ctx: ActorContext): void {
  const aborted = isBuildAbortedError(error);
  if (!aborted) {
    engine.counters.buildFailures++;
    ctx.log.error(`${build}-failed`, { code: error.code, error: error.message, retryInMs: BUILD_RETRY_MS });
  }
  drive(engine, { type: 'build-failed', build, aborted }, ctx, error);
}

/** Makes the current segment list and checkpoint durable, in call order; then runs `after`. */
function saveSet(engine: Engine, ctx: ActorContext, after: () => Promise<unknown>): void {
  const folder = present(engine.folder, 'the segment folder');
  const segments = engine.store.segments.map((segment) => segment.manifest.name);
  engine.set = { ...engine.set, segments, checkpointLsn: engine.watermark.checkpointLsn };
  const snapshot = engine.set;
  engine.setWrites = engine.setWrites
    .then(() => writeSegmentSet(folder.fs, folder.dir, snapshot))
    .then(after)
    .then(
      () => undefined,
      (error: unknown) => ctx.log.error('segment-set-write-failed', { error: errorMessage(error) }),
    );
}

function checkpointWal(engine: Engine, lsn: number, ctx: ActorContext): Promise<unknown> {
  const checkpoint: WalWriterMessage = { type: 'checkpoint', lsn };
  return ctx.ask(engine.args.wal, checkpoint, { timeoutMs: WAL_CHECKPOINT_TIMEOUT_MS });
}

// ------------------------------------------------------------------ backups

/** Pins the live segments and the checkpoint for a backup, in this turn; the pin lapses after `leaseMs`. */
function pinForBackup(engine: Engine, leaseMs: number, ctx: ActorContext): ShardPin {
  const { store, watermark } = engine;
  const pin = `${ctx.random.int(0x1_0000_0000).toString(16)}-${engine.pins.size}`;
  const names = store.segments.map((segment) => segment.manifest.name);
  engine.pins.pin(pin, names, watermark.checkpointLsn);
  ctx.clock.setTimer(leaseMs, () => ctx.tell(ctx.self, { type: 'backup-pin-expired', pin }));
  const segments = store.segments.map((segment): PinnedSegment => {
    const { name, files } = segment.manifest;
    const data = [files.parquet, ...(files.index === null ? [] : [files.index])];
    const bytes = data.reduce((sum, file) => sum + file.bytes, 0);
    return { name, files: [...data.map((file) => file.name), segmentFileNames(name).manifest], bytes };
  });
  return {
    pin,
    // Every write acknowledged so far was received here; segments hold nothing above the checkpoint.
    lsn: Math.max(watermark.receivedLsn, watermark.checkpointLsn),
    checkpointLsn: watermark.checkpointLsn,
    records: store.stats().records,
    nextSegment: engine.set.nextSegment,
    segmentDir: engine.folder?.dir ?? null,
    segments,
  };
}

/**
 * Releases a backup pin: deletes the segments only it kept and tells the WAL
 * the checkpoint it held back, both after the segment-set writes queued so
 * far. False when the pin was not held.
 */
function unpinBackup(engine: Engine, pin: string, ctx: ActorContext): boolean {
  const released = engine.pins.unpin(pin);
  const { folder } = engine;
  const { remove, walCheckpoint } = released;
  if (remove.length === 0 && walCheckpoint === null) return released.held;
  engine.setWrites = engine.setWrites
    .then(async () => {
      if (folder !== null) await Promise.all(remove.map((name) => removeSegment(folder.fs, folder.dir, name)));
      if (walCheckpoint !== null) await checkpointWal(engine, walCheckpoint, ctx);
    })
    .then(
      () => undefined,
      (error: unknown) => ctx.log.error('backup-unpin-cleanup-failed', { error: errorMessage(error) }),
    );
  return released.held;
}

// ------------------------------------------------------------------ writes

/**
 * Applies a write, or holds it during a stall. Held writes keep their
 * order: while any is held, later ones queue behind it. A held write is
 * already in the WAL, so it is applied even when its asker gave up.
 */
function write(engine: Engine, batch: RecordBatch, responder: Responder | null, ctx: ActorContext): void {
  received(engine, batch, ctx);
  const { stall } = engine;
  if (stall.holding === 0 && !engine.scheduler.writesMustWait(tierShape(engine))) {
    return applyNow(engine, batch, responder, ctx);
  }
  stall.hold(batch, responder, ctx.clock.now());
  if (responder === null) return;
  const untilDeadlineMs = Math.max(0, responder.deadline - ctx.clock.now());
  ctx.clock.setTimer(untilDeadlineMs, () => ctx.tell(ctx.self, { type: 'held-deadline' }));
}

/** Notes a batch's LSNs; too many batches waiting beyond a hole start a catch-up of the engine's own. */
function received(engine: Engine, batch: RecordBatch, ctx: ActorContext): void {
  const lsns = batch.lsns;
  if (lsns !== null && lsns.length > 0) {
    engine.watermark.received(present(lsns[0], 'first LSN'), present(lsns[lsns.length - 1], 'last LSN'));
  }
  if (engine.watermark.rangesAhead >= RANGES_AHEAD_MAX && !engine.catchUp.queued) {
    engine.catchUp.queued = true;
    ctx.tell(ctx.self, { type: 'catch-up' });
  }
}

function applyNow(engine: Engine, batch: RecordBatch, responder: Responder | null, ctx: ActorContext): void {
  engine.counters.applied += engine.store.apply(batch);
  responder?.ok(null);
  drive(engine, { type: 'rows-applied' }, ctx);
}

/** Applies held writes, oldest first, while there is room (each apply may freeze the memtable and fill the queue). */
function releaseHeld(engine: Engine, ctx: ActorContext): void {
  const { stall } = engine;
  while (stall.holding > 0 && !engine.scheduler.writesMustWait(tierShape(engine))) {
    const held = present(stall.release(ctx.clock.now()), 'the oldest held write');
    applyNow(engine, held.item, held.responder, ctx);
  }
}

/**
 * Reads the WAL from the first hole on, page by page, each page coming back
 * as a message (the mailbox keeps moving: applies are idempotent by LSN, so
 * their order against the catch-up does not matter, and an engine stopped
 * meanwhile just drops the page). One catch-up runs at a time.
 */
function startCatchUp(engine: Engine, ctx: ActorContext): void {
  const { catchUp } = engine;
  catchUp.queued = false;
  if (catchUp.running) return;
  catchUp.running = true;
  catchUp.records = 0;
  readCatchUpPage(engine, ctx, engine.watermark.nextMissingLsn);
}

function readCatchUpPage(engine: Engine, ctx: ActorContext, fromLsn: number): void {
  const page = readPage(ctx, engine.args, fromLsn);
  ctx.pipeToSelf(page, (outcome): EngineSelfMessage => ({ type: 'catch-up-page', outcome }));
}

function catchUpPage(engine: Engine, message: SelfMessage<'catch-up-page'>, ctx: ActorContext): void {
  const { catchUp } = engine;
  if (!message.outcome.ok) {
    catchUp.running = false;
    ctx.log.warn('engine-catch-up-failed', { error: message.outcome.error.message });
    return;
  }
  const page = message.outcome.value;
  engine.store.apply(page.batch);
  catchUp.records += batchRows(page.batch);
  const nextLsn = nextPageLsn(page);
  if (nextLsn !== null) return readCatchUpPage(engine, ctx, nextLsn);
  // Everything the log held up to its end was read: any hole below it is filled (or was a gap in the log).
  catchUp.running = false;
  engine.watermark.readTo(page.lastLsn);
  engine.counters.replayedRecords += catchUp.records;
  if (catchUp.records > 0) {
    ctx.log.warn('engine-caught-up', { records: catchUp.records, contiguousLsn: engine.watermark.appliedLsn });
  }
  drive(engine, { type: 'rows-applied' }, ctx);
}

// ------------------------------------------------------------------ reads

function search(engine: Engine, message: Extract<EngineMessage, { type: 'search' }>, ctx: ActorContext): Hit[][] {
  const { vectors, dimension } = message;
  return message.queries.map((query, index) => {
    const started = ctx.clock.now();
    engine.counters.searches++;
    const vector = vectors.subarray(index * dimension, (index + 1) * dimension);
    const options = { exact: query.exact, ef: query.ef ?? engine.policy.searchEf };
    const hits = engine.store.search(vector, query.k, compileFilter(query.filter), options);
    engine.latency.record(ctx.clock.now() - started);
    return hits;
  });
}

function get(engine: Engine, ids: readonly string[]): StoredRecord[] {
  return ids.flatMap((id) => engine.store.get(id) ?? []);
}

function scroll(engine: Engine, message: Extract<EngineMessage, { type: 'scroll' }>): ScannedRecord[] {
  const { afterId, limit, withVectors } = message;
  return engine.store.scan({ predicate: compileFilter(message.filter), afterId, limit, withVectors });
}

function stats(engine: Engine, ctx: ActorContext): EngineStats {
  const { store } = engine;
  const tiers = store.stats();
  const held = engine.stall.stats(ctx.clock.now());
  const segmentBytes = store.segments.reduce(
    (sum, segment) => sum + segment.manifest.files.parquet.bytes + (segment.manifest.files.index?.bytes ?? 0),
    0,
  );
  const frozenBytes = store.frozen.reduce((sum, table) => sum + table.bytes, 0);
  return {
    ...tiers,
    ...held,
    rows: tiers.records,
    memoryBytes: store.memtable.bytes + frozenBytes + held.heldBytes,
    segmentBytes,
    checkpointLsn: engine.watermark.checkpointLsn,
    ...engine.counters,
    buildsRunning: engine.scheduler.buildsRunning,
    searchP50Ms: engine.latency.quantile(0.5),
    searchP99Ms: engine.latency.quantile(0.99),
  };
}

// ------------------------------------------------------------------ helpers

/** Roughly the bytes a batch keeps in memory while held: its columns and strings. */
function batchBytes(batch: RecordBatch): number {
  let bytes = batch.vectors.byteLength + batch.ops.byteLength + (batch.lsns?.byteLength ?? 0);
  batch.ids.forEach((id, row) => {
    bytes += 2 * (id.length + (batch.metadata[row]?.length ?? 0));
  });
  return bytes;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** One page of the WAL from `fromLsn` on, asked of the shard's WAL writer. */
function readPage(ctx: ActorContext, args: EngineArgs, fromLsn: number): Promise<ReplayPage> {
  const maxRecords = args.replayPageRecords ?? DEFAULT_REPLAY_PAGE_RECORDS;
  const read: WalWriterMessage = { type: 'read', fromLsn, maxRecords };
  return ctx.ask<ReplayPage>(args.wal, read, { timeoutMs: REPLAY_TIMEOUT_MS });
}

/** Where the next page of a WAL read starts, or null when `page` was the last. */
function nextPageLsn(page: ReplayPage): number | null {
  const lsns = page.batch.lsns;
  if (page.done || lsns === null || lsns.length === 0) return null;
  return present(lsns[lsns.length - 1], 'the last LSN of a page') + 1;
}

/**
 * Feeds the WAL above `fromLsn` to `apply`, page by page; returns where the
 * log ended at the last read (every LSN up to it was fed, or is not in the log).
 */
async function replay(
  ctx: ActorContext,
  fromLsn: number,
  args: EngineArgs,
  apply: (batch: RecordBatch) => void,
): Promise<number> {
  for (let from = fromLsn; ; ) {
    const page = await readPage(ctx, args, from);
    apply(page.batch);
    const next = nextPageLsn(page);
    if (next === null) return page.lastLsn;
    from = next;
  }
}
