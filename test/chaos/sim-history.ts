/**
 * The record of a simulated campaign and its invariants. Every write a
 * client issues is recorded per id with two logical timestamps (issued,
 * acknowledged), taken in the order the host saw them, and the virtual time
 * of its acknowledgement. A write whose call failed (TIMEOUT, UNAVAILABLE,
 * STORAGE_FAILED, a node crash) has an unknown effect: it may or may not
 * have happened.
 *
 * The durability invariant: the value an id holds is the value of some write
 * to it (or "absent" from before the first one) that no write which must
 * survive supersedes, where w2 supersedes w when w2 was issued after w was
 * acknowledged (so w2 is ordered after w). Without a crash, and after an
 * actor, worker or process crash, every acknowledged write must survive.
 * After a power loss it depends on the collection's sync mode (`mustSurvive`):
 * `always` and `batch` keep every acknowledged write; `periodic` keeps those
 * acknowledged at least `syncIntervalMs` (plus `PERIODIC_SLACK_MS`) before
 * the power failed; `never` may lose any. Dropping a collection is a write of
 * "absent" to every id that survives once acknowledged, in every mode. In
 * every case a value that was never written (a corrupted or phantom record)
 * is a violation.
 */
import { scoreOf, norm } from '../../storage/distance.js';
import type { Metadata, Metric } from '../../storage/types.js';
import type { SyncMode } from '../../storage/wal/sync-mode.js';

/** A record's content: its vector and metadata, or null when absent (never written, or deleted). */
export type RecordValue = { readonly vector: Float32Array; readonly metadata: Metadata | null } | null;

/** One write to one id. */
export interface WriteRecord {
  readonly value: RecordValue;
  readonly issued: number;
  /** When the host saw it acknowledged; null while pending, or when its outcome is unknown. */
  acknowledged: number | null;
  /** The virtual time of the acknowledgement, in ms; null with `acknowledged`. */
  acknowledgedAtMs: number | null;
  /** Part of a drop-collection: durable once acknowledged, whatever the sync mode. */
  readonly drop: boolean;
  /** What a read found after a process crash: the truth from then on, but perhaps only in the page cache. */
  readonly observed: boolean;
}

/** What a collection promises about its acknowledged writes (its sync mode). */
export interface DurabilityPromise {
  readonly syncMode: SyncMode;
  /** `periodic`: the longest an acknowledged write may wait for its fdatasync. */
  readonly syncIntervalMs: number;
}

/**
 * A crash as the checker sees it: a power loss (unsynced data lost) or a process crash (the page cache survives), at a
 * virtual time.
 */
export interface CrashEvent {
  readonly powerLoss: boolean;
  readonly atMs: number;
}

/**
 * Time a periodic fdatasync may take beyond `syncIntervalMs` after the write
 * it covers: the group being written when the timer fires, a segment
 * rotation, and the fdatasync itself (at most 3 ms each in the simulator).
 */
export const PERIODIC_SLACK_MS = 20;

const NEVER = Number.POSITIVE_INFINITY;

/** Whether `write` must be there after `crash` (null: no crash, the live state) under `promise`. */
export function mustSurvive(write: WriteRecord, promise: DurabilityPromise, crash: CrashEvent | null): boolean {
  if (write.acknowledged === null) return false;
  if (crash === null || !crash.powerLoss || write.drop) return true;
  if (write.observed) return false;
  switch (promise.syncMode) {
    case 'always':
    case 'batch':
      return true;
    case 'periodic':
      return (write.acknowledgedAtMs ?? NEVER) <= crash.atMs - promise.syncIntervalMs - PERIODIC_SLACK_MS;
    case 'never':
      return false;
  }
}

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

/** Every write to one collection (by name, across drops and re-creations), per id, and the invariant over them. */
export class History {
  private readonly writes = new Map<string, WriteRecord[]>();
  /** Every value ever written to each id (settling forgets writes, not this). */
  private readonly written = new Map<string, RecordValue[]>();
  private clock = 0;
  /**
   * The crashes so far, each with the stamp at which it happened (a read in flight across one may see what it left).
   */
  private readonly crashes: { readonly stamp: number; readonly crash: CrashEvent }[] = [];

  constructor(
    ids: readonly string[],
    readonly promise: DurabilityPromise = { syncMode: 'batch', syncIntervalMs: 0 },
  ) {
    for (const id of ids) {
      this.writes.set(id, [
        { value: null, issued: -1, acknowledged: -1, acknowledgedAtMs: -1, drop: false, observed: false },
      ]);
      this.written.set(id, [null]);
    }
  }

  /** The ids under test. */
  ids(): string[] {
    return [...this.writes.keys()];
  }

  /** Records a write issued now. */
  issue(id: string, value: RecordValue): WriteRecord {
    const write: WriteRecord = {
      value,
      issued: ++this.clock,
      acknowledged: null,
      acknowledgedAtMs: null,
      drop: false,
      observed: false,
    };
    this.writes.get(id)?.push(write);
    this.written.get(id)?.push(value);
    return write;
  }

  /** Records a drop-collection issued now: "absent" for every id. */
  issueDrop(): WriteRecord[] {
    const issued = ++this.clock;
    return this.ids().map((id) => {
      const write: WriteRecord = {
        value: null,
        issued,
        acknowledged: null,
        acknowledgedAtMs: null,
        drop: true,
        observed: false,
      };
      this.writes.get(id)?.push(write);
      return write;
    });
  }

  /** The host saw `write` acknowledged at virtual time `atMs`. */
  acknowledge(write: WriteRecord, atMs: number): void {
    write.acknowledged = ++this.clock;
    write.acknowledgedAtMs = atMs;
  }

  /**
   * The writes to `ids` acknowledged at or after `fromMs` may be undone
   * (a periodic WAL that failed cuts back to its last fdatasync): their
   * outcome becomes unknown.
   */
  weaken(ids: readonly string[], fromMs: number): number {
    let count = 0;
    for (const id of ids) {
      for (const write of this.writes.get(id) ?? []) {
        if (write.acknowledgedAtMs === null || write.acknowledgedAtMs < fromMs || write.drop) continue;
        write.acknowledged = null;
        write.acknowledgedAtMs = null;
        count++;
      }
    }
    return count;
  }

  /** The values `id` may hold now, or after `crash` (see the module header). */
  allowed(id: string, crash: CrashEvent | null = null): RecordValue[] {
    const writes = this.writes.get(id) ?? [];
    const surviving = writes.filter((write) => mustSurvive(write, this.promise, crash));
    return writes
      .filter((write) => !surviving.some((other) => other !== write && other.issued > (write.acknowledged ?? NEVER)))
      .map((write) => write.value);
  }

  /** The node crashed now: reads in flight may complete after the restart, with what the crash left. */
  noteCrash(crash: CrashEvent): void {
    this.crashes.push({ stamp: ++this.clock, crash });
  }

  /** A logical timestamp now (to mark when a read was issued and when it completed). */
  stamp(): number {
    return ++this.clock;
  }

  /**
   * A violation message when a read of `id` issued at stamp `issued` and
   * completed at `completed` could not have returned `observed`: its value
   * must come from a write issued before the read completed that no write
   * acknowledged before the read was issued supersedes, or be what a crash
   * during the read allows (`allowed(id, crash)`).
   */
  checkRead(id: string, observed: RecordValue, issued: number, completed: number): string | null {
    const writes = this.writes.get(id) ?? [];
    const allowed = writes
      .filter((write) => write.issued < completed)
      .filter(
        (write) =>
          !writes.some(
            (other) =>
              other !== write &&
              other.acknowledged !== null &&
              other.acknowledged < issued &&
              other.issued > (write.acknowledged ?? NEVER),
          ),
      )
      .map((write) => write.value);
    if (allowed.some((value) => sameValue(value, observed))) return null;
    // A read in flight across a crash may be answered after the restart (the client retries it), from what the crash
    // kept.
    for (const { stamp, crash } of this.crashes) {
      if (stamp > issued && stamp < completed && this.allowed(id, crash).some((value) => sameValue(value, observed)))
        return null;
    }
    return `a read of ${id} returned ${describe(observed)}, allowed: ${allowed.map(describe).join(' | ')}`;
  }

  /** A violation message when `observed` is not allowed for `id` now (or after `crash`), else null. */
  check(id: string, observed: RecordValue, crash: CrashEvent | null = null): string | null {
    const allowed = this.allowed(id, crash);
    if (allowed.some((value) => sameValue(value, observed))) return null;
    const written = (this.written.get(id) ?? []).some((value) => sameValue(value, observed));
    const what = written ? 'lost an acknowledged write or revived an old one' : 'holds a value never written';
    return `${id} ${what}: holds ${describe(observed)}, allowed: ${allowed.map(describe).join(' | ')}`;
  }

  /**
   * After a crash, or once every deadline has passed, nothing is in flight
   * any more, so what was observed is the truth from now on: a write that
   * did not show has not happened (and must not show up later). It becomes
   * the only, acknowledged write of each id when it is durable: after a
   * power loss, and in `always` and `batch` modes, where a read only sees
   * synced frames (the WAL syncs before the engine applies, and a reopened
   * WAL syncs what it recovered). Otherwise (`periodic`, `never`, after a
   * process crash or while live) it may be in the page cache only, and a
   * later power loss may still go back to what the history allowed before:
   * it is added as an observed write, which no power loss must keep.
   */
  settle(observed: ReadonlyMap<string, RecordValue>, atMs: number, crash: CrashEvent | null): void {
    const durable =
      crash?.powerLoss === true || this.promise.syncMode === 'always' || this.promise.syncMode === 'batch';
    for (const [id, writes] of this.writes) {
      const stamp = ++this.clock;
      const write: WriteRecord = {
        value: observed.get(id) ?? null,
        issued: stamp,
        acknowledged: stamp,
        acknowledgedAtMs: atMs,
        drop: false,
        observed: !durable,
      };
      if (durable) this.writes.set(id, [write]);
      else writes.push(write);
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
export function checkExactSearch(
  state: ReadonlyMap<string, RecordValue>,
  query: Float32Array,
  k: number,
  metric: Metric,
  hits: readonly CheckedHit[],
  tolerance = 1e-4,
): string | null {
  const better = (a: number, b: number): boolean => (metric === 'l2' ? a < b - tolerance : a > b + tolerance);
  const scores = new Map<string, number>();
  for (const [id, value] of state) {
    if (value !== null)
      scores.set(
        id,
        scoreOf(
          metric,
          query,
          norm(query, 0, query.length),
          value.vector,
          0,
          norm(value.vector, 0, value.vector.length),
          query.length,
        ),
      );
  }
  if (hits.length !== Math.min(k, scores.size))
    return `search returned ${hits.length} hits, expected ${Math.min(k, scores.size)}`;
  for (const [index, hit] of hits.entries()) {
    const expected = scores.get(hit.id);
    if (expected === undefined) return `search returned ${hit.id}, which the model does not hold`;
    if (Math.abs(expected - hit.score) > tolerance)
      return `search scored ${hit.id} ${hit.score}, the model ${expected}`;
    const previous = hits[index - 1];
    if (previous !== undefined && better(hit.score, previous.score)) return `search hits out of order at ${index}`;
  }
  const worst = hits[hits.length - 1];
  if (worst === undefined) return null;
  const returned = new Set(hits.map((hit) => hit.id));
  for (const [id, score] of scores) {
    if (!returned.has(id) && better(score, worst.score))
      return `search missed ${id} (score ${score}, worst hit ${worst.score})`;
  }
  return null;
}
