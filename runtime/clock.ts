/**
 * Time for actors. Actors never call `Date.now()` or `setTimeout` directly:
 * they use `ctx.clock`, which is the system clock in worker threads and a
 * virtual clock under the simulator.
 */

/** A cancellable timer. */
export interface Timer {
  cancel(): void;
}

/** Time and timers, in milliseconds. */
export interface Clock {
  /** Milliseconds since an arbitrary, fixed origin; never goes backwards. */
  now(): number;
  /** Runs `callback` once after `delayMs`. */
  setTimer(delayMs: number, callback: () => void): Timer;
}

/** The real clock: a monotonic `performance.now()` and Node timers that do not keep the process alive. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimer(delayMs, callback) {
    const handle = setTimeout(callback, Math.max(0, delayMs));
    handle.unref();
    return { cancel: () => clearTimeout(handle) };
  },
};
