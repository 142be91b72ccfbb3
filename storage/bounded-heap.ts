/**
 * A bounded binary heap that keeps the `capacity` best items seen so far.
 * Generic (it knows nothing of vectors): storage uses it for per-engine
 * top-k, cluster for the scatter-gather merge.
 */

/** Returns a negative number when `a` is better than `b`, positive when worse, 0 when equal. */
export type Comparator<T> = (a: T, b: T) => number;

/**
 * Keeps the best `capacity` items under `compare`. The root is the worst kept
 * item, so a candidate is rejected in O(1) when it is no better than the root.
 */
export class BoundedHeap<T> {
  private readonly items: T[] = [];

  constructor(
    private readonly capacity: number,
    private readonly compare: Comparator<T>,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
  }

  get size(): number {
    return this.items.length;
  }

  /** True when `candidate` would be kept by `push` (the heap is not full, or it beats the worst kept item). */
  accepts(candidate: T): boolean {
    const worst = this.items[0];
    return this.items.length < this.capacity || worst === undefined || this.compare(candidate, worst) < 0;
  }

  /** Offers an item; keeps it if it is among the best `capacity` seen. */
  push(item: T): void {
    if (this.items.length < this.capacity) {
      this.items.push(item);
      this.siftUp(this.items.length - 1);
      return;
    }
    if (!this.accepts(item)) return;
    this.items[0] = item;
    this.siftDown(0);
  }

  /** The kept items, best first. Does not change the heap. */
  sorted(): T[] {
    return [...this.items].sort(this.compare);
  }

  // The heap is ordered worst-at-root: a parent is never better than its children.
  private worse(i: number, j: number): boolean {
    return this.compare(this.items[i] as T, this.items[j] as T) > 0;
  }

  private swap(i: number, j: number): void {
    const tmp = this.items[i] as T;
    this.items[i] = this.items[j] as T;
    this.items[j] = tmp;
  }

  private siftUp(index: number): void {
    let child = index;
    while (child > 0) {
      const parent = (child - 1) >> 1;
      if (!this.worse(child, parent)) return;
      this.swap(child, parent);
      child = parent;
    }
  }

  private siftDown(index: number): void {
    const n = this.items.length;
    let parent = index;
    for (;;) {
      const left = 2 * parent + 1;
      const right = left + 1;
      let worst = parent;
      if (left < n && this.worse(left, worst)) worst = left;
      if (right < n && this.worse(right, worst)) worst = right;
      if (worst === parent) return;
      this.swap(parent, worst);
      parent = worst;
    }
  }
}
