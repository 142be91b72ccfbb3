/**
 * Keeps the host process alive while work is outstanding, and only then.
 * The actor system's worker threads are unref'd, so an idle Shoal never
 * holds the process open (a script that forgets `close()` still exits); a
 * request in flight must, as pending I/O does. One timer that never fires
 * stands for all outstanding work: ref'd while the count of holds is above
 * zero, unref'd otherwise. Holds taken and released within one turn (one
 * request answered, the next sent) never let the process go, because Node
 * decides to exit only once the turn's microtasks are done.
 */

/** A counted hold on the process: `hold()` returns the release, which may be called more than once. */
export class KeepAlive {
  private holds = 0;
  private handle: NodeJS.Timeout | null = null;

  /** Takes a hold; the process stays alive until every hold is released. */
  hold(): () => void {
    if (this.holds++ === 0) this.timer().ref();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.holds === 0) this.handle?.unref();
    };
  }

  /** How many holds are outstanding. */
  get count(): number {
    return this.holds;
  }

  /** True while the process is held open. */
  get holding(): boolean {
    return this.handle?.hasRef() === true;
  }

  /** Drops the timer (holds taken later make a new one). */
  dispose(): void {
    if (this.handle !== null) clearInterval(this.handle);
    this.handle = null;
  }

  private timer(): NodeJS.Timeout {
    // The longest interval Node accepts; the callback never does anything, the handle is what counts.
    this.handle ??= setInterval(() => undefined, 2 ** 31 - 1);
    return this.handle;
  }
}
