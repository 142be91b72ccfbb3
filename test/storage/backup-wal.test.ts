// Proves a backup's WAL on its own, over real files: pages of records are copied with their LSNs from the
// checkpoint + 1, a jump in the source is kept behind a gap marker, nothing above the cut is written, and the copy
// opens as an ordinary WAL that reads back exactly those records.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeFileSystem } from '../../runtime/fs.js';
import { BackupWal } from '../../storage/backup-wal.js';
import { OP_DELETE, OP_UPSERT } from '../../storage/record-batch.js';
import type { RecordBatch } from '../../storage/record-batch.js';
import { Wal } from '../../storage/wal/wal.js';
import { temporaryDirectory } from '../fixtures/vectors.js';

const DIMENSION = 2;

/** A replay page of the given LSNs: every fifth a delete, the rest upserts with vector [lsn, -lsn]. */
function page(lsns: readonly number[]): RecordBatch {
  const vectors = new Float32Array(lsns.length * DIMENSION);
  const ops = new Uint8Array(lsns.length);
  lsns.forEach((lsn, row) => {
    ops[row] = lsn % 5 === 0 ? OP_DELETE : OP_UPSERT;
    vectors.set([lsn, -lsn], row * DIMENSION);
  });
  const ids = lsns.map((lsn) => `id-${lsn % 7}`);
  const metadata = lsns.map((lsn) => (lsn % 2 === 0 ? JSON.stringify({ lsn }) : null));
  return { dimension: DIMENSION, ops, ids, vectors, metadata, lsns: Float64Array.from(lsns) };
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, index) => from + index);
}

describe('BackupWal', () => {
  it('copies from the checkpoint to the cut, keeping LSNs and jumps', async () => {
    const directory = await temporaryDirectory('backup-wal');
    try {
      const dir = join(directory.path, 'wal');
      const wal = await BackupWal.create(nodeFileSystem, dir, 10, 30);
      expect(await wal.add(page(range(11, 15)))).toEqual({ records: 5, reachedCut: false });
      expect(wal.nextLsn).toBe(16);
      expect(await wal.add(page([...range(20, 24), ...range(26, 35)]))).toEqual({ records: 10, reachedCut: true });
      expect(wal.records).toBe(15);
      await wal.close();
      const reopened = await Wal.open(nodeFileSystem, dir);
      try {
        const records = await reopened.read(0, 1_000);
        expect(records.map((record) => record.lsn)).toEqual([...range(11, 15), ...range(20, 24), ...range(26, 30)]);
        const source = page(records.map((record) => record.lsn));
        records.forEach((record, row) => {
          expect(record.op).toBe(source.ops[row] === OP_DELETE ? 'delete' : 'upsert');
          expect(record.id).toBe(source.ids[row]);
          expect(record.metadata).toBe(source.metadata[row]);
          if (record.op === 'upsert') expect([...(record.vector ?? [])]).toEqual([record.lsn, -record.lsn]);
        });
        expect(reopened.lastLsn).toBe(30);
      } finally {
        await reopened.close();
      }
      const names = (await readdir(dir)).sort();
      expect(names.filter((name) => name.endsWith('.gap')).length).toBe(2);
      expect(names[0]).toBe('00000000000000000011.wal');
    } finally {
      await directory.remove();
    }
  });

  it('starts at LSN 1 without a checkpoint, and holds nothing when the cut is the checkpoint', async () => {
    const directory = await temporaryDirectory('backup-wal');
    try {
      const full = await BackupWal.create(nodeFileSystem, join(directory.path, 'full'), 0, 3);
      expect(await full.add(page(range(1, 3)))).toEqual({ records: 3, reachedCut: true });
      await full.close();
      const empty = await BackupWal.create(nodeFileSystem, join(directory.path, 'empty'), 7, 7);
      await empty.close();
      const reopened = await Wal.open(nodeFileSystem, join(directory.path, 'empty'));
      try {
        expect([reopened.lastLsn, (await reopened.read(0, 10)).length]).toEqual([7, 0]);
      } finally {
        await reopened.close();
      }
    } finally {
      await directory.remove();
    }
  });
});
