/**
 * A simulated chaos campaign against one Shoal node. Concurrent clients
 * upsert, overwrite, delete, get and search over a small pool of ids, while
 * a chaos task crashes and kills actors, fails WAL writes and syncs, and
 * crashes the whole node. Every write is recorded (`sim-history.ts`); the
 * checkers run:
 * - on every get: the value is one a linearizable store could return;
 * - after every node crash and restart, and at the end: every id holds an
 *   allowed value (acknowledged writes survive, acknowledged deletes stay
 *   deleted), and exact searches agree with a model of that state.
 * One seed reproduces a run exactly, trace included.
 */
import type { ActorSpec } from '../../runtime/actor.js';
import type { Metric } from '../../storage/types.js';
import { ShoalError } from '../../runtime/errors.js';
import { RELIABLE_NETWORK } from '../../runtime/sim/network.js';
import type { NetworkOptions } from '../../runtime/sim/network.js';
import { SimSystem } from '../../runtime/sim/sim-system.js';
import { History, checkExactSearch } from './sim-history.js';
import type { RecordValue } from './sim-history.js';
import { SimShoal, simSpecTransform } from './sim-shoal.js';

/** What a campaign does; only the seed is required. */
export interface SimCampaignOptions {
  readonly seed: number;
  readonly clients?: number;
  readonly operationsPerClient?: number;
  /** Size of the id pool (small, so clients overwrite each other). */
  readonly ids?: number;
  readonly dimension?: number;
  readonly shards?: number;
  readonly metric?: Metric;
  readonly syncMode?: 'always' | 'batch';
  readonly nodeCrashes?: number;
  /** crash-actor and kill-worker faults on WAL writers, engines and shards. */
  readonly actorFaults?: number;
  /** Failed WAL writes or syncs (EIO), each followed by a crash of the WAL writers so the shard recovers. */
  readonly ioFaults?: number;
  readonly network?: Partial<NetworkOptions>;
  readonly traceEcho?: (line: string) => void;
  /**
   * A deliberately broken component, to prove the checkers can fail:
   * `wal-ack-before-fsync` makes every WAL writer acknowledge appends after the write, before any fdatasync.
   */
  readonly mutation?: 'wal-ack-before-fsync';
}

/** The spec rewrite of a campaign: the simulator's engine settings, plus the requested mutation. */
function campaignSpecTransform(mutation: SimCampaignOptions['mutation']): (spec: ActorSpec) => ActorSpec {
  return (spec) => {
    const rewritten = simSpecTransform(spec);
    if (mutation !== 'wal-ack-before-fsync' || !spec.address.startsWith('wal/')) return rewritten;
    return { ...rewritten, args: { ...(rewritten.args as Record<string, unknown>), syncMode: 'never' } };
  };
}

/** What a campaign found. */
export interface SimCampaignReport {
  readonly seed: number;
  readonly operations: number;
  readonly acknowledged: number;
  readonly failed: number;
  readonly failures: Record<string, number>;
  readonly faults: Record<string, number>;
  readonly checks: number;
  readonly violations: string[];
  readonly virtualMs: number;
  readonly realMs: number;
  readonly events: number;
  readonly traceDigest: string;
  readonly traceTail: string[];
}

const COLLECTION = 'chaos';
const REQUEST_TIMEOUT_MS = 5_000;

interface Campaign {
  readonly sim: SimSystem;
  readonly shoal: SimShoal;
  readonly history: History;
  readonly options: Required<Omit<SimCampaignOptions, 'network' | 'traceEcho' | 'mutation'>>;
  /** The faulty network of the run; set-up and checkpoints use a reliable one. */
  readonly network: NetworkOptions;
  readonly violations: string[];
  readonly failures: Record<string, number>;
  readonly faults: Record<string, number>;
  counts: { operations: number; acknowledged: number; failed: number; checks: number };
  /** Set while the chaos task checks a quiescent node: clients wait for it. */
  pause: Promise<void> | null;
  clientsDone: boolean;
}

function withDefaults(options: SimCampaignOptions): Campaign['options'] {
  return {
    seed: options.seed,
    clients: options.clients ?? 4,
    operationsPerClient: options.operationsPerClient ?? 30,
    ids: options.ids ?? 16,
    dimension: options.dimension ?? 4,
    shards: options.shards ?? 2,
    metric: options.metric ?? 'cosine',
    syncMode: options.syncMode ?? 'batch',
    nodeCrashes: options.nodeCrashes ?? 2,
    actorFaults: options.actorFaults ?? 3,
    ioFaults: options.ioFaults ?? 0,
  };
}

/** Runs one seeded campaign; violations are reported, not thrown. */
export async function runSimCampaign(options: SimCampaignOptions): Promise<SimCampaignReport> {
  const realStart = performance.now();
  const settings = withDefaults(options);
  const sim = new SimSystem({ seed: settings.seed, fs: { directories: ['/data'] }, specTransform: campaignSpecTransform(options.mutation), logLevel: 'warn', ...(options.traceEcho === undefined ? {} : { traceEcho: options.traceEcho }) });
  // The campaign checks durability, not escalation: a restart budget above the faults it injects keeps
  // shard groups from (correctly) giving up, which the supervision tests cover on their own.
  const shoal = await SimShoal.start(sim, { dataDir: '/data', requestTimeoutMs: REQUEST_TIMEOUT_MS, maxRestarts: 1_000 });
  await shoal.createCollection({ name: COLLECTION, dimension: settings.dimension, metric: settings.metric, shards: settings.shards, syncMode: settings.syncMode });
  const history = new History(Array.from({ length: settings.ids }, (_, index) => `id-${index}`));
  const campaign: Campaign = { sim, shoal, history, options: settings, network: { ...sim.network.settings, ...options.network }, violations: [], failures: {}, faults: {}, counts: { operations: 0, acknowledged: 0, failed: 0, checks: 0 }, pause: null, clientsDone: false };
  sim.network.configure(campaign.network);
  try {
    const clients = Array.from({ length: settings.clients }, (_, client) => runClient(campaign, client));
    await Promise.all([Promise.all(clients).then(() => (campaign.clientsDone = true)), runChaos(campaign)]);
    await finish(campaign);
  } catch (error) {
    campaign.violations.push(`campaign aborted at ${sim.now().toFixed(3)} ms: ${(error as Error).stack ?? String(error)}`);
  }
  return {
    seed: settings.seed,
    ...campaign.counts,
    failures: campaign.failures,
    faults: campaign.faults,
    violations: campaign.violations,
    virtualMs: sim.now(),
    realMs: performance.now() - realStart,
    events: sim.scheduler.eventsRun,
    traceDigest: sim.traceDigest(),
    traceTail: sim.scheduler.trace.tail(40),
  };
}

function randomVector(campaign: Campaign): Float32Array {
  return Float32Array.from({ length: campaign.options.dimension }, () => campaign.sim.random.next() * 2 - 1);
}

function pickIds(campaign: Campaign, count: number): string[] {
  const pool = campaign.history.ids();
  const chosen = new Set<string>();
  while (chosen.size < Math.min(count, pool.length)) chosen.add(pool[campaign.sim.random.int(pool.length)] as string);
  return [...chosen];
}

function codeOf(error: unknown): string {
  return error instanceof ShoalError ? error.code : `bug: ${String(error)}`;
}

function countFailure(campaign: Campaign, error: unknown): void {
  const code = codeOf(error);
  campaign.counts.failed++;
  campaign.failures[code] = (campaign.failures[code] ?? 0) + 1;
  if (!(error instanceof ShoalError) || code === 'INTERNAL' || code === 'INVALID_ARGUMENT' || code === 'DIMENSION_MISMATCH') {
    campaign.violations.push(`unexpected failure at ${campaign.sim.now().toFixed(3)} ms: ${error instanceof Error ? error.message : String(error)}`);
  }
}

async function runClient(campaign: Campaign, client: number): Promise<void> {
  for (let step = 0; step < campaign.options.operationsPerClient; step++) {
    while (campaign.pause !== null) await campaign.pause;
    campaign.counts.operations++;
    const roll = campaign.sim.random.next();
    if (roll < 0.5) await upsert(campaign, client, step);
    else if (roll < 0.65) await remove(campaign);
    else if (roll < 0.85) await read(campaign);
    else await search(campaign);
    await campaign.sim.sleep(10 + campaign.sim.random.int(90));
  }
}

async function upsert(campaign: Campaign, client: number, step: number): Promise<void> {
  const records = pickIds(campaign, 1 + campaign.sim.random.int(3)).map((id) => ({ id, vector: randomVector(campaign), metadata: { client, step } }));
  const writes = records.map((record) => campaign.history.issue(record.id, { vector: record.vector.slice(), metadata: record.metadata }));
  try {
    await campaign.shoal.upsert(COLLECTION, records);
    campaign.counts.acknowledged++;
    for (const write of writes) campaign.history.acknowledge(write);
  } catch (error) {
    countFailure(campaign, error);
  }
}

async function remove(campaign: Campaign): Promise<void> {
  const ids = pickIds(campaign, 1 + campaign.sim.random.int(2));
  const writes = ids.map((id) => campaign.history.issue(id, null));
  try {
    await campaign.shoal.delete(COLLECTION, ids);
    campaign.counts.acknowledged++;
    for (const write of writes) campaign.history.acknowledge(write);
  } catch (error) {
    countFailure(campaign, error);
  }
}

async function read(campaign: Campaign): Promise<void> {
  const ids = pickIds(campaign, 1 + campaign.sim.random.int(4));
  const issued = campaign.history.stamp();
  try {
    const found = await campaign.shoal.get(COLLECTION, ids);
    const completed = campaign.history.stamp();
    campaign.counts.acknowledged++;
    const byId = new Map(found.map((record) => [record.id, { vector: record.vector, metadata: record.metadata }]));
    for (const id of ids) {
      const violation = campaign.history.checkRead(id, byId.get(id) ?? null, issued, completed);
      if (violation !== null) campaign.violations.push(`at ${campaign.sim.now().toFixed(3)} ms: ${violation}`);
    }
  } catch (error) {
    countFailure(campaign, error);
  }
}

async function search(campaign: Campaign): Promise<void> {
  const k = 1 + campaign.sim.random.int(5);
  try {
    const hits = await campaign.shoal.search(COLLECTION, { vector: randomVector(campaign), k, exact: true });
    campaign.counts.acknowledged++;
    const known = new Set(campaign.history.ids());
    if (hits.length > k || hits.some((hit) => !known.has(hit.id))) campaign.violations.push(`at ${campaign.sim.now().toFixed(3)} ms: search returned ${hits.length} hits for k=${k}: ${hits.map((hit) => hit.id).join(', ')}`);
  } catch (error) {
    countFailure(campaign, error);
  }
}

/** The chaos task: faults at random moments while the clients run. */
async function runChaos(campaign: Campaign): Promise<void> {
  const { sim, options } = campaign;
  const plan = [...Array<string>(options.nodeCrashes).fill('node'), ...Array<string>(options.actorFaults).fill('actor'), ...Array<string>(options.ioFaults).fill('io')];
  while (plan.length > 0 && !campaign.clientsDone) {
    await sim.sleep(30 + sim.random.int(300));
    if (campaign.clientsDone) return;
    const [kind] = plan.splice(sim.random.int(plan.length), 1);
    campaign.faults[kind as string] = (campaign.faults[kind as string] ?? 0) + 1;
    if (kind === 'node') await nodeCrash(campaign);
    else if (kind === 'actor') await actorFault(campaign);
    else await ioFault(campaign);
  }
}

async function actorFault(campaign: Campaign): Promise<void> {
  const { sim } = campaign;
  const actor = (['wal', 'engine', 'shard'] as const)[sim.random.int(3)] as 'wal' | 'engine' | 'shard';
  const kind = sim.random.next() < 0.5 ? 'crash' : 'kill-worker';
  await campaign.shoal.injectFault({ kind, actor, collection: COLLECTION, shard: sim.random.int(campaign.options.shards) }).catch(() => undefined);
}

/** Fails the next WAL write or sync, then, a little later, crashes every WAL writer so the shards recover. */
async function ioFault(campaign: Campaign): Promise<void> {
  const { sim } = campaign;
  sim.fs.failNext(sim.random.next() < 0.5 ? 'write' : 'datasync', 'EIO', { pathIncludes: '/wal/' });
  await sim.sleep(100 + sim.random.int(200));
  for (let shard = 0; shard < campaign.options.shards; shard++) {
    await campaign.shoal.injectFault({ kind: 'crash', actor: 'wal', collection: COLLECTION, shard }).catch(() => undefined);
  }
}

/** Crashes the node with the clients paused, restarts it, and checks the durable state. */
async function nodeCrash(campaign: Campaign): Promise<void> {
  let resume: () => void = () => undefined;
  campaign.pause = new Promise<void>((resolve) => (resume = resolve));
  try {
    campaign.sim.crashNode();
    campaign.sim.network.configure(RELIABLE_NETWORK);
    await campaign.shoal.restart();
    await checkpoint(campaign, 'after a node crash');
  } finally {
    campaign.sim.network.configure(campaign.network);
    campaign.pause = null;
    resume();
  }
}

/** Reads every id (retrying while shards restart), checks each against the history and exact searches against the state read. */
async function checkpoint(campaign: Campaign, when: string): Promise<void> {
  const ids = campaign.history.ids();
  let found: Awaited<ReturnType<SimShoal['get']>> | null = null;
  for (let attempt = 0; found === null; attempt++) {
    try {
      found = await campaign.shoal.get(COLLECTION, ids);
    } catch (error) {
      if (attempt >= 3) {
        campaign.violations.push(`${when} at ${campaign.sim.now().toFixed(3)} ms: the collection cannot be read: ${codeOf(error)} ${(error as Error).message}`);
        return;
      }
    }
  }
  campaign.counts.checks++;
  const observed = new Map<string, RecordValue>(ids.map((id) => [id, null]));
  for (const record of found) observed.set(record.id, { vector: record.vector, metadata: record.metadata });
  for (const id of ids) {
    const violation = campaign.history.check(id, observed.get(id) ?? null);
    if (violation !== null) campaign.violations.push(`${when} at ${campaign.sim.now().toFixed(3)} ms: ${violation}`);
  }
  campaign.history.settle(observed);
  for (let query = 0; query < 3; query++) {
    const vector = randomVector(campaign);
    const k = 1 + campaign.sim.random.int(8);
    const hits = await campaign.shoal.search(COLLECTION, { vector: vector.slice(), k, exact: true });
    const violation = checkExactSearch(observed, vector, k, campaign.options.metric, hits);
    if (violation !== null) campaign.violations.push(`${when} at ${campaign.sim.now().toFixed(3)} ms: ${violation}`);
  }
}

/** At the end: let every deadline pass, check the live state, then crash the node once more and check what survived. */
async function finish(campaign: Campaign): Promise<void> {
  campaign.sim.network.heal();
  campaign.sim.network.configure(RELIABLE_NETWORK);
  await campaign.sim.runFor(REQUEST_TIMEOUT_MS * 2);
  await checkpoint(campaign, 'at the end, live');
  campaign.sim.crashNode();
  await campaign.shoal.restart();
  await checkpoint(campaign, 'at the end, after a node crash');
}
