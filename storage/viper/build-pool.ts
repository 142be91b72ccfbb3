/**
 * The segment build pool: a lazily created piscina pool whose worker threads
 * run `buildSegment`, so the thread that asks (a shard or engine, itself
 * possibly a worker thread) keeps answering searches while Parquet encoding,
 * the HNSW build and the fsyncs happen elsewhere. Idle threads exit after a
 * timeout. Builds write through the real filesystem (`nodeFileSystem`).
 * Every build carries an abort flag (build-abort.ts); `close` sets the flags
 * of the builds it is waiting for, so closing never waits for a long build
 * and never terminates a thread inside a native hnswlib call.
 */

import { Piscina } from 'piscina';
import { ShoalError } from '../../runtime/errors.js';
import { integerIn } from '../../runtime/options.js';
import { runsFromSource, siblingModuleUrl } from '../../runtime/module-url.js';
import { abortBuild, buildAbortedError, createBuildAbortFlag } from './build-abort.js';
import type { BuildAbortFlag } from './build-abort.js';
import type { BuildReply, BuildTask } from './build-worker.js';
import type { SegmentManifest } from './manifest.js';
import type { SegmentBuildOptions } from './segment-builder.js';
import { segmentRowsTransfer } from './segment-rows.js';
import type { SegmentRows } from './segment-rows.js';

/** Pool sizing; omitted fields take the defaults. */
export interface SegmentBuildPoolOptions {
  /** Build threads (default 1, at most 16). */
  readonly maxThreads?: number;
  /** An idle thread exits after this long (default 10,000 ms). */
  readonly idleTimeoutMs?: number;
  /** Builds allowed to wait for a thread (default 16); beyond it `build` rejects with UNAVAILABLE. */
  readonly queueLengthMax?: number;
}

const FROM_SOURCE = runsFromSource(import.meta.url);
const WORKER_ENTRY = siblingModuleUrl('./build-worker', import.meta.url);
// From source the worker starts through the .mjs bootstrap (it registers tsx);
// compiled, piscina loads build-worker.js itself.
const WORKER_FILE = FROM_SOURCE ? new URL('./build-worker-bootstrap.mjs', import.meta.url).href : WORKER_ENTRY;

/** Builds segments in worker threads. */
export class SegmentBuildPool {
  private pool: Piscina<BuildTask, BuildReply> | null = null;
  private closed = false;
  /** The abort flags of the builds submitted and not yet settled. */
  private readonly pending = new Set<BuildAbortFlag>();
  private readonly maxThreads: number;
  private readonly idleTimeoutMs: number;
  private readonly queueLengthMax: number;

  /** Validates the options; threads start only with the first build. */
  constructor(options: SegmentBuildPoolOptions = {}) {
    this.maxThreads = integerIn(options.maxThreads ?? 1, 'maxThreads', 1, 16);
    this.idleTimeoutMs = integerIn(options.idleTimeoutMs ?? 10_000, 'idleTimeoutMs', 0, 3_600_000);
    this.queueLengthMax = integerIn(options.queueLengthMax ?? 16, 'queueLengthMax', 0, 10_000);
  }

  /**
   * Builds segment `name` in `dir` off this thread (see `buildSegment`) and
   * resolves with its manifest once it is durable. Takes ownership of the
   * rows: buffers that a column spans entirely are transferred, so the
   * caller's typed arrays are empty afterwards. Rejects with the build's
   * ShoalError, UNAVAILABLE when the queue is full, CLOSED after `close`,
   * and with `buildAbortedError` (CLOSED, `details.aborted`) when the build
   * gave up because `options.abort` was set or the pool was closed meanwhile.
   */
  async build(dir: string, name: string, rows: SegmentRows, options: SegmentBuildOptions): Promise<SegmentManifest> {
    if (this.closed) throw new ShoalError('CLOSED', 'the segment build pool is closed');
    const pool = this.start();
    const abort = options.abort ?? createBuildAbortFlag();
    const task: BuildTask = { dir, name, rows, options: { ...options, abort } };
    let reply: BuildReply;
    this.pending.add(abort);
    try {
      reply = await pool.run(task, { transferList: segmentRowsTransfer(rows) });
    } catch (error) {
      throw this.poolError(error);
    } finally {
      this.pending.delete(abort);
    }
    if (reply.kind === 'aborted') throw buildAbortedError(name);
    if (reply.kind === 'failed') throw ShoalError.fromData(reply.error);
    return reply.manifest;
  }

  /**
   * Aborts the builds in flight, then stops the threads once the running
   * build has given up (at its next point or step); builds still queued
   * reject. Idempotent.
   */
  async close(): Promise<void> {
    this.closed = true;
    for (const abort of this.pending) abortBuild(abort);
    const pool = this.pool;
    this.pool = null;
    // Cooperative, never forced: terminating a thread in the middle of an hnswlib call makes the
    // native addon throw into a dying environment, which Node treats as fatal for the whole process.
    if (pool !== null) await pool.close();
  }

  private start(): Piscina<BuildTask, BuildReply> {
    if (this.pool === null) {
      this.pool = new Piscina<BuildTask, BuildReply>({
        filename: WORKER_FILE,
        workerData: { entry: WORKER_ENTRY, useTsx: FROM_SOURCE },
        minThreads: 0,
        maxThreads: this.maxThreads,
        idleTimeout: this.idleTimeoutMs,
        maxQueue: this.queueLengthMax,
      });
    }
    return this.pool;
  }

  private poolError(error: unknown): ShoalError {
    const message = error instanceof Error ? error.message : String(error);
    if (this.closed) return new ShoalError('CLOSED', `the segment build pool closed during a build: ${message}`);
    if (/queue is at limit/i.test(message))
      return new ShoalError('UNAVAILABLE', `segment build queue is full (${this.queueLengthMax} waiting)`);
    return new ShoalError('INTERNAL', `segment build thread failed: ${message}`);
  }
}
