/**
 * The content of one simulated file (an inode): the bytes every reader sees
 * now, plus a log of the writes and truncations not yet known durable, each
 * with what it overwrote. A sync makes the logged operations durable; a
 * crash rebuilds the file from its durable state plus a chosen prefix of the
 * unsynced operations, the first one it drops possibly torn (a prefix of its
 * bytes kept).
 *
 * A failed sync dooms the operations it should have covered, as Linux does
 * (the pages are marked clean without reaching the disk): readers still see
 * them, no later sync makes them durable, and a crash loses them, while
 * operations written after the failure are synced normally. A log built on
 * top of doomed bytes therefore gets a hole at the crash, which is what a
 * real disk would give it.
 */

/**
 * `unsynced`: a crash may keep or lose it; `synced`: durable (only kept while doomed operations precede it); `doomed`:
 * lost at a crash.
 */
type Durability = 'unsynced' | 'synced' | 'doomed';

interface PendingWrite {
  readonly kind: 'write';
  durability: Durability;
  readonly position: number;
  /** A copy of the bytes written. */
  readonly data: Uint8Array;
  readonly previousSize: number;
  /** The bytes the write overwrote (those below `previousSize`). */
  readonly previous: Uint8Array;
}

interface PendingTruncate {
  readonly kind: 'truncate';
  durability: Durability;
  readonly length: number;
  readonly previousSize: number;
  /** The bytes a shrinking truncate cut off. */
  readonly previous: Uint8Array;
}

type PendingOperation = PendingWrite | PendingTruncate;

/** Bytes of a file with their unsynced history. */
export class FileContent {
  private bytes = new Uint8Array(0);
  private length = 0;
  private pending: PendingOperation[] = [];
  private doomed = 0;

  /** `id` orders files deterministically when a crash draws randomness for each. */
  constructor(readonly id: number) {}

  /** Current size in bytes. */
  get size(): number {
    return this.length;
  }

  /** Writes and truncations a crash may keep or lose (not synced, not doomed). */
  get pendingOperations(): number {
    return this.unsynced().length;
  }

  /** Operations a failed sync doomed: lost at the next crash. */
  get doomedOperations(): number {
    return this.doomed;
  }

  /** Bytes of the `index`-th unsynced operation when it is a write, else 0 (a crash can tear only writes). */
  pendingWriteBytes(index: number): number {
    const operation = this.unsynced()[index];
    return operation?.kind === 'write' ? operation.data.byteLength : 0;
  }

  /** Copies up to `length` bytes at `position` into `target[offset..]`; answers the count (0 at or past the end). */
  read(target: Uint8Array, offset: number, length: number, position: number): number {
    const count = Math.max(0, Math.min(length, this.length - position, target.byteLength - offset));
    if (count > 0) target.set(this.bytes.subarray(position, position + count), offset);
    return count;
  }

  /** A copy of the whole current content. */
  snapshot(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }

  /**
   * Writes `data` at `position` (past the end: the gap reads as zeros); not durable until `sync`. Takes ownership of
   * `data`: pass a private copy.
   */
  write(data: Uint8Array, position: number): void {
    const copy = data;
    const previousSize = this.length;
    const previous = this.bytes.slice(position, Math.max(position, Math.min(previousSize, position + copy.byteLength)));
    this.pending.push({ kind: 'write', durability: 'unsynced', position, data: copy, previousSize, previous });
    this.put(copy, position);
  }

  /** Cuts or extends (with zeros) the file to `length` bytes; not durable until `sync`. */
  truncate(length: number): void {
    const previousSize = this.length;
    const previous = length < previousSize ? this.bytes.slice(length, previousSize) : new Uint8Array(0);
    this.pending.push({ kind: 'truncate', durability: 'unsynced', length, previousSize, previous });
    this.resize(length);
  }

  /** Makes every unsynced operation durable (doomed ones stay doomed). */
  sync(): void {
    if (this.doomed === 0) {
      this.pending = [];
      return;
    }
    for (const operation of this.pending) if (operation.durability === 'unsynced') operation.durability = 'synced';
  }

  /** A sync failed: the operations it should have covered never become durable. */
  failSync(): void {
    for (const operation of this.pending) {
      if (operation.durability !== 'unsynced') continue;
      operation.durability = 'doomed';
      this.doomed++;
    }
  }

  /**
   * A crash: the file becomes its durable state, plus synced operations,
   * plus the first `kept` unsynced ones and the first `tornBytes` bytes of
   * the next when it is a write; doomed operations are lost. With `garble`,
   * the last kept operation, when it is a write, has `garble.bytes` at
   * `garble.offset` (from its start) instead of its own: a sector being
   * written as the power failed reached the disk scrambled, while the file's
   * size already covered it. Afterwards everything left is durable.
   */
  crash(
    kept: number,
    tornBytes: number,
    garble: { readonly offset: number; readonly bytes: Uint8Array } | null = null,
  ): void {
    for (let index = this.pending.length - 1; index >= 0; index--) this.undo(this.pending[index] as PendingOperation);
    let unsyncedSeen = 0;
    for (const operation of this.pending) {
      if (operation.durability === 'doomed') continue;
      if (operation.durability === 'unsynced') {
        unsyncedSeen++;
        if (unsyncedSeen > kept + 1) continue;
        if (unsyncedSeen === kept + 1) {
          if (operation.kind === 'write' && tornBytes > 0)
            this.put(operation.data.subarray(0, Math.min(tornBytes, operation.data.byteLength)), operation.position);
          continue;
        }
      }
      this.redo(operation);
      if (
        garble !== null &&
        unsyncedSeen === kept &&
        operation.durability === 'unsynced' &&
        operation.kind === 'write'
      ) {
        const bytes = garble.bytes.subarray(0, Math.max(0, operation.data.byteLength - garble.offset));
        this.put(bytes, operation.position + garble.offset);
      }
    }
    this.pending = [];
    this.doomed = 0;
  }

  private unsynced(): PendingOperation[] {
    return this.doomed === 0 ? this.pending : this.pending.filter((operation) => operation.durability === 'unsynced');
  }

  private redo(operation: PendingOperation): void {
    if (operation.kind === 'write') this.put(operation.data, operation.position);
    else this.resize(operation.length);
  }

  private undo(operation: PendingOperation): void {
    if (operation.kind === 'write') {
      this.bytes.set(operation.previous, operation.position);
      this.resize(operation.previousSize);
      return;
    }
    this.resize(operation.previousSize);
    this.bytes.set(operation.previous, operation.length);
  }

  private put(data: Uint8Array, position: number): void {
    const end = position + data.byteLength;
    if (end > this.length) this.resize(end);
    this.bytes.set(data, position);
  }

  /** Sets the length; bytes past the old end read as zeros. */
  private resize(length: number): void {
    if (length > this.bytes.byteLength) {
      const grown = new Uint8Array(Math.max(length, this.bytes.byteLength * 2, 64));
      grown.set(this.bytes.subarray(0, this.length));
      this.bytes = grown;
    } else if (length > this.length) {
      this.bytes.fill(0, this.length, length);
    }
    this.length = length;
  }
}
