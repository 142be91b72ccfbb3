/**
 * The simulator's trace: one line per delivered message, reply, timer, I/O
 * completion, fault and supervision step, each prefixed with the virtual
 * time in milliseconds (three decimals, i.e. microseconds). Two runs of the
 * same seed produce byte-identical traces; `digest()` summarises a trace for
 * comparison even when only its first `linesMax` lines are kept.
 */
import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';

/** Lines kept in memory by default; later lines still count in the digest. */
const LINES_MAX_DEFAULT = 2_000_000;
/** Temp files of atomic writes carry a random suffix (node:crypto); the trace shows it as `*`. */
const TEMP_SUFFIX = /\.tmp-[0-9A-Za-z]+/g;

/** Formats integer microseconds as milliseconds with three decimals, padded so lines align. */
export function formatMicros(timeUs: number): string {
  const milliseconds = Math.floor(timeUs / 1000);
  const micros = timeUs - milliseconds * 1000;
  return `${String(milliseconds).padStart(8, ' ')}.${String(micros).padStart(3, '0')}`;
}

/** An append-only, hashed list of trace lines. */
export class Trace {
  private readonly lines: string[] = [];
  private readonly hash: Hash = createHash('sha256');
  private count = 0;

  /** `linesMax` bounds memory; `echo` (if given) sees every line as it is added, e.g. to print a run live. */
  constructor(
    private readonly linesMax = LINES_MAX_DEFAULT,
    private readonly echo: ((line: string) => void) | null = null,
  ) {}

  /** Lines added so far (including those beyond `linesMax`). */
  get length(): number {
    return this.count;
  }

  /** Appends one line at virtual time `timeUs`. */
  add(timeUs: number, text: string): void {
    const stable = text.includes('.tmp-') ? text.replace(TEMP_SUFFIX, '.tmp-*') : text;
    const line = `${formatMicros(timeUs)} ${stable}`;
    this.count++;
    this.hash.update(line);
    this.hash.update('\n');
    if (this.lines.length < this.linesMax) this.lines.push(line);
    this.echo?.(line);
  }

  /** The kept lines, newline-terminated. */
  text(): string {
    return this.lines.length === 0 ? '' : `${this.lines.join('\n')}\n`;
  }

  /** The last `count` kept lines (for failure reports). */
  tail(count: number): string[] {
    return this.lines.slice(Math.max(0, this.lines.length - count));
  }

  /** SHA-256 (hex) of every line added so far, kept or not. */
  digest(): string {
    return this.hash.copy().digest('hex');
  }
}
