// Proves the WAL keeps every acknowledged record bit-exact with contiguous LSNs across reopen and rotation,
// group-commits concurrent appends, fails for good on an I/O error, truncates a torn tail but refuses corruption unless
// asked to repair it (fast-check: a flipped byte in any frame but the last keeps exactly the frames before it), skips
// past an engine checkpoint it has not reached, and rejects bad input before writing; each test drives a real Wal on
// real files in a temp folder, injecting faults through a wrapping FileSystem or by editing segment files with node:fs.
import * as nodeFs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ShoalError } from '../../../runtime/errors.js';
import { nodeFileSystem } from '../../../runtime/fs.js';
import type { FileSystem } from '../../../runtime/fs.js';
import { scanFrames } from '../../../storage/wal/frame.js';
import { peekBatchSummary } from '../../../storage/wal/record-codec.js';
import { Wal, segmentFileName } from '../../../storage/wal/wal.js';
import type { WalEntry, WalOptions, WalRecord } from '../../../storage/wal/wal.js';
import { recordingFileSystem } from '../../fixtures/recording-fs.js';

let dir = '';

beforeEach(async () => {
  dir = await nodeFs.mkdtemp(join(tmpdir(), 'shoal-wal-'));
});

afterEach(async () => {
  await nodeFs.rm(dir, { recursive: true, force: true });
});

/**
 * A FileSystem that runs `beforeDatasync` (which may wait or throw) before every real datasync and counts the calls.
 */
function hookedFileSystem(beforeDatasync: () => Promise<void> | void = () => undefined): {
  fs: FileSystem;
  datasyncs: () => number;
} {
  const recording = recordingFileSystem((call) => (call.operation === 'datasync' ? beforeDatasync() : undefined));
  return { fs: recording.fs, datasyncs: () => recording.count('datasync') };
}

function vectorOf(...bits: number[]): Float32Array {
  return new Float32Array(Uint32Array.from(bits).buffer);
}

function entry(id: string, index = 0): WalEntry {
  return {
    op: 'upsert',
    id,
    vector: new Float32Array([index, index + 0.5, -index]),
    metadata: JSON.stringify({ index }),
  };
}

/** Records as comparable data, with vectors as raw bits. */
function bits(records: readonly (WalEntry | WalRecord)[]): unknown[] {
  return records.map((record) => ({
    ...record,
    vector:
      record.vector === null
        ? null
        : Array.from(new Uint32Array(record.vector.buffer, record.vector.byteOffset, record.vector.length)),
  }));
}

async function segmentNames(): Promise<string[]> {
  return (await nodeFs.readdir(dir)).filter((name) => name.endsWith('.wal')).sort();
}

async function rejection(promise: Promise<unknown>): Promise<ShoalError> {
  const error = await promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(ShoalError);
  return error as ShoalError;
}

/** Appends `count` single-record batches one after another; returns the segment file size after each. */
async function appendEach(wal: Wal, count: number, prefix = 'r'): Promise<number[]> {
  const sizes: number[] = [];
  for (let index = 0; index < count; index += 1) {
    await wal.append([entry(`${prefix}${index}`, index)]);
    sizes.push((await nodeFs.stat(join(dir, segmentFileName(1)))).size);
  }
  return sizes;
}

/**
 * For tests that cut or edit segment files at offsets read from their sizes: no zeros written ahead
 * (wal-preallocate.test.ts covers those).
 */
const EXACT_FILES: WalOptions = { preallocateBytes: 0 };

async function openWal(options?: WalOptions): Promise<Wal> {
  return Wal.open(nodeFileSystem, dir, options);
}

/**
 * Appends `count` single-record batches to a new log, then flips one bit inside its second frame; returns that frame's
 * offset and the damaged bytes.
 */
async function logWithDamagedSecondFrame(
  count: number,
): Promise<{ path: string; frameOffset: number; damaged: Buffer }> {
  const wal = await openWal(EXACT_FILES);
  const sizes = await appendEach(wal, count);
  await wal.close();
  const path = join(dir, segmentFileName(1));
  const damaged = Buffer.from(await nodeFs.readFile(path));
  const frameOffset = sizes[0] ?? 0;
  damaged[frameOffset + 20] = (damaged[frameOffset + 20] ?? 0) ^ 0x01;
  await nodeFs.writeFile(path, damaged);
  return { path, frameOffset, damaged };
}

describe('Wal round trip', () => {
  it('returns the same records after reopen: ids, ops, bit-exact vectors, metadata', async () => {
    const batches: WalEntry[][] = [
      [
        {
          op: 'upsert',
          id: 'a',
          vector: vectorOf(0x7fc00001, 0x80000000, 0x00000001, 0x7f800000),
          metadata: '{"lang":"en","ü":"🐟"}',
        },
        { op: 'delete', id: 'b', vector: null, metadata: null },
      ],
      [{ op: 'upsert', id: 'ünï-🐟', vector: new Float32Array(384).map((_, i) => Math.sin(i)), metadata: null }],
      [{ op: 'upsert', id: '', vector: new Float32Array(0), metadata: '{}' }],
    ];
    const wal = await openWal();
    const acks = [];
    for (const batch of batches) acks.push(await wal.append(batch));
    expect(acks).toEqual([
      { firstLsn: 1, lastLsn: 2 },
      { firstLsn: 3, lastLsn: 3 },
      { firstLsn: 4, lastLsn: 4 },
    ]);
    await wal.close();

    const reopened = await openWal();
    const records = await reopened.read(1, 100);
    const expected = batches.flat().map((record, index) => ({ ...record, lsn: index + 1 }));
    expect(bits(records)).toEqual(bits(expected));
    expect(records.every((record) => record.vector === null || record.vector.byteOffset === 0)).toBe(true);
    expect(reopened.recovery).toMatchObject({
      records: 4,
      firstLsn: 1,
      lastLsn: 4,
      truncatedBytes: 0,
      truncatedSegment: null,
    });
    expect(reopened.lastLsn).toBe(4);
    expect(await reopened.append([entry('next')])).toEqual({ firstLsn: 5, lastLsn: 5 });
    await reopened.close();
  });

  it('keeps LSNs contiguous across rotation and reopen, and reads from any LSN', async () => {
    const wal = await openWal({ segmentBytesMax: 300 });
    for (let index = 0; index < 40; index += 1)
      await wal.append([entry(`x${index}`, index), entry(`y${index}`, index)]);
    await wal.close();
    const names = await segmentNames();
    expect(names.length).toBeGreaterThan(5);
    for (const name of names) {
      const scan = scanFrames(await nodeFs.readFile(join(dir, name)));
      expect(scan.damage).toBeNull();
      const first = scan.frames[0];
      if (first !== undefined) expect(name).toBe(segmentFileName(peekBatchSummary(first.payload).firstLsn));
    }

    const reopened = await openWal({ segmentBytesMax: 300 });
    expect(reopened.recovery).toMatchObject({ segments: names.length, records: 80, lastLsn: 80 });
    expect(await reopened.append([entry('z0'), entry('z1'), entry('z2')])).toEqual({ firstLsn: 81, lastLsn: 83 });
    const all = await reopened.read(1, 1000);
    expect(all.map((record) => record.lsn)).toEqual(Array.from({ length: 83 }, (_, index) => index + 1));
    expect((await reopened.read(37, 5)).map((record) => record.lsn)).toEqual([37, 38, 39, 40, 41]);
    expect((await reopened.read(0, 2)).map((record) => record.lsn)).toEqual([1, 2]);
    expect(await reopened.read(84, 10)).toEqual([]);
    expect(reopened.stats()).toMatchObject({ firstLsn: 1, lastLsn: 83, segments: (await segmentNames()).length });
    await reopened.close();
  });
});

describe('Wal group commit', () => {
  it('covers 100 concurrent appends with far fewer datasyncs, resolving in LSN order', async () => {
    const { fs, datasyncs } = hookedFileSystem();
    const wal = await Wal.open(fs, dir);
    const before = datasyncs();
    const order: number[] = [];
    const acks = await Promise.all(
      Array.from({ length: 100 }, (_, index) =>
        wal.append([entry(`c${index}`, index)]).then((ack) => {
          order.push(ack.firstLsn);
          return ack;
        }),
      ),
    );
    expect(acks.map((ack) => ack.firstLsn)).toEqual(Array.from({ length: 100 }, (_, index) => index + 1));
    expect(order).toEqual(acks.map((ack) => ack.firstLsn));
    expect(datasyncs() - before).toBeLessThanOrEqual(5);
    expect(wal.stats()).toMatchObject({ appends: 100, records: 100, syncs: datasyncs() - before });
    expect((await wal.read(1, 200)).map((record) => record.id)).toEqual(acks.map((_, index) => `c${index}`));
    await wal.close();
  });

  it('bounds a group by records, and syncs every frame in always mode and none in never mode', async () => {
    const bounded = hookedFileSystem();
    const wal = await Wal.open(bounded.fs, dir, { groupRecordsMax: 4 });
    await Promise.all(Array.from({ length: 20 }, (_, index) => wal.append([entry(`g${index}`)])));
    expect(bounded.datasyncs()).toBeGreaterThanOrEqual(5);
    await wal.close();

    const always = hookedFileSystem();
    const alwaysWal = await Wal.open(always.fs, join(dir, 'always'), { syncMode: 'always' });
    await Promise.all(Array.from({ length: 20 }, (_, index) => alwaysWal.append([entry(`a${index}`)])));
    expect(always.datasyncs()).toBe(20);
    await alwaysWal.close();

    const never = hookedFileSystem();
    const neverWal = await Wal.open(never.fs, join(dir, 'never'), { syncMode: 'never' });
    await Promise.all(Array.from({ length: 20 }, (_, index) => neverWal.append([entry(`n${index}`)])));
    expect(never.datasyncs()).toBe(0);
    expect((await neverWal.read(1, 100)).length).toBe(20);
    await neverWal.close();
  });

  it('resolves an append only after the datasync that covers it', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { fs } = hookedFileSystem(() => gate);
    const wal = await Wal.open(fs, dir);
    let settled = false;
    const pending = wal.append([entry('slow')]).then(() => {
      settled = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(settled).toBe(false);
    expect(wal.lastLsn).toBe(1);
    expect((await wal.read(1, 10)).map((record) => record.id)).toEqual(['slow']);
    release();
    await pending;
    expect(settled).toBe(true);
    await wal.close();
  });
});

describe('Wal failure', () => {
  it('rejects the failed group and every later append with STORAGE_FAILED, never syncs again, and still reads', async () => {
    let failing = false;
    const { fs, datasyncs } = hookedFileSystem(() => {
      if (failing) throw Object.assign(new Error('input/output error'), { code: 'EIO' });
    });
    const wal = await Wal.open(fs, dir);
    await wal.append([entry('ok0'), entry('ok1')]);
    failing = true;
    const pending = Array.from({ length: 10 }, (_, index) => wal.append([entry(`lost${index}`)]));
    const errors = await Promise.all(pending.map(rejection));
    for (const error of errors) {
      expect(error.code).toBe('STORAGE_FAILED');
      expect(error.message).toContain('EIO');
      expect(error.details).toMatchObject({ cause: 'EIO' });
    }
    const syncsAtFailure = datasyncs();
    failing = false;
    const later = await rejection(wal.append([entry('later')]));
    expect(later.code).toBe('STORAGE_FAILED');
    expect(later.details).toMatchObject({ cause: 'EIO' });
    expect(datasyncs()).toBe(syncsAtFailure);
    expect(wal.stats().failed).toBe(true);
    expect(wal.lastLsn).toBe(2);
    expect((await wal.read(1, 100)).map((record) => record.id)).toEqual(['ok0', 'ok1']);
    await wal.close();
    expect((await rejection(wal.append([entry('closed')]))).code).toBe('CLOSED');
  });
});

describe('Wal recovery', () => {
  it('truncates a torn tail, reports it, keeps earlier records and continues with the next LSN', async () => {
    const wal = await openWal(EXACT_FILES);
    const sizes = await appendEach(wal, 5);
    await wal.close();
    const lastFrameOffset = sizes[3] ?? 0;
    const path = join(dir, segmentFileName(1));
    const cutAt = lastFrameOffset + 7;
    await nodeFs.truncate(path, cutAt);

    const reopened = await openWal(EXACT_FILES);
    expect(reopened.recovery).toEqual({
      segments: 1,
      records: 4,
      firstLsn: 1,
      lastLsn: 4,
      truncatedBytes: 7,
      truncatedSegment: segmentFileName(1),
      truncatedAtOffset: lastFrameOffset,
      repaired: null,
    });
    expect((await nodeFs.stat(path)).size).toBe(lastFrameOffset);
    expect((await reopened.read(1, 100)).map((record) => record.id)).toEqual(['r0', 'r1', 'r2', 'r3']);
    expect(await reopened.append([entry('after')])).toEqual({ firstLsn: 5, lastLsn: 5 });
    await reopened.close();
    const again = await openWal(EXACT_FILES);
    expect(again.recovery.truncatedBytes).toBe(0);
    expect((await again.read(5, 10)).map((record) => record.id)).toEqual(['after']);
    await again.close();
  });

  it('truncates garbage written after the last frame of the last segment', async () => {
    const wal = await openWal({ segmentBytesMax: 200, ...EXACT_FILES });
    await appendEach(wal, 3, 'g');
    await wal.append([entry('tail')]);
    await wal.close();
    const names = await segmentNames();
    const lastPath = join(dir, names[names.length - 1] ?? '');
    const size = (await nodeFs.stat(lastPath)).size;
    await nodeFs.appendFile(lastPath, Buffer.concat([Buffer.from('SHW1'), Buffer.alloc(500)]));
    const reopened = await openWal({ segmentBytesMax: 200, ...EXACT_FILES });
    expect(reopened.recovery).toMatchObject({ truncatedBytes: 504, truncatedAtOffset: size, records: 4 });
    await reopened.close();
  });

  it('rejects a flipped byte in an earlier frame as CORRUPTION naming the segment and offset, changing nothing', async () => {
    const { path, frameOffset, damaged } = await logWithDamagedSecondFrame(4);

    const error = await rejection(openWal(EXACT_FILES));
    expect(error.code).toBe('CORRUPTION');
    expect(error.details).toEqual({ segment: segmentFileName(1), offset: frameOffset });
    expect(error.message).toContain(segmentFileName(1));
    expect(error.message).toContain(String(frameOffset));
    expect((await nodeFs.readFile(path)).equals(damaged)).toBe(true);
  });

  it('rejects damage in a non-last segment and a missing segment as CORRUPTION', async () => {
    const wal = await openWal({ segmentBytesMax: 100 });
    for (let index = 0; index < 12; index += 1) await wal.append([entry(`s${index}`, index)]);
    await wal.close();
    const names = await segmentNames();
    expect(names.length).toBeGreaterThanOrEqual(4);
    const firstName = names[0] ?? '';
    const firstPath = join(dir, firstName);
    const firstSize = (await nodeFs.stat(firstPath)).size;
    await nodeFs.truncate(firstPath, firstSize - 3);
    const torn = await rejection(openWal({ segmentBytesMax: 100 }));
    expect(torn.code).toBe('CORRUPTION');
    expect(torn.details).toMatchObject({ segment: firstName });

    // Without the first segment the log legitimately starts later; without a middle one it has a gap.
    await nodeFs.rm(firstPath);
    const later = await openWal({ segmentBytesMax: 100 });
    expect(later.recovery.firstLsn).toBe(Number(names[1]?.slice(0, 20)));
    await later.close();
    await nodeFs.rm(join(dir, names[2] ?? ''));
    const gap = await rejection(openWal({ segmentBytesMax: 100 }));
    expect(gap.code).toBe('CORRUPTION');
    expect(gap.details).toEqual({ segment: names[3], offset: 0 });
  });

  it('removes leftover temp files on open', async () => {
    const wal = await openWal();
    await wal.append([entry('kept')]);
    await wal.close();
    await nodeFs.writeFile(join(dir, `${segmentFileName(2)}.tmp-abc123`), 'half written');
    const reopened = await openWal();
    expect(await nodeFs.readdir(dir)).toEqual([segmentFileName(1)]);
    expect((await reopened.read(1, 10)).map((record) => record.id)).toEqual(['kept']);
    await reopened.close();
  });
});

describe('Wal repair', () => {
  const gapFiles = async (): Promise<string[]> =>
    (await nodeFs.readdir(dir)).filter((name) => name.endsWith('.gap')).sort();

  it('with repair: keeps the records before a bad frame, discards the rest and numbers new appends above every discarded LSN; the repaired log reopens without repair', async () => {
    const { path, frameOffset, damaged } = await logWithDamagedSecondFrame(4);

    const repaired = await openWal({ ...EXACT_FILES, repair: true });
    const report = repaired.recovery.repaired;
    expect(report).toMatchObject({
      segment: segmentFileName(1),
      offset: frameOffset,
      keptLsn: 1,
      discardedBytes: damaged.byteLength - frameOffset,
      discardedSegments: [],
    });
    expect(report?.problem).toContain('checksum');
    expect(report?.resumeLsn).toBeGreaterThan(4);
    expect(repaired.recovery).toMatchObject({ records: 1, lastLsn: 1 });
    expect((await nodeFs.stat(path)).size).toBe(frameOffset);
    expect((await repaired.read(1, 100)).map((record) => record.id)).toEqual(['r0']);
    const resumeLsn = report?.resumeLsn ?? 0;
    expect(await repaired.append([entry('after')])).toEqual({ firstLsn: resumeLsn, lastLsn: resumeLsn });
    await repaired.close();
    expect(await segmentNames()).toEqual([segmentFileName(1), segmentFileName(resumeLsn)]);
    const markers = await gapFiles();
    expect(markers).toHaveLength(1);
    expect(JSON.parse(await nodeFs.readFile(join(dir, markers[0] ?? ''), 'utf8'))).toMatchObject({
      keptLsn: 1,
      resumeLsn,
    });

    const reopened = await openWal(EXACT_FILES);
    expect(reopened.recovery.repaired).toBeNull();
    expect((await reopened.read(1, 100)).map((record) => [record.lsn, record.id])).toEqual([
      [1, 'r0'],
      [resumeLsn, 'after'],
    ]);
    expect((await reopened.read(2, 100)).map((record) => record.lsn)).toEqual([resumeLsn]);
    await reopened.close();
  });

  it('with repair, for random logs and a flipped byte in any frame but the very last: keeps exactly the records of the frames before it, and the log then reopens without repair', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 3, maxLength: 10 }),
        fc.boolean(),
        fc.nat(),
        fc.nat(),
        async (batchSizes, smallSegments, frameDraw, byteDraw) => {
          const runDir = join(dir, `run-${run++}`);
          const options: WalOptions = { ...EXACT_FILES, segmentBytesMax: smallSegments ? 150 : 64 * 1024 * 1024 };
          const wal = await Wal.open(nodeFileSystem, runDir, options);
          const batches: WalEntry[][] = batchSizes.map((size, batch) =>
            Array.from({ length: size }, (_, row) => entry(`b${batch}-${row}`, batch * 10 + row)),
          );
          for (const batch of batches) await wal.append(batch);
          await wal.close();
          // Every frame of every segment, in log order, with the batch it holds.
          const names = (await nodeFs.readdir(runDir)).filter((name) => name.endsWith('.wal')).sort();
          const frames: { name: string; offset: number; end: number; batch: number }[] = [];
          for (const name of names) {
            for (const frame of scanFrames(await nodeFs.readFile(join(runDir, name))).frames)
              frames.push({ name, offset: frame.offset, end: frame.end, batch: frames.length });
          }
          expect(frames).toHaveLength(batches.length);
          const target = frames[frameDraw % (frames.length - 1)] as (typeof frames)[number];
          const path = join(runDir, target.name);
          const bytes = Buffer.from(await nodeFs.readFile(path));
          const at = target.offset + (byteDraw % (target.end - target.offset));
          bytes[at] = (bytes[at] ?? 0) ^ 0x5a;
          await nodeFs.writeFile(path, bytes);

          const repaired = await Wal.open(nodeFileSystem, runDir, { ...options, repair: true });
          const keptIds = batches
            .slice(0, target.batch)
            .flat()
            .map((each) => each.id);
          expect((await repaired.read(0, 1_000)).map((record) => record.id)).toEqual(keptIds);
          const totalRecords = batchSizes.reduce((sum, size) => sum + size, 0);
          expect(repaired.recovery.repaired).toMatchObject({
            segment: target.name,
            offset: target.offset,
            keptLsn: keptIds.length,
          });
          expect(repaired.recovery.repaired?.resumeLsn).toBeGreaterThan(totalRecords);
          const { firstLsn } = await repaired.append([entry('new')]);
          expect(firstLsn).toBe(repaired.recovery.repaired?.resumeLsn);
          await repaired.close();
          const reopened = await Wal.open(nodeFileSystem, runDir, options);
          expect((await reopened.read(0, 1_000)).map((record) => record.id)).toEqual([...keptIds, 'new']);
          await reopened.close();
        },
      ),
      { numRuns: 40 },
    );
  });

  it('with repair: a missing middle segment keeps the segments before it and deletes those after', async () => {
    const options: WalOptions = { segmentBytesMax: 100 };
    const wal = await openWal(options);
    for (let index = 0; index < 12; index += 1) await wal.append([entry(`s${index}`, index)]);
    await wal.close();
    const names = await segmentNames();
    expect(names.length).toBeGreaterThanOrEqual(4);
    await nodeFs.rm(join(dir, names[2] ?? ''));
    expect((await rejection(openWal(options))).code).toBe('CORRUPTION');

    const repaired = await openWal({ ...options, repair: true });
    const report = repaired.recovery.repaired;
    const keptLsn = Number(names[2]?.slice(0, 20)) - 1;
    expect(report).toMatchObject({ segment: names[3], offset: 0, keptLsn, discardedSegments: names.slice(3) });
    expect(report?.resumeLsn).toBeGreaterThan(12);
    expect((await repaired.read(1, 100)).map((record) => record.id)).toEqual(
      Array.from({ length: keptLsn }, (_, index) => `s${index}`),
    );
    await repaired.append([entry('after')]);
    await repaired.close();
    expect(await segmentNames()).toEqual([...names.slice(0, 2), segmentFileName(report?.resumeLsn ?? 0)]);

    const reopened = await openWal(options);
    expect((await reopened.read(1, 100)).map((record) => record.id)).toEqual([
      ...Array.from({ length: keptLsn }, (_, index) => `s${index}`),
      'after',
    ]);
    await reopened.close();
  });

  it('a repair cut short by a failure is repaired again, above its own new segment; stray gap markers go on open', async () => {
    await logWithDamagedSecondFrame(3);
    // The repair's first steps (gap marker, new segment) succeed; cutting the damaged segment fails.
    const failingTruncate = recordingFileSystem((call) => {
      if (call.operation === 'truncate') throw Object.assign(new Error('injected EIO'), { code: 'EIO' });
    });
    const failed = await rejection(Wal.open(failingTruncate.fs, dir, { ...EXACT_FILES, repair: true }));
    expect(failed.code).toBe('STORAGE_FAILED');
    expect((await rejection(openWal(EXACT_FILES))).code).toBe('CORRUPTION');
    const firstResume = Number((await gapFiles())[0]?.slice(0, 20));
    expect(firstResume).toBeGreaterThan(3);

    await nodeFs.writeFile(join(dir, '00000000000000099999.gap'), '{}');
    const repaired = await openWal({ ...EXACT_FILES, repair: true });
    expect(repaired.recovery.repaired?.resumeLsn).toBeGreaterThan(firstResume);
    expect(repaired.recovery.repaired?.discardedSegments).toEqual([segmentFileName(firstResume)]);
    expect((await repaired.read(1, 100)).map((record) => record.id)).toEqual(['r0']);
    await repaired.close();
    expect(await gapFiles()).toEqual([`${String(repaired.recovery.repaired?.resumeLsn).padStart(20, '0')}.gap`]);
  });

  it('a checkpoint that deletes a segment after a gap deletes its marker too', async () => {
    const options: WalOptions = { ...EXACT_FILES, segmentBytesMax: 100 };
    await logWithDamagedSecondFrame(3);
    const repaired = await openWal({ ...options, repair: true });
    const resumeLsn = repaired.recovery.repaired?.resumeLsn ?? 0;
    expect(resumeLsn).toBeGreaterThan(3);
    for (let index = 0; index < 6; index += 1) await repaired.append([entry(`n${index}`, index)]);
    expect((await segmentNames()).length).toBeGreaterThan(2);
    expect(await gapFiles()).toHaveLength(1);
    expect(await repaired.checkpoint(resumeLsn + 2)).toBeGreaterThanOrEqual(2);
    expect(await gapFiles()).toEqual([]);
    await repaired.close();
    const reopened = await openWal(options);
    expect((await reopened.read(0, 100)).map((record) => record.id)).toContain('n5');
    await reopened.close();
  });
});

describe('Wal skipPast', () => {
  it('numbers the next append above an LSN the log has not reached, behind a gap marker that survives reopen; a no-op below the end', async () => {
    const wal = await openWal();
    await appendEach(wal, 3);
    expect(await wal.skipPast(2)).toBe(false);
    expect(await wal.skipPast(10)).toBe(true);
    expect(await wal.append([entry('after')])).toEqual({ firstLsn: 11, lastLsn: 11 });
    expect(wal.stats()).toMatchObject({ lastLsn: 11, durableLsn: 11 });
    await wal.close();
    expect((await nodeFs.readdir(dir)).sort()).toEqual([
      segmentFileName(1),
      segmentFileName(11).replace('.wal', '.gap'),
      segmentFileName(11),
    ]);
    const reopened = await openWal();
    expect((await reopened.read(1, 100)).map((record) => [record.lsn, record.id])).toEqual([
      [1, 'r0'],
      [2, 'r1'],
      [3, 'r2'],
      [11, 'after'],
    ]);
    expect(await reopened.append([entry('next')])).toEqual({ firstLsn: 12, lastLsn: 12 });
    await reopened.close();
  });
});

describe('Wal limits', () => {
  it('rejects an empty append, an oversize record, an oversize batch and a malformed id before writing or using an LSN', async () => {
    const wal = await openWal({ recordBytesMax: 64, batchRecordsMax: 3 });
    const path = join(dir, segmentFileName(1));
    const empty = await rejection(wal.append([]));
    expect(empty.code).toBe('INVALID_ARGUMENT');
    const oversize = await rejection(
      wal.append([entry('fine'), { op: 'upsert', id: 'big', vector: new Float32Array(16), metadata: null }]),
    );
    expect(oversize.code).toBe('INVALID_ARGUMENT');
    expect(oversize.message).toContain('recordBytesMax');
    const tooMany = await rejection(wal.append([entry('a'), entry('b'), entry('c'), entry('d')]));
    expect(tooMany.code).toBe('INVALID_ARGUMENT');
    expect(tooMany.message).toContain('batchRecordsMax');
    const badId = await rejection(wal.append([{ op: 'delete', id: 'x\uD800', vector: null, metadata: null }]));
    expect(badId.code).toBe('INVALID_ARGUMENT');
    expect((await nodeFs.stat(path)).size).toBe(0);
    expect(wal.lastLsn).toBe(0);
    expect(await wal.append([entry('first')])).toEqual({ firstLsn: 1, lastLsn: 1 });
    await wal.close();
  });

  it('validates options, naming the option', async () => {
    const error = await rejection(openWal({ segmentBytesMax: 0 }));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toContain('segmentBytesMax');
    expect((await rejection(openWal({ syncMode: 'sometimes' as never }))).message).toContain('syncMode');
  });
});

describe('Wal close and concurrent reads', () => {
  it('lets accepted appends finish on close, rejects later appends with CLOSED, and reads only complete prefixes', async () => {
    const wal = await openWal({ segmentBytesMax: 2000 });
    const pending: Promise<unknown>[] = [];
    const seen: number[][] = [];
    for (let round = 0; round < 20; round += 1) {
      for (let index = 0; index < 10; index += 1)
        pending.push(wal.append([entry(`p${round}-${index}`), entry(`q${round}-${index}`)]));
      seen.push((await wal.read(1, 10_000)).map((record) => record.lsn));
      await new Promise((resolve) => setImmediate(resolve));
    }
    const closing = wal.close();
    expect((await rejection(wal.append([entry('late')]))).code).toBe('CLOSED');
    await closing;
    await Promise.all(pending);
    for (const lsns of seen) expect(lsns).toEqual(Array.from({ length: lsns.length }, (_, index) => index + 1));
    const reopened = await openWal();
    expect(reopened.lastLsn).toBe(400);
    await reopened.close();
  });
});
