/**
 * What a worker thread knows of its own end: one shared Int32Array cell that
 * the actor system sets (to 1) just before it terminates the thread. A thread
 * that is terminated takes the threads it started with it, and Node aborts
 * the whole process when such a nested thread is cut inside a native addon
 * call that then tries to throw (hnswlib-node's `addPoint`, for one). Work
 * that runs in nested threads (segment builds) watches this flag next to its
 * own abort flag and stops on its own, before the system terminates.
 */

let dying: Int32Array | undefined;

/** Set once by the worker's main module at start. */
export function setThreadDyingFlag(flag: Int32Array): void {
  dying = flag;
}

/** This thread's flag; undefined on the main thread and under the simulator (nothing terminates those). */
export function threadDyingFlag(): Int32Array | undefined {
  return dying;
}
