/**
 * Durable state of one Raft replica: what the core's Ready batches say to
 * persist, in a folder of three files, with every byte checksummed:
 *
 *   hard-state  one frame (storage/wal/frame.ts) holding {term, vote, commit};
 *               replaced atomically (writeFileAtomic) on every change
 *   snapshot    one frame holding the latest snapshot; replaced atomically
 *   log         a sequence of frames, one per entry, index ascending; entries
 *               are appended, and a conflicting suffix is cut off first
 *
 * Payloads are msgpack (msgpackr, `moreTypes` so `Uint8Array` data comes back
 * as `Uint8Array`). `save` makes a Ready's snapshot, entries and hard state
 * durable (fsync) in that order and resolves only then, so the caller may
 * send the Ready's messages afterwards. On open, a torn tail of the log (an
 * append cut short by a crash, never acknowledged) is cut off as in the WAL;
 * any other damage, or entries that break Raft's log invariants, is
 * CORRUPTION and nothing is modified.
 *
 * The entry and snapshot types are structural (any objects with `index` and
 * `term`), because storage/ does not import cluster/; `cluster/raft`'s
 * `Entry` and `Snapshot` fit. A plain class with no actors; all I/O goes
 * through `FileSystem`. Calls must not overlap (the replica actor awaits each).
 */
import { basename, join } from 'node:path';
import { Packr } from 'msgpackr';
import { ShoalError } from '../runtime/errors.js';
import { present } from '../runtime/assert.js';
import { corruptionAt, io, storageFailed } from '../runtime/fs-errors.js';
import type { FileHandle, FileSystem } from '../runtime/fs.js';
import { makeDirectoryDurable, removeTempFiles, writeFileAtomic } from './atomic-file.js';
import { encodeFrame, parseFrameAt, scanFrames } from './wal/frame.js';

/** Term, vote and commit index, as the Raft core's `HardState`. */
export interface StoredHardState {
  readonly term: number;
  readonly vote: number;
  readonly commit: number;
}

/** The least a stored entry or snapshot must carry: its position in the log. */
export interface StoredPosition {
  readonly index: number;
  readonly term: number;
}

/** What `load` returns: exactly what earlier `save` and `saveSnapshot` calls made durable. */
export interface StoredRaftState<Entry extends StoredPosition, Snapshot extends StoredPosition> {
  readonly hardState: StoredHardState;
  /** Entries after the snapshot, index ascending and contiguous. */
  readonly entries: Entry[];
  readonly snapshot: Snapshot | null;
}

/** What `save` persists: the fields of a Raft `Ready` that must be durable before its messages go out. */
export interface RaftWrite<Entry extends StoredPosition, Snapshot extends StoredPosition> {
  readonly hardState?: StoredHardState;
  readonly entries: readonly Entry[];
  /** A snapshot received from the leader: it replaces the whole log. */
  readonly snapshot?: Snapshot;
}

/** What `open` found and repaired. */
export interface RaftLogRecovery {
  /** Bytes of a torn final append cut from the log file. */
  readonly truncatedBytes: number;
  /** Entries dropped because they did not continue a snapshot received from the leader. */
  readonly discardedEntries: number;
}

const HARD_STATE_FILE = 'hard-state';
const SNAPSHOT_FILE = 'snapshot';
const LOG_FILE = 'log';
const EMPTY_HARD_STATE: StoredHardState = { term: 0, vote: 0, commit: 0 };
const packr = new Packr({ moreTypes: true, useRecords: false });

/** One replica's Raft log folder. */
export class RaftLogFile<Entry extends StoredPosition, Snapshot extends StoredPosition> {
  private failure: ShoalError | null = null;

  private constructor(
    private readonly fs: FileSystem,
    private readonly dir: string,
    private handle: FileHandle,
    private state: StoredRaftState<Entry, Snapshot>,
    /** Stored frames in file order: each entry's index and term and where its frame starts. */
    private frames: { index: number; term: number; offset: number }[],
    private logBytes: number,
    /** What open found and repaired. */
    readonly recovery: RaftLogRecovery,
  ) {}

  /**
   * Opens (creating if needed) the folder, repairs a torn log tail and reads everything back; rejects CORRUPTION or
   * STORAGE_FAILED.
   */
  static async open<Entry extends StoredPosition, Snapshot extends StoredPosition>(
    fs: FileSystem,
    dir: string,
  ): Promise<RaftLogFile<Entry, Snapshot>> {
    await makeDirectoryDurable(fs, dir);
    await removeTempFiles(fs, dir);
    const hardState = (await readSingleFrame<StoredHardState>(fs, join(dir, HARD_STATE_FILE))) ?? EMPTY_HARD_STATE;
    checkHardState(hardState);
    const snapshot = await readSingleFrame<Snapshot>(fs, join(dir, SNAPSHOT_FILE));
    if (snapshot !== null) checkPosition(SNAPSHOT_FILE, snapshot, 0);
    const scanned = await recoverLog<Entry>(fs, join(dir, LOG_FILE));
    const kept = entriesAfterSnapshot(scanned.entries, snapshot);
    let frames = scanned.frames;
    let logBytes = scanned.validBytes;
    if (kept === null) {
      await truncateFile(fs, join(dir, LOG_FILE), 0);
      frames = [];
      logBytes = 0;
    }
    const entries = kept ?? [];
    checkAgainstHardState(hardState, entries, snapshot);
    const handle = await io(`opening ${LOG_FILE}`, () => fs.open(join(dir, LOG_FILE), 'r+'));
    const recovery = {
      truncatedBytes: scanned.truncatedBytes,
      discardedEntries: kept === null ? scanned.entries.length : 0,
    };
    return new RaftLogFile(fs, dir, handle, { hardState, entries, snapshot }, frames, logBytes, recovery);
  }

  /** The durable state, for `new RaftNode(config, restored)`: hard state, entries after the snapshot, snapshot. */
  load(): StoredRaftState<Entry, Snapshot> {
    return { hardState: this.state.hardState, entries: [...this.state.entries], snapshot: this.state.snapshot };
  }

  /**
   * Makes a Ready's snapshot, entries and hard state durable, in that order,
   * and resolves only once all are fsynced. Entries overwrite stored entries
   * from `entries[0].index` on. After a failure every later call rejects:
   * a failed fsync is never retried on the same file.
   */
  async save(write: RaftWrite<Entry, Snapshot>): Promise<void> {
    this.checkUsable();
    try {
      if (write.snapshot !== undefined) {
        await this.writeSnapshotFile(write.snapshot);
        await this.rewriteLog([]);
        this.state = { ...this.state, entries: [], snapshot: write.snapshot };
      }
      if (write.entries.length > 0) await this.appendEntries(write.entries);
      if (write.hardState !== undefined) await this.writeHardState(write.hardState);
    } catch (error) {
      throw this.fail(error);
    }
  }

  /**
   * Persists a snapshot made by local compaction (`RaftNode.compact`): the
   * snapshot file first, then the log rewritten without the entries it
   * covers. A crash in between leaves covered entries that `open` ignores.
   */
  async saveSnapshot(snapshot: Snapshot): Promise<void> {
    this.checkUsable();
    const current = this.state.snapshot;
    if (current !== null && snapshot.index < current.index) {
      throw new ShoalError(
        'INVALID_ARGUMENT',
        `snapshot at ${snapshot.index} is older than the stored one at ${current.index}`,
      );
    }
    try {
      await this.writeSnapshotFile(snapshot);
      const entries = this.state.entries.filter((entry) => entry.index > snapshot.index);
      await this.rewriteLog(entries);
      this.state = { ...this.state, entries, snapshot };
    } catch (error) {
      throw this.fail(error);
    }
  }

  /** Closes the log file (quietly after a failure, when it may already be closed). */
  async close(): Promise<void> {
    if (this.failure !== null) {
      await this.handle.close().catch(() => undefined);
      return;
    }
    await io(`closing ${LOG_FILE}`, () => this.handle.close());
  }

  private async appendEntries(entries: readonly Entry[]): Promise<void> {
    const first = present(entries[0], 'the first entry to append');
    checkContiguous(entries);
    const stored = this.state.entries;
    const firstStored = stored[0]?.index ?? (this.state.snapshot?.index ?? 0) + 1;
    if (first.index < firstStored || first.index > firstStored + stored.length) {
      throw new ShoalError(
        'INVALID_ARGUMENT',
        `entry ${first.index} does not continue the stored log (${firstStored}..${firstStored + stored.length - 1})`,
      );
    }
    const keep = first.index - firstStored;
    const frameAt = this.frames.length - stored.length + keep;
    const cutAt = this.frames[frameAt]?.offset ?? this.logBytes;
    const encoded = entries.map((entry) => encodeFrame(packr.pack(entry)));
    const bytes = Buffer.concat(encoded);
    if (cutAt < this.logBytes) await io(`cutting ${LOG_FILE}`, () => this.handle.truncate(cutAt));
    await io(`appending to ${LOG_FILE}`, () => this.handle.write(bytes, cutAt));
    await io(`syncing ${LOG_FILE}`, () => this.handle.datasync());
    let offset = cutAt;
    const frames = this.frames.slice(0, frameAt);
    entries.forEach((entry, position) => {
      frames.push({ index: entry.index, term: entry.term, offset });
      offset += (encoded[position] as Uint8Array).byteLength;
    });
    this.frames = frames;
    this.logBytes = offset;
    this.state = { ...this.state, entries: [...stored.slice(0, keep), ...entries] };
  }

  /** Replaces the log file atomically with `entries` and reopens it. */
  private async rewriteLog(entries: readonly Entry[]): Promise<void> {
    const encoded = entries.map((entry) => encodeFrame(packr.pack(entry)));
    const path = join(this.dir, LOG_FILE);
    await io(`closing ${LOG_FILE}`, () => this.handle.close());
    await writeFileAtomic(this.fs, path, Buffer.concat(encoded));
    this.handle = await io(`opening ${LOG_FILE}`, () => this.fs.open(path, 'r+'));
    let offset = 0;
    this.frames = entries.map((entry, position) => {
      const frame = { index: entry.index, term: entry.term, offset };
      offset += (encoded[position] as Uint8Array).byteLength;
      return frame;
    });
    this.logBytes = offset;
  }

  private async writeHardState(hardState: StoredHardState): Promise<void> {
    checkHardState(hardState);
    const plain: StoredHardState = { term: hardState.term, vote: hardState.vote, commit: hardState.commit };
    await writeFileAtomic(this.fs, join(this.dir, HARD_STATE_FILE), encodeFrame(packr.pack(plain)));
    this.state = { ...this.state, hardState: plain };
  }

  private async writeSnapshotFile(snapshot: Snapshot): Promise<void> {
    checkPosition(SNAPSHOT_FILE, snapshot, 0);
    await writeFileAtomic(this.fs, join(this.dir, SNAPSHOT_FILE), encodeFrame(packr.pack(snapshot)));
  }

  private checkUsable(): void {
    if (this.failure !== null) throw this.failure;
  }

  private fail(error: unknown): ShoalError {
    const failure = storageFailed('writing the raft log', error);
    if (failure.code === 'STORAGE_FAILED') this.failure = failure;
    return failure;
  }
}

// ---------------------------------------------------------------- recovery

interface ScannedLog<Entry> {
  readonly entries: Entry[];
  readonly frames: { index: number; term: number; offset: number }[];
  readonly validBytes: number;
  readonly truncatedBytes: number;
}

/** Reads the log file (creating it empty if absent), cuts a torn tail, decodes and checks every entry. */
async function recoverLog<Entry extends StoredPosition>(fs: FileSystem, path: string): Promise<ScannedLog<Entry>> {
  if ((await io(`checking ${LOG_FILE}`, () => fs.stat(path))) === null) {
    await writeFileAtomic(fs, path, new Uint8Array(0));
  }
  const bytes = await io(`reading ${LOG_FILE}`, () => fs.readFile(path));
  const scan = scanFrames(bytes);
  if (scan.damage?.kind === 'corrupt') throw corruption(LOG_FILE, scan.damage.offset, scan.damage.reason);
  const entries: Entry[] = [];
  const frames: { index: number; term: number; offset: number }[] = [];
  for (const frame of scan.frames) {
    const entry = decode<Entry>(LOG_FILE, frame.offset, frame.payload);
    const previous = entries[entries.length - 1];
    checkPosition(LOG_FILE, entry, frame.offset);
    if (previous !== undefined && (entry.index !== previous.index + 1 || entry.term < previous.term)) {
      throw corruption(
        LOG_FILE,
        frame.offset,
        `entry ${entry.term}/${entry.index} cannot follow ${previous.term}/${previous.index}`,
      );
    }
    entries.push(entry);
    frames.push({ index: entry.index, term: entry.term, offset: frame.offset });
  }
  if (scan.damage !== null) await truncateFile(fs, path, scan.validBytes);
  return { entries, frames, validBytes: scan.validBytes, truncatedBytes: bytes.byteLength - scan.validBytes };
}

/**
 * The stored entries that continue the snapshot. Entries it covers are
 * skipped (a crash between writing a snapshot and rewriting the log leaves
 * them). Returns null when the stored entries cannot continue it: a gap
 * after the snapshot, or no entry at the snapshot's index with its term (a
 * snapshot from the leader was written but the old log not yet cleared, so
 * the entries may belong to another history). The caller then empties the log.
 */
function entriesAfterSnapshot<Entry extends StoredPosition>(
  entries: Entry[],
  snapshot: StoredPosition | null,
): Entry[] | null {
  const first = entries[0];
  if (snapshot === null || first === undefined || first.index === snapshot.index + 1) return entries;
  if (first.index > snapshot.index + 1) return null;
  const atSnapshot = entries[snapshot.index - first.index];
  if (atSnapshot === undefined || atSnapshot.term !== snapshot.term) return null;
  return entries.slice(snapshot.index - first.index + 1);
}

/**
 * Entries are made durable before the hard state, so the commit index can
 * never point past them. (The last entry's term may exceed the stored term:
 * a crash between the two writes of a Ready that both raised the term and
 * appended entries. That node sent nothing depending on either, and it had
 * not voted in the new term, so restarting with the older term is safe.)
 */
function checkAgainstHardState(
  hardState: StoredHardState,
  entries: readonly StoredPosition[],
  snapshot: StoredPosition | null,
): void {
  const lastIndex = entries[entries.length - 1]?.index ?? snapshot?.index ?? 0;
  if (hardState.commit > lastIndex) {
    throw corruption(HARD_STATE_FILE, 0, `commit ${hardState.commit} is beyond the last stored index ${lastIndex}`);
  }
}

/** Reads a file written whole by writeFileAtomic: exactly one verified frame, or null when absent. */
async function readSingleFrame<T>(fs: FileSystem, path: string): Promise<T | null> {
  if ((await io(`checking ${path}`, () => fs.stat(path))) === null) return null;
  const bytes = await io(`reading ${path}`, () => fs.readFile(path));
  const parsed = parseFrameAt(bytes, 0);
  const name = basename(path);
  if (parsed.kind !== 'frame')
    throw corruption(name, 0, parsed.kind === 'invalid' ? parsed.reason : 'incomplete frame');
  if (parsed.end !== bytes.byteLength) throw corruption(name, parsed.end, 'bytes after the frame');
  return decode<T>(name, 0, parsed.payload);
}

function decode<T>(file: string, offset: number, payload: Uint8Array): T {
  try {
    const value: unknown = packr.unpack(payload);
    if (typeof value !== 'object' || value === null) throw new Error('not an object');
    return value as T;
  } catch (error) {
    throw corruption(file, offset, `undecodable payload: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function checkPosition(file: string, position: StoredPosition, offset: number): void {
  if (
    !Number.isSafeInteger(position.index) ||
    position.index < 0 ||
    !Number.isSafeInteger(position.term) ||
    position.term < 0
  ) {
    throw corruption(file, offset, `invalid position ${String(position.term)}/${String(position.index)}`);
  }
}

function checkHardState(hardState: StoredHardState): void {
  const fields = [hardState.term, hardState.vote, hardState.commit];
  if (!fields.every((field) => Number.isSafeInteger(field) && field >= 0)) {
    throw corruption(HARD_STATE_FILE, 0, `invalid hard state ${JSON.stringify(hardState)}`);
  }
}

function checkContiguous(entries: readonly StoredPosition[]): void {
  entries.forEach((entry, position) => {
    const previous = entries[position - 1];
    if (previous !== undefined && entry.index !== previous.index + 1) {
      throw new ShoalError('INVALID_ARGUMENT', `entries are not contiguous: ${entry.index} after ${previous.index}`);
    }
  });
}

async function truncateFile(fs: FileSystem, path: string, length: number): Promise<void> {
  const handle = await io(`opening ${path} to cut it`, () => fs.open(path, 'r+'));
  try {
    await io(`cutting ${path}`, () => handle.truncate(length));
    await io(`syncing ${path}`, () => handle.datasync());
  } finally {
    await handle.close();
  }
}

/** CORRUPTION of one of the log's files, named as the raft log's. */
function corruption(file: string, offset: number, problem: string): ShoalError {
  return corruptionAt(`raft ${file}`, offset, problem, { file });
}
