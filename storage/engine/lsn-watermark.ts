/**
 * Which LSNs of a shard's WAL its engine holds, as a pure structure.
 *
 * `appliedLsn`: every LSN up to it is applied in the engine (or held by a
 * write stall, or is not in the WAL at all). Batches that arrive beyond a
 * hole wait as ranges until the hole fills; a hole is a write the WAL took
 * but the shard never handed over (it died in between), and a catch-up read
 * of the WAL from `nextMissingLsn` fills it.
 *
 * `checkpointLsn`: every LSN up to it is in the engine's durable segments, so
 * the WAL below it may be truncated. It moves when a flush's segment set is
 * saved; the engine writes it into that set and tells the WAL only after the
 * set is durable.
 */
import { assert } from '../../runtime/assert.js';

/** The applied and checkpointed LSNs of one engine. */
export class LsnWatermark {
  private applied: number;
  private checkpoint: number;
  /** Ranges received beyond a hole: first LSN → last LSN. */
  private readonly ahead = new Map<number, number>();

  /** Starts from a checkpoint read back from the segment set (0: none) and the WAL's end after replay. */
  constructor(checkpointLsn = 0, replayedToLsn = 0) {
    assert(Number.isSafeInteger(checkpointLsn) && checkpointLsn >= 0, `checkpoint LSN ${checkpointLsn} is not an LSN`);
    this.checkpoint = checkpointLsn;
    this.applied = Math.max(checkpointLsn, replayedToLsn);
  }

  /** Every LSN up to this one is applied (or not in the WAL). */
  get appliedLsn(): number {
    return this.applied;
  }

  /** The first LSN that may be missing: where a catch-up reads from. */
  get nextMissingLsn(): number {
    return this.applied + 1;
  }

  /**
   * The highest LSN received, applied or waiting beyond a hole: a backup's
   * cut, since every write acknowledged so far is at or below it.
   */
  get receivedLsn(): number {
    let highest = this.applied;
    for (const last of this.ahead.values()) highest = Math.max(highest, last);
    return highest;
  }

  /** Received ranges waiting beyond a hole. */
  get rangesAhead(): number {
    return this.ahead.size;
  }

  /** Every LSN up to this one is durable in segments; the WAL below it may go. */
  get checkpointLsn(): number {
    return this.checkpoint;
  }

  /** A batch with LSNs `firstLsn` .. `lastLsn` reached the engine. */
  received(firstLsn: number, lastLsn: number): void {
    assert(firstLsn <= lastLsn, `a batch's LSNs run backwards (${firstLsn} .. ${lastLsn})`);
    if (firstLsn > this.applied + 1) {
      this.ahead.set(firstLsn, Math.max(lastLsn, this.ahead.get(firstLsn) ?? 0));
      return;
    }
    this.advanceTo(lastLsn);
  }

  /** A read of the WAL ran to its end at `lastLsn`: any hole below it is filled (or was a gap in the log). */
  readTo(lastLsn: number): void {
    this.advanceTo(lastLsn);
  }

  /**
   * A flush made every row of a memtable whose highest LSN is `lsn` durable
   * in a segment. Taken as it comes, as the segment set records it.
   */
  checkpointed(lsn: number): void {
    this.checkpoint = lsn;
  }

  private advanceTo(lsn: number): void {
    this.applied = Math.max(this.applied, lsn);
    for (let advanced = true; advanced; ) {
      advanced = false;
      for (const [first, last] of this.ahead) {
        if (first > this.applied + 1) continue;
        this.ahead.delete(first);
        this.applied = Math.max(this.applied, last);
        advanced = true;
      }
    }
  }
}
