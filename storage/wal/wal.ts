/**
 * The write-ahead log: a folder of segment files `<firstLsn>.wal` (LSN
 * zero-padded to 20 digits), each a sequence of frames (`frame.ts`) holding
 * Avro batches (`record-codec.ts`), one frame per group of appends written
 * together. Owns LSN assignment, group commit, segment rotation, crash
 * recovery on open and replay (`read`). A plain class with no actors; the WAL
 * writer actor drives it. All I/O goes through `FileSystem`.
 *
 * Durability: an `append` resolves only after the fdatasync that covers its
 * frame (`always`, `batch`), or after the write alone (`periodic`: an
 * fdatasync follows within `syncIntervalMs`, so a power failure can lose up
 * to that window; `never`: unsafe, no fdatasync while appending). `open`
 * syncs the last segment, so frames an earlier instance left unsynced become
 * durable. A write or sync error puts the WAL in a failed state for good: it
 * never retries a sync on the same file, because
 * after a failed fsync the kernel may have dropped the dirty pages and a
 * second fsync can report success for data that is gone.
 */
import { dirname, join } from 'node:path';
import { assert, present } from '../../runtime/assert.js';
import { ShoalError, invalidArgument } from '../../runtime/errors.js';
import { corruptionAt, io, storageFailed } from '../../runtime/fs-errors.js';
import { WAL_LIMITS } from '../../runtime/limits.js';
import type { IntegerRange } from '../../runtime/limits.js';
import { booleanOr, integerIn } from '../../runtime/options.js';
import type { Clock, Timer } from '../../runtime/clock.js';
import type { FileHandle, FileSystem } from '../../runtime/fs.js';
import { removeTempFiles, writeFileAtomic } from '../atomic-file.js';
import {
  FRAME_HEADER_BYTES,
  FRAME_PAYLOAD_BYTES_MAX,
  isZeroFrom,
  parseFrameAt,
  scanFrames,
  sealFrame,
} from './frame.js';
import type { ScannedFrame } from './frame.js';
import { decodeBatch, encodeEntries, entryBytes, mergeBatches, peekBatchSummary } from './record-codec.js';
import type { BatchSummary, WalEntry, WalRecord } from './record-codec.js';
import { SYNC_MODES, isSyncMode } from './sync-mode.js';
import type { SyncMode } from './sync-mode.js';

export type { WalEntry, WalOp, WalRecord } from './record-codec.js';
/** Re-exported for the WAL's users; the list of modes lives in sync-mode.ts. */
export type { SyncMode } from './sync-mode.js';

/** Tuning and limits; every field is optional and validated by `Wal.open`. */
export interface WalOptions {
  syncMode?: SyncMode;
  segmentBytesMax?: number;
  groupBytesMax?: number;
  groupRecordsMax?: number;
  recordBytesMax?: number;
  batchRecordsMax?: number;
  /** `periodic` mode: the longest an acknowledged append waits for its fdatasync. Default 200 ms. */
  syncIntervalMs?: number;
  /** Timers for `periodic` mode (the actor's `ctx.clock`); required in that mode. */
  clock?: Clock;
  /**
   * Write and fdatasync with the file handle's blocking calls when it has
   * them: for a thread that owns the WAL (the WAL writer actor), this saves
   * two thread-pool round trips per group. Appends that arrive meanwhile
   * queue and form the next group. Default false.
   */
  blockingIo?: boolean;
  /**
   * Yields until pending events are handled, so appends waiting in a mailbox join the next group (the actor's
   * `ctx.nextTurn`).
   */
  nextTurn?: () => Promise<void>;
  /**
   * `always` and `batch` modes: the active segment is extended with zeros
   * this many bytes ahead of the appends, so each fdatasync flushes only the
   * new frame and not a new file size (PostgreSQL pre-zeroes its WAL segments
   * for the same reason). Recovery reads an all-zero tail as the clean end of
   * the log. Default 1 MiB; 0 turns it off. `periodic` and `never` never
   * preallocate (see `preallocates`).
   */
  preallocateBytes?: number;
  /**
   * What `open` does with damage before the tail (a bad frame in an earlier
   * segment or before a valid frame, an LSN gap): false (default) refuses
   * with CORRUPTION and changes nothing; true keeps the records before the
   * damage, discards the rest of the log (acknowledged records included:
   * this is the operator's explicit choice) and numbers the next appends
   * above every LSN the discarded bytes could hold, so no LSN is ever used
   * twice. `recovery.repaired` reports what was cut.
   */
  repair?: boolean;
}

/** What `Wal.open` found and repaired. `truncated*` describe a torn tail cut from the last segment. */
export interface WalRecovery {
  segments: number;
  records: number;
  firstLsn: number;
  /** The highest LSN the log holds (after a repair: the last record kept). */
  lastLsn: number;
  truncatedBytes: number;
  truncatedSegment: string | null;
  truncatedAtOffset: number | null;
  /** Set when `repair` cut the log at damage before its tail. */
  repaired: WalRepair | null;
}

/** What a repair cut: the damage it found, what it kept and discarded, and where numbering resumes. */
export interface WalRepair {
  /** The segment and byte offset of the damage, and what was wrong there. */
  segment: string;
  offset: number;
  problem: string;
  /** The last LSN kept (records up to it are intact); 0 when nothing was kept. */
  keptLsn: number;
  /** The first LSN of the appends after the repair: above every LSN the discarded bytes could hold. */
  resumeLsn: number;
  /** Bytes cut from the damaged segment and every segment after it. */
  discardedBytes: number;
  /** Segments deleted whole (the damaged one, when nothing before the damage was valid, and all after it). */
  discardedSegments: string[];
}

/** Counters since open, plus the recovery report. */
export interface WalStats {
  syncMode: SyncMode;
  segments: number;
  bytes: number;
  firstLsn: number;
  lastLsn: number;
  appends: number;
  records: number;
  syncs: number;
  /** Highest LSN covered by an fdatasync (equals lastLsn except in `periodic` and `never` modes). */
  durableLsn: number;
  /** Segments deleted by checkpoints since open. */
  checkpointedSegments: number;
  failed: boolean;
  recovery: WalRecovery;
}

type WalSettings = Required<Omit<WalOptions, 'clock' | 'nextTurn'>> & {
  readonly clock: Clock | null;
  readonly nextTurn: () => Promise<void>;
};

const MEBIBYTE = 1024 * 1024;
const SYNC_INTERVAL_MS: IntegerRange = { fallback: 200, min: 1, max: 60_000 };
const PREALLOCATE_BYTES: IntegerRange = { fallback: MEBIBYTE, min: 0, max: 1024 * MEBIBYTE };
const SEGMENT_BYTES: IntegerRange = { fallback: 64 * MEBIBYTE, min: 1, max: 1024 * MEBIBYTE };
const READ_CHUNK_BYTES = 8 * MEBIBYTE;
/** The largest group framing buffer a WAL keeps between groups. */
const FRAME_BUFFER_RETAINED_BYTES = 4 * MEBIBYTE;
const SEGMENT_NAME = /^(\d{20})\.wal$/;
const GAP_NAME = /^(\d{20})\.gap$/;
const LONE_SURROGATE = /\p{Surrogate}/u;

/** One segment as the WAL tracks it; `readableBytes` ends on a frame boundary that `read` may see. */
interface SegmentState {
  readonly name: string;
  readonly firstLsn: number;
  bytes: number;
  readableBytes: number;
}

interface ActiveSegment {
  readonly state: SegmentState;
  readonly handle: FileHandle;
  /** Bytes acknowledged as durable under the sync mode (in `never` mode: written). */
  durableBytes: number;
  /**
   * Bytes covered by a successful fdatasync. What a failure marker records:
   * after a failed fdatasync the kernel may drop the dirty pages past it, so
   * in `never` mode (where written counts as durable) the frames between the
   * last sync and the failure may be gone after a power loss while later
   * ones survive, a hole recovery would call corruption.
   */
  syncedBytes: number;
  /** The file's length: `state.bytes` plus the zeros written ahead (`always`, `batch`). */
  allocatedBytes: number;
}

interface PendingAppend {
  /** The batch's Avro payload; a group's payloads are merged into one frame when written. */
  readonly payload: Uint8Array;
  readonly lastLsn: number;
  readonly records: number;
  readonly resolve: () => void;
  readonly reject: (error: ShoalError) => void;
}

interface Truncation {
  readonly segment: string;
  readonly offset: number;
  readonly bytes: number;
}

/** The file name of the segment whose first record has `firstLsn`. */
export function segmentFileName(firstLsn: number): string {
  return `${String(firstLsn).padStart(20, '0')}.wal`;
}

/**
 * The marker that lets segment `<lsn>.wal` start above where the segment
 * before it ends: written (atomically, JSON describing the repair) before that
 * segment is created, deleted with it. Any other LSN gap is corruption.
 */
export function gapMarkerName(firstLsn: number): string {
  return `${String(firstLsn).padStart(20, '0')}.gap`;
}

function gapMarkerLsn(name: string): number | null {
  const match = GAP_NAME.exec(name);
  return match === null || match[1] === undefined ? null : Number(match[1]);
}

/** The first LSN encoded in a segment file name, or null when `name` is not a segment. */
export function segmentFirstLsn(name: string): number | null {
  const match = SEGMENT_NAME.exec(name);
  if (match === null || match[1] === undefined) return null;
  const lsn = Number(match[1]);
  return Number.isSafeInteger(lsn) && lsn >= 1 ? lsn : null;
}

/** An append-only, checksummed, segmented log of upserts and deletes with contiguous LSNs from 1. */
export class Wal {
  private readonly queue: PendingAppend[] = [];
  private writing = false;
  private idle: Promise<void> = Promise.resolve();
  private failure: ShoalError | null = null;
  private closing: Promise<void> | null = null;
  private nextLsn: number;
  private writtenLsn: number;
  private durableLsn: number;
  private appendCount = 0;
  private recordCount = 0;
  private syncCount = 0;
  private checkpointedSegments = 0;
  /** `periodic` mode: bytes written since the last fdatasync, the pending timer, and whether a sync is due. */
  private unsynced = false;
  private syncTimer: Timer | null = null;
  private syncDue = false;
  /** Callers of `sync` waiting for the next fdatasync of the writer loop. */
  private syncWaiters: { resolve: () => void; reject: (error: unknown) => void }[] = [];
  /**
   * The memory each group is framed in, reused from group to group: a fresh
   * buffer per group costs its page faults and garbage collection, about a
   * tenth of a bulk append's CPU. Safe because the writer loop awaits each
   * write before framing the next group, and a file handle keeps no
   * reference to data once its write has settled. Larger groups get a
   * buffer of their own, so an idle WAL holds at most FRAME_BUFFER_RETAINED_BYTES.
   */
  private frameMemory = new Uint8Array(0);
  private readonly frameBuffer = (bytes: number): Uint8Array => {
    if (bytes > FRAME_BUFFER_RETAINED_BYTES) return new Uint8Array(bytes);
    if (this.frameMemory.byteLength < bytes)
      this.frameMemory = new Uint8Array(
        Math.min(FRAME_BUFFER_RETAINED_BYTES, Math.max(bytes, this.frameMemory.byteLength * 2)),
      );
    return this.frameMemory.subarray(0, bytes);
  };

  private constructor(
    private readonly fs: FileSystem,
    private readonly dir: string,
    private readonly settings: WalSettings,
    private readonly segments: SegmentState[],
    private active: ActiveSegment,
    private readonly recoveryReport: WalRecovery,
    nextLsn: number,
    /** First LSNs of the segments allowed to start above where the one before ends (see `gapMarkerName`). */
    private readonly gaps: Set<number>,
  ) {
    // After a repair the LSNs below nextLsn that the log does not hold count as written: they are never assigned.
    this.nextLsn = nextLsn;
    this.writtenLsn = nextLsn - 1;
    this.durableLsn = nextLsn - 1;
  }

  /**
   * Creates `dir` if needed, removes temp files, recovers (truncating a torn tail) and returns a WAL ready to append;
   * rejects CORRUPTION, STORAGE_FAILED or INVALID_ARGUMENT.
   */
  static async open(fs: FileSystem, dir: string, options: WalOptions = {}): Promise<Wal> {
    const settings = resolveOptions(options);
    await io(`creating WAL folder ${dir}`, () => fs.mkdir(dir));
    await removeTempFiles(fs, dir);
    await undoUnsyncedAfterFailure(fs, dir);
    const names = await io(`listing WAL folder ${dir}`, () => fs.readdir(dir));
    const segmentNames = names.filter((name) => segmentFirstLsn(name) !== null).sort();
    const gaps = await keepGapMarkers(fs, dir, names, segmentNames);
    const recovered = await recoverSegments(
      fs,
      dir,
      segmentNames,
      preallocates(settings.syncMode),
      gaps,
      settings.repair,
    );
    const { segments } = recovered;
    let last = segments[segments.length - 1];
    if (last === undefined) {
      last = await createFirstSegment(fs, dir, recovered.nextLsn);
      segments.push(last);
    }
    const lastName = last.name;
    const handle = await io(`opening segment ${lastName}`, () => fs.open(join(dir, lastName), 'r+'));
    // An earlier instance that died (an actor or process crash, not a power loss) may have left frames
    // in the page cache that it acknowledged but never synced (`periodic`, `never`), and its sync timer
    // died with it: sync them now, or a power loss much later than `syncIntervalMs` could still lose them.
    if (last.bytes > 0) {
      try {
        await io(`syncing segment ${lastName}`, () => handle.datasync());
      } catch (error) {
        // The failed fdatasync may have dropped those pages while they stay readable: a later open whose
        // fdatasync succeeds would trust them, append after them, and a power loss would leave a hole. The
        // marker has the next open write the whole segment again before syncing it (nothing is known synced).
        await handle.close().catch(() => undefined);
        await writeFailureMarker(fs, dir, lastName, last.bytes, 0).catch(() => undefined);
        throw error;
      }
    }
    const active: ActiveSegment = {
      state: last,
      handle,
      durableBytes: last.bytes,
      syncedBytes: last.bytes,
      allocatedBytes: recovered.lastFileBytes ?? last.bytes,
    };
    return new Wal(fs, dir, settings, segments, active, recovered.recovery, recovered.nextLsn, gaps);
  }

  /**
   * Appends one batch as one frame. LSNs are assigned now, in call order, and
   * the entries are copied before this returns. Resolves, in LSN order, once
   * the frame is durable per the sync mode. Rejects INVALID_ARGUMENT (nothing
   * written, no LSN used), STORAGE_FAILED or CLOSED.
   */
  async append(entries: readonly WalEntry[]): Promise<{ firstLsn: number; lastLsn: number }> {
    this.assertWritable();
    const firstLsn = this.nextLsn;
    const payload = encodeAppend(entries, firstLsn, this.settings);
    const lastLsn = firstLsn + entries.length - 1;
    this.nextLsn = lastLsn + 1;
    await new Promise<void>((resolve, reject) => {
      this.queue.push({ payload, lastLsn, records: entries.length, resolve, reject });
      this.kick();
    });
    return { firstLsn, lastLsn };
  }

  /**
   * Records with `lsn >= fromLsn`, in LSN order, at most `maxRecords`, read
   * from the segment files. Sees only verified frames whose write completed
   * (after a failure: only frames that were made durable). Works during
   * appends and after a failure; rejects CLOSED after `close`.
   */
  async read(fromLsn: number, maxRecords: number): Promise<WalRecord[]> {
    if (this.closing !== null) throw new ShoalError('CLOSED', 'the WAL is closed');
    if (!Number.isSafeInteger(fromLsn) || fromLsn < 0) throw invalidArgument('fromLsn', 'must be an integer >= 0');
    if (!Number.isSafeInteger(maxRecords) || maxRecords < 0)
      throw invalidArgument('maxRecords', 'must be an integer >= 0');
    const segments = this.segments.map((segment) => ({ ...segment }));
    let start = 0;
    segments.forEach((segment, index) => {
      if (segment.firstLsn <= fromLsn) start = index;
    });
    const records: WalRecord[] = [];
    for (const segment of segments.slice(start)) {
      if (records.length >= maxRecords) break;
      await readSegment(this.fs, this.dir, segment, { fromLsn, maxRecords, gaps: this.gaps }, records);
    }
    return records;
  }

  /** The highest LSN assigned and written (0 when empty); after a failure, the highest made durable. */
  get lastLsn(): number {
    return this.writtenLsn;
  }

  /** What `open` found and repaired (a copy; the same as `stats().recovery`). */
  get recovery(): WalRecovery {
    return { ...this.recoveryReport };
  }

  /** A snapshot of counters and state. */
  stats(): WalStats {
    const first = this.segments[0];
    const hasRecords = first !== undefined && this.writtenLsn >= first.firstLsn;
    return {
      syncMode: this.settings.syncMode,
      segments: this.segments.length,
      bytes: this.segments.reduce((sum, segment) => sum + segment.bytes, 0),
      firstLsn: hasRecords ? first.firstLsn : 0,
      lastLsn: this.writtenLsn,
      appends: this.appendCount,
      records: this.recordCount,
      syncs: this.syncCount,
      durableLsn: this.durableLsn,
      checkpointedSegments: this.checkpointedSegments,
      failed: this.failure !== null,
      recovery: this.recovery,
    };
  }

  /** Refuses new appends (CLOSED), waits until every accepted append has settled, then closes the file. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  /**
   * Makes every acknowledged append durable now. In `always` and `batch`
   * modes they already are; in `periodic` and `never` modes this is one
   * fdatasync of the active segment, run by the writer loop (earlier
   * segments were synced when they rotated). The engine calls it before a
   * flush publishes rows: a checkpoint must never run ahead of the durable
   * WAL, or after a power loss the WAL would hand out checkpointed LSNs again.
   */
  sync(): Promise<void> {
    this.assertWritable();
    if (this.settings.syncMode === 'always' || this.settings.syncMode === 'batch') return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.syncWaiters.push({ resolve, reject });
      this.syncDue = true;
      this.kick();
    });
  }

  /**
   * Deletes the closed segments whose every record has an LSN <= `lsn` (the
   * caller guarantees those records are durable elsewhere, e.g. in engine
   * segment files); never the segment being written. Resolves with the number
   * deleted. The caller must not run `read` concurrently (the WAL writer
   * actor serialises them). Rejects STORAGE_FAILED if a delete fails; the log
   * itself stays writable.
   */
  async checkpoint(lsn: number): Promise<number> {
    if (this.closing !== null) throw new ShoalError('CLOSED', 'the WAL is closed');
    if (!Number.isSafeInteger(lsn) || lsn < 0) throw invalidArgument('lsn', 'must be an integer >= 0');
    let count = 0;
    while (count < this.segments.length - 1 && (this.segments[count + 1] as SegmentState).firstLsn - 1 <= lsn) count++;
    if (count === 0) return 0;
    const removed = this.segments.splice(0, count);
    this.checkpointedSegments += count;
    try {
      for (const segment of removed) {
        await this.fs.unlink(join(this.dir, segment.name));
        if (this.gaps.delete(segment.firstLsn)) await this.fs.unlink(join(this.dir, gapMarkerName(segment.firstLsn)));
      }
      await this.fs.fsyncDir(this.dir);
    } catch (error) {
      throw storageFailedOn('checkpoint delete', removed[0]?.name ?? '', error);
    }
    return count;
  }

  /**
   * Makes the next append's LSN greater than `lsn`: a no-op when the log
   * already reaches it; otherwise starts a new segment at `lsn + 1` behind a
   * gap marker and returns true. For an engine whose checkpoint is above the
   * log: segment files lost or deleted behind Shoal's back (a power loss
   * cannot do it: the WAL is synced before every checkpoint). Without it new
   * appends would reuse LSNs at or below the checkpoint, and the engine,
   * replaying only above its checkpoint, would skip them after the next
   * restart. Only while no append is pending (the engine asks before its
   * shard takes writes).
   */
  async skipPast(lsn: number): Promise<boolean> {
    this.assertWritable();
    if (!Number.isSafeInteger(lsn) || lsn < 0) throw invalidArgument('lsn', 'must be an integer >= 0');
    if (lsn < this.nextLsn) return false;
    assert(!this.writing && this.queue.length === 0, 'skipPast while appends are pending');
    const resumeLsn = lsn + 1;
    const marker = {
      keptLsn: this.writtenLsn,
      resumeLsn,
      problem: 'the engine checkpoint is above the end of the log',
    };
    try {
      await attempt('gap marker', gapMarkerName(resumeLsn), () =>
        writeFileAtomic(
          this.fs,
          join(this.dir, gapMarkerName(resumeLsn)),
          new TextEncoder().encode(`${JSON.stringify(marker)}\n`),
        ),
      );
      this.gaps.add(resumeLsn);
      await this.rotate(resumeLsn);
    } catch (error) {
      // Like a failed write: the WAL is failed for good, and the next open removes a marker without its segment.
      this.fail(error, []);
      await this.recordFailure();
      throw this.failure ?? error;
    }
    // Nothing was pending and rotate synced what was written, so the log is durable to its end; the LSNs
    // between that end and resumeLsn are never assigned, and count as written and durable.
    this.writtenLsn = lsn;
    this.durableLsn = lsn;
    this.nextLsn = resumeLsn;
    return true;
  }

  private async shutdown(): Promise<void> {
    this.syncTimer?.cancel();
    this.syncTimer = null;
    this.syncDue = this.unsynced || this.syncWaiters.length > 0;
    if (this.syncDue) this.kick();
    await this.idle;
    try {
      await this.active.handle.close();
    } catch (error) {
      if (this.failure === null) throw storageFailedOn('close', this.active.state.name, error);
    }
  }

  private assertWritable(): void {
    if (this.closing !== null) throw new ShoalError('CLOSED', 'the WAL is closed');
    if (this.failure !== null) throw new ShoalError('STORAGE_FAILED', this.failure.message, this.failure.details);
  }

  private kick(): void {
    if (this.writing) return;
    this.writing = true;
    this.idle = this.drain();
  }

  /** The single writer loop: one group at a time, so at most one write+sync is in flight. */
  private async drain(): Promise<void> {
    // Yield once so that appends issued in the same tick (or waiting in the mailbox) join the first group;
    // in `always` mode every append gets its own sync, so there is no group to wait for.
    if (this.settings.syncMode === 'always') await Promise.resolve();
    else await this.settings.nextTurn();
    try {
      while ((this.queue.length > 0 || this.syncDue) && this.failure === null) {
        if (this.syncDue) {
          await this.periodicSync();
          continue;
        }
        const group = this.takeGroup();
        try {
          await this.writeGroup(group);
        } catch (error) {
          this.fail(error, group);
          await this.recordFailure();
        }
      }
    } finally {
      // Cleared in the same synchronous step as the empty-queue check, so an
      // append pushed after this point always starts a new loop.
      this.writing = false;
      if (this.failure !== null) this.rejectSyncWaiters();
    }
  }

  /** Takes the next group off the queue: at least one frame, then within the byte, record and segment bounds. */
  private takeGroup(): PendingAppend[] {
    const { syncMode, groupBytesMax, groupRecordsMax, segmentBytesMax } = this.settings;
    const segmentBytes = this.active.state.bytes >= segmentBytesMax ? 0 : this.active.state.bytes;
    let bytes = 0;
    let records = 0;
    let count = 0;
    for (const pending of this.queue) {
      const full =
        syncMode === 'always' ||
        bytes + pending.payload.byteLength > Math.min(groupBytesMax, WAL_LIMITS.groupPayloadBytesMax) ||
        records + pending.records > groupRecordsMax ||
        segmentBytes + bytes >= segmentBytesMax;
      if (count > 0 && full) break;
      bytes += pending.payload.byteLength;
      records += pending.records;
      count += 1;
    }
    return this.queue.splice(0, count);
  }

  private async writeGroup(group: PendingAppend[]): Promise<void> {
    const last = group[group.length - 1];
    if (last === undefined) return;
    if (this.active.state.bytes >= this.settings.segmentBytesMax) await this.rotate(this.writtenLsn + 1);
    const { state, handle } = this.active;
    // One frame per group: a group whose write a power cut interrupted is one torn frame, whichever of its pages
    // reached the disk.
    const data = sealFrame(
      mergeBatches(
        group.map((pending) => pending.payload),
        FRAME_HEADER_BYTES,
        this.frameBuffer,
      ),
    );
    await this.preallocate(data.byteLength);
    await attempt('write', state.name, () => this.writeAt(handle, data, state.bytes));
    state.bytes += data.byteLength;
    state.readableBytes = state.bytes;
    this.active.allocatedBytes = Math.max(this.active.allocatedBytes, state.bytes);
    this.writtenLsn = last.lastLsn;
    const syncNow = this.settings.syncMode === 'always' || this.settings.syncMode === 'batch';
    if (syncNow) {
      await attempt('datasync', state.name, () => this.datasync(handle));
      this.syncCount += 1;
      this.active.durableBytes = state.bytes;
      this.active.syncedBytes = state.bytes;
      this.durableLsn = last.lastLsn;
    } else if (this.settings.syncMode === 'periodic') {
      this.scheduleSync();
    } else {
      this.active.durableBytes = state.bytes;
      this.durableLsn = last.lastLsn;
    }
    this.appendCount += group.length;
    for (const pending of group) {
      this.recordCount += pending.records;
      pending.resolve();
    }
  }

  /**
   * `always`/`batch` modes, before a write of `length` bytes at the logical
   * end: when the write would pass the zeros written so far, writes the next
   * chunk of zeros just past it (not synced here: the fdatasync after the
   * write covers both). A write of half a chunk or more gets no zeros: its own
   * bytes dwarf the file-size update, and zeroing ahead of every large write
   * would double what a bulk load writes.
   */
  private async preallocate(length: number): Promise<void> {
    const chunk = this.settings.preallocateBytes;
    const active = this.active;
    const end = active.state.bytes + length;
    if (!preallocates(this.settings.syncMode) || chunk === 0 || end <= active.allocatedBytes || length * 2 >= chunk)
      return;
    const from = Math.max(active.allocatedBytes, end);
    const to = Math.min(from + chunk, Math.max(end, this.settings.segmentBytesMax));
    if (to <= from) return;
    await attempt('preallocate', active.state.name, () => this.writeAt(active.handle, new Uint8Array(to - from), from));
    active.allocatedBytes = to;
  }

  private async writeAt(handle: FileHandle, data: Uint8Array, position: number): Promise<void> {
    if (this.settings.blockingIo && handle.writeSync !== undefined) handle.writeSync(data, position);
    else await handle.write(data, position);
  }

  private async datasync(handle: FileHandle): Promise<void> {
    if (this.settings.blockingIo && handle.datasyncSync !== undefined) handle.datasyncSync();
    else await handle.datasync();
  }

  /** `periodic` mode: marks written data unsynced and arms the timer that will sync it. */
  private scheduleSync(): void {
    this.unsynced = true;
    if (this.syncTimer !== null) return;
    // Wal.open refuses periodic mode without a clock.
    const clock = present(this.settings.clock, 'the clock of a periodic WAL');
    this.syncTimer = clock.setTimer(this.settings.syncIntervalMs, () => {
      this.syncTimer = null;
      this.syncDue = true;
      this.kick();
    });
  }

  /**
   * `periodic` mode (or a `sync` call): one fdatasync covering everything written so far, run inside the writer loop.
   */
  private async periodicSync(): Promise<void> {
    this.syncDue = false;
    const waiters = this.syncWaiters.splice(0);
    if (!this.unsynced && waiters.length === 0) return;
    const { state, handle } = this.active;
    const coveredBytes = state.bytes;
    const coveredLsn = this.writtenLsn;
    this.unsynced = false;
    try {
      await attempt('datasync', state.name, () => this.datasync(handle));
    } catch (error) {
      this.syncWaiters.unshift(...waiters);
      this.fail(error, []);
      await this.recordFailure();
      return;
    }
    this.syncCount += 1;
    this.active.durableBytes = coveredBytes;
    this.active.syncedBytes = coveredBytes;
    this.durableLsn = coveredLsn;
    for (const waiter of waiters) waiter.resolve();
  }

  private rejectSyncWaiters(): void {
    const failure = this.failure;
    for (const waiter of this.syncWaiters.splice(0))
      waiter.reject(new ShoalError('STORAGE_FAILED', failure?.message ?? 'the WAL failed', failure?.details));
  }

  /**
   * Starts segment `firstLsn`. The previous segment is durable first, so only the last segment can have a torn tail.
   */
  private async rotate(firstLsn: number): Promise<void> {
    const previous = this.active;
    if (this.settings.syncMode === 'never' || this.settings.syncMode === 'periodic') {
      await attempt('datasync', previous.state.name, () => previous.handle.datasync());
      this.syncCount += 1;
      previous.durableBytes = previous.state.bytes;
      previous.syncedBytes = previous.state.bytes;
      this.durableLsn = this.writtenLsn;
    }
    if (previous.allocatedBytes > previous.state.bytes) {
      // Only the last segment may end in zeros: cut the preallocated tail before the next segment exists.
      await attempt('truncate', previous.state.name, () => previous.handle.truncate(previous.state.bytes));
      await attempt('datasync', previous.state.name, () => previous.handle.datasync());
      previous.allocatedBytes = previous.state.bytes;
    }
    await attempt('close', previous.state.name, () => previous.handle.close());
    const name = segmentFileName(firstLsn);
    const handle = await attempt('create', name, () => this.fs.open(join(this.dir, name), 'wx'));
    const state: SegmentState = { name, firstLsn, bytes: 0, readableBytes: 0 };
    this.active = { state, handle, durableBytes: 0, syncedBytes: 0, allocatedBytes: 0 };
    this.segments.push(state);
    await attempt('folder sync', name, () => this.fs.fsyncDir(this.dir));
  }

  /** Best effort: leaves the failure marker so a reopen in this boot does not trust unsynced frames. */
  private async recordFailure(): Promise<void> {
    try {
      // Acknowledged: in `always` and `batch` modes what was synced; in `periodic` and `never`, every frame written.
      const ackedBytes = preallocates(this.settings.syncMode) ? this.active.durableBytes : this.active.state.bytes;
      await writeFailureMarker(this.fs, this.dir, this.active.state.name, ackedBytes, this.active.syncedBytes);
    } catch {
      // The disk is failing; the marker is a safeguard, and the failure itself is already reported.
    }
  }

  /** Enters the failed state for good and rejects the group and everything queued behind it. */
  private fail(error: unknown, group: PendingAppend[]): void {
    const failure = storageFailedOn('write', this.active.state.name, error);
    this.failure = failure;
    this.active.state.readableBytes = Math.min(this.active.state.readableBytes, this.active.durableBytes);
    this.writtenLsn = this.durableLsn;
    for (const pending of [...group, ...this.queue.splice(0)]) {
      pending.reject(new ShoalError('STORAGE_FAILED', failure.message, failure.details));
    }
  }
}

/** The marker a failed WAL leaves: the segment and the byte offset up to which it was last made durable. */
const FAILURE_MARKER = 'failed-at.json';

/**
 * After a failed write or fdatasync, the frames past the last synced offset
 * may still be readable from the page cache although the disk never got
 * them (Linux marks the pages clean after a failed fsync). A WAL reopened in
 * the same boot (an actor or process restart) would trust them and append
 * after them; a later power loss would then leave a hole in the log. So the
 * failing WAL records its last synced offset here (in `never` mode that can
 * be well below what it acknowledged), without fsync: the marker matters
 * exactly as long as the page cache that holds those frames.
 */
async function writeFailureMarker(
  fs: FileSystem,
  dir: string,
  segment: string,
  durableBytes: number,
  syncedBytes: number,
): Promise<void> {
  const handle = await fs.open(join(dir, FAILURE_MARKER), 'w');
  try {
    await handle.write(new TextEncoder().encode(JSON.stringify({ segment, durableBytes, syncedBytes })), 0);
  } finally {
    await handle.close();
  }
}

/**
 * On open: cuts the segment a failed WAL left back to its last durable offset (those frames were never acknowledged),
 * durably, then drops the marker.
 */
async function undoUnsyncedAfterFailure(fs: FileSystem, dir: string): Promise<void> {
  const path = join(dir, FAILURE_MARKER);
  if ((await io(`checking ${path}`, () => fs.stat(path))) === null) return;
  let marker: { segment?: unknown; durableBytes?: unknown; syncedBytes?: unknown };
  try {
    marker = JSON.parse(new TextDecoder().decode(await fs.readFile(path))) as typeof marker;
  } catch {
    marker = {};
  }
  if (
    typeof marker.segment === 'string' &&
    segmentFirstLsn(marker.segment) !== null &&
    Number.isSafeInteger(marker.durableBytes)
  ) {
    const segmentPath = join(dir, marker.segment);
    const ackedBytes = marker.durableBytes as number;
    const syncedBytes = Number.isSafeInteger(marker.syncedBytes)
      ? Math.min(marker.syncedBytes as number, ackedBytes)
      : ackedBytes;
    const stat = await io(`checking ${segmentPath}`, () => fs.stat(segmentPath));
    // Frames past what was acknowledged (the failed group) go; acknowledged frames past the last good sync
    // (`periodic`, `never`) are written again from the page cache and synced, so they no longer depend on
    // pages the failed fdatasync may have dropped (and a later power loss cannot leave a hole before later frames).
    if (stat !== null && stat.size > ackedBytes) await truncateSegment(fs, segmentPath, ackedBytes);
    if (stat !== null && ackedBytes > syncedBytes) await rewriteAndSync(fs, segmentPath, syncedBytes, ackedBytes);
  }
  await io(`removing ${path}`, () => fs.unlink(path));
  await io(`syncing WAL folder ${dir}`, () => fs.fsyncDir(dir));
}

/**
 * Writes `[from, to)` of a file again with the bytes it reads there, then fdatasyncs it (see
 * `undoUnsyncedAfterFailure`).
 */
async function rewriteAndSync(fs: FileSystem, path: string, from: number, to: number): Promise<void> {
  const bytes = await io(`reading ${path}`, () => fs.readFile(path));
  const handle = await io(`opening ${path} to write its unsynced frames again`, () => fs.open(path, 'r+'));
  try {
    await io(`writing the unsynced frames of ${path} again`, () =>
      handle.write(bytes.subarray(from, Math.min(to, bytes.byteLength)), from),
    );
    await io(`syncing ${path}`, () => handle.datasync());
  } finally {
    await handle.close();
  }
}

/**
 * Whether a sync mode writes zeros ahead of its appends. Only the modes that
 * sync every write before the next: at most one group (one frame) is ever
 * unsynced, so whatever part of it a power cut keeps is a torn last frame.
 * With several unsynced groups (`periodic`, `never`) a later one could reach
 * the disk without an earlier one, leaving a hole before intact frames.
 */
function preallocates(syncMode: SyncMode): boolean {
  return syncMode === 'always' || syncMode === 'batch';
}

function resolveOptions(options: WalOptions): WalSettings {
  const syncMode = options.syncMode ?? 'batch';
  if (!isSyncMode(syncMode)) {
    throw invalidArgument('syncMode', `must be one of ${SYNC_MODES.join(', ')}, got ${String(syncMode)}`);
  }
  if (syncMode === 'periodic' && options.clock === undefined)
    throw invalidArgument('clock', 'is required in periodic sync mode');
  return {
    syncMode,
    syncIntervalMs: integerOption('syncIntervalMs', options.syncIntervalMs, SYNC_INTERVAL_MS),
    clock: options.clock ?? null,
    blockingIo: options.blockingIo ?? false,
    nextTurn: options.nextTurn ?? (() => Promise.resolve()),
    preallocateBytes: integerOption('preallocateBytes', options.preallocateBytes, PREALLOCATE_BYTES),
    segmentBytesMax: integerOption('segmentBytesMax', options.segmentBytesMax, SEGMENT_BYTES),
    groupBytesMax: integerOption('groupBytesMax', options.groupBytesMax, WAL_LIMITS.groupBytes),
    groupRecordsMax: integerOption('groupRecordsMax', options.groupRecordsMax, WAL_LIMITS.groupRecords),
    recordBytesMax: integerOption('recordBytesMax', options.recordBytesMax, WAL_LIMITS.recordBytes),
    batchRecordsMax: integerOption('batchRecordsMax', options.batchRecordsMax, WAL_LIMITS.batchRecords),
    repair: booleanOr(options.repair, 'repair', false),
  };
}

/** `value`, or the range's fallback when absent, checked against the range. */
function integerOption(name: string, value: number | undefined, range: IntegerRange): number {
  return value === undefined ? range.fallback : integerIn(value, name, range.min, range.max);
}

/** Validates a batch against the limits and encodes its payload with LSNs from `firstLsn`; throws INVALID_ARGUMENT. */
function encodeAppend(entries: readonly WalEntry[], firstLsn: number, settings: WalSettings): Uint8Array {
  if (!Array.isArray(entries)) throw invalidArgument('entries', 'must be an array');
  if (entries.length === 0) throw invalidArgument('entries', 'must not be empty');
  if (entries.length > settings.batchRecordsMax) {
    throw invalidArgument(
      'batchRecordsMax',
      `a batch of ${entries.length} records is over the limit of ${settings.batchRecordsMax}`,
      {
        records: entries.length,
        limit: settings.batchRecordsMax,
      },
    );
  }
  let batchBytes = 0;
  entries.forEach((entry, index) => {
    batchBytes += validateEntry(entry, index, settings.recordBytesMax);
  });
  const payloadTooLarge = (bytes: number): ShoalError =>
    invalidArgument(
      'frame payload',
      `a batch of ${bytes} bytes is over the frame limit of ${FRAME_PAYLOAD_BYTES_MAX} bytes`,
      {
        bytes,
        limit: FRAME_PAYLOAD_BYTES_MAX,
      },
    );
  if (batchBytes > FRAME_PAYLOAD_BYTES_MAX) throw payloadTooLarge(batchBytes);
  const payload = encodeEntries(entries, firstLsn, batchBytes);
  if (payload.byteLength > WAL_LIMITS.groupPayloadBytesMax) throw payloadTooLarge(payload.byteLength);
  return payload;
}

/** Checks one entry's shape and size; returns its bytes as counted by `recordBytesMax`. */
function validateEntry(entry: WalEntry, index: number, recordBytesMax: number): number {
  const field = `entries[${index}]`;
  if (typeof entry !== 'object' || entry === null) throw invalidArgument(field, 'must be an object');
  if (entry.op !== 'upsert' && entry.op !== 'delete') throw invalidArgument(`${field}.op`, 'must be upsert or delete');
  if (typeof entry.id !== 'string') throw invalidArgument(`${field}.id`, 'must be a string');
  // A lone surrogate cannot be encoded as UTF-8; it would come back as U+FFFD, a different id.
  if (LONE_SURROGATE.test(entry.id))
    throw invalidArgument(`${field}.id`, 'must be well-formed UTF-16 (no lone surrogates)');
  if (entry.vector !== null && !(entry.vector instanceof Float32Array)) {
    throw invalidArgument(`${field}.vector`, 'must be a Float32Array or null');
  }
  if (entry.metadata !== null && typeof entry.metadata !== 'string') {
    throw invalidArgument(`${field}.metadata`, 'must be JSON text or null');
  }
  if (entry.metadata !== null && LONE_SURROGATE.test(entry.metadata)) {
    throw invalidArgument(`${field}.metadata`, 'must be well-formed UTF-16 (no lone surrogates)');
  }
  const bytes = entryBytes(entry);
  if (bytes > recordBytesMax) {
    throw invalidArgument(
      'recordBytesMax',
      `${field} is ${bytes} bytes (id + vector + metadata), over the limit of ${recordBytesMax}`,
      {
        index,
        bytes,
        limit: recordBytesMax,
      },
    );
  }
  return bytes;
}

// ---------------------------------------------------------------- recovery

/**
 * The LSNs of the gap markers that belong to a segment; removes the others
 * (left by a crash between writing a marker and creating its segment, or
 * between deleting a segment and its marker).
 */
async function keepGapMarkers(
  fs: FileSystem,
  dir: string,
  names: readonly string[],
  segmentNames: readonly string[],
): Promise<Set<number>> {
  const segmentLsns = new Set(segmentNames.map((name) => segmentFirstLsn(name)));
  const gaps = new Set<number>();
  let removed = false;
  for (const name of names) {
    const lsn = gapMarkerLsn(name);
    if (lsn === null) continue;
    if (segmentLsns.has(lsn)) gaps.add(lsn);
    else {
      await io(`removing stray gap marker ${name}`, () => fs.unlink(join(dir, name)));
      removed = true;
    }
  }
  if (removed) await io(`syncing WAL folder ${dir}`, () => fs.fsyncDir(dir));
  return gaps;
}

interface Recovered {
  readonly segments: SegmentState[];
  readonly recovery: WalRecovery;
  /** The last segment's file length (with its zeros ahead), or null when there is no segment. */
  readonly lastFileBytes: number | null;
  /** The LSN of the next append. */
  readonly nextLsn: number;
}

/**
 * Scans every segment in LSN order. Damage in the last segment with no valid
 * frame after it is a torn tail (an append that never completed, so never
 * acknowledged): it is cut off. Any other damage, or an LSN gap (without its
 * marker) or regression within or between segments, is CORRUPTION and
 * nothing is modified, unless `repair` is set (see `repairAt`).
 */
async function recoverSegments(
  fs: FileSystem,
  dir: string,
  names: readonly string[],
  keepZeroTail: boolean,
  gaps: Set<number>,
  repair: boolean,
): Promise<Recovered> {
  const segments: SegmentState[] = [];
  let expectedLsn: number | null = null;
  let truncation: Truncation | null = null;
  let lastFileBytes: number | null = null;
  let records = 0;
  for (const [index, name] of names.entries()) {
    const isLast = index === names.length - 1;
    let result: Awaited<ReturnType<typeof recoverSegment>>;
    try {
      result = await recoverSegment(fs, dir, name, isLast, isLast && keepZeroTail, expectedLsn, gaps);
    } catch (error) {
      if (!repair || !(error instanceof ShoalError) || error.code !== 'CORRUPTION') throw error;
      const repaired = await repairAt(fs, dir, names, index, error, expectedLsn, gaps);
      if (repaired.kept !== null) segments.push(repaired.kept);
      segments.push(repaired.resumed);
      records += repaired.keptRecords;
      const firstLsn = segments[0]?.firstLsn ?? 1;
      const recovery: WalRecovery = {
        segments: segments.length,
        records,
        firstLsn: records > 0 ? firstLsn : 0,
        lastLsn: repaired.report.keptLsn,
        truncatedBytes: 0,
        truncatedSegment: null,
        truncatedAtOffset: null,
        repaired: repaired.report,
      };
      return { segments, recovery, lastFileBytes: 0, nextLsn: repaired.report.resumeLsn };
    }
    segments.push(result.segment);
    records += result.nextLsn - result.segment.firstLsn;
    expectedLsn = result.nextLsn;
    truncation = result.truncation ?? truncation;
    lastFileBytes = result.fileBytes;
  }
  const firstLsn = segments[0]?.firstLsn ?? 1;
  const nextLsn = expectedLsn ?? 1;
  const recovery: WalRecovery = {
    segments: segments.length,
    records,
    firstLsn: records > 0 ? firstLsn : 0,
    lastLsn: nextLsn - 1,
    truncatedBytes: truncation?.bytes ?? 0,
    truncatedSegment: truncation?.segment ?? null,
    truncatedAtOffset: truncation?.offset ?? null,
    repaired: null,
  };
  return { segments, recovery, lastFileBytes, nextLsn };
}

/**
 * Repairs the log at the damage `error` names in segment `names[index]`:
 * keeps the frames before it, discards everything after, and resumes at an
 * LSN above any the discarded bytes could hold (every record takes at least
 * one byte, so a segment starting at LSN f with b bytes holds LSNs below
 * f + b). The engine's checkpoint can be no higher than an LSN the log once
 * held, so the resumed numbering is above it too, and no LSN is reused.
 * Steps, in an order a crash can interrupt anywhere: (1) the gap marker and
 * (2) the new, empty segment are made durable first; then (3) the later
 * segments are deleted and (4) the damaged one is cut. A crash before (4)
 * leaves the damage in place, so the next open refuses again or, with
 * `repair`, repairs again above the new segment.
 */
async function repairAt(
  fs: FileSystem,
  dir: string,
  names: readonly string[],
  index: number,
  error: ShoalError,
  expectedLsn: number | null,
  gaps: Set<number>,
): Promise<{ kept: SegmentState | null; resumed: SegmentState; keptRecords: number; report: WalRepair }> {
  const name = names[index] as string;
  const segmentLsn = segmentFirstLsn(name) ?? 0;
  const offset = typeof error.details?.['offset'] === 'number' ? error.details['offset'] : 0;
  const bytes = await io(`reading segment ${name}`, () => fs.readFile(join(dir, name)));
  // The frames before the damage are valid: the scan stops at the first bad one, and the damage is at or before it.
  const keptFrames =
    offset > 0 && (expectedLsn === null || segmentLsn === expectedLsn)
      ? scanFrames(bytes).frames.filter((frame) => frame.offset < offset)
      : [];
  const keptBytes = keptFrames[keptFrames.length - 1]?.end ?? 0;
  const afterKept =
    keptFrames.length === 0 ? (expectedLsn ?? segmentLsn) : checkFrameLsns(name, segmentLsn, keptFrames);
  const keptLsn = afterKept - 1;
  let highest = Math.max(keptLsn, (keptFrames.length === 0 ? segmentLsn - 1 : keptLsn) + bytes.byteLength - keptBytes);
  let discardedBytes = bytes.byteLength - keptBytes;
  const later = names.slice(index + 1);
  for (const laterName of later) {
    const stat = await io(`checking segment ${laterName}`, () => fs.stat(join(dir, laterName)));
    const size = stat?.size ?? 0;
    // + 1: even an empty later segment's own first LSN is passed, so the new segment's name is free.
    highest = Math.max(highest, (segmentFirstLsn(laterName) ?? 0) + size);
    discardedBytes += size;
  }
  const resumeLsn = highest + 1;
  const report: WalRepair = {
    segment: name,
    offset,
    problem: error.message,
    keptLsn: Math.max(0, keptLsn),
    resumeLsn,
    discardedBytes,
    discardedSegments: keptFrames.length === 0 ? [name, ...later] : later,
  };
  await writeFileAtomic(
    fs,
    join(dir, gapMarkerName(resumeLsn)),
    new TextEncoder().encode(`${JSON.stringify(report)}\n`),
  );
  const resumed = await createFirstSegment(fs, dir, resumeLsn);
  gaps.add(resumeLsn);
  for (const discarded of report.discardedSegments) {
    await io(`deleting segment ${discarded}`, () => fs.unlink(join(dir, discarded)));
    const discardedLsn = segmentFirstLsn(discarded) ?? 0;
    if (gaps.delete(discardedLsn))
      await io(`deleting gap marker of ${discarded}`, () => fs.unlink(join(dir, gapMarkerName(discardedLsn))));
  }
  await io(`syncing WAL folder ${dir}`, () => fs.fsyncDir(dir));
  if (keptFrames.length === 0) return { kept: null, resumed, keptRecords: 0, report };
  await truncateSegment(fs, join(dir, name), keptBytes);
  return {
    kept: { name, firstLsn: segmentLsn, bytes: keptBytes, readableBytes: keptBytes },
    resumed,
    keptRecords: afterKept - segmentLsn,
    report,
  };
}

async function recoverSegment(
  fs: FileSystem,
  dir: string,
  name: string,
  isLast: boolean,
  keepZeroTail: boolean,
  expectedLsn: number | null,
  gaps: ReadonlySet<number>,
): Promise<{ segment: SegmentState; nextLsn: number; truncation: Truncation | null; fileBytes: number }> {
  const firstLsn = segmentFirstLsn(name) ?? 0;
  if (expectedLsn !== null && firstLsn !== expectedLsn && !(firstLsn > expectedLsn && gaps.has(firstLsn))) {
    throw corruption(
      name,
      0,
      `segment starts at LSN ${firstLsn} but the previous segment ends at LSN ${expectedLsn - 1}`,
    );
  }
  const path = join(dir, name);
  const bytes = await io(`reading segment ${name}`, () => fs.readFile(path));
  const scan = scanFrames(bytes);
  if (scan.damage !== null && (scan.damage.kind === 'corrupt' || !isLast)) {
    throw corruption(name, scan.damage.offset, scan.damage.reason);
  }
  const nextLsn = checkFrameLsns(name, firstLsn, scan.frames);
  let truncation: Truncation | null = null;
  let fileBytes = bytes.byteLength;
  // Zeros written ahead of the appends (`always` mode) are the clean end of the log, not a torn write:
  // kept for the next appends in `always` mode, cut silently otherwise.
  const zeroTail = scan.damage !== null && isZeroFrom(bytes, scan.validBytes);
  if (scan.damage !== null && !(zeroTail && keepZeroTail)) {
    await truncateSegment(fs, path, scan.validBytes);
    fileBytes = scan.validBytes;
    if (!zeroTail) truncation = { segment: name, offset: scan.validBytes, bytes: bytes.byteLength - scan.validBytes };
  }
  const segment: SegmentState = { name, firstLsn, bytes: scan.validBytes, readableBytes: scan.validBytes };
  return { segment, nextLsn, truncation, fileBytes };
}

/** Checks that the frames' LSNs continue from `firstLsn` without gaps; returns the LSN after the last. */
function checkFrameLsns(name: string, firstLsn: number, frames: readonly ScannedFrame[]): number {
  let nextLsn = firstLsn;
  for (const frame of frames) {
    const summary = summarise(name, frame.offset, frame.payload);
    if (summary.firstLsn !== nextLsn) {
      throw corruption(name, frame.offset, `frame starts at LSN ${summary.firstLsn}, expected ${nextLsn}`);
    }
    nextLsn += summary.recordCount;
  }
  return nextLsn;
}

async function truncateSegment(fs: FileSystem, path: string, length: number): Promise<void> {
  const handle = await io(`opening ${path} to cut its torn tail`, () => fs.open(path, 'r+'));
  try {
    await io(`cutting the torn tail of ${path}`, () => handle.truncate(length));
    await io(`syncing ${path}`, () => handle.datasync());
  } finally {
    await handle.close();
  }
}

/** Creates the first segment of a new WAL and makes it, and the WAL folder itself, durable. */
async function createFirstSegment(fs: FileSystem, dir: string, firstLsn: number): Promise<SegmentState> {
  const name = segmentFileName(firstLsn);
  const handle = await io(`creating segment ${name}`, () => fs.open(join(dir, name), 'wx'));
  await io(`closing segment ${name}`, () => handle.close());
  await io(`syncing WAL folder ${dir}`, () => fs.fsyncDir(dir));
  await io(`syncing the parent of ${dir}`, () => fs.fsyncDir(dirname(dir)));
  return { name, firstLsn, bytes: 0, readableBytes: 0 };
}

// ---------------------------------------------------------------- replay

interface ReadRange {
  readonly fromLsn: number;
  readonly maxRecords: number;
  /** First LSNs of segments that start above where the one before ends (after a repair). */
  readonly gaps: ReadonlySet<number>;
}

/** Appends to `out` the records of one segment's readable bytes that fall in `range`, reading in large chunks. */
async function readSegment(
  fs: FileSystem,
  dir: string,
  segment: SegmentState,
  range: ReadRange,
  out: WalRecord[],
): Promise<void> {
  if (segment.readableBytes === 0) return;
  const handle = await io(`opening segment ${segment.name}`, () => fs.open(join(dir, segment.name), 'r'));
  try {
    let buffer = new Uint8Array(Math.min(READ_CHUNK_BYTES, segment.readableBytes));
    let position = 0;
    while (position < segment.readableBytes && out.length < range.maxRecords) {
      const chunk = buffer.subarray(0, Math.min(buffer.byteLength, segment.readableBytes - position));
      await readFully(handle, chunk, position, segment.name);
      const consumed = consumeFrames(chunk, position, segment.name, range, out);
      position += consumed.bytes;
      if (consumed.bytes > 0 || out.length >= range.maxRecords) continue;
      // The next frame is larger than the buffer, or the readable range ends inside a frame.
      if (chunk.byteLength === segment.readableBytes - position) {
        throw corruption(segment.name, position, 'the written range ends inside a frame');
      }
      buffer = new Uint8Array(Math.max(consumed.frameBytes, buffer.byteLength * 2));
    }
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/**
 * Decodes the complete frames at the start of `chunk`; returns the bytes consumed and the size of the first incomplete
 * frame.
 */
function consumeFrames(
  chunk: Uint8Array,
  chunkOffset: number,
  name: string,
  range: ReadRange,
  out: WalRecord[],
): { bytes: number; frameBytes: number } {
  let offset = 0;
  while (offset < chunk.byteLength && out.length < range.maxRecords) {
    const parsed = parseFrameAt(chunk, offset);
    if (parsed.kind === 'incomplete') return { bytes: offset, frameBytes: parsed.frameBytes ?? FRAME_HEADER_BYTES };
    if (parsed.kind === 'invalid') throw corruption(name, chunkOffset + offset, parsed.reason);
    collectRecords(parsed.payload, name, chunkOffset + offset, range, out);
    offset = parsed.end;
  }
  return { bytes: offset, frameBytes: 0 };
}

function collectRecords(payload: Uint8Array, name: string, offset: number, range: ReadRange, out: WalRecord[]): void {
  const summary = summarise(name, offset, payload);
  if (summary.firstLsn + summary.recordCount <= range.fromLsn) return;
  let records: WalRecord[];
  try {
    records = decodeBatch(payload);
  } catch (error) {
    throw corruption(name, offset, (error as Error).message);
  }
  for (const record of records) {
    if (record.lsn < range.fromLsn) continue;
    if (out.length >= range.maxRecords) return;
    const previous = out[out.length - 1];
    if (
      previous !== undefined &&
      record.lsn !== previous.lsn + 1 &&
      !(record.lsn > previous.lsn && range.gaps.has(record.lsn))
    ) {
      throw corruption(name, offset, `LSN ${record.lsn} follows LSN ${previous.lsn}`);
    }
    out.push(record);
  }
}

async function readFully(handle: FileHandle, chunk: Uint8Array, position: number, name: string): Promise<void> {
  let filled = 0;
  while (filled < chunk.byteLength) {
    const count = await io(`reading segment ${name}`, () =>
      handle.read(chunk, filled, chunk.byteLength - filled, position + filled),
    );
    if (count === 0) throw corruption(name, position + filled, 'the file is shorter than its written size');
    filled += count;
  }
}

// ---------------------------------------------------------------- errors

function summarise(name: string, offset: number, payload: Uint8Array): BatchSummary {
  try {
    return peekBatchSummary(payload);
  } catch (error) {
    throw corruption(name, offset, (error as Error).message);
  }
}

/** CORRUPTION of a WAL segment. */
function corruption(segment: string, offset: number, problem: string): ShoalError {
  return corruptionAt(`WAL segment ${segment}`, offset, problem, { segment });
}

/** STORAGE_FAILED of one writer step on `segment`, naming the step, the segment and the cause. */
function storageFailedOn(operation: string, segment: string, error: unknown): ShoalError {
  return storageFailed(`WAL ${operation} on segment ${segment}`, error, { operation, segment });
}

/** Runs one I/O step of the writer; an error becomes STORAGE_FAILED naming the step, segment and cause. */
function attempt<T>(operation: string, segment: string, step: () => Promise<T>): Promise<T> {
  return io(`WAL ${operation} on segment ${segment}`, step, { operation, segment });
}
