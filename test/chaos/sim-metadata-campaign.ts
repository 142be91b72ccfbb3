/**
 * The metadata chaos campaign: the whole Shoal node under the simulator —
 * supervisor, three metadata replica actors, shard groups — while clients
 * create, drop and list collections and a chaos task kills and crashes
 * replicas, partitions one replica (often the leader) from everyone, and
 * crashes the node (power loss) and restarts it. Checked:
 *
 * - **linearizability** of every create, drop and list (a list is a read of
 *   every name) against a sequential model of the collection map, with the
 *   Porcupine-style checker; an operation that failed with UNAVAILABLE or
 *   TIMEOUT has an unknown outcome and may or may not take effect;
 * - **one leader per term**, from status samples taken all along;
 * - **state machine safety** on the durable Raft logs after a final power
 *   loss: where two replicas hold an entry at the same index at or below
 *   what all of them had applied, it has the same term and the same bytes;
 * - **convergence**: once healed, every replica applies the same state, and
 *   the collections listed survive the final crash and restart.
 *
 * Operations use no data writes: `sim-campaign.ts` covers the data path.
 */
import { join } from 'node:path';
import { checkLinearizable } from '../cluster/linearizability.js';
import type { ActorSpec } from '../../runtime/actor.js';
import type { Operation } from '../cluster/linearizability.js';
import type { Entry, Snapshot } from '../../cluster/raft/index.js';
import { ShoalError } from '../../runtime/errors.js';
import { SimSystem } from '../../runtime/sim/sim-system.js';
import { RELIABLE_NETWORK } from '../../runtime/sim/network.js';
import { RaftLogFile } from '../../storage/raft-log.js';
import { isUnknownOutcome } from '../../actors/metadata-client.js';
import type { MetadataStatus } from '../../actors/public-api.js';
import { metadataModel } from '../cluster/metadata-map-model.js';
import type { MetadataInput, MetadataOutput } from '../cluster/metadata-map-model.js';
import { SimShoal, simSpecTransform } from './sim-shoal.js';

const DATA_DIR = '/data';
const REQUEST_TIMEOUT_MS = 4_000;
const REPLICAS = [1, 2, 3] as const;

/** What one campaign does. */
export interface MetadataCampaignOptions {
  readonly seed: number;
  readonly clients?: number;
  readonly operationsPerClient?: number;
  /** Collection names the clients pick from (few names: many conflicts). */
  readonly names?: number;
  /** Replica kills, crashes and partitions. */
  readonly faults?: number;
  /** Power losses of the whole node mid-run (one more always comes at the end). */
  readonly nodeCrashes?: number;
  /**
   * A deliberately broken cluster, to prove the checkers can fail:
   * `split-brain` tells replica 1 it is alone (its peers are just itself), so
   * it elects itself without a majority of the others; `amnesia` restarts
   * every replica incarnation in a fresh folder, so a restarted follower has
   * forgotten its term, its vote and its log (and may vote twice in a term).
   */
  readonly mutation?: 'split-brain' | 'amnesia' | null;
}

/** What one campaign found. */
export interface MetadataCampaignReport {
  readonly seed: number;
  readonly operations: number;
  readonly acknowledged: number;
  readonly unknown: number;
  readonly faults: Readonly<Record<string, number>>;
  readonly terms: number;
  readonly violations: readonly string[];
  readonly virtualMs: number;
  readonly realMs: number;
  readonly traceDigest: string;
}

type Op = Operation<MetadataInput, MetadataOutput>;

interface Campaign {
  readonly sim: SimSystem;
  readonly shoal: SimShoal;
  readonly options: Required<MetadataCampaignOptions>;
  readonly history: Op[];
  readonly violations: string[];
  readonly faults: Record<string, number>;
  /** Term → the replica seen leading it. */
  readonly leaders: Map<number, number>;
  counts: { operations: number; acknowledged: number; unknown: number };
  pause: Promise<void> | null;
  done: boolean;
}

/** Runs one seeded metadata campaign; violations are reported, not thrown. */
export async function runMetadataCampaign(options: MetadataCampaignOptions): Promise<MetadataCampaignReport> {
  const realStart = performance.now();
  const settings: Required<MetadataCampaignOptions> = {
    clients: 3,
    operationsPerClient: 16,
    names: 3,
    faults: 5,
    nodeCrashes: 1,
    mutation: null,
    ...options,
  };
  const sim = new SimSystem({
    seed: settings.seed,
    fs: { directories: [DATA_DIR] },
    specTransform: specTransform(settings.mutation),
    logLevel: 'error',
  });
  const shoal = await SimShoal.start(sim, {
    dataDir: DATA_DIR,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    maxRestarts: 1_000,
  });
  const campaign: Campaign = {
    sim,
    shoal,
    options: settings,
    history: [],
    violations: [],
    faults: {},
    leaders: new Map(),
    counts: { operations: 0, acknowledged: 0, unknown: 0 },
    pause: null,
    done: false,
  };
  try {
    const clients = Array.from({ length: settings.clients }, (_, client) => runClient(campaign, client));
    await Promise.all([Promise.all(clients).then(() => (campaign.done = true)), runChaos(campaign), monitor(campaign)]);
    await finish(campaign);
    const verdict = checkLinearizable(metadataModel(), campaign.history);
    if (verdict.ok === false) campaign.violations.push(`not linearizable: ${verdict.explanation}`);
    if (verdict.ok === 'unknown') campaign.violations.push(`linearizability undecided: ${verdict.explanation}`);
  } catch (error) {
    campaign.violations.push(
      `campaign aborted at ${sim.now().toFixed(3)} ms: ${(error as Error).stack ?? String(error)}`,
    );
  }
  return {
    seed: settings.seed,
    ...campaign.counts,
    faults: campaign.faults,
    terms: campaign.leaders.size,
    violations: campaign.violations,
    virtualMs: sim.now(),
    realMs: performance.now() - realStart,
    traceDigest: sim.traceDigest(),
  };
}

function specTransform(mutation: MetadataCampaignOptions['mutation']): (spec: ActorSpec) => ActorSpec {
  let incarnations = 0;
  return (spec) => {
    const rewritten = simSpecTransform(spec);
    if (!spec.address.startsWith('metadata/')) return rewritten;
    const args = rewritten.args as Record<string, unknown> & { dir: string };
    if (mutation === 'split-brain' && spec.address === 'metadata/1')
      return { ...rewritten, args: { ...args, peers: [1] } };
    // The first incarnations (the cluster's founding start) keep their folders; every restart after them forgets.
    if (mutation === 'amnesia' && ++incarnations > 3)
      return { ...rewritten, args: { ...args, dir: `${args.dir}-amnesia-${incarnations}` } };
    return rewritten;
  };
}

function nameOf(campaign: Campaign): string {
  return `c${campaign.sim.random.int(campaign.options.names)}`;
}

/**
 * The outcome of a failed operation: a known answer, or unknown (UNAVAILABLE, TIMEOUT); anything else is a violation.
 */
function outcomeOf(
  campaign: Campaign,
  error: unknown,
  known: Partial<Record<string, MetadataOutput>>,
): MetadataOutput | undefined {
  if (error instanceof ShoalError && known[error.code] !== undefined) return known[error.code];
  if (isUnknownOutcome(error)) return undefined;
  campaign.violations.push(
    `unexpected failure at ${campaign.sim.now().toFixed(3)} ms: ${error instanceof Error ? `${(error as ShoalError).code ?? ''} ${error.message}` : String(error)}`,
  );
  return undefined;
}

function record(
  campaign: Campaign,
  client: number,
  input: MetadataInput,
  call: number,
  output: MetadataOutput | undefined,
): void {
  campaign.counts.operations++;
  if (output === undefined) campaign.counts.unknown++;
  else campaign.counts.acknowledged++;
  campaign.history.push({
    client,
    input,
    call,
    output,
    return: output === undefined ? Number.POSITIVE_INFINITY : campaign.sim.now(),
  });
}

async function runClient(campaign: Campaign, client: number): Promise<void> {
  const { sim, shoal } = campaign;
  for (let step = 0; step < campaign.options.operationsPerClient; step++) {
    while (campaign.pause !== null) await campaign.pause;
    const roll = sim.random.next();
    const name = nameOf(campaign);
    const call = sim.now();
    if (roll < 0.4) {
      const output = await shoal.createCollection({ name, dimension: 4, metric: 'cosine', shards: 1 }).then(
        (): MetadataOutput => 'ok',
        (error: unknown) => outcomeOf(campaign, error, { COLLECTION_EXISTS: 'exists' }),
      );
      record(campaign, client, { kind: 'create', name, id: 1 }, call, output);
    } else if (roll < 0.65) {
      const output = await shoal.dropCollection(name).then(
        (): MetadataOutput => 'ok',
        (error: unknown) => outcomeOf(campaign, error, { COLLECTION_NOT_FOUND: 'not-found' }),
      );
      record(campaign, client, { kind: 'drop', name }, call, output);
    } else {
      await list(campaign, client);
    }
    await sim.sleep(10 + sim.random.int(150));
  }
}

/** Lists the collections: one read of every name, all at the same moment. */
async function list(campaign: Campaign, client: number): Promise<void> {
  const call = campaign.sim.now();
  try {
    const names = new Set((await campaign.shoal.listCollections()).map((entry) => entry.name));
    for (let index = 0; index < campaign.options.names; index++)
      record(campaign, client, { kind: 'read', name: `c${index}` }, call, names.has(`c${index}`) ? 1 : null);
  } catch (error) {
    // A failed read tells nothing; it is left out of the history.
    outcomeOf(campaign, error, {});
  }
}

/** Samples every replica's role now and then: two leaders in one term is a violation. */
async function monitor(campaign: Campaign): Promise<void> {
  while (!campaign.done) {
    await campaign.sim.sleep(80);
    if (campaign.pause !== null) continue;
    const status = await campaign.shoal.metadataStatus().catch(() => null);
    if (status !== null) noteLeaders(campaign, status);
  }
}

function noteLeaders(campaign: Campaign, status: MetadataStatus): void {
  for (const replica of status.replicas) {
    if (!('role' in replica) || replica.role !== 'leader') continue;
    const seen = campaign.leaders.get(replica.term);
    if (seen !== undefined && seen !== replica.id && seen > 0)
      campaign.violations.push(
        `two leaders in term ${replica.term}: replicas ${seen} and ${replica.id} (at ${campaign.sim.now().toFixed(3)} ms: ${JSON.stringify(status.replicas)})`,
      );
    // After a violation the term is marked (-1), so one split brain is reported once.
    campaign.leaders.set(replica.term, seen !== undefined && seen !== replica.id ? -1 : replica.id);
  }
}

async function runChaos(campaign: Campaign): Promise<void> {
  const { sim, options } = campaign;
  const plan = [...Array<string>(options.faults).fill('replica'), ...Array<string>(options.nodeCrashes).fill('node')];
  while (plan.length > 0 && !campaign.done) {
    await sim.sleep(100 + sim.random.int(600));
    if (campaign.done) return;
    const [kind] = plan.splice(sim.random.int(plan.length), 1);
    if (kind === 'node') await nodeCrash(campaign);
    else await replicaFault(campaign);
  }
}

async function leaderNow(campaign: Campaign): Promise<number | null> {
  const status = await campaign.shoal.metadataStatus().catch(() => null);
  return status?.leader ?? null;
}

/** Kills or crashes a replica, or cuts one (the leader, half the time) off from everyone for a while. */
async function replicaFault(campaign: Campaign): Promise<void> {
  const { sim } = campaign;
  const roll = sim.random.next();
  const random = REPLICAS[sim.random.int(REPLICAS.length)] as number;
  const target = roll < 0.5 ? ((await leaderNow(campaign)) ?? random) : random;
  const kind = roll < 0.25 || (roll >= 0.5 && roll < 0.65) ? 'kill' : roll < 0.8 ? 'partition' : 'crash';
  campaign.faults[kind] = (campaign.faults[kind] ?? 0) + 1;
  const address = `metadata/${target}`;
  if (kind === 'kill') await sim.killActor(address).catch(() => undefined);
  else if (kind === 'crash') await sim.crashActor(address).catch(() => undefined);
  else {
    sim.network.partition([address], ['*']);
    await sim.sleep(300 + sim.random.int(1_500));
    sim.network.heal();
  }
}

async function nodeCrash(campaign: Campaign): Promise<void> {
  let resume: () => void = () => undefined;
  campaign.pause = new Promise<void>((resolve) => (resume = resolve));
  campaign.faults['node'] = (campaign.faults['node'] ?? 0) + 1;
  try {
    campaign.sim.crashNode();
    campaign.sim.network.heal();
    await campaign.shoal.restart();
  } finally {
    campaign.pause = null;
    resume();
  }
}

/**
 * Heals, waits for every deadline, checks convergence, then a power loss: the durable logs agree and the listed
 * collections survive.
 */
async function finish(campaign: Campaign): Promise<void> {
  const { sim, shoal } = campaign;
  sim.network.heal();
  sim.network.configure(RELIABLE_NETWORK);
  await sim.runFor(REQUEST_TIMEOUT_MS * 2);
  const converged = await convergence(campaign);
  await list(campaign, -1);
  sim.crashNode();
  await checkDurableLogs(campaign, converged);
  await shoal.restart();
  await list(campaign, -2);
}

/** Waits until every replica answers with the same applied index; answers it (0 if they never agree). */
async function convergence(campaign: Campaign): Promise<number> {
  let last: MetadataStatus | null = null;
  for (let attempt = 0; attempt < 100; attempt++) {
    last = await campaign.shoal.metadataStatus().catch(() => null);
    if (last !== null) {
      noteLeaders(campaign, last);
      const replicas = last.replicas.flatMap((replica) => ('role' in replica ? [replica] : []));
      const applied = new Set(replicas.map((replica) => replica.applied));
      const states = new Set(replicas.map((replica) => replica.collections.join(',')));
      if (replicas.length === REPLICAS.length && applied.size === 1 && states.size === 1 && last.leader !== null)
        return replicas[0]?.applied ?? 0;
    }
    await campaign.sim.sleep(100);
  }
  campaign.violations.push(`replicas did not converge: ${JSON.stringify(last)}`);
  return 0;
}

/**
 * State machine safety on disk: entries at or below `applied` agree across replicas wherever more than one holds them.
 */
async function checkDurableLogs(campaign: Campaign, applied: number): Promise<void> {
  const byIndex = new Map<number, { replica: number; term: number; bytes: string }>();
  for (const replica of REPLICAS) {
    const dir = join(DATA_DIR, 'cluster', `replica-${replica}`);
    const log = await campaign.sim.runUntil(RaftLogFile.open<Entry, Snapshot>(campaign.sim.fs, dir));
    const stored = log.load();
    await campaign.sim.runUntil(log.close());
    for (const entry of stored.entries) {
      if (entry.index > applied) break;
      const bytes = entry.kind === 'normal' ? Buffer.from(entry.data).toString('hex') : JSON.stringify(entry.change);
      const other = byIndex.get(entry.index);
      if (other === undefined) byIndex.set(entry.index, { replica, term: entry.term, bytes });
      else if (other.term !== entry.term || other.bytes !== bytes) {
        campaign.violations.push(
          `entry ${entry.index} differs: replica ${other.replica} has term ${other.term}, replica ${replica} term ${entry.term}`,
        );
      }
    }
  }
}
