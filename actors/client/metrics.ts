/**
 * The database's Prometheus metrics, made with prom-client in a registry of
 * this Shoal's own (two databases in one process never mix their series).
 * Requests are counted and timed on the host as they settle, per operation,
 * collection and outcome; everything the actors know (WAL syncs and bytes,
 * flushes, compactions, stalls, restarts, the Raft group's terms and
 * indexes) is read from `stats()` and `metadataStatus()` when scraped, so
 * a scrape costs two asks and nothing is counted twice.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ShoalError } from '../../runtime/errors.js';
import type { CollectionStats, MetadataStatus, ShoalStats } from '../public-api.js';

/** The Prometheus text exposition format's content type, for a server to answer with. */
export const METRICS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

/** Request latency buckets in seconds: from a cached search (~50 µs) to a long optimize. */
const LATENCY_BUCKETS_SECONDS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60,
];

/** Outcomes whose collection name is not known to exist. */
const UNNAMED_OUTCOMES: ReadonlySet<string> = new Set(['INVALID_ARGUMENT', 'COLLECTION_NOT_FOUND']);

/** A per-collection series read from the collection's statistics. */
interface CollectionSeries {
  readonly name: string;
  readonly help: string;
  readonly kind: 'counter' | 'gauge';
  readonly value: (stats: CollectionStats) => number;
}

const COLLECTION_SERIES: readonly CollectionSeries[] = [
  { name: 'shoal_records', kind: 'gauge', value: (stats) => stats.records, help: 'Live records.' },
  { name: 'shoal_memory_bytes', kind: 'gauge', value: (stats) => stats.memoryBytes, help: 'Bytes held in memory.' },
  {
    name: 'shoal_memtable_rows',
    kind: 'gauge',
    value: (stats) => stats.memtableRows,
    help: 'Rows in memtables, not yet in segments.',
  },
  { name: 'shoal_segments', kind: 'gauge', value: (stats) => stats.segments, help: 'Immutable segments.' },
  {
    name: 'shoal_segment_bytes',
    kind: 'gauge',
    value: (stats) => stats.segmentBytes,
    help: 'Bytes of segments on disk.',
  },
  { name: 'shoal_wal_bytes', kind: 'gauge', value: (stats) => stats.walBytes, help: 'Bytes of WAL on disk.' },
  { name: 'shoal_wal_segments', kind: 'gauge', value: (stats) => stats.walSegments, help: 'WAL segment files.' },
  {
    name: 'shoal_wal_syncs_total',
    kind: 'counter',
    value: (stats) => stats.walSyncs,
    help: 'WAL fdatasyncs since open.',
  },
  {
    name: 'shoal_wal_appends_total',
    kind: 'counter',
    value: (stats) => stats.walAppends,
    help: 'WAL group appends since open.',
  },
  {
    name: 'shoal_flushes_total',
    kind: 'counter',
    value: (stats) => stats.flushes,
    help: 'Memtable flushes since open.',
  },
  {
    name: 'shoal_compactions_total',
    kind: 'counter',
    value: (stats) => stats.compactions,
    help: 'Segment compactions since open.',
  },
  {
    name: 'shoal_build_failures_total',
    kind: 'counter',
    value: (stats) => stats.buildFailures,
    help: 'Failed segment builds since open.',
  },
  {
    name: 'shoal_write_stalls_total',
    kind: 'counter',
    value: (stats) => stats.stalls,
    help: 'Write stall episodes since open.',
  },
  {
    name: 'shoal_stalled_writes_total',
    kind: 'counter',
    value: (stats) => stats.stalledWrites,
    help: 'Writes held by stalls since open.',
  },
  {
    name: 'shoal_unavailable_shards',
    kind: 'gauge',
    value: (stats) => stats.unavailableShards,
    help: 'Shards that did not answer.',
  },
];

/** The metrics of one Shoal. */
export class ShoalMetrics {
  private readonly registry = new Registry();
  private readonly requests: Counter<'operation' | 'collection' | 'outcome'>;
  private readonly latency: Histogram<'operation' | 'collection'>;
  private readonly perCollection = new Map<string, Counter<'collection'> | Gauge<'collection'>>();
  private readonly restarts: Counter;
  private readonly workers: Gauge;
  private readonly raftTerm: Gauge<'replica'>;
  private readonly raftCommit: Gauge<'replica'>;
  private readonly raftApplied: Gauge<'replica'>;
  private readonly raftLeader: Gauge;
  private readonly now: () => number;

  constructor(now: () => number) {
    this.now = now;
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'shoal_requests_total',
      help: 'Requests settled, per operation, collection and outcome (ok or the error code).',
      labelNames: ['operation', 'collection', 'outcome'],
      registers,
    });
    this.latency = new Histogram({
      name: 'shoal_request_duration_seconds',
      help: 'Request latency on the host, from the call to its answer.',
      labelNames: ['operation', 'collection'],
      buckets: LATENCY_BUCKETS_SECONDS,
      registers,
    });
    for (const series of COLLECTION_SERIES) {
      const options = { name: series.name, help: series.help, labelNames: ['collection'] as const, registers };
      this.perCollection.set(series.name, series.kind === 'counter' ? new Counter(options) : new Gauge(options));
    }
    this.restarts = new Counter({ name: 'shoal_actor_restarts_total', help: 'Actor restarts since open.', registers });
    this.workers = new Gauge({ name: 'shoal_worker_threads', help: 'Worker threads running.', registers });
    const replica = { labelNames: ['replica'] as const, registers };
    const gauge = (name: string, help: string): Gauge<'replica'> => new Gauge({ name, help, ...replica });
    this.raftTerm = gauge('shoal_raft_term', 'Raft term of each metadata replica.');
    this.raftCommit = gauge('shoal_raft_commit_index', 'Raft commit index of each replica.');
    this.raftApplied = gauge('shoal_raft_applied_index', 'Raft applied index of each replica.');
    const leaderHelp = 'The metadata leader replica (0: none).';
    this.raftLeader = new Gauge({ name: 'shoal_raft_leader', help: leaderHelp, registers });
  }

  /** Counts and times `pending`, a request of `operation` on `collection` ('' when it names none), as it settles. */
  observe(operation: string, collection: string, pending: Promise<unknown>): void {
    const started = this.now();
    const settle = (outcome: string): void => {
      // A name that was refused is not a collection: labelled '' so typos cannot grow the series without bound.
      const labelled = UNNAMED_OUTCOMES.has(outcome) ? '' : collection;
      this.requests.inc({ operation, collection: labelled, outcome });
      this.latency.observe({ operation, collection: labelled }, (this.now() - started) / 1000);
    };
    pending.then(
      () => settle('ok'),
      (error: unknown) => settle(outcomeOf(error)),
    );
  }

  /** The exposition text, with the actors' series set from `stats` and `status` first. */
  async expose(stats: ShoalStats, status: MetadataStatus | null): Promise<string> {
    for (const series of COLLECTION_SERIES) {
      const metric = this.perCollection.get(series.name) as Counter<'collection'> | Gauge<'collection'>;
      metric.reset();
      for (const collection of stats.collections) {
        setTo(metric, { collection: collection.name }, series.value(collection));
      }
    }
    this.restarts.reset();
    this.restarts.inc(stats.restarts);
    this.workers.set(stats.workers);
    this.exposeRaft(status);
    return this.registry.metrics();
  }

  private exposeRaft(status: MetadataStatus | null): void {
    for (const gauge of [this.raftTerm, this.raftCommit, this.raftApplied]) gauge.reset();
    this.raftLeader.set(status?.leader ?? 0);
    for (const replica of status?.replicas ?? []) {
      if (!('term' in replica)) continue;
      const labels = { replica: String(replica.id) };
      this.raftTerm.set(labels, replica.term);
      this.raftCommit.set(labels, replica.commit);
      this.raftApplied.set(labels, replica.applied);
    }
  }
}

/** Sets a series read from the actors: a counter is reset and raised to the total they report. */
function setTo(
  metric: Counter<'collection'> | Gauge<'collection'>,
  labels: { collection: string },
  value: number,
): void {
  if (metric instanceof Gauge) metric.set(labels, value);
  else metric.inc(labels, value);
}

/** The outcome label of a failed request: its stable code, AbortError, or ERROR. */
function outcomeOf(error: unknown): string {
  if (error instanceof ShoalError) return error.code;
  if (error instanceof Error && error.name === 'AbortError') return 'ABORTED';
  return 'ERROR';
}
