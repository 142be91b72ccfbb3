/**
 * When an engine builds, as a pure state machine in the style of the Raft
 * core: events go in through `step` (rows applied, a build finished or
 * failed, an optimize asked, the retry pause over, stop), with the shape of
 * the shard's tiers at that moment; `ready()` hands out what to do, in order:
 * freeze the active memtable, flush the oldest frozen memtable into a
 * segment, compact adjacent segments, release held writes, answer or fail
 * optimize callers, arm the retry timer. No clock, timers or I/O: time comes
 * in as an argument, and every action takes effect in the scheduler when it
 * is handed out (the caller starts each build at once; its end comes back as
 * an event), so there is nothing to acknowledge.
 *
 * The rules: a memtable past the flush threshold is frozen while the frozen
 * queue has room; one flush and one compaction run at a time, side by side;
 * after a failed build every build pauses for `retryMs`; an optimize freezes
 * what is in memory, waits for those flushes, then merges every segment into
 * one. Writes wait (a write stall) while the frozen queue is full and the
 * active memtable past the threshold, so memory stays bounded; the flush that
 * makes room releases them before anything else is decided, so they land in
 * the memtable they were headed for.
 */
import { planCompaction } from '../viper/compaction-plan.js';

/** The shape of one shard's tiers that scheduling depends on. */
export interface TierShape {
  readonly memtableRows: number;
  readonly frozenMemtables: number;
  /** Rows per segment, oldest first. */
  readonly segmentRows: readonly number[];
  /** Writes held by a write stall now. */
  readonly writesHeld: number;
}

/** The limits a scheduler works to. */
export interface BuildSchedulerConfig {
  readonly flushThresholdRows: number;
  readonly frozenMemtablesMax: number;
  /** The pause after a failed build. */
  readonly retryMs: number;
  /** False for an engine without a segment folder: it keeps everything in memory and builds nothing. */
  readonly persistent: boolean;
}

/** The two kinds of build. */
export type BuildKind = 'flush' | 'compaction';

/** What happened. `W` is whatever stands for an optimize caller (the engine's responders). */
export type BuildEvent<W> =
  /** Rows reached the active memtable (a write, a replay, a catch-up page), or the engine started. */
  | { readonly type: 'rows-applied' }
  /** The build the scheduler asked for is in place (its segment swapped into the tiers). */
  | { readonly type: 'build-finished'; readonly build: BuildKind }
  /** The build failed; `aborted` when it gave up because the engine is stopping or its thread dying. */
  | { readonly type: 'build-failed'; readonly build: BuildKind; readonly aborted: boolean }
  /** Flush what is in memory and merge every segment into one; `waiter` (if any) is answered once that is done. */
  | { readonly type: 'optimize-requested'; readonly waiter: W | null }
  /** The pause after a failed build is over. */
  | { readonly type: 'retry-due' }
  /** The engine is stopping: nothing more is started. */
  | { readonly type: 'stop' };

/** Why optimize callers are answered with an error. */
export type OptimizeFailure = 'merge-failed' | 'merge-aborted' | 'stopped';

/** What to do, in the order handed out. */
export type BuildAction<W> =
  /** Move the active memtable to the end of the frozen queue. */
  | { readonly type: 'freeze' }
  /** Build the oldest frozen memtable into a segment. */
  | { readonly type: 'flush' }
  /** Merge segments `from` .. `from + count - 1` into one, dropping tombstones if told. */
  | { readonly type: 'compact'; readonly from: number; readonly count: number; readonly dropTombstones: boolean }
  /**
   * Apply held writes, oldest first, while `writesMustWait` allows; each apply
   * is a `rows-applied` event of its own. Always the only action of its batch.
   */
  | { readonly type: 'release-held' }
  /** Answer these optimize callers with the shard's state now. */
  | { readonly type: 'answer-optimize'; readonly waiters: readonly W[] }
  | { readonly type: 'fail-optimize'; readonly waiters: readonly W[]; readonly reason: OptimizeFailure }
  /** A build failed: step `retry-due` after `delayMs`. */
  | { readonly type: 'retry-after'; readonly delayMs: number };

/** One batch of actions. */
export interface BuildReady<W> {
  readonly actions: readonly BuildAction<W>[];
}

/** The scheduler's state as plain data. */
export interface BuildSchedulerStatus {
  readonly flushing: boolean;
  readonly compacting: boolean;
  /** Optimize callers waiting for their merge to start, and those waiting for the running one (null: none runs). */
  readonly optimizeQueued: number;
  readonly optimizeRunning: number | null;
  /** No build starts before this time. */
  readonly pausedUntilMs: number;
  readonly stopping: boolean;
}

/** Decides an engine's freezes, flushes, compactions and optimizes; see the module header. */
export class BuildScheduler<W> {
  private flushing = false;
  private compacting = false;
  private readonly optimizeQueued: W[] = [];
  private optimizeRunning: W[] | null = null;
  private pausedUntilMs = 0;
  private stopping = false;
  private outbox: BuildAction<W>[] = [];

  constructor(private readonly config: BuildSchedulerConfig) {}

  /** Builds running now: 0 to 2. */
  get buildsRunning(): number {
    return (this.flushing ? 1 : 0) + (this.compacting ? 1 : 0);
  }

  /** True when a write arriving now must be held: applying it would grow memory past the frozen queue's bound. */
  writesMustWait(tiers: TierShape): boolean {
    return (
      this.config.persistent &&
      tiers.frozenMemtables >= this.config.frozenMemtablesMax &&
      tiers.memtableRows >= this.config.flushThresholdRows
    );
  }

  /** Feeds one event, with the tiers as they are now (after the caller swapped in a finished build). */
  step(event: BuildEvent<W>, tiers: TierShape, nowMs: number): void {
    switch (event.type) {
      case 'rows-applied':
      case 'retry-due':
        return this.schedule(tiers, nowMs);
      case 'build-finished':
        return this.finished(event.build, tiers, nowMs);
      case 'build-failed':
        return this.failed(event.build, event.aborted, nowMs);
      case 'optimize-requested':
        return this.optimizeRequested(event.waiter, tiers, nowMs);
      case 'stop':
        return this.stop();
    }
  }

  /** The actions the events so far call for, or null. Carry them out in order before the next `ready()`. */
  ready(): BuildReady<W> | null {
    if (this.outbox.length === 0) return null;
    const ready: BuildReady<W> = { actions: this.outbox };
    this.outbox = [];
    return ready;
  }

  /** The state as plain data. */
  status(): BuildSchedulerStatus {
    return {
      flushing: this.flushing,
      compacting: this.compacting,
      optimizeQueued: this.optimizeQueued.length,
      optimizeRunning: this.optimizeRunning === null ? null : this.optimizeRunning.length,
      pausedUntilMs: this.pausedUntilMs,
      stopping: this.stopping,
    };
  }

  private finished(build: BuildKind, tiers: TierShape, nowMs: number): void {
    if (build === 'flush') {
      this.flushing = false;
      // The flush made room in the frozen queue: held writes go first, each apply deciding again.
      if (tiers.writesHeld > 0 && !this.writesMustWait(tiers)) return void this.outbox.push({ type: 'release-held' });
    } else {
      this.compacting = false;
      const optimizers = this.takeRunningOptimizers();
      if (optimizers.length > 0) this.outbox.push({ type: 'answer-optimize', waiters: optimizers });
    }
    this.schedule(tiers, nowMs);
  }

  /** A failed flush leaves its memtable first in the queue; it is built again after the pause. */
  private failed(build: BuildKind, aborted: boolean, nowMs: number): void {
    if (build === 'flush') {
      this.flushing = false;
    } else {
      this.compacting = false;
      const optimizers = this.takeRunningOptimizers();
      const reason: OptimizeFailure = aborted ? 'merge-aborted' : 'merge-failed';
      if (optimizers.length > 0) this.outbox.push({ type: 'fail-optimize', waiters: optimizers, reason });
    }
    // An aborted build means the engine is going away: nothing to retry.
    if (aborted) return;
    this.pausedUntilMs = nowMs + this.config.retryMs;
    this.outbox.push({ type: 'retry-after', delayMs: this.config.retryMs });
  }

  private optimizeRequested(waiter: W | null, tiers: TierShape, nowMs: number): void {
    if (!this.config.persistent) {
      if (waiter !== null) this.outbox.push({ type: 'answer-optimize', waiters: [waiter] });
      return;
    }
    let shape = tiers;
    if (tiers.memtableRows > 0 && tiers.frozenMemtables < this.config.frozenMemtablesMax) shape = this.freeze(tiers);
    if (waiter !== null) this.optimizeQueued.push(waiter);
    this.schedule(shape, nowMs);
  }

  private stop(): void {
    this.stopping = true;
    const waiters = [...this.optimizeQueued.splice(0), ...this.takeRunningOptimizers()];
    if (waiters.length > 0) this.outbox.push({ type: 'fail-optimize', waiters, reason: 'stopped' });
  }

  /**
   * Freezes the active memtable when it is past the threshold and the queue
   * has room, then starts the flush of the oldest frozen memtable and a due
   * compaction (or an optimize's full merge), each unless one is running or
   * builds are paused.
   */
  private schedule(tiers: TierShape, nowMs: number): void {
    if (!this.config.persistent || this.stopping) return;
    let shape = tiers;
    const roomToFreeze = tiers.frozenMemtables < this.config.frozenMemtablesMax;
    if (tiers.memtableRows >= this.config.flushThresholdRows && roomToFreeze) shape = this.freeze(tiers);
    if (nowMs < this.pausedUntilMs) return;
    if (!this.flushing && shape.frozenMemtables > 0) {
      this.flushing = true;
      this.outbox.push({ type: 'flush' });
    }
    if (this.compacting) return;
    // An optimize waits for the flushes of what was in memory when it was asked, then merges everything.
    if (this.optimizeQueued.length > 0 && !this.flushing && shape.frozenMemtables === 0) {
      return this.startOptimize(shape.segmentRows.length);
    }
    const plan = planCompaction(shape.segmentRows, this.config.flushThresholdRows);
    if (plan !== null) this.compact(plan.from, plan.count, plan.dropTombstones);
  }

  private startOptimize(segments: number): void {
    const waiters = this.optimizeQueued.splice(0);
    if (segments <= 1) return void this.outbox.push({ type: 'answer-optimize', waiters });
    this.optimizeRunning = waiters;
    this.compact(0, segments, true);
  }

  private compact(from: number, count: number, dropTombstones: boolean): void {
    this.compacting = true;
    this.outbox.push({ type: 'compact', from, count, dropTombstones });
  }

  /** Hands out a freeze and returns the tiers as they are once it is carried out. */
  private freeze(tiers: TierShape): TierShape {
    this.outbox.push({ type: 'freeze' });
    return { ...tiers, memtableRows: 0, frozenMemtables: tiers.frozenMemtables + 1 };
  }

  private takeRunningOptimizers(): W[] {
    const optimizers = this.optimizeRunning ?? [];
    this.optimizeRunning = null;
    return optimizers;
  }
}
