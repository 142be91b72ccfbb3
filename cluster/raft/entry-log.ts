/**
 * The Raft core's in-memory log: the latest snapshot (the compacted prefix),
 * the entries after it, the commit and applied indexes, and which entries the
 * caller has not yet been asked to persist. Pure data structure; the rules
 * that decide what to append and commit live in `raft-node.ts`.
 *
 * Index arithmetic: entries[k] has index `offset + 1 + k`, where `offset` is
 * the snapshot's index (0 without one). The term at `offset` is known (the
 * snapshot's term), so a follower can check an append whose prevLogIndex is
 * exactly the snapshot index.
 */
import { assert } from '../../runtime/assert.js';
import type { Entry, Snapshot } from './types.js';

/** A (index, term) pair naming one log position. */
export interface LogPosition {
  readonly index: number;
  readonly term: number;
}

/** The log as the core sees it; throws only on broken invariants (bugs or corrupt restored state). */
export class EntryLog {
  /** The latest snapshot, kept to send to followers whose entries were compacted away. */
  snapshot: Snapshot | null = null;
  /** A snapshot received from the leader that the caller has not yet persisted and applied. */
  pendingSnapshot: Snapshot | null = null;
  committed = 0;
  applied = 0;
  private offset = 0;
  private offsetTerm = 0;
  private entries: Entry[] = [];
  /** The lowest index the caller has not yet been asked to persist. */
  private unstableFrom = 1;

  /** A log restored from persisted state: everything in it is already durable. */
  static restore(snapshot: Snapshot | null, entries: readonly Entry[], commit: number): EntryLog {
    const log = new EntryLog();
    if (snapshot !== null) {
      log.snapshot = snapshot;
      log.offset = snapshot.index;
      log.offsetTerm = snapshot.term;
    }
    for (const entry of entries) {
      if (entry.index <= log.offset) continue;
      if (entry.index !== log.lastIndex() + 1) {
        throw new Error(`restored log has a gap: entry ${entry.index} follows ${log.lastIndex()}`);
      }
      log.entries.push(entry);
    }
    if (commit > log.lastIndex())
      throw new Error(`restored commit ${commit} is beyond the last index ${log.lastIndex()}`);
    log.committed = Math.max(commit, log.offset);
    log.applied = log.offset;
    log.unstableFrom = log.lastIndex() + 1;
    return log;
  }

  /** The first index still held as an entry (one past the snapshot). */
  firstIndex(): number {
    return this.offset + 1;
  }

  lastIndex(): number {
    return this.offset + this.entries.length;
  }

  lastTerm(): number {
    return this.termAt(this.lastIndex()) as number;
  }

  /** The term at `index`, or undefined when it was compacted away or lies beyond the log. */
  termAt(index: number): number | undefined {
    if (index === this.offset) return this.offsetTerm;
    if (index < this.offset || index > this.lastIndex()) return undefined;
    return (this.entries[index - this.offset - 1] as Entry).term;
  }

  /** True when the entry at `index` exists with `term`. */
  matchTerm(index: number, term: number): boolean {
    return this.termAt(index) === term;
  }

  /**
   * §5.4.1: a candidate's log is at least as up-to-date as ours when its last
   * term is higher, or equal with a last index at least ours.
   */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /** Entries in [low, high], at most `countMax`; undefined when `low` was compacted away. */
  slice(low: number, high: number, countMax: number = Number.MAX_SAFE_INTEGER): Entry[] | undefined {
    if (low <= this.offset) return undefined;
    const end = Math.min(high, this.lastIndex(), low + countMax - 1);
    if (end < low) return [];
    return this.entries.slice(low - this.offset - 1, end - this.offset);
  }

  /** Appends entries that continue the log exactly (the leader's own proposals). */
  append(entry: Entry): void {
    assert(entry.index === this.lastIndex() + 1, `append of ${entry.index} after ${this.lastIndex()}`);
    this.entries.push(entry);
  }

  /**
   * The first entry of `entries` that is not already in the log with the same
   * term, or null when all of them are. A duplicate or reordered append must
   * never truncate entries after it, so matching entries are skipped.
   */
  findConflict(entries: readonly Entry[]): Entry | null {
    for (const entry of entries) {
      if (!this.matchTerm(entry.index, entry.term)) return entry;
    }
    return null;
  }

  /**
   * Replaces the log from `entries[0].index` on with `entries`. Truncating a
   * committed entry would lose data the cluster acknowledged, so it is a bug.
   */
  truncateAndAppend(entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    assert(first.index > this.committed, `truncating committed entry ${first.index} (commit ${this.committed})`);
    assert(first.index <= this.lastIndex() + 1, `append of ${first.index} leaves a gap after ${this.lastIndex()}`);
    this.entries.length = first.index - this.offset - 1;
    this.entries.push(...entries);
    this.unstableFrom = Math.min(this.unstableFrom, first.index);
  }

  /**
   * The largest position at or below `index` whose term is at most `term`:
   * every entry above it has a higher term and so cannot match a log whose
   * entry at `index` has `term`. Used on both sides of fast backtracking.
   * Below the snapshot the term is unknown: the position comes back with
   * term 0, meaning "may match" (the leader then falls back to a snapshot).
   */
  findConflictByTerm(index: number, term: number): LogPosition {
    let at = Math.min(index, this.lastIndex());
    while (at >= this.offset) {
      const found = this.termAt(at) as number;
      if (found <= term) return { index: at, term: found };
      at -= 1;
    }
    return { index: at, term: 0 };
  }

  /** Raises the commit index; it never moves back and never passes the last index. */
  commitTo(index: number): void {
    if (index <= this.committed) return;
    assert(index <= this.lastIndex(), `commit ${index} is beyond the last index ${this.lastIndex()}`);
    this.committed = index;
  }

  /** Entries the caller has not been asked to persist yet. */
  unstableEntries(): Entry[] {
    return this.entries.slice(Math.max(this.unstableFrom, this.firstIndex()) - this.offset - 1);
  }

  /**
   * Marks the log durable through `position` (the last entry of a Ready). If
   * the entry there changed since (a truncation), the truncation already
   * lowered `unstableFrom`; an entry with the same index and term is the same
   * entry with the same history (Log Matching, §5.3), so it is durable.
   */
  stableTo(position: LogPosition): void {
    if (this.matchTerm(position.index, position.term)) {
      this.unstableFrom = Math.max(this.unstableFrom, position.index + 1);
    }
  }

  /** Committed entries not yet applied, after any snapshot being installed. */
  committedEntries(): Entry[] {
    const from = Math.max(this.applied, this.offset) + 1;
    return this.entries.slice(from - this.offset - 1, this.committed - this.offset);
  }

  /** Records that the caller applied through `index`. */
  appliedTo(index: number): void {
    assert(index <= this.committed, `applied ${index} is beyond commit ${this.committed}`);
    this.applied = Math.max(this.applied, index);
  }

  /** Replaces the whole log with a snapshot from the leader (§7); the caller persists and applies it. */
  installSnapshot(snapshot: Snapshot): void {
    this.snapshot = snapshot;
    this.pendingSnapshot = snapshot;
    this.offset = snapshot.index;
    this.offsetTerm = snapshot.term;
    this.entries = [];
    this.committed = snapshot.index;
    this.unstableFrom = snapshot.index + 1;
  }

  /** Discards entries through `snapshot.index` (≤ applied), keeping the snapshot for lagging followers. */
  compact(snapshot: Snapshot): void {
    assert(snapshot.index <= this.applied, `compacting to ${snapshot.index} beyond applied ${this.applied}`);
    assert(snapshot.index >= this.offset, `compacting to ${snapshot.index} below the snapshot at ${this.offset}`);
    this.entries = this.entries.slice(snapshot.index - this.offset);
    this.offset = snapshot.index;
    this.offsetTerm = snapshot.term;
    this.snapshot = snapshot;
  }
}
