/**
 * Restart intensity, as in Erlang/OTP: a supervisor allows at most
 * `maxRestarts` restarts within any window of `withinMs`; one more and it
 * gives up and escalates instead of looping forever.
 */

/** Counts restarts in a sliding time window. */
export class RestartIntensity {
  private readonly restartTimes: number[] = [];

  constructor(
    private readonly maxRestarts: number,
    private readonly withinMs: number,
  ) {}

  /** Records a restart at `nowMs` and returns true, or returns false when it would exceed the limit. */
  allow(nowMs: number): boolean {
    while (this.restartTimes.length > 0 && (this.restartTimes[0] as number) <= nowMs - this.withinMs)
      this.restartTimes.shift();
    if (this.restartTimes.length >= this.maxRestarts) return false;
    this.restartTimes.push(nowMs);
    return true;
  }
}
