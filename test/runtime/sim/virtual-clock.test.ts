// Proves the scheduler and virtual clock: timers fire in virtual-time order (ties in scheduling order), cancelled
// timers never fire, promise continuations settle at their event's virtual time, a stalled run is reported, and a
// killed owner's timers are silent.
import { describe, expect, it } from 'vitest';
import { Gate } from '../../../runtime/sim/gate.js';
import { Scheduler } from '../../../runtime/sim/scheduler.js';
import { VirtualClock } from '../../../runtime/sim/virtual-clock.js';

describe('VirtualClock', () => {
  it('fires timers in virtual-time order, ties in the order they were set, and skips cancelled ones', async () => {
    const scheduler = new Scheduler();
    const clock = new VirtualClock(scheduler);
    const fired: string[] = [];
    clock.setTimer(30, () => fired.push(`c@${clock.now()}`));
    clock.setTimer(10, () => fired.push(`a@${clock.now()}`));
    clock.setTimer(10, () => fired.push(`b@${clock.now()}`));
    const cancelled = clock.setTimer(20, () => fired.push('never'));
    cancelled.cancel();
    await scheduler.runFor(100);
    expect(fired).toEqual(['a@10', 'b@10', 'c@30']);
    expect(clock.now()).toBe(100);
  });

  it('settles promise chains at the virtual time of the event that resolved them', async () => {
    const scheduler = new Scheduler();
    const clock = new VirtualClock(scheduler);
    const sleep = (ms: number): Promise<void> => new Promise((resolve) => clock.setTimer(ms, resolve));
    const seen: number[] = [];
    const work = (async () => {
      for (let step = 0; step < 3; step++) {
        await sleep(1_000);
        await Promise.resolve();
        seen.push(clock.now());
      }
      return 'done';
    })();
    expect(await scheduler.runUntil(work)).toBe('done');
    expect(seen).toEqual([1_000, 2_000, 3_000]);
  });

  it('runs an hour of timers in far less than an hour', async () => {
    const scheduler = new Scheduler();
    const clock = new VirtualClock(scheduler);
    let ticks = 0;
    const tick = (): void => {
      ticks++;
      if (ticks < 3_600) clock.setTimer(1_000, tick);
    };
    clock.setTimer(1_000, tick);
    const started = performance.now();
    await scheduler.runFor(3_600_000);
    expect(ticks).toBe(3_600);
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('reports a stall instead of hanging', async () => {
    const scheduler = new Scheduler();
    await expect(scheduler.runUntil(new Promise(() => undefined))).rejects.toThrow(/stalled/);
  });

  it('never fires the timers of a closed gate, and traces the others', async () => {
    const scheduler = new Scheduler();
    const gate = new Gate();
    const clock = new VirtualClock(scheduler, { name: 'actor/a', gate });
    const fired: number[] = [];
    clock.setTimer(5, () => fired.push(5));
    clock.setTimer(10, () => fired.push(10));
    scheduler.at(7_000, () => gate.close());
    await scheduler.runFor(20);
    expect(fired).toEqual([5]);
    expect(scheduler.trace.text()).toBe('       5.000 timer actor/a 5ms\n');
  });
});
