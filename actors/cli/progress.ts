/**
 * Progress of a long command on stderr: a cli-progress bar when stderr is a
 * terminal; otherwise (a pipe, a log file, the tests) a plain line at most
 * every PLAIN_PROGRESS_INTERVAL_MS, so logs show a long import is alive
 * without filling up with redraws.
 */
import { Presets, SingleBar } from 'cli-progress';

/** Least time between two plain progress lines. */
export const PLAIN_PROGRESS_INTERVAL_MS = 10_000;

/** A running progress report: `update` with the amount done and the records so far, `stop` at the end. */
export interface Progress {
  update(done: number, records: number): void;
  stop(): void;
}

/** Starts a report of `label` (e.g. "import docs") over `total` (bytes or rows: the bar shows percentages). */
export function startProgress(label: string, total: number): Progress {
  const stream = process.stderr;
  if (stream.isTTY === true) {
    const bar = new SingleBar(
      {
        format: `${label} [{bar}] {percentage}% | {records} records | {duration_formatted} (ETA {eta_formatted})`,
        stream,
        hideCursor: true,
      },
      Presets.shades_classic,
    );
    bar.start(Math.max(total, 1), 0, { records: 0 });
    return {
      update: (done, records) => bar.update(Math.min(done, total), { records }),
      stop: () => bar.stop(),
    };
  }
  let lastLineMs = performance.now();
  return {
    update(done, records) {
      const nowMs = performance.now();
      if (nowMs - lastLineMs < PLAIN_PROGRESS_INTERVAL_MS) return;
      lastLineMs = nowMs;
      const percent = total > 0 ? Math.min(100, Math.floor((done / total) * 100)) : 100;
      stream.write(`${label}: ${records} records (${percent}%)\n`);
    },
    stop() {},
  };
}

/** "imported 500 records into docs in 1.25 s (400 records/s)": the summary line's figures. */
export function rateText(records: number, elapsedMs: number): string {
  const seconds = elapsedMs / 1000;
  const rate = seconds > 0 ? Math.round(records / seconds) : records;
  return `in ${seconds.toFixed(2)} s (${rate} records/s)`;
}
