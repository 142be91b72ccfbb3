/**
 * The order of a shard's writes against its read-modify-writes, as a plain
 * class: ordinary writes run side by side (they pipeline through the WAL),
 * an exclusive item (a metadata update, which reads a record's vector from
 * the engine and writes it back) runs alone, once every write admitted
 * before it has finished, and everything admitted after it waits until it
 * has finished. Admission order is kept: a write behind a waiting exclusive
 * item waits too, so an update cannot be starved and a later write is never
 * overtaken by an earlier update. No I/O; the shard actor starts what the
 * gate says may start.
 */
import { assert } from '../runtime/assert.js';

/** An item waiting its turn. */
interface Waiting<T> {
  readonly item: T;
  readonly exclusive: boolean;
}

/** Admits shared and exclusive items in arrival order (see the module header). */
export class WriteGate<T> {
  /** Shared items started and not finished. */
  private running = 0;
  /** True while an exclusive item runs. */
  private exclusiveRunning = false;
  private readonly queue: Waiting<T>[] = [];

  /** Items waiting their turn. */
  get waiting(): number {
    return this.queue.length;
  }

  /** True when `item` may start now (it then counts as running); false when it was queued. */
  admit(item: T, exclusive: boolean): boolean {
    if (this.queue.length === 0 && this.mayStart(exclusive)) {
      this.start(exclusive);
      return true;
    }
    this.queue.push({ item, exclusive });
    return false;
  }

  /** A running item finished; returns the queued items that start now (each counts as running), in arrival order. */
  finished(exclusive: boolean): T[] {
    if (exclusive) {
      assert(this.exclusiveRunning, 'an exclusive item finished while none was running');
      this.exclusiveRunning = false;
    } else {
      assert(this.running > 0, 'a shared item finished while none was running');
      this.running--;
    }
    const started: T[] = [];
    for (let head = this.queue[0]; head !== undefined && this.mayStart(head.exclusive); head = this.queue[0]) {
      this.queue.shift();
      this.start(head.exclusive);
      started.push(head.item);
    }
    return started;
  }

  private mayStart(exclusive: boolean): boolean {
    return !this.exclusiveRunning && (!exclusive || this.running === 0);
  }

  private start(exclusive: boolean): void {
    if (exclusive) this.exclusiveRunning = true;
    else this.running++;
  }
}
