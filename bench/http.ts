/**
 * The HTTP benchmark (`npm run bench -- http`): top-10 searches per second
 * and p50/p99 latency through the Qdrant REST API (the real
 * @qdrant/js-client-rest client against `startServer` in this process, over
 * loopback with keep-alive), against the same searches through `db.search`
 * on the same database in the same run, at 1 and 16 requests in flight. The
 * figure of interest is the cost of the HTTP layer: extra microseconds per
 * request (p50 HTTP minus p50 in-process at 1 in flight) and the ratios. Modes
 * take turns in rounds (the order rotates) so drift hits all of them alike;
 * the first queries are checked to give the same ids both ways.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QdrantClient } from '@qdrant/js-client-rest';
import { Shoal } from '../index.js';
import type { UpsertRecord } from '../index.js';
import { startServer } from '../actors/server/server.js';
import type { BenchOptions, BenchOutcome, Figures } from './harness.js';
import {
  SeededRandom,
  formatNumber,
  formatRatio,
  formatTable,
  heading,
  latencySummary,
  significant,
} from './harness.js';

const DIMENSION = 128;
const COLLECTION = 'bench';
const LOAD_BATCH_RECORDS = 1_000;
const K = 10;
const VERIFIED_QUERIES = 20;
const CONCURRENCY = [1, 16] as const;

interface Plan {
  readonly records: number;
  readonly queries: number;
  /** Rounds continue until this much time was spent measuring (at least one round). */
  readonly measureMs: number;
  /** Queries per mode run unmeasured first (JIT in the host, the server and the workers). */
  readonly warmupQueries: number;
}

const PLANS: Record<'full' | 'quick', Plan> = {
  full: { records: 20_000, queries: 400, measureMs: 30_000, warmupQueries: 200 },
  quick: { records: 2_000, queries: 100, measureMs: 0, warmupQueries: 20 },
};

type Path = 'in-process' | 'http';
interface Mode {
  readonly path: Path;
  readonly inFlight: number;
}

const MODES: readonly Mode[] = CONCURRENCY.flatMap((inFlight) =>
  (['in-process', 'http'] as const).map((path) => ({ path, inFlight })),
);

const modeName = (mode: Mode): string => `${mode.path}-c${mode.inFlight}`;
const modeLabel = (mode: Mode): string =>
  `${mode.path === 'http' ? 'HTTP (Qdrant JS client)' : 'db.search in-process'}, ${mode.inFlight} in flight`;

function makeDataset(plan: Plan, seed: number): { records: UpsertRecord[]; queries: Float32Array[] } {
  const random = new SeededRandom(seed);
  // Decimal ids: Qdrant's points are integers or UUIDs, and the server answers a decimal id as a number.
  const records = Array.from({ length: plan.records }, (_, serial): UpsertRecord => {
    return { id: String(serial), vector: random.vector(DIMENSION), metadata: { serial } };
  });
  return { records, queries: Array.from({ length: plan.queries }, () => random.vector(DIMENSION)) };
}

type Search = (query: Float32Array) => Promise<string[]>;

function searches(db: Shoal, client: QdrantClient): Record<Path, Search> {
  return {
    'in-process': async (query) => (await db.search(COLLECTION, { vector: query, k: K })).map((hit) => hit.id),
    http: async (query) => {
      const hits = await client.search(COLLECTION, { vector: Array.from(query), limit: K, with_payload: true });
      return hits.map((hit) => String(hit.id));
    },
  };
}

/** Runs every query once with `inFlight` lanes; pushes each latency. Returns the pass's elapsed milliseconds. */
async function pass(
  search: Search,
  queries: readonly Float32Array[],
  inFlight: number,
  latenciesMs: number[],
): Promise<number> {
  const start = performance.now();
  let next = 0;
  const lane = async (): Promise<void> => {
    for (let index = next++; index < queries.length; index = next++) {
      const sent = performance.now();
      await search(queries[index] as Float32Array);
      latenciesMs.push(performance.now() - sent);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  return performance.now() - start;
}

interface Samples {
  readonly latenciesMs: number[];
  elapsedMs: number;
}

async function measure(
  run: Record<Path, Search>,
  queries: readonly Float32Array[],
  plan: Plan,
): Promise<{ samples: Map<Mode, Samples>; rounds: number }> {
  for (const mode of MODES) await pass(run[mode.path], queries.slice(0, plan.warmupQueries), mode.inFlight, []);
  const samples = new Map<Mode, Samples>(MODES.map((mode) => [mode, { latenciesMs: [], elapsedMs: 0 }]));
  const start = performance.now();
  let rounds = 0;
  do {
    for (let turn = 0; turn < MODES.length; turn++) {
      const mode = MODES[(turn + rounds) % MODES.length] as Mode;
      const entry = samples.get(mode) as Samples;
      entry.elapsedMs += await pass(run[mode.path], queries, mode.inFlight, entry.latenciesMs);
    }
    rounds++;
  } while (performance.now() - start < plan.measureMs);
  return { samples, rounds };
}

async function verify(run: Record<Path, Search>, queries: readonly Float32Array[]): Promise<string[]> {
  const mismatches: string[] = [];
  for (const [index, query] of queries.slice(0, VERIFIED_QUERIES).entries()) {
    const [expected, actual] = [await run['in-process'](query), await run.http(query)];
    if (expected.join() !== actual.join())
      mismatches.push(`query ${index}: in-process ${expected.join(' ')}, HTTP ${actual.join(' ')}`);
  }
  return mismatches;
}

function report(samples: Map<Mode, Samples>): Figures {
  const summary = (mode: Mode) => {
    const entry = samples.get(mode) as Samples;
    return { qps: (entry.latenciesMs.length * 1000) / entry.elapsedMs, ...latencySummary(entry.latenciesMs) };
  };
  const rows: string[][] = [];
  const figures: Record<string, Figures> = {};
  for (const mode of MODES) {
    const entry = summary(mode);
    const baselineMode = MODES.find((other) => other.path === 'in-process' && other.inFlight === mode.inFlight) as Mode;
    const base = summary(baselineMode);
    const overheadUs = (entry.p50Ms - base.p50Ms) * 1000;
    // Throughput's view of the cost: the extra time each request takes from the machine, whatever is in flight.
    const perRequestUs = 1e6 / entry.qps - 1e6 / base.qps;
    const qpsRatio = entry.qps / base.qps;
    rows.push([
      modeLabel(mode),
      formatNumber(entry.qps),
      formatRatio(qpsRatio),
      formatNumber(entry.p50Ms, 3),
      formatNumber(entry.p99Ms, 3),
      formatRatio(entry.p50Ms / base.p50Ms),
      mode.path === 'http' ? formatNumber(perRequestUs) : '',
      mode.path === 'http' ? formatNumber(overheadUs) : '',
    ]);
    figures[modeName(mode)] = {
      qps: significant(entry.qps),
      p50Ms: significant(entry.p50Ms, 3),
      p99Ms: significant(entry.p99Ms, 3),
      qpsRatio: significant(qpsRatio, 3),
      p50Ratio: significant(entry.p50Ms / base.p50Ms, 3),
      p50OverheadUs: significant(overheadUs, 3),
      perRequestOverheadUs: significant(perRequestUs, 3),
    };
  }
  const headers = [
    'mode',
    'QPS',
    'QPS ÷ in-proc',
    'p50 ms',
    'p99 ms',
    'p50 ÷ in-proc',
    'µs/request extra',
    'p50 extra µs',
  ];
  process.stdout.write(`${formatTable(headers, rows)}\n`);
  process.stdout.write(
    '÷ in-proc and extra: against db.search at the same number in flight, in the same rounds; ' +
      'µs/request extra = 1e6/QPS(HTTP) - 1e6/QPS(in-process); client and server share this process\n',
  );
  return figures;
}

/** Runs the HTTP benchmark and prints its table. */
export async function runHttpBench(options: BenchOptions): Promise<BenchOutcome> {
  const plan = options.quick ? PLANS.quick : PLANS.full;
  heading(
    `http: top-${K} over ${formatNumber(plan.records)} × ${DIMENSION}-d cosine, Qdrant REST (JS client) vs db.search`,
  );
  const dataset = makeDataset(plan, 0x477b);
  const dataDir = mkdtempSync(join(tmpdir(), 'shoal-bench-http-'));
  let db: Shoal | null = null;
  let server: Awaited<ReturnType<typeof startServer>> | null = null;
  try {
    db = await Shoal.open({ dataDir });
    await db.createCollection({ name: COLLECTION, dimension: DIMENSION, metric: 'cosine', shards: 2 });
    for (let start = 0; start < dataset.records.length; start += LOAD_BATCH_RECORDS) {
      await db.upsert(COLLECTION, dataset.records.slice(start, start + LOAD_BATCH_RECORDS));
    }
    server = await startServer(db, { port: 0 });
    const run = searches(db, new QdrantClient({ url: server.url, checkCompatibility: false }));
    const mismatches = await verify(run, dataset.queries);
    if (mismatches.length === 0)
      process.stdout.write(
        `results match: HTTP and db.search return the same ids in order for ${VERIFIED_QUERIES} queries\n`,
      );
    else
      process.stdout.write(
        `results DIFFER for ${mismatches.length} of ${VERIFIED_QUERIES} queries:\n  ${mismatches.join('\n  ')}\n`,
      );
    const { samples, rounds } = await measure(run, dataset.queries, plan);
    process.stdout.write(
      `${rounds} round(s) of ${plan.queries} queries per mode, k=${K}, with payload, modes in rotating order\n`,
    );
    const figures = report(samples);
    const ok = mismatches.length === 0;
    return { ok, figures: { records: plan.records, queries: plan.queries, rounds, resultsMatch: ok, ...figures } };
  } finally {
    await server?.close();
    await db?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
