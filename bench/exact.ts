/**
 * The exact-search benchmark (`npm run bench -- exact`): exact top-10
 * searches per second through Shoal (2 shards in worker threads), against
 * the same exact search run in this thread on a `Memtable` holding the same
 * 20,000 vectors. Modes take turns in
 * rounds (the order rotates) so drift on a noisy machine hits all of them
 * alike. It also checks that Shoal returns what the in-process search returns,
 * and measures the host event-loop delay in each mode: the in-process search
 * blocks the host thread for a whole search, Shoal should not.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { IntervalHistogram } from 'node:perf_hooks';
import { Shoal } from '../index.js';
import type { UpsertRecord } from '../index.js';
import { Memtable } from '../storage/memtable.js';
import type { BenchOptions, BenchOutcome, Figures } from './harness.js';
import {
  SeededRandom,
  formatNumber,
  formatRatio,
  formatTable,
  heading,
  latencySummary,
  significant,
  yieldToEventLoop,
} from './harness.js';

const DIMENSION = 128;
const COLLECTION = 'bench';
const RECORDS = 20_000;
const LOAD_BATCH_RECORDS = 1_000;
const QUERIES = 200;
const K = 10;
const CONCURRENT_SEARCHES = 8;
const VERIFIED_QUERIES = 20;
// The event-loop monitor samples with a timer of this period; an idle loop reports about this much delay.
const LOOP_DELAY_RESOLUTION_MS = 1;
const LANGS = ['en', 'de', 'fr', 'es'] as const;

interface Plan {
  /** Rounds continue until this much time was spent measuring (at least one round). */
  readonly measureMs: number;
  readonly idleMs: number;
  /** Queries per mode run unmeasured first (JIT in the host and in the engine workers). */
  readonly warmupQueries: number;
}

const PLANS: Record<'full' | 'quick', Plan> = {
  full: { measureMs: 34_000, idleMs: 1_000, warmupQueries: QUERIES },
  quick: { measureMs: 0, idleMs: 200, warmupQueries: 20 },
};

const MODES = ['in-process', 'sequential', 'concurrent'] as const;
type Mode = (typeof MODES)[number];

const LABELS: Record<Mode, string> = {
  'in-process': 'in-process Memtable.search, sequential (baseline)',
  sequential: 'Shoal search, sequential (1 in flight)',
  concurrent: `Shoal search, ${CONCURRENT_SEARCHES} in flight`,
};

interface Dataset {
  readonly records: UpsertRecord[];
  readonly queries: Float32Array[];
}

function makeDataset(seed: number): Dataset {
  const random = new SeededRandom(seed);
  const records = Array.from({ length: RECORDS }, (_, serial): UpsertRecord => {
    const id = `doc-${String(serial).padStart(6, '0')}`;
    return {
      id,
      vector: random.vector(DIMENSION),
      metadata: { title: `Document ${id}`, lang: LANGS[serial % LANGS.length] },
    };
  });
  const queries = Array.from({ length: QUERIES }, () => random.vector(DIMENSION));
  return { records, queries };
}

function loadMemtable(dataset: Dataset): Memtable {
  const memtable = new Memtable(DIMENSION, 'cosine');
  dataset.records.forEach((record, index) =>
    memtable.upsert(index + 1, record.id, record.vector as Float32Array, record.metadata ?? null),
  );
  return memtable;
}

async function loadShoal(db: Shoal, dataset: Dataset): Promise<void> {
  for (let start = 0; start < dataset.records.length; start += LOAD_BATCH_RECORDS) {
    await db.upsert(COLLECTION, dataset.records.slice(start, start + LOAD_BATCH_RECORDS));
  }
}

/**
 * Compares Shoal's hits with the in-process hits for the first queries; returns the mismatches (empty when all match).
 */
async function verify(db: Shoal, memtable: Memtable, queries: readonly Float32Array[]): Promise<string[]> {
  const mismatches: string[] = [];
  for (const [index, query] of queries.slice(0, VERIFIED_QUERIES).entries()) {
    const expected = memtable.search(query, K, null).map((hit) => hit.id);
    const actual = (await db.search(COLLECTION, { vector: query, k: K })).map((hit) => hit.id);
    if (expected.join() !== actual.join())
      mismatches.push(`query ${index}: expected ${expected.join(' ')}, got ${actual.join(' ')}`);
  }
  return mismatches;
}

/** Latency samples and elapsed time, accumulated over rounds. */
class ModeSamples {
  readonly latenciesMs: number[] = [];
  elapsedMs = 0;
  /** Host event-loop time spent busy (not waiting for events), summed over passes. */
  loopActiveMs = 0;
  readonly loopDelay: IntervalHistogram = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });

  /** Runs one pass with the host event loop watched. */
  async watch(pass: () => Promise<void>): Promise<void> {
    this.loopDelay.enable();
    const utilization = performance.eventLoopUtilization();
    const start = performance.now();
    await pass();
    this.elapsedMs += performance.now() - start;
    this.loopActiveMs += performance.eventLoopUtilization(utilization).active;
    this.loopDelay.disable();
  }
}

/** The host event-loop delay p99 (ms) with nothing to do: the floor the monitor reports on this machine. */
async function idleLoopDelayP99Ms(durationMs: number): Promise<number> {
  const idle = new ModeSamples();
  await idle.watch(() => new Promise((resolve) => setTimeout(resolve, durationMs)));
  return idle.loopDelay.percentile(99) / 1e6;
}

type Pass = (queries: readonly Float32Array[], latenciesMs: number[]) => Promise<void>;

function passes(db: Shoal, memtable: Memtable): Record<Mode, Pass> {
  const searchShoal = async (query: Float32Array, latenciesMs: number[]): Promise<void> => {
    const sent = performance.now();
    await db.search(COLLECTION, { vector: query, k: K });
    latenciesMs.push(performance.now() - sent);
  };
  return {
    'in-process': async (queries, latenciesMs) => {
      for (const query of queries) {
        const sent = performance.now();
        memtable.search(query, K, null);
        latenciesMs.push(performance.now() - sent);
        // Let timers run between searches, as a server would, so the event-loop monitor sees each block.
        await yieldToEventLoop();
      }
    },
    sequential: async (queries, latenciesMs) => {
      for (const query of queries) await searchShoal(query, latenciesMs);
    },
    concurrent: async (queries, latenciesMs) => {
      let next = 0;
      const lane = async (): Promise<void> => {
        for (let index = next++; index < queries.length; index = next++)
          await searchShoal(queries[index] as Float32Array, latenciesMs);
      };
      await Promise.all(Array.from({ length: CONCURRENT_SEARCHES }, lane));
    },
  };
}

async function measure(
  db: Shoal,
  memtable: Memtable,
  queries: readonly Float32Array[],
  plan: Plan,
): Promise<{ samples: Map<Mode, ModeSamples>; rounds: number }> {
  const run = passes(db, memtable);
  for (const mode of MODES) await run[mode](queries.slice(0, plan.warmupQueries), []);
  const samples = new Map<Mode, ModeSamples>(MODES.map((mode) => [mode, new ModeSamples()]));
  const start = performance.now();
  let rounds = 0;
  do {
    for (let turn = 0; turn < MODES.length; turn++) {
      const mode = MODES[(turn + rounds) % MODES.length] as Mode;
      const entry = samples.get(mode) as ModeSamples;
      await entry.watch(() => run[mode](queries, entry.latenciesMs));
    }
    rounds++;
  } while (performance.now() - start < plan.measureMs);
  return { samples, rounds };
}

interface ModeSummary {
  readonly qps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly loopDelayP99Ms: number;
  readonly loopBusy: number;
}

function report(samples: Map<Mode, ModeSamples>, idleDelayP99Ms: number): Figures {
  const summary = (mode: Mode): ModeSummary => {
    const entry = samples.get(mode) as ModeSamples;
    const latency = latencySummary(entry.latenciesMs);
    return {
      qps: (entry.latenciesMs.length * 1000) / entry.elapsedMs,
      ...latency,
      loopDelayP99Ms: entry.loopDelay.percentile(99) / 1e6,
      loopBusy: entry.loopActiveMs / entry.elapsedMs,
    };
  };
  const baseline = summary('in-process');
  const rows: string[][] = [];
  const figures: Record<string, Figures> = {};
  for (const mode of MODES) {
    const entry = summary(mode);
    const qpsRatio = entry.qps / baseline.qps;
    const cells = [
      formatNumber(entry.qps),
      formatRatio(qpsRatio),
      formatNumber(entry.p50Ms, 2),
      formatRatio(entry.p50Ms / baseline.p50Ms),
      formatNumber(entry.p99Ms, 2),
      formatRatio(entry.p99Ms / baseline.p99Ms),
    ];
    rows.push([LABELS[mode], ...cells, formatNumber(entry.loopDelayP99Ms, 2), `${Math.round(entry.loopBusy * 100)}%`]);
    figures[mode] = {
      qps: significant(entry.qps),
      qpsRatio: significant(qpsRatio, 3),
      p50Ms: significant(entry.p50Ms, 3),
      p99Ms: significant(entry.p99Ms, 3),
      p50Ratio: significant(entry.p50Ms / baseline.p50Ms, 3),
      p99Ratio: significant(entry.p99Ms / baseline.p99Ms, 3),
      hostLoopDelayP99Ms: significant(entry.loopDelayP99Ms, 3),
      hostLoopBusy: significant(entry.loopBusy, 3),
    };
  }
  rows.push([
    'host idle, no searches (event-loop monitor floor)',
    '',
    '',
    '',
    '',
    '',
    '',
    formatNumber(idleDelayP99Ms, 2),
    '',
  ]);
  const headers = [
    'mode',
    'QPS',
    'QPS ÷ in-proc',
    'p50 ms',
    'p50 ÷ in-proc',
    'p99 ms',
    'p99 ÷ in-proc',
    'host loop delay p99 ms',
    'host loop busy',
  ];
  process.stdout.write(`${formatTable(headers, rows)}\n`);
  process.stdout.write(
    `host loop delay: p99 of monitorEventLoopDelay (resolution ${LOOP_DELAY_RESOLUTION_MS} ms, so ~${LOOP_DELAY_RESOLUTION_MS} ms is the floor); host loop busy: performance.eventLoopUtilization during the passes\n`,
  );
  return { ...figures, idleHostLoopDelayP99Ms: significant(idleDelayP99Ms, 3) };
}

/** Runs the search benchmark and prints its table. */
export async function runExactBench(options: BenchOptions): Promise<BenchOutcome> {
  const plan = options.quick ? PLANS.quick : PLANS.full;
  heading(
    `exact: exact top-${K} over ${formatNumber(RECORDS)} × ${DIMENSION}-d cosine, Shoal (2 shards) vs in-process Memtable`,
  );
  const dataset = makeDataset(0x5ea4c4);
  const dataDir = mkdtempSync(join(tmpdir(), 'shoal-bench-search-'));
  let db: Shoal | null = null;
  try {
    const setupStart = performance.now();
    db = await Shoal.open({ dataDir });
    await db.createCollection({ name: COLLECTION, dimension: DIMENSION, metric: 'cosine', shards: 2 });
    const openedMs = performance.now() - setupStart;
    const loadStart = performance.now();
    await loadShoal(db, dataset);
    const loadMs = performance.now() - loadStart;
    const memtable = loadMemtable(dataset);
    process.stdout.write(
      `setup: open + create ${formatNumber(openedMs)} ms; loaded ${formatNumber(RECORDS)} records in batches of ${formatNumber(LOAD_BATCH_RECORDS)} in ${formatNumber(loadMs)} ms (${formatNumber((RECORDS * 1000) / loadMs)} records/s)\n`,
    );

    const mismatches = await verify(db, memtable, dataset.queries);
    if (mismatches.length === 0)
      process.stdout.write(
        `results match: Shoal and in-process return the same ids in the same order for the first ${VERIFIED_QUERIES} queries\n`,
      );
    else
      process.stdout.write(
        `results DIFFER for ${mismatches.length} of ${VERIFIED_QUERIES} queries:\n  ${mismatches.join('\n  ')}\n`,
      );

    const idleDelayP99Ms = await idleLoopDelayP99Ms(plan.idleMs);
    const { samples, rounds } = await measure(db, memtable, dataset.queries, plan);
    process.stdout.write(`${rounds} round(s) of ${QUERIES} queries per mode, k=${K}, modes in rotating order\n`);
    const figures = report(samples, idleDelayP99Ms);
    return {
      ok: mismatches.length === 0,
      figures: {
        records: RECORDS,
        queries: QUERIES,
        rounds,
        loadRecordsPerSecond: significant((RECORDS * 1000) / loadMs),
        resultsMatch: mismatches.length === 0,
        ...figures,
      },
    };
  } finally {
    await db?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
