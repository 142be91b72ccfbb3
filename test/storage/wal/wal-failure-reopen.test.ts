// Proves that a WAL reopened in the same boot after a failed fdatasync does not trust the frames that were never made
// durable (the page cache may still show them): unacknowledged ones are cut away, LSNs continue right after the last
// durable record, and no hole can appear later; found by the simulator (seed 109 with I/O faults). Acknowledged frames
// past the last good sync (`never`, `periodic`), and a whole segment whose sync failed during open, are written again
// from the page cache and synced before the WAL trusts them (simulator seeds 22, 37 and 47 with I/O faults: a later
// power loss left a hole before synced frames).
import * as nodeFs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FaultyFileSystem } from '../../../runtime/faulty-fs.js';
import { nodeFileSystem } from '../../../runtime/fs.js';
import { Wal } from '../../../storage/wal/wal.js';
import type { WalEntry } from '../../../storage/wal/wal.js';
import { recordingFileSystem } from '../../fixtures/recording-fs.js';
import type { FileSystemCall } from '../../fixtures/recording-fs.js';

function entries(from: number, count: number): WalEntry[] {
  return Array.from({ length: count }, (_, i) => ({
    op: 'upsert',
    id: `id-${from + i}`,
    vector: new Float32Array([from + i]),
    metadata: null,
  }));
}

let dir = '';
beforeEach(async () => {
  dir = await nodeFs.mkdtemp(join(tmpdir(), 'shoal-wal-failure-'));
});
afterEach(async () => {
  await nodeFs.rm(dir, { recursive: true, force: true });
});

describe('reopening after a failed fdatasync', () => {
  it('cuts the unsynced frames and continues after the last durable record', async () => {
    const faulty = new FaultyFileSystem(nodeFileSystem);
    const wal = await Wal.open(faulty, dir, { syncMode: 'batch' });
    expect(await wal.append(entries(1, 3))).toEqual({ firstLsn: 1, lastLsn: 3 });
    faulty.arm('datasync', 'EIO');
    await expect(wal.append(entries(4, 2))).rejects.toMatchObject({ code: 'STORAGE_FAILED' });
    await wal.close();
    // The failed frame reached the page cache: without the safeguard a reopen would read LSNs 4 and 5 as valid.
    const segment = (await nodeFs.readdir(dir)).find((name) => name.endsWith('.wal')) as string;
    const sizeWithUnsynced = (await nodeFs.stat(join(dir, segment))).size;

    const reopened = await Wal.open(nodeFileSystem, dir, { syncMode: 'batch' });
    expect(reopened.lastLsn).toBe(3);
    expect((await nodeFs.stat(join(dir, segment))).size).toBeLessThan(sizeWithUnsynced);
    expect((await nodeFs.readdir(dir)).filter((name) => !name.endsWith('.wal'))).toEqual([]);
    expect(await reopened.append(entries(10, 1))).toEqual({ firstLsn: 4, lastLsn: 4 });
    expect((await reopened.read(1, 100)).map((record) => record.id)).toEqual(['id-1', 'id-2', 'id-3', 'id-10']);
    await reopened.close();
  });
});

/** Every write (offset and length) and every datasync of WAL segments among `calls`, in order. */
function segmentWrites(calls: readonly FileSystemCall[]): string[] {
  return calls
    .filter((call) => call.path.endsWith('.wal'))
    .flatMap((call) => {
      if (call.operation === 'write') return [`write @${call.position ?? 'end'}+${call.bytes}`];
      return call.operation === 'datasync' ? ['datasync'] : [];
    });
}

describe('acknowledged frames a failed fdatasync may have dropped', () => {
  it('never mode: keeps the acknowledged frames, writing them again and syncing them before the WAL trusts them', async () => {
    const faulty = new FaultyFileSystem(nodeFileSystem);
    const wal = await Wal.open(faulty, dir, { syncMode: 'never' });
    await wal.append(entries(1, 2));
    await wal.append(entries(3, 1));
    const segment = (await nodeFs.readdir(dir)).find((name) => name.endsWith('.wal')) as string;
    const size = (await nodeFs.stat(join(dir, segment))).size;
    faulty.arm('datasync', 'EIO');
    await expect(wal.sync()).rejects.toMatchObject({ code: 'STORAGE_FAILED' });
    await wal.close();

    const recording = recordingFileSystem();
    const reopened = await Wal.open(recording.fs, dir, { syncMode: 'never' });
    // The three acknowledged records were never synced: all of them are written again, then synced.
    expect(segmentWrites(recording.calls).slice(0, 2)).toEqual([`write @0+${size}`, 'datasync']);
    expect((await reopened.read(1, 100)).map((record) => record.id)).toEqual(['id-1', 'id-2', 'id-3']);
    expect((await nodeFs.readdir(dir)).filter((name) => !name.endsWith('.wal'))).toEqual([]);
    expect(await reopened.append(entries(4, 1))).toEqual({ firstLsn: 4, lastLsn: 4 });
    await reopened.close();
  });

  it('an fdatasync that fails while opening leaves a marker: the next open writes the segment again before syncing it', async () => {
    const first = await Wal.open(nodeFileSystem, dir, { syncMode: 'never' });
    await first.append(entries(1, 3));
    await first.close();
    const segment = (await nodeFs.readdir(dir)).find((name) => name.endsWith('.wal')) as string;
    const size = (await nodeFs.stat(join(dir, segment))).size;
    const faulty = new FaultyFileSystem(nodeFileSystem);
    faulty.arm('datasync', 'EIO');
    await expect(Wal.open(faulty, dir, { syncMode: 'never' })).rejects.toMatchObject({ code: 'STORAGE_FAILED' });
    expect((await nodeFs.readdir(dir)).sort()).toEqual([segment, 'failed-at.json']);

    const recording = recordingFileSystem();
    const reopened = await Wal.open(recording.fs, dir, { syncMode: 'never' });
    expect(segmentWrites(recording.calls).slice(0, 2)).toEqual([`write @0+${size}`, 'datasync']);
    expect((await reopened.read(1, 100)).map((record) => record.id)).toEqual(['id-1', 'id-2', 'id-3']);
    expect(await nodeFs.readdir(dir)).toEqual([segment]);
    await reopened.close();
  });
});
