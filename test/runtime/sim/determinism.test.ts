// Proves determinism: the same seed gives a byte-identical trace (messages, timers, I/O, faults, restarts) run after
// run, while different seeds deliver the same messages in different orders; a network with drops, duplicates and a
// partition is just as reproducible.
import { describe, expect, it } from 'vitest';
import type { GroupSpec } from '../../../runtime/actor.js';
import type { NetworkOptions } from '../../../runtime/sim/network.js';
import { SimSystem } from '../../../runtime/sim/sim-system.js';

const SIM_ACTORS = new URL('./fixtures/sim-actors.ts', import.meta.url).href;
const PEERS = ['p0', 'p1', 'p2', 'p3'];

function gossipGroup(rounds: number): GroupSpec {
  return {
    name: 'gossip',
    strategy: 'one_for_one',
    maxRestarts: 10,
    withinMs: 60_000,
    children: [
      ...PEERS.map((address) => ({
        address,
        module: SIM_ACTORS,
        factory: 'createGossip',
        args: { peers: PEERS.filter((peer) => peer !== address), rounds, intervalMs: 10 },
      })),
      { address: 'journal', module: SIM_ACTORS, factory: 'createJournal', args: { path: '/data/journal' } },
    ],
  };
}

interface Outcome {
  readonly trace: string;
  readonly digest: string;
  readonly notes: string[];
}

/** A run with messages, timers, file I/O, an injected crash and a node crash. */
async function scenario(seed: number, network: Partial<NetworkOptions> = {}): Promise<Outcome> {
  const sim = new SimSystem({ seed, network, fs: { directories: ['/data'] } });
  await sim.startGroup(gossipGroup(20));
  await Promise.all(PEERS.map((peer) => sim.ask(peer, { type: 'go' }, { timeoutMs: 1_000 })));
  const appends = Array.from({ length: 10 }, (_, index) =>
    sim.ask('journal', { type: 'append', line: `line ${index}` }, { timeoutMs: 5_000 }).catch(() => 'lost'),
  );
  await sim.runFor(50);
  await sim.crashActor('p2');
  await sim.runFor(500);
  const notes = await sim.ask<string[]>('p0', { type: 'notes' }, { timeoutMs: 1_000 });
  await Promise.all(appends);
  sim.crashNode();
  await sim.restartNode();
  await sim.ask('journal', { type: 'lines' }, { timeoutMs: 1_000 });
  return { trace: sim.trace(), digest: sim.traceDigest(), notes };
}

describe('simulator determinism', () => {
  it('gives byte-identical traces for the same seed', async () => {
    const first = await scenario(42);
    const second = await scenario(42);
    expect(first.trace.length).toBeGreaterThan(1_000);
    expect(second.trace).toBe(first.trace);
    expect(second.digest).toBe(first.digest);
    expect(first.trace).toMatch(/crash-injected p2/);
    expect(first.trace).toMatch(/restart gossip after p2: p2/);
    expect(first.trace).toMatch(/io journal datasync/);
    expect(first.trace).toMatch(/timer p1 1\dms/);
  });

  it('delivers in different orders for different seeds', async () => {
    const orders = new Set<string>();
    const digests = new Set<string>();
    for (const seed of [1, 2, 3]) {
      const outcome = await scenario(seed);
      orders.add(outcome.notes.join(','));
      digests.add(outcome.digest);
    }
    expect(digests.size).toBe(3);
    expect(orders.size).toBeGreaterThan(1);
  });

  it('reproduces drops, duplicates, reordering and partitions from the seed', async () => {
    const faulty: Partial<NetworkOptions> = { dropProbability: 0.1, duplicateProbability: 0.1, reorder: true };
    const first = await scenario(7, faulty);
    const second = await scenario(7, faulty);
    expect(second.trace).toBe(first.trace);
    expect(first.trace).toMatch(/fault drop p\d->p\d note/);
    expect(first.trace).toMatch(/fault duplicate p\d->p\d note/);
    const sim = new SimSystem({ seed: 8, fs: { directories: ['/data'] } });
    await sim.startGroup(gossipGroup(3));
    sim.network.partition(['p0'], ['p1', 'p2']);
    await sim.ask('p1', { type: 'go' }, { timeoutMs: 1_000 });
    await sim.runFor(100);
    expect(await sim.ask('p0', { type: 'notes' }, { timeoutMs: 1_000 })).toEqual([]);
    expect(await sim.ask<string[]>('p3', { type: 'notes' }, { timeoutMs: 1_000 })).toEqual(['p1:1', 'p1:2', 'p1:3']);
    expect(sim.trace()).toMatch(/fault partition p1->p0 note/);
  });
});
