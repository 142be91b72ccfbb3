// Proves preallocation keeps the log exact: the active segment is extended with zeros ahead of the appends (`always`,
// `batch`), an all-zero tail reopens as the clean end (kept by those modes, cut silently by the others, never reported
// as torn), a torn frame inside the zeros is still cut and reported, a batch-mode group is one frame so a group cut
// anywhere by a power loss reads as one torn frame and never as corruption, and rotation leaves no zeros in earlier
// segments; real Wal, real files.
import * as nodeFs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../../runtime/clock.js';
import { nodeFileSystem } from '../../../runtime/fs.js';
import { encodeFrame, scanFrames } from '../../../storage/wal/frame.js';
import { Wal, segmentFileName } from '../../../storage/wal/wal.js';
import type { WalEntry, WalOptions } from '../../../storage/wal/wal.js';

let dir = '';

beforeEach(async () => {
  dir = await nodeFs.mkdtemp(join(tmpdir(), 'shoal-wal-prealloc-'));
});

afterEach(async () => {
  await nodeFs.rm(dir, { recursive: true, force: true });
});

function entry(id: string, index: number): WalEntry {
  return { op: 'upsert', id, vector: new Float32Array([index, index + 0.25, -index]), metadata: null };
}

async function appendEach(wal: Wal, from: number, count: number): Promise<void> {
  for (let index = from; index < from + count; index += 1) await wal.append([entry(`r${index}`, index)]);
}

async function openWal(options: WalOptions): Promise<Wal> {
  return Wal.open(nodeFileSystem, dir, options);
}

async function ids(wal: Wal): Promise<string[]> {
  return (await wal.read(1, 10_000)).map((record) => record.id);
}

const firstSegment = (): string => join(dir, segmentFileName(1));

describe('preallocation (always and batch modes)', () => {
  it('writes zeros ahead of the appends, and an all-zero tail reopens as the clean end', async () => {
    const wal = await openWal({ syncMode: 'always', preallocateBytes: 64 * 1024 });
    await appendEach(wal, 0, 5);
    const logical = wal.stats().bytes;
    await wal.close();
    const size = (await nodeFs.stat(firstSegment())).size;
    expect(size).toBeGreaterThan(logical);
    expect(size - logical).toBeLessThanOrEqual(64 * 1024);

    const again = await openWal({ syncMode: 'always', preallocateBytes: 64 * 1024 });
    expect(again.recovery).toMatchObject({ records: 5, lastLsn: 5, truncatedBytes: 0, truncatedSegment: null });
    expect((await nodeFs.stat(firstSegment())).size).toBe(size);
    expect(await again.append([entry('r5', 5)])).toEqual({ firstLsn: 6, lastLsn: 6 });
    const grown = again.stats().bytes;
    expect(grown).toBeGreaterThan(logical);
    await again.close();

    // A mode that does not preallocate cuts the zeros (it will not write over them) without calling them torn.
    const never = await openWal({ syncMode: 'never' });
    expect(never.recovery).toMatchObject({ records: 6, truncatedBytes: 0, truncatedSegment: null });
    expect((await nodeFs.stat(firstSegment())).size).toBe(grown);
    expect(await ids(never)).toEqual(['r0', 'r1', 'r2', 'r3', 'r4', 'r5']);
    await never.close();
  });

  it('extends a chunk at a time, so a long run of appends stays inside one chunk of the frames', async () => {
    const wal = await openWal({ syncMode: 'always', preallocateBytes: 4096 });
    await appendEach(wal, 0, 150);
    const logical = wal.stats().bytes;
    await wal.close();
    const size = (await nodeFs.stat(firstSegment())).size;
    expect(logical).toBeGreaterThan(4096);
    expect(size).toBeGreaterThanOrEqual(logical);
    expect(size - logical).toBeLessThanOrEqual(4096);
    const bytes = await nodeFs.readFile(firstSegment());
    expect(scanFrames(bytes.subarray(0, logical))).toMatchObject({ validBytes: logical, damage: null });
    expect(bytes.subarray(logical).every((byte) => byte === 0)).toBe(true);
  });

  it('still cuts and reports a torn frame inside the zeros', async () => {
    const wal = await openWal({ syncMode: 'always', preallocateBytes: 8192 });
    await appendEach(wal, 0, 3);
    const logical = wal.stats().bytes;
    await wal.close();
    const torn = encodeFrame(new Uint8Array(100).fill(7)).subarray(0, 40);
    const handle = await nodeFs.open(firstSegment(), 'r+');
    await handle.write(torn, 0, torn.byteLength, logical);
    await handle.close();

    const size = (await nodeFs.stat(firstSegment())).size;
    const again = await openWal({ syncMode: 'always', preallocateBytes: 8192 });
    expect(again.recovery).toMatchObject({
      records: 3,
      truncatedAtOffset: logical,
      truncatedBytes: size - logical,
      truncatedSegment: segmentFileName(1),
    });
    expect((await nodeFs.stat(firstSegment())).size).toBe(logical);
    expect(await again.append([entry('r3', 3)])).toEqual({ firstLsn: 4, lastLsn: 4 });
    expect(await ids(again)).toEqual(['r0', 'r1', 'r2', 'r3']);
    await again.close();
  });

  it('writes a batch-mode group as one frame, so a group that reached the disk in pieces is a torn tail, not corruption', async () => {
    const options: WalOptions = { syncMode: 'batch', preallocateBytes: 64 * 1024 };
    const wal = await openWal(options);
    await appendEach(wal, 0, 3);
    const before = wal.stats();
    const kept = before.bytes;
    // 40 concurrent appends: one group, one write, one fdatasync, one frame.
    await Promise.all(Array.from({ length: 40 }, (_, index) => wal.append([entry(`g${index}`, index)])));
    const after = wal.stats();
    expect(after.syncs - before.syncs).toBe(1);
    const end = after.bytes;
    await wal.close();
    const bytes = await nodeFs.readFile(firstSegment());
    const scan = scanFrames(bytes.subarray(0, end));
    expect(scan.frames).toHaveLength(4);
    expect(scan.frames[3]?.offset).toBe(kept);

    // A power cut during that fdatasync: the group's first bytes never reached the disk, its later ones did.
    const pieces = Buffer.from(bytes);
    pieces.fill(0, kept, kept + Math.floor((end - kept) / 2));
    await nodeFs.writeFile(firstSegment(), pieces);
    const again = await openWal(options);
    expect(again.recovery).toMatchObject({ records: 3, truncatedSegment: segmentFileName(1), truncatedAtOffset: kept });
    expect(await ids(again)).toEqual(['r0', 'r1', 'r2']);
    expect(await again.append([entry('next', 3)])).toEqual({ firstLsn: 4, lastLsn: 4 });
    await again.close();
  });

  it('cuts the zeros of a segment before the next one starts, so only the last segment ends in zeros', async () => {
    const options: WalOptions = { syncMode: 'always', segmentBytesMax: 300, preallocateBytes: 1000 };
    const wal = await openWal(options);
    await appendEach(wal, 0, 30);
    await wal.close();
    const names = (await nodeFs.readdir(dir)).filter((name) => name.endsWith('.wal')).sort();
    expect(names.length).toBeGreaterThan(3);
    for (const name of names.slice(0, -1)) {
      const bytes = await nodeFs.readFile(join(dir, name));
      expect(scanFrames(bytes)).toMatchObject({ validBytes: bytes.byteLength, damage: null });
    }
    const again = await openWal(options);
    expect(again.recovery).toMatchObject({ records: 30, truncatedBytes: 0 });
    await appendEach(again, 30, 5);
    expect(await ids(again)).toEqual(Array.from({ length: 35 }, (_, index) => `r${index}`));
    await again.close();
  });

  it('writes no zeros ahead of a write of half a chunk or more (a bulk load writes its bytes once)', async () => {
    const wal = await openWal({ syncMode: 'batch', preallocateBytes: 4096 });
    const big = { op: 'upsert' as const, id: 'big', vector: new Float32Array(1_000), metadata: null };
    await wal.append([big]);
    await wal.append([{ ...big, id: 'big2' }]);
    const logical = wal.stats().bytes;
    expect((await nodeFs.stat(firstSegment())).size).toBe(logical);
    await appendEach(wal, 0, 2);
    expect((await nodeFs.stat(firstSegment())).size).toBeGreaterThan(wal.stats().bytes);
    await wal.close();
    const again = await openWal({ syncMode: 'batch' });
    expect(await ids(again)).toEqual(['big', 'big2', 'r0', 'r1']);
    await again.close();
  });

  it('writes exactly the frames when preallocation is off, and never preallocates in periodic or never mode', async () => {
    for (const options of [
      { syncMode: 'always', preallocateBytes: 0 },
      { syncMode: 'periodic', preallocateBytes: 4096, clock: systemClock },
      { syncMode: 'never', preallocateBytes: 4096 },
    ] as const) {
      await nodeFs.rm(dir, { recursive: true, force: true });
      const wal = await openWal(options);
      await appendEach(wal, 0, 4);
      const logical = wal.stats().bytes;
      await wal.close();
      expect((await nodeFs.stat(firstSegment())).size).toBe(logical);
    }
  });
});
