/**
 * The state one simulated campaign shares between its clients, its chaos
 * task and its checkpoints: the simulator and client, the model of each
 * collection (its history, whether it exists now, its current incarnation),
 * and what was found. Plus the small helpers they all use.
 */
import type { CollectionInfo } from '../../actors/public-api.js';
import { ShoalError } from '../../runtime/errors.js';
import type { NetworkOptions } from '../../runtime/sim/network.js';
import type { SimSystem } from '../../runtime/sim/sim-system.js';
import type { Random } from '../../runtime/random.js';
import type { Metric } from '../../storage/types.js';
import type { SyncMode } from '../../storage/wal/sync-mode.js';
import type { FaultKind } from './sim-fault-plan.js';
import type { History } from './sim-history.js';
import type { SimShoal } from './sim-shoal.js';

/** One collection of a campaign; all share the campaign's dimension and metric. */
export interface SimCollectionSpec {
  /** 1 to 64 letters, digits, `_` or `-`; distinct within a campaign. */
  readonly name: string;
  readonly syncMode: SyncMode;
  /** `periodic` only. */
  readonly syncIntervalMs?: number;
  /** Default: the campaign's `shards`. */
  readonly shards?: number;
}

/** A collection as the campaign models it, across drops and re-creations of its name. */
export interface CollectionModel {
  readonly spec: SimCollectionSpec & { readonly shards: number };
  readonly history: History;
  /** The current incarnation (id, placement); null while dropped. */
  info: CollectionInfo | null;
  /** False from the moment a drop is issued until a re-creation is acknowledged. */
  live: boolean;
  /**
   * The history stamp at which the current incarnation was acknowledged: operations issued later must not meet
   * COLLECTION_NOT_FOUND.
   */
  liveSince: number;
  incarnations: number;
  acknowledgedWrites: number;
  /** The WAL storage URL of every incarnation. */
  readonly walUrls: Set<string>;
}

/** The knobs of a campaign, defaults filled in. */
export interface CampaignSettings {
  readonly seed: number;
  readonly clients: number;
  readonly operationsPerClient: number;
  readonly ids: number;
  readonly dimension: number;
  readonly metric: Metric;
  readonly garbleProbability: number;
}

/** Storage roots of the campaign: the URLs of each component it spreads, and every folder that may hold a component. */
export interface CampaignStorage {
  readonly walUrls: readonly string[];
  readonly viperUrls: readonly string[];
  /** Folders under which `<component>/<collectionId>` may appear (the storage roots and dataDir). */
  readonly roots: readonly string[];
}

/** Everything a running campaign shares. */
export interface Campaign {
  readonly sim: SimSystem;
  readonly shoal: SimShoal;
  readonly settings: CampaignSettings;
  readonly collections: readonly CollectionModel[];
  readonly storage: CampaignStorage;
  /** The faulty network of the run; set-up and checkpoints use a reliable one. */
  readonly network: NetworkOptions;
  /** Randomness of checkpoints (query vectors), apart from clients and faults. */
  readonly checkRandom: Random;
  readonly violations: string[];
  readonly failures: Record<string, number>;
  readonly faults: Partial<Record<FaultKind, number>>;
  readonly counts: {
    operations: number;
    acknowledged: number;
    failed: number;
    checks: number;
    powerLosses: number;
    processCrashes: number;
    tornWrites: number;
    garbledWrites: number;
  };
  /** Dropped incarnations, to check that their folders are gone. */
  readonly dropped: { readonly id: string; readonly atMs: number }[];
  /** Virtual time of the last power loss (dropped folders may come back after one: their removal was not synced). */
  lastPowerLossAtMs: number;
  /** Set while the chaos task checks a quiescent node: clients wait for it. */
  pause: Promise<void> | null;
  clientsDone: boolean;
}

/** The deadline of every campaign request. */
export const REQUEST_TIMEOUT_MS = 5_000;

/** The error code of a failed call (`bug: ...` for anything that is not a ShoalError). */
export function codeOf(error: unknown): string {
  return error instanceof ShoalError ? error.code : `bug: ${String(error)}`;
}

/** Records a violation, stamped with the virtual time. */
export function violation(campaign: Campaign, text: string): void {
  campaign.violations.push(`at ${campaign.sim.now().toFixed(3)} ms: ${text}`);
}

/** Codes no fault may cause: a client seeing one is a bug. */
const BUG_CODES: ReadonlySet<string> = new Set(['INTERNAL', 'INVALID_ARGUMENT', 'DIMENSION_MISMATCH', 'CORRUPTION']);

/**
 * Counts a failed call on `model` issued at history stamp `issued`; a
 * failure no fault explains is a violation: a non-ShoalError, a code in
 * `BUG_CODES`, or COLLECTION_NOT_FOUND for a collection that existed from
 * before the call until now.
 */
export function countFailure(campaign: Campaign, model: CollectionModel | null, issued: number, error: unknown): void {
  const code = codeOf(error);
  campaign.counts.failed++;
  campaign.failures[code] = (campaign.failures[code] ?? 0) + 1;
  const message = error instanceof Error ? error.message : String(error);
  if (!(error instanceof ShoalError) || BUG_CODES.has(code))
    violation(campaign, `unexpected failure: ${code} ${message}`);
  else if (code === 'COLLECTION_NOT_FOUND' && model !== null && model.live && issued > model.liveSince)
    violation(campaign, `${model.spec.name} exists but a call answered ${code}: ${message}`);
}

/** Ids chosen at random from `pool`, distinct, up to `count`. */
export function pickIds(random: Random, pool: readonly string[], count: number): string[] {
  const chosen = new Set<string>();
  while (chosen.size < Math.min(count, pool.length)) chosen.add(pool[random.int(pool.length)] as string);
  return [...chosen];
}

/** A vector of the campaign's dimension with components in [-1, 1). */
export function randomVector(random: Random, dimension: number): Float32Array {
  return Float32Array.from({ length: dimension }, () => random.next() * 2 - 1);
}
