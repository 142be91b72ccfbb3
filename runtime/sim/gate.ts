/**
 * Liveness gates. Every actor incarnation (and every node epoch of the
 * simulated system) owns a gate; everything asynchronous that the simulator
 * hands to that code (timer callbacks, I/O completions, ask answers, turns)
 * passes through it. Closing the gate is how the simulator "terminates a
 * thread": nothing of the dead code ever runs again, exactly as after
 * `worker.terminate()`, and no `if (simulated)` is needed in actors.
 */

/** Whether the code behind it may still run. Closed for good once closed. */
export class Gate {
  private isOpen = true;

  /** True until `close`. */
  get open(): boolean {
    return this.isOpen;
  }

  /** Closes the gate for good. */
  close(): void {
    this.isOpen = false;
  }

  /** A callback that runs only while the gate is open. */
  guard<A extends unknown[]>(callback: (...args: A) => void): (...args: A) => void {
    return (...args: A) => {
      if (this.isOpen) callback(...args);
    };
  }

  /** A promise that settles as `promise` does, but only if the gate is still open then; otherwise it never settles. */
  promise<T>(promise: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      promise.then(
        (value) => {
          if (this.isOpen) resolve(value);
        },
        (error: unknown) => {
          if (this.isOpen) reject(error);
        },
      );
    });
  }
}
