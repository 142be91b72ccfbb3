/**
 * The record of a simulated campaign and its invariants. Every write a
 * client issues is recorded per id with two logical timestamps (issued,
 * acknowledged), taken in the order the host saw them. A write whose call
 * failed (TIMEOUT, UNAVAILABLE, STORAGE_FAILED, a node crash) has an unknown
 * effect: it may or may not have happened.
 *
 * The durability invariant: the value an id holds is the value of some write
 * to it (or "absent" from before the first one) that no acknowledged write
 * supersedes, where w2 supersedes w when w2 was issued after w was
 * acknowledged (so w2 is ordered after w, and durable). It covers "every
 * acknowledged write survives a crash" and "an acknowledged delete never
 * comes back", with any interleaving of concurrent clients.
 */
import { scoreOf, norm } from '../../storage/distance.js';
import type { Metadata, Metric } from '../../storage/types.js';

/** A record's content: its vector and metadata, or null when absent (never written, or deleted). */
export type RecordValue = { readonly vector: Float32Array; readonly metadata: Metadata | null } | null;

/** One write to one id. */
export interface WriteRecord {
  readonly value: RecordValue;
  readonly issued: number;
  /** When the host saw it acknowledged; null while pending, or when its outcome is unknown. */
  acknowledged: number | null;
}

const NEVER = Number.POSITIVE_INFINITY;

function sameVector(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let index = 0; index < a.length; index++) if (!Object.is(a[index], b[index])) return false;
  return true;
}

/** True when two record values are bit-identical (vector) and equal (metadata as JSON). */
export function sameValue(a: RecordValue, b: RecordValue): boolean {
  if (a === null || b === null) return a === b;
  return sameVector(a.vector, b.vector) && JSON.stringify(a.metadata) === JSON.stringify(b.metadata);
}

function describe(value: RecordValue): string {
  if (value === null) return 'absent';
  return `[${Array.from(value.vector.subarray(0, 3), (each) => each.toFixed(4)).join(', ')}...] ${JSON.stringify(value.metadata)}`;
}

/** Every write of a campaign, per id, and the invariant over them. */
export class History {
  private readonly writes = new Map<string, WriteRecord[]>();
  private clock = 0;

  constructor(ids: readonly string[]) {
    for (const id of ids) this.writes.set(id, [{ value: null, issued: -1, acknowledged: -1 }]);
  }

  /** The ids under test. */
  ids(): string[] {
    return [...this.writes.keys()];
  }

  /** Records a write issued now. */
  issue(id: string, value: RecordValue): WriteRecord {
    const write: WriteRecord = { value, issued: ++this.clock, acknowledged: null };
    this.writes.get(id)?.push(write);
    return write;
  }

  /** The host saw `write` acknowledged. */
  acknowledge(write: WriteRecord): void {
    write.acknowledged = ++this.clock;
  }

  /** The values `id` may hold now (see the module header). */
  allowed(id: string): RecordValue[] {
    const writes = this.writes.get(id) ?? [];
    return writes
      .filter((write) => !writes.some((other) => other !== write && other.acknowledged !== null && other.issued > (write.acknowledged ?? NEVER)))
      .map((write) => write.value);
  }

  /** A logical timestamp now (to mark when a read was issued and when it completed). */
  stamp(): number {
    return ++this.clock;
  }

  /**
   * A violation message when a read of `id` issued at stamp `issued` and
   * completed at `completed` could not have returned `observed`: its value
   * must come from a write issued before the read completed that no write
   * acknowledged before the read was issued supersedes.
   */
  checkRead(id: string, observed: RecordValue, issued: number, completed: number): string | null {
    const writes = this.writes.get(id) ?? [];
    const allowed = writes
      .filter((write) => write.issued < completed)
      .filter((write) => !writes.some((other) => other !== write && other.acknowledged !== null && other.acknowledged < issued && other.issued > (write.acknowledged ?? NEVER)))
      .map((write) => write.value);
    if (allowed.some((value) => sameValue(value, observed))) return null;
    return `a read of ${id} returned ${describe(observed)}, allowed: ${allowed.map(describe).join(' | ')}`;
  }

  /** A violation message when `observed` is not allowed for `id`, else null. */
  check(id: string, observed: RecordValue): string | null {
    const allowed = this.allowed(id);
    if (allowed.some((value) => sameValue(value, observed))) return null;
    return `${id} holds ${describe(observed)}, allowed: ${allowed.map(describe).join(' | ')}`;
  }

  /**
   * After a node crash nothing is in flight any more, so what was observed
   * is the truth: it becomes the only, acknowledged write of each id.
   */
  settle(observed: ReadonlyMap<string, RecordValue>): void {
    for (const id of this.writes.keys()) {
      const stamp = ++this.clock;
      this.writes.set(id, [{ value: observed.get(id) ?? null, issued: stamp, acknowledged: stamp }]);
    }
  }
}

/** One hit as the check sees it. */
export interface CheckedHit {
  readonly id: string;
  readonly score: number;
}

/**
 * Checks an exact top-k search against a model state: scores as the model
 * computes them (within `tolerance`), hits sorted best first, as many as
 * min(k, records), and no record missing that scores clearly better than
 * the worst hit (ties within the tolerance may go either way).
 */
export function checkExactSearch(state: ReadonlyMap<string, RecordValue>, query: Float32Array, k: number, metric: Metric, hits: readonly CheckedHit[], tolerance = 1e-4): string | null {
  const better = (a: number, b: number): boolean => (metric === 'l2' ? a < b - tolerance : a > b + tolerance);
  const scores = new Map<string, number>();
  for (const [id, value] of state) {
    if (value !== null) scores.set(id, scoreOf(metric, query, norm(query, 0, query.length), value.vector, 0, norm(value.vector, 0, value.vector.length), query.length));
  }
  if (hits.length !== Math.min(k, scores.size)) return `search returned ${hits.length} hits, expected ${Math.min(k, scores.size)}`;
  for (const [index, hit] of hits.entries()) {
    const expected = scores.get(hit.id);
    if (expected === undefined) return `search returned ${hit.id}, which the model does not hold`;
    if (Math.abs(expected - hit.score) > tolerance) return `search scored ${hit.id} ${hit.score}, the model ${expected}`;
    const previous = hits[index - 1];
    if (previous !== undefined && better(hit.score, previous.score)) return `search hits out of order at ${index}`;
  }
  const worst = hits[hits.length - 1];
  if (worst === undefined) return null;
  const returned = new Set(hits.map((hit) => hit.id));
  for (const [id, score] of scores) {
    if (!returned.has(id) && better(score, worst.score)) return `search missed ${id} (score ${score}, worst hit ${worst.score})`;
  }
  return null;
}
