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

/** The deadline of a request whose caller set none: the client's default request timeout and an actor's own work. */
export const DEFAULT_DEADLINE_MS = 30_000;

/** `deadline` when the caller set one, else `DEFAULT_DEADLINE_MS` from now on `clock`. */
export function deadlineOr(deadline: number | undefined, clock: Clock): number {
  return deadline ?? clock.now() + DEFAULT_DEADLINE_MS;
}
