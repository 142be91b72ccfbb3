// Proves the WAL's periodic sync mode (acknowledged after the write, made durable by a timer-driven fdatasync, failing
// for good if that sync fails) and checkpoints (segments wholly below an LSN are deleted, never the active one, and
// disk use stays bounded under a steady load), on real files with a manual clock.
import * as nodeFs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Clock, Timer } from '../../../runtime/clock.js';
import { nodeFileSystem } from '../../../runtime/fs.js';
import type { FileSystem } from '../../../runtime/fs.js';
import { Wal } from '../../../storage/wal/wal.js';
import type { WalEntry } from '../../../storage/wal/wal.js';
import { recordingFileSystem } from '../../fixtures/recording-fs.js';

/** A clock whose timers fire only when the test says so. */
class ManualClock implements Clock {
  private timers: { at: number; callback: () => void; cancelled: boolean }[] = [];
  private time = 0;

  now(): number {
    return this.time;
  }

  setTimer(delayMs: number, callback: () => void): Timer {
    const timer = { at: this.time + delayMs, callback, cancelled: false };
    this.timers.push(timer);
    return { cancel: () => (timer.cancelled = true) };
  }

  /** Advances time and runs the timers that are due. */
  advance(ms: number): void {
    this.time += ms;
    const due = this.timers.filter((timer) => timer.at <= this.time && !timer.cancelled);
    this.timers = this.timers.filter((timer) => !due.includes(timer));
    for (const timer of due) timer.callback();
  }

  get pending(): number {
    return this.timers.filter((timer) => !timer.cancelled).length;
  }
}

/** A FileSystem that counts datasyncs and fails each with EIO while `failDatasync` says so. */
function countingFileSystem(failDatasync: () => boolean = () => false): { fs: FileSystem; datasyncs: () => number } {
  const recording = recordingFileSystem((call) => {
    if (call.operation !== 'datasync' || !failDatasync()) return;
    throw Object.assign(new Error('injected EIO'), { code: 'EIO' });
  });
  return { fs: recording.fs, datasyncs: () => recording.count('datasync') };
}

function entries(from: number, count: number): WalEntry[] {
  return Array.from({ length: count }, (_, i) => ({
    op: 'upsert',
    id: `id-${from + i}`,
    vector: new Float32Array([from + i, 1, 2, 3]),
    metadata: null,
  }));
}

/** Waits until `condition` holds (the sync runs on libuv's thread pool), or fails after a second. */
async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(condition()).toBe(true);
}

async function settle(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 50));
}

let dir = '';
beforeEach(async () => {
  dir = await nodeFs.mkdtemp(join(tmpdir(), 'shoal-wal-periodic-'));
});
afterEach(async () => {
  await nodeFs.rm(dir, { recursive: true, force: true });
});

describe('periodic sync mode', () => {
  it('acknowledges after the write and syncs when the interval passes', async () => {
    const clock = new ManualClock();
    const { fs, datasyncs } = countingFileSystem();
    const wal = await Wal.open(fs, dir, { syncMode: 'periodic', syncIntervalMs: 100, clock });
    await wal.append(entries(1, 3));
    await wal.append(entries(4, 2));
    expect(datasyncs()).toBe(0);
    expect(wal.stats()).toMatchObject({ lastLsn: 5, durableLsn: 0 });
    expect(clock.pending).toBe(1);
    clock.advance(99);
    await settle();
    expect(datasyncs()).toBe(0);
    clock.advance(1);
    await until(() => wal.stats().durableLsn === 5);
    expect(datasyncs()).toBe(1);
    expect(wal.stats()).toMatchObject({ lastLsn: 5, durableLsn: 5, syncs: 1 });
    clock.advance(1_000);
    await settle();
    expect(datasyncs()).toBe(1);
    await wal.close();
  });

  it('syncs what is pending on close', async () => {
    const clock = new ManualClock();
    const { fs, datasyncs } = countingFileSystem();
    const wal = await Wal.open(fs, dir, { syncMode: 'periodic', clock });
    await wal.append(entries(1, 4));
    await wal.close();
    expect(datasyncs()).toBe(1);
    const reopened = await Wal.open(nodeFileSystem, dir, { syncMode: 'batch' });
    expect((await reopened.read(1, 100)).map((record) => record.id)).toEqual(['id-1', 'id-2', 'id-3', 'id-4']);
    await reopened.close();
  });

  it('fails for good when the periodic sync fails', async () => {
    const clock = new ManualClock();
    let fail = false;
    const { fs } = countingFileSystem(() => fail);
    const wal = await Wal.open(fs, dir, { syncMode: 'periodic', clock });
    await wal.append(entries(1, 1));
    fail = true;
    clock.advance(200);
    await until(() => wal.stats().failed);
    await expect(wal.append(entries(2, 1))).rejects.toMatchObject({ code: 'STORAGE_FAILED' });
    await wal.close();
  });

  it('needs a clock', async () => {
    await expect(Wal.open(nodeFileSystem, dir, { syncMode: 'periodic' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });
});

describe('checkpoints', () => {
  it('deletes only closed segments wholly at or below the LSN, and the log continues after reopen', async () => {
    const wal = await Wal.open(nodeFileSystem, dir, { segmentBytesMax: 200 });
    for (let lsn = 1; lsn <= 60; lsn += 5) await wal.append(entries(lsn, 5));
    const before = (await nodeFs.readdir(dir)).sort();
    expect(before.length).toBeGreaterThan(3);
    const firstLsns = before.map((name) => Number(name.slice(0, 20)));
    // A checkpoint in the middle of the second segment keeps it: only the first goes.
    const middleOfSecond = (firstLsns[1] as number) + 1;
    expect(await wal.checkpoint(middleOfSecond)).toBe(1);
    expect((await nodeFs.readdir(dir)).sort()).toEqual(before.slice(1));
    // Everything: all but the active segment go.
    expect(await wal.checkpoint(wal.lastLsn)).toBe(before.length - 2);
    expect(await nodeFs.readdir(dir)).toEqual([before[before.length - 1]]);
    expect(wal.stats().checkpointedSegments).toBe(before.length - 1);
    await wal.close();

    const reopened = await Wal.open(nodeFileSystem, dir, { segmentBytesMax: 200 });
    expect(reopened.lastLsn).toBe(60);
    const remaining = await reopened.read(1, 1_000);
    expect(remaining.every((record, i) => i === 0 || record.lsn === (remaining[i - 1]?.lsn ?? 0) + 1)).toBe(true);
    expect(remaining[remaining.length - 1]?.lsn ?? 60).toBe(60);
    expect(await reopened.append(entries(61, 1))).toEqual({ firstLsn: 61, lastLsn: 61 });
    await reopened.close();
  });

  it('keeps disk use bounded under a steady load when checkpoints follow', async () => {
    const wal = await Wal.open(nodeFileSystem, dir, { segmentBytesMax: 4_096 });
    let maxSegments = 0;
    let next = 1;
    for (let round = 0; round < 200; round++) {
      await wal.append(entries(next, 10));
      next += 10;
      if (round % 10 === 9) await wal.checkpoint(wal.lastLsn - 20);
      maxSegments = Math.max(maxSegments, (await nodeFs.readdir(dir)).length);
    }
    expect(wal.lastLsn).toBe(2_000);
    expect(maxSegments).toBeLessThanOrEqual(4);
    await wal.close();
  });
});
