/**
 * The write benchmark: upserts acknowledged per second through Shoal (2
 * shards, syncMode 'batch'), against raw write+fdatasync appends of the same
 * record bytes on a file in the same folder, measured in the same run (half
 * before the Shoal workloads, half after, so drift shows). Every Shoal
 * acknowledgement waits for an fdatasync, so "records/s ÷ raw syncs/s" above
 * 1× means group commit shares syncs between records.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Shoal } from '../index.js';
import type { UpsertRecord } from '../index.js';
import type { BenchOptions, BenchOutcome, Figures, LatencySummary } from './harness.js';
import {
  SeededRandom,
  formatNumber,
  formatRatio,
  formatTable,
  heading,
  latencySummary,
  rawAppends,
  rawBandwidth,
  significant,
} from './harness.js';

const DIMENSION = 128;
const COLLECTION = 'bench';
const VECTOR_POOL_SIZE = 1024;
const CONCURRENT_WRITERS = 64;
const BATCH_RECORDS = 100;
const LANGS = ['en', 'de', 'fr', 'es'] as const;

interface Plan {
  readonly phaseMs: number;
  readonly warmupMs: number;
}

const PLANS: Record<'full' | 'quick', Plan> = {
  full: { phaseMs: 3000, warmupMs: 300 },
  quick: { phaseMs: 400, warmupMs: 50 },
};

/** Seeded records with unique ids: vectors cycle through a seeded pool, metadata is small JSON. */
class RecordSource {
  private readonly vectors: Float32Array[];
  private next = 0;

  constructor(seed: number) {
    const random = new SeededRandom(seed);
    this.vectors = Array.from({ length: VECTOR_POOL_SIZE }, () => random.vector(DIMENSION));
  }

  /** The next record (ids never repeat, so every upsert adds a row). */
  take(): UpsertRecord {
    const serial = this.next++;
    const padded = String(serial).padStart(8, '0');
    return {
      id: `rec-${padded}`,
      vector: this.vectors[serial % VECTOR_POOL_SIZE] as Float32Array,
      metadata: { title: `Benchmark record ${padded} with a short title`, lang: LANGS[serial % LANGS.length] },
    };
  }

  /** The next `count` records. */
  takeMany(count: number): UpsertRecord[] {
    return Array.from({ length: count }, () => this.take());
  }

  /** Records handed out so far. */
  get taken(): number {
    return this.next;
  }
}

/** The bytes one record carries: vector floats, id and metadata JSON (what the raw baseline writes per sync). */
function recordBytes(record: UpsertRecord): Buffer {
  const vector = Float32Array.from(record.vector);
  return Buffer.concat([
    Buffer.from(vector.buffer),
    Buffer.from(record.id),
    Buffer.from(JSON.stringify(record.metadata ?? null)),
  ]);
}

interface Measured {
  readonly records: number;
  readonly elapsedMs: number;
  readonly latency: LatencySummary;
}

/** `writers` loops, each awaiting one upsert of `recordsPerCall` records at a time, until `durationMs` has passed. */
async function shoalUpserts(
  db: Shoal,
  source: RecordSource,
  writers: number,
  recordsPerCall: number,
  durationMs: number,
): Promise<Measured> {
  const latenciesMs: number[] = [];
  let records = 0;
  const start = performance.now();
  const end = start + durationMs;
  const writer = async (): Promise<void> => {
    while (performance.now() < end) {
      const batch = source.takeMany(recordsPerCall);
      const sent = performance.now();
      const result = await db.upsert(COLLECTION, batch);
      latenciesMs.push(performance.now() - sent);
      records += result.count;
    }
  };
  await Promise.all(Array.from({ length: writers }, writer));
  return { records, elapsedMs: performance.now() - start, latency: latencySummary(latenciesMs) };
}

interface Workload {
  readonly name: string;
  readonly label: string;
  readonly writers: number;
  readonly recordsPerCall: number;
}

const WORKLOADS: readonly Workload[] = [
  { name: 'sequential', label: 'Shoal: 1 record per upsert, sequential', writers: 1, recordsPerCall: 1 },
  {
    name: 'concurrent64',
    label: `Shoal: 1 record per upsert, ${CONCURRENT_WRITERS} writers`,
    writers: CONCURRENT_WRITERS,
    recordsPerCall: 1,
  },
  {
    name: 'batch100',
    label: `Shoal: ${BATCH_RECORDS} records per upsert, sequential`,
    writers: 1,
    recordsPerCall: BATCH_RECORDS,
  },
];

/** Runs the write benchmark and prints its table. */
export async function runWriteBench(options: BenchOptions): Promise<BenchOutcome> {
  const plan = options.quick ? PLANS.quick : PLANS.full;
  heading(`write: acknowledged upserts through Shoal vs raw write+fdatasync (${plan.phaseMs} ms per workload)`);
  const dataDir = mkdtempSync(join(tmpdir(), 'shoal-bench-write-'));
  const source = new RecordSource(0x5eed);
  // Every record has the same size: fixed-width ids and titles.
  const rawBytes = recordBytes(source.take());
  const recordSize = rawBytes.length;
  let db: Shoal | null = null;
  try {
    const openedMs = performance.now();
    db = await Shoal.open({ dataDir: join(dataDir, 'shoal') });
    await db.createCollection({
      name: COLLECTION,
      dimension: DIMENSION,
      metric: 'cosine',
      shards: 2,
      syncMode: 'batch',
    });
    process.stdout.write(
      `setup: open + create collection (2 shards, cosine, 128-d, syncMode batch) in ${formatNumber(performance.now() - openedMs)} ms; one record = ${recordSize} bytes (vector + id + metadata JSON)\n`,
    );

    const rawPath = join(dataDir, 'raw-appends.bin');
    const rawBefore = rawAppends(rawPath, rawBytes, plan.phaseMs / 2);
    await shoalUpserts(db, source, 1, 1, plan.warmupMs);
    const measured = new Map<string, Measured>();
    for (const workload of WORKLOADS)
      measured.set(
        workload.name,
        await shoalUpserts(db, source, workload.writers, workload.recordsPerCall, plan.phaseMs),
      );
    const rawAfter = rawAppends(rawPath, rawBytes, plan.phaseMs / 2);
    const rawSyncsPerSecond = (rawBefore + rawAfter) / 2;
    const rawMegabytesPerSecond = rawBandwidth(join(dataDir, 'raw-bandwidth.bin'), plan.phaseMs, new SeededRandom(7));

    const stats = await db.stats();
    const collection = stats.collections.find((entry) => entry.name === COLLECTION);
    const walBytesPerRecord =
      collection === undefined ? Number.NaN : collection.walBytes / Math.max(1, collection.records);
    return {
      ok: true,
      figures: report(measured, {
        rawBefore,
        rawAfter,
        rawSyncsPerSecond,
        rawMegabytesPerSecond,
        recordSize,
        walBytesPerRecord,
        records: collection?.records ?? 0,
      }),
    };
  } finally {
    await db?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

interface Baseline {
  readonly rawBefore: number;
  readonly rawAfter: number;
  readonly rawSyncsPerSecond: number;
  readonly rawMegabytesPerSecond: number;
  readonly recordSize: number;
  readonly walBytesPerRecord: number;
  readonly records: number;
}

function report(measured: Map<string, Measured>, baseline: Baseline): Figures {
  const megabytes = (recordsPerSecond: number): number => (recordsPerSecond * baseline.recordSize) / 1e6;
  const rawRow = (label: string, syncsPerSecond: number): string[] => [
    label,
    formatNumber(syncsPerSecond),
    '',
    formatNumber(megabytes(syncsPerSecond), 2),
    '',
    '',
    '',
  ];
  const rows: string[][] = [
    rawRow('raw write+fdatasync of one record, before', baseline.rawBefore),
    rawRow('raw write+fdatasync of one record, after', baseline.rawAfter),
    [
      ...rawRow('raw write+fdatasync of one record (mean = baseline)', baseline.rawSyncsPerSecond).slice(0, 2),
      '1.00×',
      formatNumber(megabytes(baseline.rawSyncsPerSecond), 2),
      '',
      '',
      '',
    ],
    [
      'raw write+fdatasync of 1 MiB chunks (= bandwidth baseline)',
      '',
      '',
      formatNumber(baseline.rawMegabytesPerSecond, 1),
      '1.00×',
      '',
      '',
    ],
  ];
  const figures: Record<string, Figures> = {};
  for (const workload of WORKLOADS) {
    const entry = measured.get(workload.name) as Measured;
    const recordsPerSecond = (entry.records * 1000) / entry.elapsedMs;
    const megabytesPerSecond = megabytes(recordsPerSecond);
    const ratioToSyncs = recordsPerSecond / baseline.rawSyncsPerSecond;
    const ratioToBandwidth = megabytesPerSecond / baseline.rawMegabytesPerSecond;
    rows.push([
      workload.label,
      formatNumber(recordsPerSecond),
      formatRatio(ratioToSyncs),
      formatNumber(megabytesPerSecond, 2),
      formatRatio(ratioToBandwidth),
      formatNumber(entry.latency.p50Ms, 2),
      formatNumber(entry.latency.p99Ms, 2),
    ]);
    figures[workload.name] = {
      recordsPerSecond: significant(recordsPerSecond),
      ratioToRawSyncs: significant(ratioToSyncs, 3),
      megabytesPerSecond: significant(megabytesPerSecond),
      ratioToRawBandwidth: significant(ratioToBandwidth, 3),
      p50Ms: significant(entry.latency.p50Ms, 3),
      p99Ms: significant(entry.latency.p99Ms, 3),
    };
  }
  process.stdout.write(
    `${formatTable(['workload', 'records/s', '÷ raw syncs/s', 'MB/s', '÷ raw MB/s', 'p50 ms/call', 'p99 ms/call'], rows)}\n`,
  );
  process.stdout.write(
    `WAL bytes per record on disk: ${formatNumber(baseline.walBytesPerRecord, 1)} (record payload ${baseline.recordSize} bytes, ${formatNumber(baseline.records)} records)\n`,
  );
  return {
    recordBytes: baseline.recordSize,
    rawSyncsPerSecond: significant(baseline.rawSyncsPerSecond),
    rawSyncsPerSecondBefore: significant(baseline.rawBefore),
    rawSyncsPerSecondAfter: significant(baseline.rawAfter),
    rawMegabytesPerSecond: significant(baseline.rawMegabytesPerSecond),
    walBytesPerRecord: significant(baseline.walBytesPerRecord),
    ...figures,
  };
}
