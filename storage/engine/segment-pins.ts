/**
 * Segment pins of one engine, as a pure structure: what a backup holds still
 * while it copies a shard. A pin names the segments that were live and the
 * checkpoint at one moment; until it is released, a compaction that drops a
 * pinned segment keeps its files (the deletion waits for the segment's last
 * pin), and the WAL is never checkpointed above the lowest pinned
 * checkpoint, so the records between that checkpoint and the pin's LSN stay
 * readable. Segments are immutable files, so a pinned one can be copied
 * while the engine goes on flushing and compacting.
 *
 * Pins live in memory only: an engine that restarts has none, and the
 * backup that held one learns it when it releases the pin (`held: false`).
 * The segments a pin kept are not in the segment set any more, so the next
 * open deletes them like any other leftover of a compaction.
 */
import { assert } from '../../runtime/assert.js';

/** One segment of a pinned shard: its name, its files (entry names in the segment folder) and their bytes. */
export interface PinnedSegment {
  readonly name: string;
  readonly files: readonly string[];
  readonly bytes: number;
}

/** What an engine answers to a backup pin: one consistent cut of its shard, taken in one turn. */
export interface ShardPin {
  /** The pin's token, to release it with. */
  readonly pin: string;
  /** The backup's LSN for this shard: every write the engine had received is at or below it. */
  readonly lsn: number;
  /** Every record at or below it is in `segments`; the WAL holds the rest up to `lsn`. */
  readonly checkpointLsn: number;
  /** Live records in the engine at the pin. */
  readonly records: number;
  /** The number the engine's next segment takes (the copy's segment set starts there). */
  readonly nextSegment: number;
  /** The shard's segment folder; null for an engine kept in memory (no segments). */
  readonly segmentDir: string | null;
  /** The live segments, oldest first. */
  readonly segments: readonly PinnedSegment[];
}

/** What releasing a pin frees. */
export interface Unpinned {
  /** False when the pin was not held (the engine restarted, or its lease ran out): the copy is not trustworthy. */
  readonly held: boolean;
  /** Segments a compaction dropped while they were pinned, now free to delete. */
  readonly remove: readonly string[];
  /** The checkpoint the WAL may now be told, or null when nothing was held back. */
  readonly walCheckpoint: number | null;
}

interface Pin {
  readonly segments: ReadonlySet<string>;
  readonly checkpointLsn: number;
}

/** The pins of one engine. */
export class SegmentPins {
  private readonly pins = new Map<string, Pin>();
  /** Segments no longer live whose deletion waits for their pins. */
  private readonly deferred = new Set<string>();
  /** The highest checkpoint whose segment set is durable, and the highest told to the WAL. */
  private durableCheckpoint = 0;
  private toldCheckpoint = 0;

  /** Pins held now. */
  get size(): number {
    return this.pins.size;
  }

  /** Pins `segments` and `checkpointLsn` under the new token `pin`. */
  pin(pin: string, segments: readonly string[], checkpointLsn: number): void {
    assert(!this.pins.has(pin), `segment pin ${pin} is already held`);
    this.pins.set(pin, { segments: new Set(segments), checkpointLsn });
  }

  /** True when some pin holds segment `name`. */
  isPinned(name: string): boolean {
    for (const pin of this.pins.values()) if (pin.segments.has(name)) return true;
    return false;
  }

  /** Of the segments a committed compaction dropped, those to delete now; the pinned ones wait for their last pin. */
  removable(names: readonly string[]): string[] {
    const now: string[] = [];
    for (const name of names) {
      if (this.isPinned(name)) this.deferred.add(name);
      else now.push(name);
    }
    return now;
  }

  /**
   * A segment set checkpointing `lsn` is durable: the LSN the WAL may be
   * checkpointed to now, never above a pinned checkpoint.
   */
  walCheckpoint(lsn: number): number {
    this.durableCheckpoint = Math.max(this.durableCheckpoint, lsn);
    const told = Math.min(lsn, this.floor());
    this.toldCheckpoint = Math.max(this.toldCheckpoint, told);
    return told;
  }

  /** Releases `pin`: the deferred deletions it was the last to hold, and the checkpoint it held back. */
  unpin(pin: string): Unpinned {
    if (!this.pins.delete(pin)) return { held: false, remove: [], walCheckpoint: null };
    const remove = [...this.deferred].filter((name) => !this.isPinned(name));
    for (const name of remove) this.deferred.delete(name);
    const allowed = Math.min(this.durableCheckpoint, this.floor());
    if (allowed <= this.toldCheckpoint) return { held: true, remove, walCheckpoint: null };
    this.toldCheckpoint = allowed;
    return { held: true, remove, walCheckpoint: allowed };
  }

  /** The lowest pinned checkpoint: the WAL must keep every record above it. */
  private floor(): number {
    let floor = Number.POSITIVE_INFINITY;
    for (const pin of this.pins.values()) floor = Math.min(floor, pin.checkpointLsn);
    return floor;
  }
}
