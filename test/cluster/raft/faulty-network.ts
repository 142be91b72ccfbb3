/**
 * Test helper: the adversarial network both Raft cluster harnesses run on
 * (`simulated-cluster.ts` for the bare cores, `metadata-cluster.ts` for the
 * replicated metadata map). One queue of items in flight, of which a test
 * action picks one to deliver, duplicate or drop (so order is the action
 * sequence's choice), a capacity past which sends are lost, and partition
 * groups: two node ids can talk when they are in the same group.
 */

/** What a pick does to the item in flight. */
export type PickKind = 'deliver' | 'duplicate' | 'drop';

/** Items in flight between nodes, with partitions. */
export class FaultyNetwork<T> {
  private items: T[] = [];
  private groups = new Map<number, number>();

  constructor(private readonly capacity: number) {}

  /** Items in flight. */
  get length(): number {
    return this.items.length;
  }

  /** Puts `item` in flight, unless the network is full (then it is lost, as on an overloaded link). */
  send(item: T): void {
    if (this.items.length < this.capacity) this.items.push(item);
  }

  /** Loses every item in flight that `match` selects. */
  discard(match: (item: T) => boolean): void {
    this.items = this.items.filter((item) => !match(item));
  }

  /**
   * Picks item `pick` (modulo the count): `deliver` removes and answers it; `duplicate` sends it again; `drop` loses
   * it. Null when nothing is to be delivered.
   */
  take(kind: PickKind, pick: number): T | null {
    if (this.items.length === 0) return null;
    const index = pick % this.items.length;
    const item = this.items[index] as T;
    if (kind === 'duplicate') {
      this.send(item);
      return null;
    }
    this.items.splice(index, 1);
    return kind === 'deliver' ? item : null;
  }

  /** Puts each node in a group (nodes left out are in group 0); only nodes in one group can talk. */
  partition(groups: Iterable<readonly [number, number]>): void {
    this.groups = new Map(groups);
  }

  /** Removes every partition. */
  heal(): void {
    this.groups = new Map();
  }

  /** True when `from` can reach `to`. */
  connected(from: number, to: number): boolean {
    return (this.groups.get(from) ?? 0) === (this.groups.get(to) ?? 0);
  }
}
