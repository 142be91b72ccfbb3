/**
 * A single-threaded harness for build-scheduler transcripts, in the style of
 * the Raft core's: a transcript is a sequence of blocks (optional `#`
 * comments, one command, `----`, the expected output up to a blank line).
 * The harness keeps a model of one shard's tiers (rows per memtable, frozen
 * memtable and segment, held writes, running builds, a virtual clock), feeds
 * events to a real `BuildScheduler`, carries out every action on the model
 * and prints it. `runTranscript` returns the transcript with the output it
 * produced in place of the expected one.
 *
 * Commands:
 *   engine flush=ROWS frozen=MAX [retry=MS] [persistent=false]: a new scheduler over empty tiers
 *   write ROWS: a write of ROWS rows arrives (applied, or held by a write stall)
 *   finish flush | finish compaction [rows=ROWS]: the running build is in place (a merge may shrink)
 *   fail flush|compaction [aborted=true]: the running build failed (aborted: the engine is going away)
 *   optimize [NAME]: an optimize, answered to NAME (none: a told optimize)
 *   advance MS: moves the clock; a due retry timer fires
 *   stop | status
 */
import { BuildScheduler } from '../../../storage/engine/build-scheduler.js';
import type { BuildAction, BuildEvent, BuildKind, TierShape } from '../../../storage/engine/build-scheduler.js';

/** Runs a transcript and returns it with the actual output in place of the expected output. */
export function runTranscript(text: string): string {
  const harness = new Harness();
  const blocks = parseTranscript(text).map((block) => {
    const output = harness.run(block.command);
    return [...block.comments, block.command, '----', output.length === 0 ? 'ok' : output.join('\n')].join('\n');
  });
  return `${blocks.join('\n\n')}\n`;
}

function parseTranscript(text: string): { comments: string[]; command: string }[] {
  const blocks: { comments: string[]; command: string }[] = [];
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; ) {
    const comments: string[] = [];
    for (; index < lines.length && (lines[index]?.startsWith('#') || lines[index]?.trim() === ''); index++) {
      if (lines[index]?.startsWith('#')) comments.push(lines[index] ?? '');
    }
    if (index >= lines.length) break;
    const command = lines[index] ?? '';
    if (lines[index + 1] !== '----') throw new Error(`expected ---- after "${command}"`);
    for (index += 2; index < lines.length && lines[index]?.trim() !== ''; index++);
    blocks.push({ comments, command });
  }
  return blocks;
}

function schedulerOf(options: Map<string, string>): BuildScheduler<string> {
  return new BuildScheduler<string>({
    flushThresholdRows: Number(options.get('flush') ?? 100),
    frozenMemtablesMax: Number(options.get('frozen') ?? 2),
    retryMs: Number(options.get('retry') ?? 5_000),
    persistent: options.get('persistent') !== 'false',
  });
}

interface Running {
  readonly from: number;
  readonly count: number;
}

class Harness {
  private scheduler = schedulerOf(new Map());
  private memtableRows = 0;
  private frozen: number[] = [];
  private segments: number[] = [];
  private held: number[] = [];
  private compaction: Running | null = null;
  private nowMs = 0;
  private retryAtMs: number | null = null;

  run(line: string): string[] {
    const [name, ...tokens] = line.trim().split(/\s+/);
    const pairs = tokens.filter((token) => token.includes('=')).map((token) => token.split('=') as [string, string]);
    const options = new Map(pairs);
    const args = tokens.filter((token) => !token.includes('='));
    switch (name) {
      case 'engine':
        return this.engine(options);
      case 'write':
        return this.write(Number(args[0]));
      case 'finish':
        return this.finish(args[0] as BuildKind, options.get('rows'));
      case 'fail':
        return this.feed({ type: 'build-failed', build: args[0] as BuildKind, aborted: options.has('aborted') });
      case 'optimize':
        return this.feed({ type: 'optimize-requested', waiter: args[0] ?? null });
      case 'advance':
        return this.advance(Number(args[0]));
      case 'stop':
        return this.feed({ type: 'stop' });
      case 'status':
        return this.status();
      default:
        throw new Error(`unknown command ${line}`);
    }
  }

  private engine(options: Map<string, string>): string[] {
    this.scheduler = schedulerOf(options);
    return [];
  }

  private tiers(): TierShape {
    return {
      memtableRows: this.memtableRows,
      frozenMemtables: this.frozen.length,
      segmentRows: this.segments,
      writesHeld: this.held.length,
    };
  }

  private write(rows: number): string[] {
    if (this.held.length > 0 || this.scheduler.writesMustWait(this.tiers())) {
      this.held.push(rows);
      return [`held: ${this.held.length} write(s) waiting`];
    }
    return this.apply(rows);
  }

  private apply(rows: number): string[] {
    this.memtableRows += rows;
    return [`applied ${rows} rows: memtable ${this.memtableRows}`, ...this.feed({ type: 'rows-applied' })];
  }

  private finish(build: BuildKind, rows: string | undefined): string[] {
    if (build === 'flush') {
      const flushed = this.frozen.shift();
      if (flushed === undefined || !this.scheduler.status().flushing) throw new Error('no flush is running');
      this.segments = [...this.segments, flushed];
    } else {
      const running = this.compaction;
      if (running === null) throw new Error('no compaction is running');
      const inputs = this.segments.slice(running.from, running.from + running.count);
      const merged = rows === undefined ? inputs.reduce((sum, each) => sum + each, 0) : Number(rows);
      const output = merged === 0 ? [] : [merged];
      const after = this.segments.slice(running.from + running.count);
      this.segments = [...this.segments.slice(0, running.from), ...output, ...after];
      this.compaction = null;
    }
    return this.feed({ type: 'build-finished', build });
  }

  private advance(ms: number): string[] {
    this.nowMs += ms;
    if (this.retryAtMs === null || this.retryAtMs > this.nowMs) return [`now ${this.nowMs}ms`];
    this.retryAtMs = null;
    return [`now ${this.nowMs}ms: the retry timer fires`, ...this.feed({ type: 'retry-due' })];
  }

  private status(): string[] {
    const status = this.scheduler.status();
    const builds = this.scheduler.buildsRunning;
    const running = `flushing=${status.flushing} compacting=${status.compacting} buildsRunning=${builds}`;
    const optimize = `optimizeQueued=${status.optimizeQueued} optimizeRunning=${status.optimizeRunning ?? 'none'}`;
    return [
      `${running} ${optimize} pausedUntil=${status.pausedUntilMs}ms stopping=${status.stopping}`,
      `memtable=${this.memtableRows} frozen=[${this.frozen.join(' ')}] segments=[${this.segments.join(' ')}]`,
      `held=[${this.held.join(' ')}] writesMustWait=${this.scheduler.writesMustWait(this.tiers())}`,
    ];
  }

  /** Steps one event and carries out what comes out, printing each action. */
  private feed(event: BuildEvent<string>): string[] {
    this.scheduler.step(event, this.tiers(), this.nowMs);
    const lines: string[] = [];
    for (let ready = this.scheduler.ready(); ready !== null; ready = this.scheduler.ready()) {
      for (const action of ready.actions) lines.push(...this.perform(action));
    }
    return lines;
  }

  private perform(action: BuildAction<string>): string[] {
    switch (action.type) {
      case 'freeze':
        this.frozen = [...this.frozen, this.memtableRows];
        this.memtableRows = 0;
        return [`> freeze: frozen queue [${this.frozen.join(' ')}]`];
      case 'flush':
        return [`> flush: the oldest frozen memtable (${this.frozen[0]} rows)`];
      case 'compact': {
        this.compaction = { from: action.from, count: action.count };
        const inputs = this.segments.slice(action.from, action.from + action.count);
        const last = action.from + action.count - 1;
        const shown = `[${inputs.join(' ')}] dropTombstones=${action.dropTombstones}`;
        return [`> compact: segments ${action.from}..${last} ${shown}`];
      }
      case 'release-held':
        return ['> release-held', ...this.releaseHeld().map((line) => `  ${line}`)];
      case 'answer-optimize': {
        const state = `segments=${this.segments.length} memtable=${this.memtableRows}`;
        return [`> answer-optimize ${action.waiters.join(' ')}: ${state}`];
      }
      case 'fail-optimize':
        return [`> fail-optimize ${action.waiters.join(' ')}: ${action.reason}`];
      case 'retry-after':
        this.retryAtMs = this.nowMs + action.delayMs;
        return [`> retry-after ${action.delayMs}ms: timer due at ${this.retryAtMs}ms`];
    }
  }

  private releaseHeld(): string[] {
    const lines: string[] = [];
    while (this.held.length > 0 && !this.scheduler.writesMustWait(this.tiers())) {
      lines.push(...this.apply(this.held.shift() ?? 0));
    }
    return lines;
  }
}
