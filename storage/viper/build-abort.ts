/**
 * Cooperative abort of a segment build. Terminating a thread while it is
 * inside a native hnswlib call can abort the whole process, so a build is
 * never killed: it is asked to stop. The flag is one Int32Array cell on a
 * SharedArrayBuffer (0: run, 1: abort) that travels with the build task; the
 * builder checks it between its steps and after every HNSW point, and gives
 * up with `buildAbortedError`. Setting it also wakes a build that is pausing
 * on it (`pauseUnlessAborted`, the tests' slow-build hook).
 */
import { ShoalError } from '../../runtime/errors.js';

/** One shared Int32Array cell: 0 while the build may run, 1 once it must stop. */
export type BuildAbortFlag = Int32Array;

const RUN = 0;
const ABORT = 1;
/** Waited on when a pause has no flag: never set, so the wait always runs its full time. */
const NEVER_SET: BuildAbortFlag = createBuildAbortFlag();

/** A new flag, not set, shareable with a build thread. */
export function createBuildAbortFlag(): BuildAbortFlag {
  return new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
}

/** Sets the flag and wakes a build pausing on it. Idempotent. */
export function abortBuild(flag: BuildAbortFlag): void {
  Atomics.store(flag, 0, ABORT);
  Atomics.notify(flag, 0);
}

/** True once the flag is set. */
export function isBuildAborted(flag: BuildAbortFlag | undefined): boolean {
  return flag !== undefined && Atomics.load(flag, 0) !== RUN;
}

/** The error an aborted build rejects with: CLOSED, with `details.aborted` true. */
export function buildAbortedError(name: string): ShoalError {
  return new ShoalError('CLOSED', `segment build ${name} aborted`, { aborted: true, segment: name });
}

/** True when `error` is the error of an aborted build (also after it crossed threads as data). */
export function isBuildAbortedError(error: unknown): boolean {
  return error instanceof ShoalError && error.code === 'CLOSED' && error.details?.['aborted'] === true;
}

/** Throws `buildAbortedError(name)` once the flag is set. */
export function throwIfBuildAborted(flag: BuildAbortFlag | undefined, name: string): void {
  if (isBuildAborted(flag)) throw buildAbortedError(name);
}

/**
 * Blocks the thread for `pauseMs` or until the flag is set, whichever comes
 * first (Atomics.wait). Tests only: it makes a build slow without making an
 * abort slow.
 */
export function pauseUnlessAborted(flag: BuildAbortFlag | undefined, pauseMs: number): void {
  if (pauseMs <= 0) return;
  Atomics.wait(flag ?? NEVER_SET, 0, RUN, pauseMs);
}
