/**
 * Checks of option values, shared by every layer that takes options (the
 * WAL, the build pool, the public validation): each rejects with
 * INVALID_ARGUMENT naming the option and the allowed range.
 */
import { invalidArgument } from './errors.js';

/** `value` if it is an integer from `min` to `max` (inclusive); INVALID_ARGUMENT naming `field` otherwise. */
export function integerIn(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidArgument(field, `must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

/** `fallback` when `value` is absent, else `value` if it is a boolean; INVALID_ARGUMENT naming `field` otherwise. */
export function booleanOr(value: unknown, field: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalidArgument(field, `must be true or false, got ${String(value)}`);
  return value;
}
