/**
 * The fault schedule of a simulated campaign, drawn up front from its own
 * random stream: which faults, at which virtual times, against what. The
 * shrinker leaves kinds or single faults out (`without`, `skipFaults`)
 * without moving the others: every remaining fault keeps its time and its
 * target, so a smaller run replays the same schedule minus what was removed.
 * Pure: no simulator, no I/O.
 */
import { SeededRandom } from '../../runtime/random.js';

/** The kinds of fault a campaign injects. */
export const FAULT_KINDS = ['node', 'process', 'actor', 'io', 'drop'] as const;

/**
 * `node`: power loss of the whole node (unsynced data lost, torn or garbled);
 * `process`: the process dies, the page cache survives; `actor`: an actor
 * crashes or its worker thread is killed; `io`: a WAL write or fdatasync
 * fails, then that WAL writer is crashed; `drop`: a collection is dropped
 * and maybe re-created (or, if already dropped, re-created).
 */
export type FaultKind = (typeof FAULT_KINDS)[number];

/** How many faults of each kind a campaign plans. */
export type FaultCounts = { readonly [K in FaultKind]: number };

/** One planned fault. */
export interface PlannedFault {
  /** Position in the plan: what `skipFaults` names. */
  readonly index: number;
  readonly kind: FaultKind;
  /** Virtual ms after the workload starts. */
  readonly atMs: number;
  /** The target collection, as an index into the campaign's collections (modulo their number). */
  readonly collection: number;
  /** The target shard, modulo the collection's shards. */
  readonly shard: number;
  /**
   * In [0, 1): picks the variant (which actor and how; which operation fails; whether a dropped collection is
   * re-created).
   */
  readonly choice: number;
  /** `io`: until the WAL writer is crashed; `drop`: until the re-creation. */
  readonly delayMs: number;
}

/** True when `value` names a fault kind. */
export function isFaultKind(value: unknown): value is FaultKind {
  return (FAULT_KINDS as readonly unknown[]).includes(value);
}

/** FNV-1a of `name` mixed with `seed`: one independent random stream per purpose. */
export function deriveSeed(seed: number, name: string): number {
  let hash = 0x811c9dc5 ^ (seed >>> 0);
  for (let index = 0; index < name.length; index++) hash = Math.imul(hash ^ name.charCodeAt(index), 0x01000193);
  return hash >>> 0;
}

/** The whole plan for `seed` and `counts`: kinds in a seeded order, 30 to 330 ms apart. */
export function planFaults(seed: number, counts: FaultCounts): PlannedFault[] {
  const random = new SeededRandom(deriveSeed(seed, 'faults'));
  const kinds = FAULT_KINDS.flatMap((kind) => Array<FaultKind>(counts[kind]).fill(kind));
  for (let index = kinds.length - 1; index > 0; index--) {
    const other = random.int(index + 1);
    [kinds[index], kinds[other]] = [kinds[other] as FaultKind, kinds[index] as FaultKind];
  }
  let atMs = 0;
  return kinds.map((kind, index) => {
    atMs += 30 + random.int(300);
    return {
      index,
      kind,
      atMs,
      collection: random.int(1_000),
      shard: random.int(256),
      choice: random.next(),
      delayMs: 100 + random.int(200),
    };
  });
}

/** The faults that run: the plan without the kinds in `without` and the indices in `skip`. */
export function activeFaults(
  plan: readonly PlannedFault[],
  without: readonly FaultKind[],
  skip: readonly number[],
): PlannedFault[] {
  return plan.filter((fault) => !without.includes(fault.kind) && !skip.includes(fault.index));
}
