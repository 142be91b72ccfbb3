/**
 * The writes an engine holds back during a write stall (its frozen-memtable
 * queue is full and its active memtable past the flush threshold), in
 * arrival order, with their responders. A held write is already in the WAL,
 * so it is never dropped: it is applied, in order, once a flush makes room;
 * if its asker's deadline passes first it is answered TIMEOUT and stays
 * held. Also counts stall episodes and how long writes were held. A plain
 * class: time comes in as arguments, I/O and timers stay with the engine.
 */
import { present } from '../../runtime/assert.js';
import { ShoalError } from '../../runtime/errors.js';

/** Who waits for a held write: the engine's responders (an actor's `Responder` is one). */
export interface StallWaiter {
  /** When the waiter stops waiting, in the engine's clock milliseconds. */
  readonly deadline: number;
  fail(error: ShoalError): void;
}

/** One held write: its payload, the waiter still waiting for it (null once answered), and its size. */
export interface HeldWrite<T, W extends StallWaiter = StallWaiter> {
  readonly item: T;
  responder: W | null;
  readonly bytes: number;
}

/** Counters of write stalls. */
export interface WriteStallStats {
  /** Stall episodes: times writes started to be held. */
  readonly stalls: number;
  /** Writes that had to wait. */
  readonly stalledWrites: number;
  /** Milliseconds during which writes were held, the current episode included. */
  readonly stalledMs: number;
  /** Writes held now, and their bytes. */
  readonly writesHeld: number;
  readonly heldBytes: number;
}

/** A FIFO of held writes and the stall counters. */
export class WriteStall<T, W extends StallWaiter = StallWaiter> {
  private queue: HeldWrite<T, W>[] = [];
  private head = 0;
  private bytes = 0;
  private episodes = 0;
  private writes = 0;
  private finishedMs = 0;
  private startedAt: number | null = null;

  /** `sizeOf` estimates the bytes a held item keeps in memory. */
  constructor(private readonly sizeOf: (item: T) => number) {}

  /** Writes held now. */
  get holding(): number {
    return this.queue.length - this.head;
  }

  /** Holds `item` behind every write held before it; the first held write starts a stall episode at `now`. */
  hold(item: T, responder: W | null, now: number): void {
    if (this.holding === 0) {
      this.episodes++;
      this.startedAt = now;
    }
    const bytes = this.sizeOf(item);
    this.queue.push({ item, responder, bytes });
    this.bytes += bytes;
    this.writes++;
  }

  /** Removes and returns the oldest held write; releasing the last one ends the episode at `now`. */
  release(now: number): HeldWrite<T, W> | undefined {
    if (this.holding === 0) return undefined;
    const held = present(this.queue[this.head], 'the oldest held write');
    this.head++;
    this.bytes -= held.bytes;
    if (this.holding === 0) this.endEpisode(now);
    else if (this.head > 1_024 && this.head * 2 > this.queue.length) this.compact();
    return held;
  }

  /**
   * Answers TIMEOUT to held writes whose asker's deadline is at or before
   * `now`; they stay held, to be applied in order. Returns how many.
   */
  expire(now: number): number {
    let expired = 0;
    for (let index = this.head; index < this.queue.length; index++) {
      const held = present(this.queue[index], 'a held write');
      if (held.responder === null || held.responder.deadline > now) continue;
      const message =
        'the write waited past its deadline behind a write stall (segment builds are behind); ' +
        'it is in the WAL and will be applied';
      held.responder.fail(new ShoalError('TIMEOUT', message, { heldWrites: this.holding }));
      held.responder = null;
      expired++;
    }
    return expired;
  }

  /** Answers every held write with `error` and forgets them (the engine is stopping; the WAL keeps their data). */
  failAll(error: ShoalError, now: number): void {
    for (let held = this.release(now); held !== undefined; held = this.release(now)) held.responder?.fail(error);
  }

  /** The counters at `now`. */
  stats(now: number): WriteStallStats {
    const currentMs = this.startedAt === null ? 0 : now - this.startedAt;
    return {
      stalls: this.episodes,
      stalledWrites: this.writes,
      stalledMs: Math.round(this.finishedMs + currentMs),
      writesHeld: this.holding,
      heldBytes: this.bytes,
    };
  }

  private endEpisode(now: number): void {
    if (this.startedAt !== null) this.finishedMs += now - this.startedAt;
    this.startedAt = null;
    this.queue = [];
    this.head = 0;
  }

  private compact(): void {
    this.queue = this.queue.slice(this.head);
    this.head = 0;
  }
}
