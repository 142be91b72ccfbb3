/**
 * Typed errors. Every failure that reaches a caller is a `ShoalError` with a
 * stable `code`; errors cross thread boundaries as plain data (`ErrorData`)
 * and are rebuilt on the other side.
 */

/** The stable error codes. Callers may switch on these; they never change meaning. */
export const ERROR_CODES = [
  'INVALID_ARGUMENT',
  'DIMENSION_MISMATCH',
  'COLLECTION_NOT_FOUND',
  'COLLECTION_EXISTS',
  'TIMEOUT',
  'UNAVAILABLE',
  'STORAGE_FAILED',
  'CORRUPTION',
  'CLOSED',
  'INTERNAL',
  'LOCKED',
  'ABORTED',
] as const;

/** One of the stable error codes. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** An error as plain data, safe to post between threads. */
export interface ErrorData {
  readonly code: ErrorCode;
  readonly message: string;
  readonly details?: Record<string, unknown>;
}

/** The one error type Shoal throws or rejects with. */
export class ShoalError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'ShoalError';
    this.code = code;
    this.details = details;
  }

  /** The error as plain data for posting across threads. */
  toData(): ErrorData {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }

  /** Rebuilds a ShoalError from data received from another thread. */
  static fromData(data: ErrorData): ShoalError {
    return new ShoalError(data.code, data.message, data.details);
  }
}

/** True when `value` is one of the stable error codes. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}

/** Converts anything thrown into plain error data; unknown errors become INTERNAL. */
export function toErrorData(error: unknown): ErrorData {
  if (error instanceof ShoalError) return error.toData();
  if (isErrorData(error)) return error;
  if (error instanceof Error) {
    return { code: 'INTERNAL', message: error.message, details: { name: error.name, stack: error.stack } };
  }
  return { code: 'INTERNAL', message: String(error) };
}

/** Converts anything thrown into a ShoalError, keeping a ShoalError as it is. */
export function toShoalError(error: unknown): ShoalError {
  if (error instanceof ShoalError) return error;
  return ShoalError.fromData(toErrorData(error));
}

/** True when `value` looks like `ErrorData` (as received from another thread). */
export function isErrorData(value: unknown): value is ErrorData {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as { code?: unknown; message?: unknown };
  return isErrorCode(record.code) && typeof record.message === 'string';
}

/** Shorthand for an INVALID_ARGUMENT error that names the offending field. */
export function invalidArgument(field: string, problem: string, details?: Record<string, unknown>): ShoalError {
  return new ShoalError('INVALID_ARGUMENT', `${field}: ${problem}`, { field, ...details });
}
