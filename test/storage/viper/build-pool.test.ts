// Proves the build pool builds segments off the calling thread: during a 20,000-row build the caller's event loop stays
// responsive (its longest stall is measured), the rows' buffers are transferred rather than copied, the segment opens
// and searches, errors keep their codes, a closed pool refuses work, a pool works from inside a worker thread, and a
// build that would take minutes (paused after every HNSW point) gives up cooperatively when its abort flag (or the
// dying flag of the thread that asked for it) is set or the pool closes: it rejects as aborted, writes no manifest, and
// the thread builds again afterwards.
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { nodeFileSystem } from '../../../runtime/fs.js';
import { abortBuild, createBuildAbortFlag, isBuildAbortedError } from '../../../storage/viper/build-abort.js';
import { SegmentBuildPool } from '../../../storage/viper/build-pool.js';
import type { SegmentManifest } from '../../../storage/viper/manifest.js';
import { Segment } from '../../../storage/viper/segment.js';
import { temporaryDirectory } from '../../fixtures/vectors.js';
import { VectorSource, makeRows } from './fixtures/rows.js';

let folder: { path: string; remove: () => Promise<void> };

beforeAll(async () => {
  folder = await temporaryDirectory('viper-pool');
});

afterAll(async () => {
  await folder.remove();
});

describe('segment build pool', () => {
  it('builds a 20,000-row segment while the calling thread keeps running', async () => {
    const pool = new SegmentBuildPool({ maxThreads: 1, idleTimeoutMs: 1_000 });
    const rows = makeRows({ count: 20_000, dimension: 64, seed: 8, tombstoneEvery: 100 });
    const histogram = monitorEventLoopDelay({ resolution: 10 });
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 5);
    histogram.enable();
    const startedMs = performance.now();
    const manifest = await pool.build(folder.path, 'offthread', rows, { metric: 'cosine' });
    const elapsedMs = performance.now() - startedMs;
    histogram.disable();
    clearInterval(ticker);
    await pool.close();
    const stallMs = histogram.max / 1e6;
    console.log(
      `pool build: ${elapsedMs.toFixed(0)} ms (${manifest.buildMs} ms in the worker), longest event-loop stall ${stallMs.toFixed(1)} ms, ${ticks} ticks`,
    );
    expect(manifest).toMatchObject({ rows: 20_000, liveRows: 19_800 });
    // The typed arrays were transferred to the worker, not copied.
    expect(rows.vectors.length).toBe(0);
    expect(rows.lsns.length).toBe(0);
    expect(manifest.files.index).not.toBeNull();
    // An on-thread HNSW build of this size blocks for seconds; off-thread, the loop keeps ticking.
    expect(stallMs).toBeLessThan(Math.max(250, manifest.buildMs / 4));
    expect(ticks).toBeGreaterThan(elapsedMs / 5 / 4);
    const segment = await Segment.open(nodeFileSystem, folder.path, 'offthread');
    expect(segment.search(new VectorSource(64, 8).next(), { k: 10, predicate: null, isLive: null })).toHaveLength(10);
  });

  it('rejects with the build error code, and with CLOSED once closed', async () => {
    const pool = new SegmentBuildPool();
    const rows = makeRows({ count: 10, dimension: 4, seed: 1 });
    await expect(pool.build(folder.path, '../bad name', rows, { metric: 'cosine' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(
      pool.build(folder.path, 'bad-metric', makeRows({ count: 10, dimension: 4, seed: 1 }), {
        metric: 'hamming' as 'l2',
      }),
    ).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await pool.close();
    await expect(
      pool.build(folder.path, 'late', makeRows({ count: 10, dimension: 4, seed: 1 }), { metric: 'l2' }),
    ).rejects.toMatchObject({ code: 'CLOSED' });
    expect(() => new SegmentBuildPool({ maxThreads: 0 })).toThrow(/maxThreads/);
  });

  it('works when the caller is itself a worker thread', async () => {
    const worker = new Worker(new URL('../../../runtime/worker-bootstrap.mjs', import.meta.url), {
      workerData: {
        useTsx: true,
        entry: new URL('./fixtures/nested-build.ts', import.meta.url).href,
        dir: folder.path,
      },
    });
    const reply = await new Promise<{ kind: string; manifest?: SegmentManifest; message?: string }>(
      (resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      },
    );
    await worker.terminate();
    expect(reply.message).toBeUndefined();
    expect(reply.manifest).toMatchObject({ name: 'nested', rows: 1_200, metric: 'l2' });
    const segment = await Segment.open(nodeFileSystem, folder.path, 'nested');
    expect(segment.indexed).toBe(true);
  });

  describe('cooperative abort', () => {
    // 1,500 points paused 100 ms each: a build of minutes, so only an abort can end it within the test's timeout.
    const slowRows = (seed: number) => makeRows({ count: 1_500, dimension: 8, seed });
    const slow = { metric: 'l2', indexThresholdRows: 1, pointPauseMs: 100 } as const;

    /** Resolves once the build has written its Parquet file, i.e. it is inside (or about to enter) the HNSW loop. */
    async function building(name: string): Promise<void> {
      while ((await nodeFileSystem.stat(join(folder.path, `${name}.parquet`))) === null)
        await new Promise((resolve) => setTimeout(resolve, 20));
    }

    async function rejection(promise: Promise<unknown>): Promise<unknown> {
      return promise.then(
        () => new Error('the build was expected to be aborted'),
        (error: unknown) => error,
      );
    }

    it('stops a running build when its flag is set, and the thread builds again', async () => {
      const pool = new SegmentBuildPool({ maxThreads: 1 });
      const abort = createBuildAbortFlag();
      const built = rejection(pool.build(folder.path, 'aborted-by-flag', slowRows(3), { ...slow, abort }));
      await building('aborted-by-flag');
      abortBuild(abort);
      const error = await built;
      expect(isBuildAbortedError(error)).toBe(true);
      expect(error).toMatchObject({ code: 'CLOSED', details: { aborted: true, segment: 'aborted-by-flag' } });
      expect(await nodeFileSystem.stat(join(folder.path, 'aborted-by-flag.manifest.json'))).toBeNull();
      const after = await pool.build(folder.path, 'after-abort', makeRows({ count: 1_100, dimension: 8, seed: 4 }), {
        metric: 'l2',
      });
      expect(after).toMatchObject({ name: 'after-abort', rows: 1_100 });
      await pool.close();
    });

    it('stops a running build when the dying flag of the thread that asked for it is set', async () => {
      const pool = new SegmentBuildPool({ maxThreads: 1 });
      const threadDying = createBuildAbortFlag();
      // Short pauses: the pause waits on the build's own flag only, so the dying flag is seen at the next point.
      const built = rejection(
        pool.build(folder.path, 'aborted-by-dying', slowRows(6), { ...slow, pointPauseMs: 20, threadDying }),
      );
      await building('aborted-by-dying');
      abortBuild(threadDying);
      const error = await built;
      expect(error).toMatchObject({ code: 'CLOSED', details: { aborted: true, segment: 'aborted-by-dying' } });
      expect(await nodeFileSystem.stat(join(folder.path, 'aborted-by-dying.manifest.json'))).toBeNull();
      await pool.close();
    });

    it('aborts the running build when the pool closes', async () => {
      const pool = new SegmentBuildPool({ maxThreads: 1 });
      const events: string[] = [];
      const built = rejection(pool.build(folder.path, 'aborted-by-close', slowRows(5), slow)).then((error) => {
        events.push('build settled');
        return error;
      });
      await building('aborted-by-close');
      await pool.close();
      events.push('pool closed');
      const error = await built;
      expect(isBuildAbortedError(error)).toBe(true);
      expect(events).toEqual(['build settled', 'pool closed']);
      expect(await nodeFileSystem.stat(join(folder.path, 'aborted-by-close.manifest.json'))).toBeNull();
    });
  });
});
