/**
 * The codec benchmark: what one ask round trip between two worker threads
 * costs for three representative messages (a search, an upsert batch of
 * 100 × 384-d records, a ping), under structured clone with transferred
 * buffers (what the runtime does) and under msgpackr (`moreTypes`), against
 * an in-thread baseline (the same structured clones, no thread crossing).
 * Worker A asks worker B over a MessageChannel, one ask at a time, and times
 * in its own thread. Encodings take turns in short rounds, and each figure is
 * the median over rounds, so drift on a noisy machine hits all of them alike.
 */
import { MessageChannel, Worker } from 'node:worker_threads';
import type { TransferListItem } from 'node:worker_threads';
import type { BenchOptions, BenchOutcome, Figures } from './harness.js';
import { formatNumber, formatRatio, formatTable, heading, median, significant } from './harness.js';

const MESSAGE_KINDS = ['search', 'upsert', 'ping'] as const;
const ENCODINGS = ['structured', 'msgpackr', 'in-thread'] as const;
type MessageKind = (typeof MESSAGE_KINDS)[number];
type Encoding = (typeof ENCODINGS)[number];

const DESCRIPTIONS: Record<MessageKind, string> = {
  search: 'search: 384-d query, k=10, filter → 10 hits',
  upsert: 'upsert: 100 × 384-d batch (150 KiB) → {records, firstLsn, lastLsn}',
  ping: 'ping → {ok: true}',
};

const LABELS: Record<Encoding, string> = {
  structured: 'structured clone + transfer',
  msgpackr: 'msgpackr (moreTypes) + transfer',
  'in-thread': 'in-thread structuredClone',
};

interface Plan {
  readonly rounds: number;
  readonly roundMs: number;
  readonly warmupMs: number;
}

const PLANS: Record<'full' | 'quick', Plan> = {
  full: { rounds: 7, roundMs: 500, warmupMs: 400 },
  quick: { rounds: 2, roundMs: 100, warmupMs: 50 },
};

interface RunReport {
  readonly roundTrips: number;
  readonly elapsedMs: number;
  readonly requestBytes?: number;
  readonly replyBytes?: number;
}

interface VerifyReport {
  readonly ok: boolean;
  readonly problems: string[];
  readonly defaultPackrKeepsFloat32Array: boolean;
  readonly defaultPackrGives: string;
}

interface CaseFigures {
  readonly microsPerRoundTrip: number;
  readonly spread: number;
  readonly requestBytes: number | null;
  readonly replyBytes: number | null;
}

/** A worker driven by request/answer commands from the main thread, one at a time. */
class Driven {
  private pending: { resolve: (value: unknown) => void; reject: (error: Error) => void } | null = null;

  constructor(readonly worker: Worker) {
    worker.on('message', (value: unknown) => {
      const pending = this.pending;
      this.pending = null;
      if (pending === null) return;
      const failure = (value as { error?: string }).error;
      if (failure !== undefined) pending.reject(new Error(failure));
      else pending.resolve(value);
    });
    worker.on('error', (error) => this.pending?.reject(error));
  }

  /** Posts a command and waits for the worker's one answer. */
  command<T>(value: unknown, transfer: readonly TransferListItem[] = []): Promise<T> {
    if (this.pending !== null) throw new Error('a command is already in flight');
    return new Promise<T>((resolve, reject) => {
      this.pending = { resolve: resolve as (value: unknown) => void, reject };
      this.worker.postMessage(value, [...transfer]);
    });
  }
}

async function startWorkers(): Promise<{ client: Driven; server: Driven }> {
  const client = new Driven(new Worker(new URL('./codec-client.mjs', import.meta.url)));
  const server = new Driven(new Worker(new URL('./codec-server.mjs', import.meta.url)));
  const { port1, port2 } = new MessageChannel();
  await Promise.all([
    server.command({ cmd: 'init', port: port2 }, [port2]),
    client.command({ cmd: 'init', port: port1 }, [port1]),
  ]);
  return { client, server };
}

async function measure(client: Driven, plan: Plan): Promise<Map<string, CaseFigures>> {
  for (const kind of MESSAGE_KINDS) {
    for (const encoding of ENCODINGS)
      await client.command<RunReport>({ cmd: 'run', kind, encoding, durationMs: plan.warmupMs });
  }
  const samples = new Map<string, RunReport[]>();
  for (let round = 0; round < plan.rounds; round++) {
    for (const kind of MESSAGE_KINDS) {
      // Rotate the order each round so no encoding always runs first.
      for (let turn = 0; turn < ENCODINGS.length; turn++) {
        const encoding = ENCODINGS[(turn + round) % ENCODINGS.length] as Encoding;
        const report = await client.command<RunReport>({ cmd: 'run', kind, encoding, durationMs: plan.roundMs });
        const key = `${kind}/${encoding}`;
        samples.set(key, [...(samples.get(key) ?? []), report]);
      }
    }
  }
  const figures = new Map<string, CaseFigures>();
  for (const [key, reports] of samples) {
    const micros = reports.map((report) => (report.elapsedMs * 1000) / Math.max(1, report.roundTrips));
    const middle = median(micros);
    const last = reports[reports.length - 1];
    figures.set(key, {
      microsPerRoundTrip: middle,
      spread: (Math.max(...micros) - Math.min(...micros)) / middle,
      requestBytes: last?.requestBytes ?? null,
      replyBytes: last?.replyBytes ?? null,
    });
  }
  return figures;
}

function printTable(figures: Map<string, CaseFigures>): Figures {
  const rows: string[][] = [];
  const result: Record<string, Figures> = {};
  for (const kind of MESSAGE_KINDS) {
    const of = (encoding: Encoding): CaseFigures => figures.get(`${kind}/${encoding}`) as CaseFigures;
    const structured = of('structured').microsPerRoundTrip;
    rows.push([DESCRIPTIONS[kind], '', '', '', '', '']);
    for (const encoding of ENCODINGS) {
      const entry = of(encoding);
      const bytes =
        entry.requestBytes === null
          ? ''
          : `${formatNumber(entry.requestBytes)} / ${formatNumber(entry.replyBytes ?? 0)}`;
      rows.push([
        `  ${LABELS[encoding]}`,
        formatNumber(entry.microsPerRoundTrip, 1),
        formatNumber(1e6 / entry.microsPerRoundTrip),
        formatRatio(entry.microsPerRoundTrip / structured),
        `±${Math.round(entry.spread * 50)}%`,
        bytes,
      ]);
    }
    result[kind] = {
      structuredMicros: significant(structured),
      msgpackrMicros: significant(of('msgpackr').microsPerRoundTrip),
      inThreadMicros: significant(of('in-thread').microsPerRoundTrip),
      msgpackrOverStructured: significant(of('msgpackr').microsPerRoundTrip / structured, 3),
      structuredOverInThread: significant(structured / of('in-thread').microsPerRoundTrip, 3),
      msgpackrRequestBytes: of('msgpackr').requestBytes,
      msgpackrReplyBytes: of('msgpackr').replyBytes,
    };
  }
  process.stdout.write(
    `${formatTable(['message / encoding', 'µs per round trip', 'round trips/s', 'vs structured', 'spread', 'msgpackr bytes req / reply'], rows)}\n`,
  );
  const summary = MESSAGE_KINDS.map(
    (kind) => `${kind} ${formatRatio((result[kind]?.['msgpackrOverStructured'] as number) ?? Number.NaN)}`,
  ).join(', ');
  process.stdout.write(
    `msgpackr / structured clone (time per round trip; >1× means structured clone is faster): ${summary}\n`,
  );
  return result;
}

/** Runs the codec benchmark and prints its table. */
export async function runCodecBench(options: BenchOptions): Promise<BenchOutcome> {
  const plan = options.quick ? PLANS.quick : PLANS.full;
  heading(
    `codec: one ask round trip between two worker threads (${plan.rounds} rounds × ${plan.roundMs} ms per case, median)`,
  );
  const { client, server } = await startWorkers();
  try {
    const verified = await client.command<VerifyReport>({ cmd: 'verify' });
    const verdict = verified.ok ? 'OK' : `FAILED (${verified.problems.join('; ')})`;
    process.stdout.write(`msgpackr round trip A→B→A preserves the Float32Arrays bit for bit: ${verdict}\n`);
    process.stdout.write(
      `(default new Packr() without moreTypes gives back a ${verified.defaultPackrGives} instead of the Float32Array)\n\n`,
    );
    const figures = printTable(await measure(client, plan));
    return {
      ok: verified.ok,
      figures: {
        ...figures,
        msgpackrRoundTripOk: verified.ok,
        defaultPackrKeepsFloat32Array: verified.defaultPackrKeepsFloat32Array,
      },
    };
  } finally {
    await Promise.all([client.worker.terminate(), server.worker.terminate()]);
  }
}
