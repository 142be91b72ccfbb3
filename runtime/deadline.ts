/**
 * Deadlines that travel: an actor answering an ask passes the time it has
 * left to the asks it makes in turn, so a whole request finishes (or fails
 * with TIMEOUT) within the caller's deadline.
 */
import type { Clock } from './clock.js';

/** Milliseconds left until `deadline` on `clock`, minus `marginMs`, never less than 1. */
export function remainingMs(deadline: number, clock: Clock, marginMs = 0): number {
  return Math.max(1, Math.floor(deadline - clock.now() - marginMs));
}
