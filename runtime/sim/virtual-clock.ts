/**
 * Virtual time for actors under the simulator: `now()` reads the
 * scheduler's clock and every timer is an event in its queue, so a 30 s
 * timeout costs nothing but one event. A clock made for an actor carries
 * the actor's gate (a killed actor's timers never fire) and its name (each
 * firing is one trace line).
 */
import type { Clock, Timer } from '../clock.js';
import type { Gate } from './gate.js';
import type { Scheduler } from './scheduler.js';

/** Who owns the timers of a clock, for the trace and for killing. */
export interface VirtualClockOwner {
  /** Named in the trace line of each firing. */
  readonly name: string;
  /** Timers fire only while it is open. */
  readonly gate?: Gate;
  /** Called when a timer callback throws (an uncaught exception in that actor's thread). */
  readonly uncaught?: (error: unknown) => void;
}

/** A Clock whose time is virtual and whose timers are scheduler events. */
export class VirtualClock implements Clock {
  constructor(
    private readonly scheduler: Scheduler,
    private readonly owner: VirtualClockOwner | null = null,
  ) {}

  /** Virtual milliseconds since the simulation started. */
  now(): number {
    return this.scheduler.nowMs;
  }

  /** Runs `callback` once, `delayMs` of virtual time from now (negative or NaN: now, after events already due). */
  setTimer(delayMs: number, callback: () => void): Timer {
    const owner = this.owner;
    return this.scheduler.at(delayMs * 1000, () => {
      if (owner === null) return callback();
      if (owner.gate !== undefined && !owner.gate.open) return;
      this.scheduler.record(`timer ${owner.name} ${delayMs}ms`);
      if (owner.uncaught === undefined) return callback();
      try {
        callback();
      } catch (error) {
        owner.uncaught(error);
      }
    });
  }
}
