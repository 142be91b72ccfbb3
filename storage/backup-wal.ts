/**
 * The WAL of a backup: a fresh log in the backup folder holding exactly the
 * records of one shard from its checkpoint + 1 up to the backup's LSN, with
 * their original LSNs. It starts with an empty segment named by the first
 * LSN (as a live log looks after its earlier segments were checkpointed);
 * where the source log jumps (a gap a repair or a skip left), the copy jumps
 * too, behind a gap marker of its own. Records above the backup's LSN are
 * never written, so the copy is cut exactly at the LSN. Every append is
 * fsynced (`batch` mode) before the next is written.
 */
import { join } from 'node:path';
import { assert, present } from '../runtime/assert.js';
import { io } from '../runtime/fs-errors.js';
import type { FileSystem } from '../runtime/fs.js';
import { makeDirectoryDurable } from './atomic-file.js';
import { OP_DELETE, OP_UPSERT, rowVector } from './record-batch.js';
import type { RecordBatch } from './record-batch.js';
import { Wal, segmentFileName } from './wal/wal.js';
import type { WalEntry } from './wal/wal.js';

/** What one page added to a backup WAL. */
export interface PageCopied {
  /** Records of the page written (those at or below the cut). */
  readonly records: number;
  /** True once the cut was reached or passed: no later page is needed. */
  readonly reachedCut: boolean;
}

/** A backup's WAL of one shard, written page by page. */
export class BackupWal {
  private copied = 0;

  private constructor(
    private readonly fs: FileSystem,
    private readonly dir: string,
    private readonly wal: Wal,
    private readonly cutLsn: number,
  ) {}

  /** Creates the log in `dir` (which must not exist or be empty), to hold records `checkpointLsn + 1 .. cutLsn`. */
  static async create(fs: FileSystem, dir: string, checkpointLsn: number, cutLsn: number): Promise<BackupWal> {
    assert(checkpointLsn <= cutLsn, `a backup cut at ${cutLsn} below its checkpoint ${checkpointLsn}`);
    await makeDirectoryDurable(fs, dir);
    if (checkpointLsn > 0) {
      const first = join(dir, segmentFileName(checkpointLsn + 1));
      const handle = await io(`creating ${first}`, () => fs.open(first, 'wx'));
      await io(`closing ${first}`, () => handle.close());
      await io(`syncing ${dir}`, () => fs.fsyncDir(dir));
    }
    const wal = await Wal.open(fs, dir, { syncMode: 'batch', preallocateBytes: 0 });
    assert(wal.lastLsn === checkpointLsn, `a fresh backup WAL ends at ${wal.lastLsn}, not ${checkpointLsn}`);
    return new BackupWal(fs, dir, wal, cutLsn);
  }

  /** Records written so far. */
  get records(): number {
    return this.copied;
  }

  /** The next LSN a page should start from. */
  get nextLsn(): number {
    return this.wal.lastLsn + 1;
  }

  /** Appends the rows of a replay page at or below the cut, each keeping its LSN. */
  async add(page: RecordBatch): Promise<PageCopied> {
    const lsns = present(page.lsns, 'the LSNs of a replay page');
    let run: WalEntry[] = [];
    let records = 0;
    for (let row = 0; row < page.ids.length; row++) {
      const lsn = present(lsns[row], `the LSN of row ${row}`);
      if (lsn > this.cutLsn) {
        await this.append(run);
        return { records: records + run.length, reachedCut: true };
      }
      const expected = this.wal.lastLsn + 1 + run.length;
      if (lsn !== expected) {
        assert(lsn > expected, `replay page LSN ${lsn} runs backwards (expected ${expected})`);
        records += await this.append(run);
        run = [];
        // The source log jumps here; the copy jumps with it, so every record keeps its LSN.
        await this.wal.skipPast(lsn - 1);
      }
      run.push(entryOf(page, row));
    }
    records += await this.append(run);
    return { records, reachedCut: this.wal.lastLsn >= this.cutLsn };
  }

  /** Closes the log (every append is already durable) and syncs its folder. */
  async close(): Promise<void> {
    await this.wal.close();
    await io(`syncing ${this.dir}`, () => this.fs.fsyncDir(this.dir));
  }

  private async append(entries: readonly WalEntry[]): Promise<number> {
    if (entries.length === 0) return 0;
    const expected = this.wal.lastLsn + 1;
    const { firstLsn } = await this.wal.append(entries);
    assert(firstLsn === expected, `backup WAL appended at ${firstLsn}, expected ${expected}`);
    this.copied += entries.length;
    return entries.length;
  }
}

/** Row `row` of a replay page as a WAL entry; an operation backups do not know is a bug, never a silent upsert. */
function entryOf(batch: RecordBatch, row: number): WalEntry {
  const op = batch.ops[row];
  assert(op === OP_UPSERT || op === OP_DELETE, `replay page row ${row} has operation ${String(op)}, unknown here`);
  return {
    op: op === OP_DELETE ? 'delete' : 'upsert',
    id: present(batch.ids[row], `the id of row ${row}`),
    vector: rowVector(batch, row),
    metadata: batch.metadata[row] ?? null,
  };
}
