/**
 * The simulator's single-threaded event loop. Every timer, message delivery
 * and I/O completion is an event in one priority queue ordered by virtual
 * time (integer microseconds), ties broken by a sequence number, so one seed
 * always runs the same events in the same order. Virtual time jumps straight
 * to the next event: a run goes as fast as the CPU allows.
 *
 * Between two events the loop lets every pending microtask (promise
 * continuation) run to completion, so the consequences of an event settle
 * at its virtual time before the next event starts. That drain is the only
 * use of a real macrotask (`setImmediate`); it never decides an order.
 *
 * The loop runs while someone waits on it (`runUntil`). Work outside the
 * simulation that must finish before the next event (loading an actor's
 * module) is registered with `external`: the loop stops and waits for it
 * without advancing virtual time.
 */
import { Trace } from './trace.js';

/** Something scheduled that can be called off. */
export interface Cancellable {
  cancel(): void;
}

/** Options of a scheduler. */
export interface SchedulerOptions {
  /** The trace that `record` appends to. Default: a new trace. */
  readonly trace?: Trace;
  /** Events run before the loop gives up as a livelock (default 50 million). */
  readonly eventsMax?: number;
}

/** One scheduled event; it is its own cancel handle (no closure per event). */
class SimEvent implements Cancellable {
  cancelled = false;

  constructor(
    readonly timeUs: number,
    readonly sequence: number,
    readonly run: () => void,
  ) {}

  cancel(): void {
    this.cancelled = true;
  }
}

interface Watcher {
  readonly reject: (error: unknown) => void;
}

const EVENTS_MAX_DEFAULT = 50_000_000;
/** Added to the sequence of end-of-instant events, so they sort after every regular event of the same time. */
const LATE_SEQUENCE = 2 ** 52;

/** A binary min-heap of events by (timeUs, sequence). */
class EventQueue {
  private readonly items: SimEvent[] = [];

  get size(): number {
    return this.items.length;
  }

  push(event: SimEvent): void {
    const items = this.items;
    items.push(event);
    let child = items.length - 1;
    while (child > 0) {
      const parent = (child - 1) >> 1;
      if (!earlier(items[child] as SimEvent, items[parent] as SimEvent)) break;
      [items[child], items[parent]] = [items[parent] as SimEvent, items[child] as SimEvent];
      child = parent;
    }
  }

  pop(): SimEvent | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    items[0] = last;
    for (let parent = 0; ; ) {
      const left = 2 * parent + 1;
      const right = left + 1;
      let first = parent;
      if (left < items.length && earlier(items[left] as SimEvent, items[first] as SimEvent)) first = left;
      if (right < items.length && earlier(items[right] as SimEvent, items[first] as SimEvent)) first = right;
      if (first === parent) break;
      [items[first], items[parent]] = [items[parent] as SimEvent, items[first] as SimEvent];
      parent = first;
    }
    return top;
  }
}

function earlier(a: SimEvent, b: SimEvent): boolean {
  return a.timeUs < b.timeUs || (a.timeUs === b.timeUs && a.sequence < b.sequence);
}

/** Lets every queued microtask run, through one real macrotask turn. */
function settleMicrotasks(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

/** The event loop of one simulation. */
export class Scheduler {
  /** The trace of this simulation. */
  readonly trace: Trace;
  private readonly queue = new EventQueue();
  private readonly externals = new Set<Promise<unknown>>();
  private readonly watchers = new Set<Watcher>();
  private readonly eventsMax: number;
  private nowUs = 0;
  private sequence = 0;
  private eventCount = 0;
  private looping = false;

  constructor(options: SchedulerOptions = {}) {
    this.trace = options.trace ?? new Trace();
    this.eventsMax = options.eventsMax ?? EVENTS_MAX_DEFAULT;
  }

  /** Virtual time in milliseconds (microsecond resolution). */
  get nowMs(): number {
    return this.nowUs / 1000;
  }

  /** Virtual time in integer microseconds. */
  get nowMicros(): number {
    return this.nowUs;
  }

  /** Events run so far (cancelled ones not counted). */
  get eventsRun(): number {
    return this.eventCount;
  }

  /**
   * Runs `run` after `delayUs` virtual microseconds (rounded up, at least 0), after every event already due by then.
   */
  at(delayUs: number, run: () => void): Cancellable {
    return this.push(delayUs, this.sequence++, run);
  }

  private push(delayUs: number, sequence: number, run: () => void): Cancellable {
    const delay = Number.isFinite(delayUs) && delayUs > 0 ? Math.ceil(delayUs) : 0;
    const event = new SimEvent(this.nowUs + delay, sequence, run);
    this.queue.push(event);
    return event;
  }

  /** Runs `run` at the current virtual time, after the events already due now. */
  soon(run: () => void): Cancellable {
    return this.at(0, run);
  }

  /** Appends a line to the trace at the current virtual time. */
  record(line: string): void {
    this.trace.add(this.nowUs, line);
  }

  /** Registers work outside the simulation: no event runs until it settles. Returns the same outcome. */
  external<T>(promise: Promise<T>): Promise<T> {
    const tracked = promise.finally(() => this.externals.delete(tracked));
    this.externals.add(tracked);
    return tracked;
  }

  /**
   * Waits for outside work, then answers its outcome at an event scheduled
   * now: the same place in the event order whether the work took no time
   * (a cached module) or real time (a first import).
   */
  fromOutside<T>(work: Promise<T>): Promise<T> {
    let outcome: { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown } | null =
      null;
    void this.external(work).then(
      (value) => {
        outcome = { ok: true, value };
      },
      (error: unknown) => {
        outcome = { ok: false, error };
      },
    );
    return new Promise<T>((resolve, reject) => {
      this.soon(() => {
        const settled = outcome as typeof outcome | null;
        if (settled === null) reject(new Error('outside work did not settle before its event'));
        else if (settled.ok) resolve(settled.value);
        else reject(settled.error);
      });
    });
  }

  /** A promise resolved after `delayMs` of virtual time (for the host side; actors use their clock). */
  sleep(delayMs: number): Promise<void> {
    return new Promise<void>((resolve) => this.at(delayMs * 1000, resolve));
  }

  /**
   * Runs events until `promise` settles, then answers its outcome. Several
   * callers may wait at once: the loop runs while anyone waits. Rejects if
   * no event is left while the promise is still pending (a stall), or past
   * the event budget (a livelock).
   */
  runUntil<T>(promise: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const watcher: Watcher = { reject };
      this.watchers.add(watcher);
      promise.then(
        (value) => {
          this.watchers.delete(watcher);
          resolve(value);
        },
        (error: unknown) => {
          this.watchers.delete(watcher);
          reject(error);
        },
      );
      if (!this.looping) void this.loop();
    });
  }

  /**
   * Runs every event due within the next `durationMs` of virtual time, the last instant included; the clock then reads
   * exactly that much later.
   */
  runFor(durationMs: number): Promise<void> {
    const end = new Promise<void>((resolve) => this.push(durationMs * 1000, LATE_SEQUENCE + this.sequence++, resolve));
    return this.runUntil(end);
  }

  private async loop(): Promise<void> {
    this.looping = true;
    try {
      for (;;) {
        await settleMicrotasks();
        if (this.externals.size > 0) {
          await Promise.allSettled([...this.externals]);
          continue;
        }
        if (this.watchers.size === 0) return;
        const event = this.nextEvent();
        if (event === null) {
          this.failWatchers(
            new Error(
              `simulation stalled at ${this.nowMs} ms: nothing left to run while ${this.watchers.size} waiter(s) wait`,
            ),
          );
          return;
        }
        if (this.eventCount >= this.eventsMax) {
          this.failWatchers(new Error(`simulation ran ${this.eventsMax} events without finishing (livelock?)`));
          return;
        }
        this.nowUs = event.timeUs;
        this.eventCount++;
        event.run();
      }
    } catch (error) {
      this.failWatchers(error);
    } finally {
      this.looping = false;
    }
  }

  private nextEvent(): SimEvent | null {
    for (let event = this.queue.pop(); event !== undefined; event = this.queue.pop()) {
      if (!event.cancelled) return event;
    }
    return null;
  }

  private failWatchers(error: unknown): void {
    const waiting = [...this.watchers];
    this.watchers.clear();
    for (const watcher of waiting) watcher.reject(error);
  }
}
