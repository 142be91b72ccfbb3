/**
 * The benchmark dispatcher: `npm run bench [-- <name> ...] [-- --quick]`.
 * Runs the named benchmarks (all of them when none is named) in sequence in
 * this process, each printing its table, then prints one line
 * `RESULT {...}` with every benchmark's figures for machine reading.
 * Exits 2 on bad arguments, 1 when a correctness check inside a benchmark failed.
 */
import { cpus } from 'node:os';
import { runCodecBench } from './codec.js';
import { runExactBench } from './exact.js';
import { runHttpBench } from './http.js';
import { runRaftBench } from './raft.js';
import type { BenchOptions, BenchOutcome, Figures } from './harness.js';
import { runSearchBench } from './search.js';
import { runWalBench } from './wal.js';
import { runWriteBench } from './write.js';

const BENCHES: Record<string, (options: BenchOptions) => Promise<BenchOutcome>> = {
  codec: runCodecBench,
  write: runWriteBench,
  exact: runExactBench,
  search: runSearchBench,
  wal: runWalBench,
  raft: runRaftBench,
  http: runHttpBench,
};

/** Earlier names: `ann` was the approximate search bench's name before it took `search`. */
const ALIASES: Record<string, string> = { ann: 'search' };

const USAGE = `usage: npm run bench [-- [--quick] [${Object.keys(BENCHES).join('|')} ...]]
  codec   one ask round trip between worker threads: structured clone vs msgpackr
  write   acknowledged upserts/s through Shoal vs raw write+fdatasync
  exact   exact searches/s through Shoal vs the same exact search in-process
  search  HNSW recall@10, QPS and build rate: Shoal vs raw hnswlib-node vs exact brute force (also: ann)
  wal     WAL appends/s per sync mode and writer count vs raw fdatasync; replay speed
  raft    metadata commit latency p50/p99 and commits/s, 1 and 3 replicas, vs raw fdatasync latency
  http    search QPS and p50/p99 through the Qdrant REST API (JS client), 1 and 16 in flight, vs db.search
  --quick a much shorter run (rough figures)
With no name, runs them all in sequence.`;

function usage(problem: string | null): never {
  if (problem !== null) process.stderr.write(`${problem}\n`);
  process.stderr.write(`${USAGE}\n`);
  process.exit(problem === null ? 0 : 2);
}

function parseArguments(argv: readonly string[]): { names: string[]; options: BenchOptions } {
  let quick = false;
  const names: string[] = [];
  for (const argument of argv) {
    if (argument === '--quick') quick = true;
    else if (argument === '--help' || argument === '-h') usage(null);
    else if (argument.startsWith('-')) usage(`unknown option ${argument}`);
    else if (Object.hasOwn(BENCHES, argument)) names.push(argument);
    else if (Object.hasOwn(ALIASES, argument)) names.push(ALIASES[argument] as string);
    else usage(`unknown benchmark ${JSON.stringify(argument)}`);
  }
  return { names: names.length === 0 ? Object.keys(BENCHES) : names, options: { quick } };
}

async function main(): Promise<void> {
  const { names, options } = parseArguments(process.argv.slice(2));
  const results: Record<string, Figures> = {};
  let ok = true;
  for (const name of names) {
    const bench = BENCHES[name] as (options: BenchOptions) => Promise<BenchOutcome>;
    const startedMs = performance.now();
    const outcome = await bench(options);
    const seconds = (performance.now() - startedMs) / 1000;
    process.stdout.write(`(${name}: ${seconds.toFixed(1)} s)\n`);
    results[name] = { ...outcome.figures, seconds: Number(seconds.toFixed(1)) };
    ok &&= outcome.ok;
  }
  process.stdout.write(`RESULT ${JSON.stringify({ quick: options.quick, cores: cpus().length, ...results })}\n`);
  if (!ok) process.exitCode = 1;
}

await main();
