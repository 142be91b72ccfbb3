/**
 * A sliding window of the most recent latencies, for p50/p99 in stats:
 * a fixed ring (bounded memory), sorted only when asked.
 */

/** The last `capacity` durations, in milliseconds. */
export class LatencyWindow {
  private readonly samples: Float64Array;
  private count = 0;
  private next = 0;

  constructor(capacity: number) {
    this.samples = new Float64Array(capacity);
  }

  /** Adds one duration. */
  record(durationMs: number): void {
    this.samples[this.next] = durationMs;
    this.next = (this.next + 1) % this.samples.length;
    this.count = Math.min(this.count + 1, this.samples.length);
  }

  /** The duration at quantile `q` (0..1) of the window, 0 when empty. */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const sorted = this.samples.slice(0, this.count).sort();
    return sorted[Math.min(this.count - 1, Math.max(0, Math.ceil(q * this.count) - 1))] as number;
  }
}
