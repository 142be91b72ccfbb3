/**
 * Cancellation of the client's calls by an `AbortSignal`. An aborted call
 * rejects at once with a ShoalError whose code is ABORTED and whose `name` is
 * `AbortError` (so code that checks `error.name === 'AbortError'`, Node's
 * convention, treats it like any other abort) and whose `cause` is the
 * signal's reason. What the call had already posted to the actors runs on:
 * aborting only stops the waiting (and whatever queued work the client can
 * still drop, see the search coalescer), so a write's outcome is then unknown,
 * as after a TIMEOUT. The listener a call adds to its signal is removed when
 * the call settles, so one long-lived signal may serve any number of calls.
 */
import { ShoalError, invalidArgument } from '../../runtime/errors.js';

/** The `signal` option of a call, checked: undefined or an AbortSignal. */
export function signalOf(value: unknown): AbortSignal | undefined {
  if (value === undefined || value instanceof AbortSignal) return value;
  throw invalidArgument('signal', 'must be an AbortSignal');
}

/** The error of a call that `signal` aborted. */
export function abortedError(signal: AbortSignal, what: string): ShoalError {
  const error = new ShoalError('ABORTED', `${what} was aborted`, { type: what });
  error.name = 'AbortError';
  error.cause = signal.reason;
  return error;
}

/** Rejects with `abortedError` when `signal` is already aborted; for checks before any work is posted. */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted === true) throw abortedError(signal, what);
}

/**
 * `work`, or its abort: settles as `work` does unless `signal` aborts first,
 * then rejects at once with `abortedError` (`work` runs on). The listener is
 * removed as soon as either happens.
 */
export function abortable<T>(work: Promise<T>, signal: AbortSignal | undefined, what: string): Promise<T> {
  if (signal === undefined) return work;
  if (signal.aborted) return Promise.reject(abortedError(signal, what));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortedError(signal, what));
    signal.addEventListener('abort', onAbort, { once: true });
    const settle = (): void => signal.removeEventListener('abort', onAbort);
    work.then(
      (value) => {
        settle();
        resolve(value);
      },
      (error: unknown) => {
        settle();
        reject(error);
      },
    );
  });
}

/**
 * Calls `onAbort` when `signal` aborts, until the returned function is
 * called (which removes the listener); for queued work that can be dropped.
 */
export function onAbortOf(signal: AbortSignal | undefined, onAbort: () => void): () => void {
  if (signal === undefined) return () => undefined;
  signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}
