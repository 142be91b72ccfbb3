/**
 * Invariant checks. A failed assertion is a bug, never bad input: it throws an
 * `AssertionFailure`, which the actor cell treats as a crash (the ask that hit
 * it is answered `INTERNAL`, the actor's supervisor restarts it). Bad input is
 * answered with a `ShoalError` of its own code instead.
 */

/** The error a failed invariant throws; never a `ShoalError`, so it cannot be answered as one. */
export class AssertionFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AssertionFailure';
  }
}

/** Throws an `AssertionFailure` with `message` unless `condition` holds. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionFailure(message);
}

/** Returns `value`, asserting that it is present (neither undefined nor null). */
export function present<T>(value: T | undefined | null, what: string): T {
  if (value === undefined || value === null) throw new AssertionFailure(`${what} is missing`);
  return value;
}

/** Marks a branch the type system proves unreachable; reached only through a bug (or a message from a newer peer). */
export function unreachable(value: never, what: string): never {
  const seen: unknown = value;
  const shown = typeof seen === 'object' && seen !== null && 'type' in seen ? String(seen.type) : String(seen);
  throw new AssertionFailure(`unreachable ${what}: ${shown}`);
}
