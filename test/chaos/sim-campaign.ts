/**
 * A simulated chaos campaign against one Shoal node. Concurrent clients
 * upsert, overwrite, delete, get and search over a small pool of ids in
 * several collections — one per sync mode by default, spread over two
 * storage URLs per component — while a chaos task (`sim-faults.ts`) crashes
 * and kills actors, fails WAL writes and syncs, drops and re-creates
 * collections, kills the process and cuts the power. Every write is recorded
 * (`sim-history.ts`); the checkers run:
 * - on every get: the value is one a linearizable store could return;
 * - after every crash and restart, and at the end (`sim-checkpoint.ts`):
 *   the collections are those created and not dropped; every id holds a
 *   value its collection's sync mode allows after that crash (never a value
 *   that was not written); exact searches agree with the state read; files
 *   sit under the storage URLs their placement names.
 * One seed reproduces a run exactly, trace included; the fault plan and each
 * client draw from streams of their own, so a shrunk run (`sim-shrink.ts`)
 * keeps the schedule of what it did not remove.
 */
import type { StorageOptions } from '../../actors/public-api.js';
import { RELIABLE_NETWORK } from '../../runtime/sim/network.js';
import type { NetworkOptions } from '../../runtime/sim/network.js';
import { SimSystem } from '../../runtime/sim/sim-system.js';
import { SeededRandom } from '../../runtime/random.js';
import type { Metric } from '../../storage/types.js';
import { checkpoint } from './sim-checkpoint.js';
import { runClient } from './sim-clients.js';
import type { Campaign, CampaignStorage, CollectionModel, SimCollectionSpec } from './sim-context.js';
import { REQUEST_TIMEOUT_MS, violation } from './sim-context.js';
import { activeFaults, deriveSeed, planFaults } from './sim-fault-plan.js';
import type { FaultCounts, FaultKind, PlannedFault } from './sim-fault-plan.js';
import { collectionOptions, crashAndCheck, runChaos } from './sim-faults.js';
import { History } from './sim-history.js';
import { campaignSpecTransform } from './sim-mutations.js';
import type { SimMutation } from './sim-mutations.js';
import { SimShoal } from './sim-shoal.js';

export type { SimCollectionSpec } from './sim-context.js';

/** One collection per sync mode: what a default campaign runs. */
export const DEFAULT_COLLECTIONS: readonly SimCollectionSpec[] = [
  { name: 'always', syncMode: 'always', shards: 1 },
  { name: 'batch', syncMode: 'batch' },
  { name: 'periodic', syncMode: 'periodic', syncIntervalMs: 50 },
  { name: 'never', syncMode: 'never' },
];

/** What a campaign does; only the seed is required. */
export interface SimCampaignOptions {
  readonly seed: number;
  readonly clients?: number;
  readonly operationsPerClient?: number;
  /** Size of the id pool of each collection (small, so clients overwrite each other). */
  readonly ids?: number;
  readonly dimension?: number;
  /** Shards of a collection that does not say. */
  readonly shards?: number;
  readonly metric?: Metric;
  /** Default `DEFAULT_COLLECTIONS`. */
  readonly collections?: readonly SimCollectionSpec[];
  /**
   * Storage URLs per spread component (`wal` round-robin, `viper` by hash): 1 puts everything under the data directory.
   * Default 2.
   */
  readonly storageUrls?: number;
  /** Power losses of the whole node. */
  readonly nodeCrashes?: number;
  /** Crashes of the process alone (the page cache survives). */
  readonly processCrashes?: number;
  /** crash-actor and kill-worker faults on WAL writers, engines and shards. */
  readonly actorFaults?: number;
  /** Failed WAL writes or syncs (EIO, ENOSPC), each followed by a crash of that WAL writer so the shard recovers. */
  readonly ioFaults?: number;
  /** Drop-collection faults (most re-create the collection a little later). */
  readonly drops?: number;
  /**
   * Chance that a power loss garbles the last kept write of a WAL segment (its last bytes become garbage). Default
   * 0.25.
   */
  readonly garbleProbability?: number;
  /** Fault kinds left out of the plan (the others keep their times and targets). */
  readonly without?: readonly FaultKind[];
  /** Single faults left out, by plan index. */
  readonly skipFaults?: readonly number[];
  readonly network?: Partial<NetworkOptions>;
  readonly traceEcho?: (line: string) => void;
  /** A deliberately broken component, to prove the checkers can fail (see `sim-mutations.ts`). */
  readonly mutation?: SimMutation;
}

/** What a campaign found. */
export interface SimCampaignReport {
  readonly seed: number;
  readonly operations: number;
  readonly acknowledged: number;
  readonly failed: number;
  readonly failures: Record<string, number>;
  /** Faults run, per kind. */
  readonly faults: Partial<Record<FaultKind, number>>;
  /** The whole plan, including faults left out or not reached. */
  readonly plan: readonly PlannedFault[];
  readonly checks: number;
  readonly powerLosses: number;
  readonly processCrashes: number;
  readonly tornWrites: number;
  readonly garbledWrites: number;
  readonly collections: readonly {
    readonly name: string;
    readonly syncMode: string;
    readonly incarnations: number;
    readonly acknowledgedWrites: number;
    readonly walUrls: readonly string[];
  }[];
  readonly violations: string[];
  readonly virtualMs: number;
  readonly realMs: number;
  readonly events: number;
  readonly traceDigest: string;
  readonly traceTail: string[];
}

const DATA_DIR = '/data';
const STORAGE_ROOTS = ['/mnt/a', '/mnt/b', '/mnt/c', '/mnt/d'];

/** The fault counts of `options`, defaults filled in. */
export function faultCounts(options: SimCampaignOptions): FaultCounts {
  return {
    node: options.nodeCrashes ?? 2,
    process: options.processCrashes ?? 1,
    actor: options.actorFaults ?? 3,
    io: options.ioFaults ?? 0,
    drop: options.drops ?? 1,
  };
}

function storageOf(urls: number): {
  options: StorageOptions | undefined;
  storage: CampaignStorage;
  directories: string[];
} {
  const roots = STORAGE_ROOTS.slice(0, urls);
  if (urls <= 1) {
    const url = `file://${DATA_DIR}`;
    return {
      options: undefined,
      storage: { walUrls: [url], viperUrls: [url], roots: [DATA_DIR] },
      directories: [DATA_DIR],
    };
  }
  const urlsOf = roots.map((root) => `file://${root}`);
  return {
    options: { wal: { urls: urlsOf }, viper: { urls: urlsOf, strategy: 'hash' } },
    storage: { walUrls: urlsOf, viperUrls: urlsOf, roots: [DATA_DIR, ...roots] },
    directories: [DATA_DIR, ...roots],
  };
}

/** Runs one seeded campaign; violations are reported, not thrown. */
export async function runSimCampaign(options: SimCampaignOptions): Promise<SimCampaignReport> {
  const realStart = performance.now();
  const seed = options.seed;
  const placement = storageOf(options.storageUrls ?? 2);
  const sim = new SimSystem({
    seed,
    fs: { directories: placement.directories },
    specTransform: campaignSpecTransform(options.mutation),
    logLevel: 'warn',
    ...(options.traceEcho === undefined ? {} : { traceEcho: options.traceEcho }),
  });
  const plan = planFaults(seed, faultCounts(options));
  // The campaign checks durability, not escalation: a restart budget above the faults it injects keeps
  // shard groups from (correctly) giving up, which the supervision tests cover on their own.
  const shoal = await SimShoal.start(sim, {
    dataDir: DATA_DIR,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    maxRestarts: 1_000,
    ...(placement.options === undefined ? {} : { storage: placement.options }),
  });
  const campaign = newCampaign(sim, shoal, options, placement.storage);
  try {
    for (const model of campaign.collections) {
      model.info = await shoal.createCollection(collectionOptions(campaign, model));
      model.walUrls.add(model.info.placement.wal);
      model.liveSince = model.history.stamp();
    }
    sim.network.configure(campaign.network);
    const clients = Array.from({ length: campaign.settings.clients }, (_, client) => runClient(campaign, client));
    const faults = activeFaults(plan, options.without ?? [], options.skipFaults ?? []);
    await Promise.all([
      Promise.all(clients).then(() => (campaign.clientsDone = true)),
      runChaos(campaign, faults, sim.now()),
    ]);
    await finish(campaign);
  } catch (error) {
    violation(campaign, `campaign aborted: ${(error as Error).stack ?? String(error)}`);
  }
  const { counts } = campaign;
  return {
    seed,
    operations: counts.operations,
    acknowledged: counts.acknowledged,
    failed: counts.failed,
    failures: campaign.failures,
    faults: campaign.faults,
    plan,
    checks: counts.checks,
    powerLosses: counts.powerLosses,
    processCrashes: counts.processCrashes,
    tornWrites: counts.tornWrites,
    garbledWrites: counts.garbledWrites,
    collections: campaign.collections.map((model) => ({
      name: model.spec.name,
      syncMode: model.spec.syncMode,
      incarnations: model.incarnations,
      acknowledgedWrites: model.acknowledgedWrites,
      walUrls: [...model.walUrls],
    })),
    violations: campaign.violations,
    virtualMs: sim.now(),
    realMs: performance.now() - realStart,
    events: sim.scheduler.eventsRun,
    traceDigest: sim.traceDigest(),
    traceTail: sim.scheduler.trace.tail(40),
  };
}

function newCampaign(sim: SimSystem, shoal: SimShoal, options: SimCampaignOptions, storage: CampaignStorage): Campaign {
  const settings = {
    seed: options.seed,
    clients: options.clients ?? 4,
    operationsPerClient: options.operationsPerClient ?? 30,
    ids: options.ids ?? 16,
    dimension: options.dimension ?? 4,
    metric: options.metric ?? 'cosine',
    garbleProbability: options.garbleProbability ?? 0.25,
  };
  const ids = Array.from({ length: settings.ids }, (_, index) => `id-${index}`);
  const collections = (options.collections ?? DEFAULT_COLLECTIONS).map(
    (spec): CollectionModel => ({
      spec: { ...spec, shards: spec.shards ?? options.shards ?? 2 },
      history: new History(ids, { syncMode: spec.syncMode, syncIntervalMs: spec.syncIntervalMs ?? 200 }),
      info: null,
      live: true,
      liveSince: 0,
      incarnations: 1,
      acknowledgedWrites: 0,
      walUrls: new Set(),
    }),
  );
  return {
    sim,
    shoal,
    settings,
    collections,
    storage,
    network: { ...sim.network.settings, ...options.network },
    checkRandom: new SeededRandom(deriveSeed(options.seed, 'checks')),
    violations: [],
    failures: {},
    faults: {},
    counts: {
      operations: 0,
      acknowledged: 0,
      failed: 0,
      checks: 0,
      powerLosses: 0,
      processCrashes: 0,
      tornWrites: 0,
      garbledWrites: 0,
    },
    dropped: [],
    lastPowerLossAtMs: -1,
    pause: null,
    clientsDone: false,
  };
}

/** At the end: let every deadline pass, check the live state, then cut the power once more and check what survived. */
async function finish(campaign: Campaign): Promise<void> {
  campaign.sim.network.heal();
  campaign.sim.network.configure(RELIABLE_NETWORK);
  await campaign.sim.runFor(REQUEST_TIMEOUT_MS * 2);
  await checkpoint(campaign, 'at the end, live', null);
  await crashAndCheck(campaign, true);
}
