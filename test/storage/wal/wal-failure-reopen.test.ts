// Proves that a WAL reopened in the same boot after a failed fdatasync does not trust the frames that were never made durable (the page cache may still show them): they are cut away, LSNs continue right after the last durable record, and no hole can appear later; found by the simulator (seed 109 with I/O faults).
import * as nodeFs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FaultyFileSystem } from '../../../runtime/faulty-fs.js';
import { nodeFileSystem } from '../../../runtime/fs.js';
import { Wal } from '../../../storage/wal/wal.js';
import type { WalEntry } from '../../../storage/wal/wal.js';

function entries(from: number, count: number): WalEntry[] {
  return Array.from({ length: count }, (_, i) => ({ op: 'upsert', id: `id-${from + i}`, vector: new Float32Array([from + i]), metadata: null }));
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
