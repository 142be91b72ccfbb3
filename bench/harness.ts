/**
 * What every benchmark shares: options, a seeded random source, order
 * statistics and the printed table. Benchmarks report ratios against a
 * baseline measured in the same run and never assert timings.
 */

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

/** A seeded pseudo-random source (mulberry32): the same seed gives the same numbers on every run. */
export class SeededRandom {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }

  /** A vector of `dimension` floats, each uniform in [-1, 1). */
  vector(dimension: number): Float32Array {
    const vector = new Float32Array(dimension);
    for (let i = 0; i < dimension; i++) vector[i] = this.next() * 2 - 1;
    return vector;
  }

  /** An integer in [0, bound). */
  int(bound: number): number {
    return Math.floor(this.next() * bound);
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
  return quantile([...values].sort((a, b) => a - b), 0.5);
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
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0))).join('  ');
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
