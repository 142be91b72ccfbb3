/**
 * What every benchmark shares: options, a seeded random source, order
 * statistics and the printed table. Benchmarks report ratios against a
 * baseline measured in the same run and never assert timings.
 */
import { closeSync, fdatasyncSync, openSync, writeSync } from 'node:fs';
import { SeededRandom as RuntimeSeededRandom } from '../runtime/random.js';

const CHUNK_BYTES = 1024 * 1024;
const BANDWIDTH_FILE_BYTES_MAX = 2 * 1024 * 1024 * 1024;

/** Options of one benchmark run. */
export interface BenchOptions {
  /** A much shorter run (a smoke test of the benchmark itself; figures are rough). */
  readonly quick: boolean;
}

/** Figures for machine reading: numbers, strings and booleans, nested by name. */
export interface Figures {
  readonly [name: string]: number | string | boolean | null | Figures;
}

/** What a benchmark hands back to the dispatcher. */
export interface BenchOutcome {
  readonly figures: Figures;
  /** False when a correctness check inside the benchmark failed (the run exits non-zero). */
  readonly ok: boolean;
}

/** The runtime's seeded generator, plus seeded vectors: the same seed gives the same numbers on every run. */
export class SeededRandom extends RuntimeSeededRandom {
  /** A vector of `dimension` floats, each uniform in [-1, 1). */
  vector(dimension: number): Float32Array {
    const vector = new Float32Array(dimension);
    for (let i = 0; i < dimension; i++) vector[i] = this.next() * 2 - 1;
    return vector;
  }
}

/** The value at quantile `q` (0..1) of ascending `sorted`, nearest rank; NaN when empty. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

/** The median of `values` (any order). */
export function median(values: readonly number[]): number {
  return quantile(
    [...values].sort((a, b) => a - b),
    0.5,
  );
}

/** Latency figures of a list of samples in milliseconds. */
export interface LatencySummary {
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** p50 and p99 of latency samples in milliseconds. */
export function latencySummary(samplesMs: readonly number[]): LatencySummary {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  return { p50Ms: quantile(sorted, 0.5), p99Ms: quantile(sorted, 0.99) };
}

/** A number rounded to `digits` significant digits, for JSON output. */
export function significant(value: number, digits = 4): number {
  if (!Number.isFinite(value) || value === 0) return value;
  return Number(value.toPrecision(digits));
}

/** A number for a table cell: thousands separated, `decimals` after the point. */
export function formatNumber(value: number, decimals = 0): string {
  if (!Number.isFinite(value)) return String(value);
  return value.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

/** A ratio for a table cell, e.g. `0.42×`. */
export function formatRatio(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  return `${value.toFixed(value >= 10 ? 1 : value >= 0.1 ? 2 : 3)}×`;
}

/** A plain-text table: the first column left-aligned, the others right-aligned. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => (column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0)))
      .join('  ');
  const rule = widths.map((width) => '-'.repeat(width)).join('  ');
  return [line(headers), rule, ...rows.map(line)].join('\n');
}

/** Prints a section heading. */
export function heading(title: string): void {
  process.stdout.write(`\n== ${title} ==\n`);
}

/** Resolves after the current macrotask, so timers (and the event-loop monitor) get a turn. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** write+fdatasync of `bytes` at the end of a fresh file, repeated for `durationMs`; syncs per second. */
export function rawAppends(path: string, bytes: Buffer, durationMs: number): number {
  const fd = openSync(path, 'w');
  try {
    let syncs = 0;
    const start = performance.now();
    let now = start;
    while (now - start < durationMs) {
      writeSync(fd, bytes);
      fdatasyncSync(fd);
      syncs++;
      now = performance.now();
    }
    return (syncs * 1000) / (now - start);
  } finally {
    closeSync(fd);
  }
}

/** Sequential write+fdatasync of 1 MiB chunks for `durationMs` (at most 2 GiB); MB/s. */
export function rawBandwidth(path: string, durationMs: number, random: SeededRandom): number {
  const chunk = Buffer.alloc(CHUNK_BYTES);
  for (let i = 0; i < chunk.length; i += 4) chunk.writeUInt32LE(random.int(0x1_0000_0000), i);
  const fd = openSync(path, 'w');
  try {
    let written = 0;
    const start = performance.now();
    let now = start;
    while (now - start < durationMs && written < BANDWIDTH_FILE_BYTES_MAX) {
      writeSync(fd, chunk);
      fdatasyncSync(fd);
      written += chunk.length;
      now = performance.now();
    }
    return written / 1e6 / ((now - start) / 1000);
  } finally {
    closeSync(fd);
  }
}
