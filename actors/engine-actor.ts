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
 * Every completion comes back as a message, so state changes only inside
 * `receive`.
 */
import type { Actor, ActorContext, Message, Outcome, Responder } from '../runtime/actor.js';
import { ShoalError } from '../runtime/errors.js';
import type { FileSystem } from '../runtime/fs.js';
import { threadDyingFlag } from '../runtime/thread.js';
import { compileFilter } from '../storage/filter.js';
import type { Memtable } from '../storage/memtable.js';
import { batchRows } from '../storage/record-batch.js';
import type { RecordBatch } from '../storage/record-batch.js';
import { DEFAULT_FROZEN_MEMTABLES_MAX, ShardStore } from '../storage/shard-store.js';
import type { ShardStoreStats } from '../storage/shard-store.js';
import { confineRenames } from '../storage/storage-backend.js';
import type { EngineSettings, Hit, Metric, StoredRecord } from '../storage/types.js';
import { abortBuild, createBuildAbortFlag, isBuildAbortedError } from '../storage/viper/build-abort.js';
import { SegmentBuildPool } from '../storage/viper/build-pool.js';
import { mergeRows } from '../storage/viper/compaction.js';
import { planCompaction } from '../storage/viper/compaction-plan.js';
import { Segment } from '../storage/viper/segment.js';
import { buildSegment } from '../storage/viper/segment-builder.js';
import type { SegmentBuildOptions } from '../storage/viper/segment-builder.js';
import type { SegmentRows } from '../storage/viper/segment-rows.js';
import { removeSegment } from '../storage/viper/segment-files.js';
import { EMPTY_SEGMENT_SET, openSegmentSet, readSegmentSet, segmentName, writeSegmentSet } from '../storage/viper/segment-set.js';
import type { SegmentSet } from '../storage/viper/segment-set.js';
import { LatencyWindow } from './latency-window.js';
import type { ReplayPage } from './wal-writer-actor.js';
import { WriteStall } from './write-stall.js';
import type { WriteStallStats } from './write-stall.js';
import type { OptimizeResult } from './public-api.js';
import type { CheckedQuery } from './read-protocol.js';

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
  /** Tests only: every HNSW point of a build pauses this long (`SegmentBuildOptions.pointPauseMs`), so builds are slow but still abort at once. */
  readonly buildPointPauseMs?: number;
}

/** Messages an engine answers. `apply` is answered once applied: at once, or during a write stall once a flush makes room (or TIMEOUT at its deadline, the batch still to be applied). */
export type EngineMessage =
  | { readonly type: 'apply'; readonly batch: RecordBatch }
  /** Queries answered in one turn, hits per query in query order; query i's vector is `vectors[i × dimension, (i + 1) × dimension)`. */
  | { readonly type: 'search'; readonly vectors: Float32Array; readonly dimension: number; readonly queries: readonly CheckedQuery[] }
  | { readonly type: 'get'; readonly ids: readonly string[] }
  /** Flushes the memtable and merges every segment into one (one HNSW graph to search); answered with its shard's OptimizeResult once that merge commits. */
  | { readonly type: 'optimize' }
  /**
   * Applies what the WAL holds from the first LSN this engine has not
   * received: told by a (re)started shard, because a shard that died between
   * the WAL's acknowledgement and its apply left records that are durable but
   * not in the engine (they would appear only at the engine's next restart).
   */
  | { readonly type: 'catch-up' }
  | { readonly type: 'stats' };

/** What an engine reports in stats: its tiers, counters, and write stalls (`writesHeld` and `heldBytes` now; `heldBytes` is part of `memoryBytes`). */
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

type Internal =
  | { readonly type: 'flushed'; readonly outcome: Outcome<Segment>; readonly maxLsn: number }
  | { readonly type: 'compacted'; readonly outcome: Outcome<Segment | null>; readonly inputs: readonly Segment[] }
  | { readonly type: 'retry-builds' }
  | { readonly type: 'held-deadline' }
  /** A page of a catch-up read from the WAL (see `catch-up`). */
  | { readonly type: 'catch-up-page'; readonly outcome: Outcome<ReplayPage> };

const REPLAY_TIMEOUT_MS = 120_000;
const BUILD_RETRY_MS = 5_000;
const DEFAULT_FLUSH_ROWS = 20_000;
const DEFAULT_EF = 128;
/** How long a flush waits for the WAL's fdatasync. */
const WAL_SYNC_TIMEOUT_MS = 60_000;
/** Build threads per engine: a flush and a compaction. */
const BUILD_THREADS = 2;

/** Creates the engine actor of one shard. */
export function createEngine(args: EngineArgs): Actor {
  const settings = args.settings ?? {};
  const store = new ShardStore(args.dimension, args.metric, settings.frozenMemtablesMax ?? DEFAULT_FROZEN_MEMTABLES_MAX);
  const stall = new WriteStall<RecordBatch>(batchBytes);
  const counters = { replayedRecords: 0, searches: 0, applied: 0, flushes: 0, compactions: 0, buildFailures: 0, buildMsTotal: 0 };
  const latency = new LatencyWindow(1_024);
  const flushThresholdRows = settings.flushThresholdRows ?? DEFAULT_FLUSH_ROWS;
  const defaultEf = settings.hnsw?.ef ?? DEFAULT_EF;
  // Set once, on stop: every build of this engine, in a pool thread or in this one, gives up at its next check.
  const abort = createBuildAbortFlag();
  const buildOptions: SegmentBuildOptions = {
    metric: args.metric,
    indexThresholdRows: { auto: 1_000, lsm: Number.MAX_SAFE_INTEGER, viper: 1 }[settings.engine ?? 'auto'],
    ...(settings.hnsw?.m === undefined ? {} : { M: settings.hnsw.m }),
    ...(settings.hnsw?.efConstruction === undefined ? {} : { efConstruction: settings.hnsw.efConstruction }),
    ...(args.buildPointPauseMs === undefined ? {} : { pointPauseMs: args.buildPointPauseMs }),
    abort,
  };
  // Pool builds also watch this thread's dying flag: a killed engine thread takes its build threads with it, and one cut inside hnswlib aborts the process.
  const dying = threadDyingFlag();
  const poolBuildOptions: SegmentBuildOptions = dying === undefined ? buildOptions : { ...buildOptions, threadDying: dying };
  let fs: FileSystem | null = null;
  let pool: SegmentBuildPool | null = null;
  let set: SegmentSet = EMPTY_SEGMENT_SET;
  let flushing = false;
  let compacting = false;
  // `optimize` callers waiting for their full merge to start, and those waiting for the running one.
  const optimizeQueued: Responder[] = [];
  let optimizeRunning: Responder[] | null = null;
  let stopping = false;
  let buildsPausedUntil = 0;
  let setWrites: Promise<void> = Promise.resolve();
  const builds = new Set<Promise<unknown>>();

  const dir = (): string => args.viperDir as string;

  /** Makes the current segment list durable, in call order; then runs `after`. */
  const saveSet = (ctx: ActorContext, after: () => Promise<unknown>): void => {
    set = { ...set, segments: store.segments.map((segment) => segment.manifest.name) };
    const snapshot = set;
    setWrites = setWrites
      .then(() => writeSegmentSet(fs as FileSystem, dir(), snapshot))
      .then(after)
      .then(
        () => undefined,
        (error: unknown) => ctx.log.error('segment-set-write-failed', { error: (error as Error).message }),
      );
  };

  const build = (name: string, rows: SegmentRows, started: number, ctx: ActorContext): Promise<Segment> => {
    const built = args.buildInThread === true
      ? buildSegment(fs as FileSystem, dir(), name, rows, { ...buildOptions, now: () => ctx.clock.now() })
      : (pool ??= new SegmentBuildPool({ maxThreads: BUILD_THREADS })).build(dir(), name, rows, poolBuildOptions);
    const opened = built.then(async (manifest) => {
      counters.buildMsTotal += manifest.buildMs;
      ctx.log.info('segment-built', { name, rows: manifest.rows, buildMs: manifest.buildMs, totalMs: Math.round(ctx.clock.now() - started) });
      return Segment.open(fs as FileSystem, dir(), name);
    });
    const settled = opened.then(() => undefined, () => undefined);
    builds.add(settled);
    void settled.then(() => builds.delete(settled));
    return opened;
  };

  const nextName = (): string => {
    const name = segmentName(set.nextSegment);
    set = { ...set, nextSegment: set.nextSegment + 1 };
    return name;
  };

  /**
   * Freezes the active memtable when it is past the threshold and the queue
   * has room, then starts the flush of the oldest frozen memtable and a due
   * compaction, each unless one is running or builds are paused.
   */
  const maybeBuild = (ctx: ActorContext): void => {
    if (args.viperDir === undefined || stopping) return;
    if (store.memtable.entries >= flushThresholdRows && !store.frozenFull) store.freeze();
    if (ctx.clock.now() < buildsPausedUntil) return;
    if (!flushing && store.frozen.length > 0) startFlush(ctx);
    if (compacting) return;
    // An optimize waits for the flushes of what was in memory when it was asked, then merges everything.
    if (optimizeQueued.length > 0 && !flushing && store.frozen.length === 0) return startOptimize(ctx);
    const plan = planCompaction(store.segments.map((segment) => segment.rows), flushThresholdRows);
    if (plan !== null) startCompaction(plan.from, plan.count, plan.dropTombstones, ctx);
  };

  const startFlush = (ctx: ActorContext): void => {
    flushing = true;
    const oldest = store.frozen[0] as Memtable;
    const maxLsn = oldest.maxLsn;
    // The WAL must hold every row of the segment durably before the segment set checkpoints it: in
    // `periodic` and `never` modes acknowledged rows may not be synced yet, and a power loss would cut the
    // WAL back below the checkpoint and make it hand out those LSNs again. The sync runs beside the build.
    const synced = ctx.ask(args.wal, { type: 'sync' }, { timeoutMs: WAL_SYNC_TIMEOUT_MS });
    const done = Promise.all([build(nextName(), oldest.exportRows(), ctx.clock.now(), ctx), synced]).then(([segment]) => segment);
    ctx.pipeToSelf(done, (outcome): Internal => ({ type: 'flushed', outcome, maxLsn }));
  };

  const startCompaction = (from: number, count: number, dropTombstones: boolean, ctx: ActorContext): void => {
    compacting = true;
    const inputs = store.segments.slice(from, from + count);
    const merged = mergeRows(inputs.map((segment) => segment.toRows()), { dropTombstones });
    const done = merged.ids.length === 0 ? Promise.resolve(null) : build(nextName(), merged, ctx.clock.now(), ctx);
    ctx.pipeToSelf(done, (outcome): Internal => ({ type: 'compacted', outcome, inputs }));
  };

  const optimizeSummary = (): OptimizeResult => ({ segments: store.segments.length, memtableRows: store.memtable.entries });

  const optimize = (responder: Responder | null, ctx: ActorContext): void => {
    if (args.viperDir === undefined) return responder?.ok(optimizeSummary());
    if (store.memtable.entries > 0 && !store.frozenFull) store.freeze();
    if (responder !== null) optimizeQueued.push(responder);
    maybeBuild(ctx);
  };

  const startOptimize = (ctx: ActorContext): void => {
    const waiting = optimizeQueued.splice(0);
    if (store.segments.length <= 1) {
      for (const responder of waiting) responder.ok(optimizeSummary());
      return;
    }
    optimizeRunning = waiting;
    startCompaction(0, store.segments.length, true, ctx);
  };

  const buildFailed = (what: string, error: ShoalError, ctx: ActorContext): void => {
    if (isBuildAbortedError(error)) return;
    counters.buildFailures++;
    buildsPausedUntil = ctx.clock.now() + BUILD_RETRY_MS;
    ctx.log.error(`${what}-failed`, { code: error.code, error: error.message, retryInMs: BUILD_RETRY_MS });
    ctx.clock.setTimer(BUILD_RETRY_MS, () => ctx.tell(ctx.self, { type: 'retry-builds' }));
  };

  const flushed = (message: Extract<Internal, { type: 'flushed' }>, ctx: ActorContext): void => {
    flushing = false;
    // A failed flush leaves its memtable first in the queue; it is built again after the pause.
    if (!message.outcome.ok) return buildFailed('flush', message.outcome.error, ctx);
    store.flushed(message.outcome.value);
    counters.flushes++;
    set = { ...set, checkpointLsn: message.maxLsn };
    // The WAL below the checkpoint may go only once the segment set naming the new segment is durable.
    saveSet(ctx, () => ctx.ask(args.wal, { type: 'checkpoint', lsn: message.maxLsn }, { timeoutMs: 60_000 }));
    releaseHeld(ctx);
    maybeBuild(ctx);
  };

  const compacted = (message: Extract<Internal, { type: 'compacted' }>, ctx: ActorContext): void => {
    compacting = false;
    const optimizers = optimizeRunning ?? [];
    optimizeRunning = null;
    if (!message.outcome.ok) {
      const { error } = message.outcome;
      // An aborted merge means this engine is stopping or its thread is being killed: UNAVAILABLE, so the asker retries on the next incarnation.
      const answer = isBuildAbortedError(error) ? new ShoalError('UNAVAILABLE', `${ctx.self} is going away; its merge was aborted`, { address: ctx.self }) : error;
      for (const responder of optimizers) responder.fail(answer);
      return buildFailed('compaction', error, ctx);
    }
    store.compacted(message.inputs, message.outcome.value);
    counters.compactions++;
    for (const responder of optimizers) responder.ok(optimizeSummary());
    // The inputs' files go only once the set without them is durable.
    saveSet(ctx, () => Promise.all(message.inputs.map((segment) => removeSegment(fs as FileSystem, dir(), segment.manifest.name))));
    maybeBuild(ctx);
  };

  /** Writes wait while the active memtable is past the threshold and every frozen slot is taken: applying more would grow memory without bound. */
  const mustHold = (): boolean => args.viperDir !== undefined && store.frozenFull && store.memtable.entries >= flushThresholdRows;

  /**
   * Every LSN up to `contiguousLsn` is applied or held here, or is not in the
   * WAL; batches received beyond a hole wait in `ahead` (first → last LSN)
   * until the hole fills. A hole is a write the WAL took but the shard never
   * handed over (it died in between): the catch-up reads from the hole on.
   */
  let contiguousLsn = 0;
  const ahead = new Map<number, number>();
  /** A hole that outlives this many batches after it is filled by a catch-up of the engine's own. */
  const AHEAD_MAX = 1_024;
  let catchUpQueued = false;
  const received = (batch: RecordBatch): void => {
    const lsns = batch.lsns;
    if (lsns === null || lsns.length === 0) return;
    const first = lsns[0] as number;
    const last = lsns[lsns.length - 1] as number;
    if (first > contiguousLsn + 1) {
      ahead.set(first, Math.max(last, ahead.get(first) ?? 0));
      return;
    }
    contiguousLsn = Math.max(contiguousLsn, last);
    absorbAhead();
  };
  const absorbAhead = (): void => {
    for (let advanced = true; advanced; ) {
      advanced = false;
      for (const [first, last] of ahead) {
        if (first > contiguousLsn + 1) continue;
        ahead.delete(first);
        contiguousLsn = Math.max(contiguousLsn, last);
        advanced = true;
      }
    }
  };

  /**
   * Reads the WAL from the first hole on, page by page, each page coming back
   * as a message (the mailbox keeps moving: applies are idempotent by LSN, so
   * their order against the catch-up does not matter, and an engine stopped
   * meanwhile just drops the page). One catch-up runs at a time.
   */
  let catchingUp = false;
  let caughtUpRecords = 0;
  const catchUp = (ctx: ActorContext): void => {
    catchUpQueued = false;
    if (catchingUp) return;
    catchingUp = true;
    caughtUpRecords = 0;
    readCatchUpPage(ctx, contiguousLsn + 1);
  };
  const readCatchUpPage = (ctx: ActorContext, fromLsn: number): void => {
    ctx.pipeToSelf(readPage(ctx, args, fromLsn), (outcome): Internal => ({ type: 'catch-up-page', outcome }));
  };
  const catchUpPage = (message: Extract<Internal, { type: 'catch-up-page' }>, ctx: ActorContext): void => {
    if (!message.outcome.ok) {
      catchingUp = false;
      ctx.log.warn('engine-catch-up-failed', { error: message.outcome.error.message });
      return;
    }
    const page = message.outcome.value;
    store.apply(page.batch);
    caughtUpRecords += batchRows(page.batch);
    const lsns = page.batch.lsns;
    if (!page.done && lsns !== null && lsns.length > 0) return readCatchUpPage(ctx, (lsns[lsns.length - 1] as number) + 1);
    // Everything the log held up to its end was read: any hole below it is filled (or was a gap in the log).
    catchingUp = false;
    contiguousLsn = Math.max(contiguousLsn, page.lastLsn);
    absorbAhead();
    counters.replayedRecords += caughtUpRecords;
    if (caughtUpRecords > 0) ctx.log.warn('engine-caught-up', { records: caughtUpRecords, contiguousLsn });
    maybeBuild(ctx);
  };

  const applyNow = (batch: RecordBatch, responder: Responder | null, ctx: ActorContext): void => {
    counters.applied += store.apply(batch);
    responder?.ok(null);
    maybeBuild(ctx);
  };

  /**
   * Applies a write, or holds it during a stall. Held writes keep their
   * order: while any is held, later ones queue behind it. A held write is
   * already in the WAL, so it is applied even when its asker gave up.
   */
  const write = (batch: RecordBatch, responder: Responder | null, ctx: ActorContext): void => {
    received(batch);
    if (ahead.size >= AHEAD_MAX && !catchUpQueued) {
      catchUpQueued = true;
      ctx.tell(ctx.self, { type: 'catch-up' });
    }
    if (stall.holding === 0 && !mustHold()) return applyNow(batch, responder, ctx);
    stall.hold(batch, responder, ctx.clock.now());
    if (responder === null) return;
    ctx.clock.setTimer(Math.max(0, responder.deadline - ctx.clock.now()), () => ctx.tell(ctx.self, { type: 'held-deadline' }));
  };

  /** Applies held writes, oldest first, while there is room (each apply may freeze the memtable and fill the queue again). */
  const releaseHeld = (ctx: ActorContext): void => {
    while (stall.holding > 0 && !mustHold()) {
      const held = stall.release(ctx.clock.now());
      if (held !== undefined) applyNow(held.item, held.responder, ctx);
    }
  };

  const search = (message: Extract<EngineMessage, { type: 'search' }>, ctx: ActorContext): Hit[][] => {
    const { vectors, dimension } = message;
    return message.queries.map((query, index) => {
      const started = ctx.clock.now();
      counters.searches++;
      const vector = vectors.subarray(index * dimension, (index + 1) * dimension);
      const hits = store.search(vector, query.k, compileFilter(query.filter), { exact: query.exact, ef: query.ef ?? defaultEf });
      latency.record(ctx.clock.now() - started);
      return hits;
    });
  };

  const get = (ids: readonly string[]): StoredRecord[] => ids.flatMap((id) => store.get(id) ?? []);

  const stats = (ctx: ActorContext): EngineStats => {
    const tiers = store.stats();
    const held = stall.stats(ctx.clock.now());
    const segmentBytes = store.segments.reduce((sum, segment) => sum + segment.manifest.files.parquet.bytes + (segment.manifest.files.index?.bytes ?? 0), 0);
    const memoryBytes = store.memtable.bytes + store.frozen.reduce((sum, table) => sum + table.bytes, 0) + held.heldBytes;
    return {
      ...tiers,
      ...held,
      rows: tiers.records,
      memoryBytes,
      segmentBytes,
      checkpointLsn: set.checkpointLsn,
      ...counters,
      buildsRunning: (flushing ? 1 : 0) + (compacting ? 1 : 0),
      searchP50Ms: latency.quantile(0.5),
      searchP99Ms: latency.quantile(0.99),
    };
  };

  return {
    async start(ctx: ActorContext) {
      if (args.viperDir !== undefined) {
        fs = confineRenames(ctx.fs, args.viperDir);
        await ctx.fs.mkdir(args.viperDir);
        set = await readSegmentSet(fs, args.viperDir);
        store.load(await openSegmentSet(fs, args.viperDir, set));
      }
      const walEnd = await replay(ctx, set.checkpointLsn + 1, args, (batch) => {
        store.apply(batch);
        counters.replayedRecords += batchRows(batch);
      });
      contiguousLsn = Math.max(set.checkpointLsn, walEnd);
      if (set.checkpointLsn > 0) {
        // Before the shard takes writes: new LSNs must be above the checkpoint, or replay would skip them.
        await ctx.ask(args.wal, { type: 'skip-past', lsn: set.checkpointLsn }, { timeoutMs: REPLAY_TIMEOUT_MS });
        // A skip moves the log's end up to the checkpoint, which contiguousLsn already covers.
        ctx.tell(args.wal, { type: 'checkpoint', lsn: set.checkpointLsn });
      }
      ctx.log.info('engine-started', { segments: store.segments.length, replayed: counters.replayedRecords, checkpointLsn: set.checkpointLsn });
      maybeBuild(ctx);
    },
    receive(raw: Message, ctx: ActorContext, responder: Responder | null) {
      const message = raw as EngineMessage | Internal;
      switch (message.type) {
        case 'apply':
          return write(message.batch, responder, ctx);
        case 'catch-up':
          return catchUp(ctx);
        case 'catch-up-page':
          return catchUpPage(message, ctx);
        case 'search':
          return responder?.ok(search(message, ctx));
        case 'get':
          return responder?.ok(get(message.ids));
        case 'optimize':
          return optimize(responder, ctx);
        case 'stats':
          return responder?.ok(stats(ctx));
        case 'flushed':
          return flushed(message, ctx);
        case 'compacted':
          return compacted(message, ctx);
        case 'retry-builds':
          return maybeBuild(ctx);
        case 'held-deadline':
          stall.expire(ctx.clock.now());
          return undefined;
        default:
          throw new ShoalError('INVALID_ARGUMENT', `engine cannot handle ${(raw as Message).type}`);
      }
    },
    /**
     * Orderly stop: aborts running builds (they give up at their next HNSW
     * point or step, publishing nothing; the WAL still covers their rows),
     * answers held writes UNAVAILABLE (they are in the WAL: the restarted
     * engine replays them), then waits for the builds and segment-set writes.
     */
    async stop(ctx: ActorContext) {
      stopping = true;
      abortBuild(abort);
      const unavailable = new ShoalError('UNAVAILABLE', 'the engine stopped before the optimize finished; ask again');
      for (const responder of [...optimizeQueued.splice(0), ...(optimizeRunning ?? [])]) responder.fail(unavailable);
      optimizeRunning = null;
      stall.failAll(new ShoalError('UNAVAILABLE', 'the engine stopped while the write was held by a write stall; it is in the WAL and is applied when the shard restarts'), ctx.clock.now());
      await pool?.close();
      await Promise.all(builds);
      await setWrites;
    },
  };
}

/** Roughly the bytes a batch keeps in memory while held: its columns and strings. */
function batchBytes(batch: RecordBatch): number {
  let bytes = batch.vectors.byteLength + batch.ops.byteLength + (batch.lsns?.byteLength ?? 0);
  for (let row = 0; row < batch.ids.length; row++) bytes += 2 * ((batch.ids[row] as string).length + (batch.metadata[row]?.length ?? 0));
  return bytes;
}

/** One page of the WAL from `fromLsn` on, asked of the shard's WAL writer. */
function readPage(ctx: ActorContext, args: EngineArgs, fromLsn: number): Promise<ReplayPage> {
  return ctx.ask<ReplayPage>(args.wal, { type: 'read', fromLsn, maxRecords: args.replayPageRecords ?? 8_192 }, { timeoutMs: REPLAY_TIMEOUT_MS });
}

/** Feeds the WAL above `fromLsn` to `apply`, page by page; returns where the log ended at the last read (every LSN up to it was fed, or is not in the log). */
async function replay(ctx: ActorContext, fromLsn: number, args: EngineArgs, apply: (batch: RecordBatch) => void): Promise<number> {
  for (let from = fromLsn; ; ) {
    const page = await readPage(ctx, args, from);
    apply(page.batch);
    const lsns = page.batch.lsns;
    if (page.done || lsns === null || lsns.length === 0) return page.lastLsn;
    from = (lsns[lsns.length - 1] as number) + 1;
  }
}
