// Proves the simulator runs a Shoal workload dominated by timers (periodic WAL syncs, client think times, ask
// deadlines) in virtual time: timers fire at their virtual instants, so far more virtual time passes than events would
// take to run; it prints the speed ratio against wall-clock and CPU time (a figure, not an assertion: timings on a
// shared machine are not test material).
import { expect, it } from 'vitest';
import { SimSystem } from '../../runtime/sim/sim-system.js';
import { SimShoal, simSpecTransform } from '../chaos/sim-shoal.js';

const DIMENSION = 8;

/** Four clients upserting with 20 to 220 ms of think time, on a collection synced every 50 ms. */
async function workload(
  seed: number,
  steps: number,
): Promise<{ virtualMs: number; realMs: number; cpuMs: number; events: number }> {
  const sim = new SimSystem({ seed, fs: { directories: ['/data'] }, specTransform: simSpecTransform });
  const shoal = await SimShoal.start(sim, { dataDir: '/data' });
  await shoal.createCollection({
    name: 'periodic',
    dimension: DIMENSION,
    metric: 'l2',
    shards: 2,
    syncMode: 'periodic',
    syncIntervalMs: 50,
  });
  const realStart = performance.now();
  const cpuStart = process.cpuUsage();
  const virtualStart = sim.now();
  const eventsStart = sim.scheduler.eventsRun;
  await Promise.all(
    Array.from({ length: 4 }, async (_, client) => {
      for (let step = 0; step < steps; step++) {
        const vector = Float32Array.from({ length: DIMENSION }, (_, index) => Math.sin(client * 100 + step + index));
        await shoal.upsert('periodic', [{ id: `c${client}-${step % 10}`, vector }]);
        await sim.sleep(20 + sim.random.int(200));
      }
    }),
  );
  expect(sim.trace()).toMatch(/timer wal\/periodic-[0-9a-f]+\/\d 50ms/);
  const cpu = process.cpuUsage(cpuStart);
  return {
    virtualMs: sim.now() - virtualStart,
    realMs: performance.now() - realStart,
    cpuMs: (cpu.user + cpu.system) / 1000,
    events: sim.scheduler.eventsRun - eventsStart,
  };
}

it('runs a timer-heavy workload in virtual time, and prints how much faster than real time', async () => {
  await workload(1, 60);
  const { virtualMs, realMs, cpuMs, events } = await workload(2, 150);
  const wallRatio = virtualMs / realMs;
  const cpuRatio = virtualMs / cpuMs;
  console.log(
    `sim speed: ${(virtualMs / 1000).toFixed(1)} s virtual in ${(realMs / 1000).toFixed(2)} s wall-clock = ${wallRatio.toFixed(1)}x real time; ` +
      `${(cpuMs / 1000).toFixed(2)} s of CPU = ${cpuRatio.toFixed(1)}x (${events} events, ${((cpuMs * 1000) / events).toFixed(1)} us of CPU per event)`,
  );
  // Four clients each sleeping 150 times for 20 to 220 ms spend at least 3 s of virtual time; nothing waited for it in
  // real time.
  expect(virtualMs).toBeGreaterThan(150 * 20);
  expect(events).toBeGreaterThan(150 * 4);
});
