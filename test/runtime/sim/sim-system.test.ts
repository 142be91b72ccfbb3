// Proves that the simulated system gives actors the threaded runtime's contract on one seeded thread: asks across
// actors with transferred buffers, typed errors, UNAVAILABLE and TIMEOUT (in virtual time), supervision (one_for_one,
// rest_for_one, restart intensity, kill-worker), and crash/restart of the whole node from durable state.
import { describe, expect, it } from 'vitest';
import type { GroupSpec, SystemDescription } from '../../../runtime/actor.js';
import { ShoalError } from '../../../runtime/errors.js';
import { SimSystem } from '../../../runtime/sim/sim-system.js';

const ECHO = new URL('../fixtures/test-actors.ts', import.meta.url).href;
const SIM_ACTORS = new URL('./fixtures/sim-actors.ts', import.meta.url).href;

function echoGroup(name: string, addresses: string[], overrides: Partial<GroupSpec> = {}): GroupSpec {
  return {
    name,
    strategy: 'one_for_one',
    maxRestarts: 3,
    withinMs: 10_000,
    children: addresses.map((address) => ({ address, module: ECHO, factory: 'createEcho', args: {} })),
    ...overrides,
  };
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'resolved';
  } catch (error) {
    return error instanceof ShoalError ? error.code : `not a ShoalError: ${String(error)}`;
  }
}

describe('SimSystem', () => {
  it('runs each actor on its own virtual thread and relays asks between actors', async () => {
    const sim = new SimSystem({ seed: 1 });
    await sim.startGroup(echoGroup('g', ['a', 'b', 'c']));
    const answers = await Promise.all(
      ['a', 'b', 'c'].map((address) =>
        sim.ask<{ from: string; threadId: number }>(address, { type: 'ping' }, { timeoutMs: 1_000 }),
      ),
    );
    expect(answers.map((answer) => answer.from)).toEqual(['a', 'b', 'c']);
    expect(new Set(answers.map((answer) => answer.threadId)).size).toBe(3);
    const relayed = await sim.ask<{ from: string }>('a', { type: 'relay', peer: 'c' }, { timeoutMs: 1_000 });
    expect(relayed.from).toBe('c');
    expect(sim.describe().workers).toBe(3);
  });

  it('copies messages and transfers buffers, as between threads', async () => {
    const sim = new SimSystem({ seed: 2 });
    await sim.startGroup(echoGroup('g', ['a']));
    const vector = new Float32Array([1, 2, 3]);
    const answer = await sim.ask<{ sum: number; vector: Float32Array }>(
      'a',
      { type: 'sum', vector },
      { timeoutMs: 1_000, transfer: [vector.buffer] },
    );
    expect(answer.sum).toBe(6);
    expect(vector.byteLength).toBe(0);
    expect(Array.from(answer.vector)).toEqual([1, 2, 3]);
  });

  it('answers typed errors, UNAVAILABLE for unknown actors and TIMEOUT in virtual time', async () => {
    const sim = new SimSystem({ seed: 3 });
    await sim.startGroup(echoGroup('g', ['a']));
    expect(await codeOf(sim.ask('a', { type: 'fail' }, { timeoutMs: 1_000 }))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(sim.ask('nobody', { type: 'ping' }, { timeoutMs: 1_000 }))).toBe('UNAVAILABLE');
    const before = sim.now();
    const started = performance.now();
    expect(await codeOf(sim.ask('a', { type: 'sleep', delayMs: 60_000 }, { timeoutMs: 30_000 }))).toBe('TIMEOUT');
    expect(sim.now() - before).toBeCloseTo(30_000, 0);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(await sim.ask('a', { type: 'sleep', delayMs: 5_000 }, { timeoutMs: 30_000 })).toBe('slept');
  });

  it('restarts a crashed actor one_for_one with fresh state, and escalates past the restart intensity', async () => {
    const sim = new SimSystem({ seed: 4 });
    await sim.startGroup(echoGroup('g', ['a', 'b'], { maxRestarts: 2, withinMs: 60_000 }));
    await sim.ask('a', { type: 'count' }, { timeoutMs: 1_000 });
    expect(await sim.ask('b', { type: 'count' }, { timeoutMs: 1_000 })).toBe(1);
    expect(await codeOf(sim.ask('a', { type: 'throw' }, { timeoutMs: 1_000 }))).toBe('INTERNAL');
    expect(await sim.ask('a', { type: 'count' }, { timeoutMs: 5_000 })).toBe(1);
    expect(await sim.ask('b', { type: 'count' }, { timeoutMs: 1_000 })).toBe(2);
    await codeOf(sim.ask('a', { type: 'throw' }, { timeoutMs: 1_000 }));
    expect(await sim.ask('a', { type: 'count' }, { timeoutMs: 5_000 })).toBe(1);
    await codeOf(sim.ask('a', { type: 'throw' }, { timeoutMs: 1_000 }));
    await sim.runFor(1_000);
    const described: SystemDescription = sim.describe();
    expect(described.groups).toEqual([{ name: 'g', restarts: 2, failed: true }]);
    expect(await codeOf(sim.ask('a', { type: 'ping' }, { timeoutMs: 1_000 }))).toBe('UNAVAILABLE');
  });

  it('crashes and restarts an actor on a failed assertion or a thrown INTERNAL; other errors only answer the ask', async () => {
    const sim = new SimSystem({ seed: 5 });
    await sim.startGroup(echoGroup('g', ['a'], { maxRestarts: 5, withinMs: 60_000 }));
    await sim.ask('a', { type: 'count' }, { timeoutMs: 1_000 });
    expect(await codeOf(sim.ask('a', { type: 'fail' }, { timeoutMs: 1_000 }))).toBe('INVALID_ARGUMENT');
    expect(await sim.ask('a', { type: 'count' }, { timeoutMs: 1_000 })).toBe(3);
    expect(await codeOf(sim.ask('a', { type: 'assert' }, { timeoutMs: 1_000 }))).toBe('INTERNAL');
    expect(await sim.ask('a', { type: 'count' }, { timeoutMs: 5_000 })).toBe(1);
    expect(await codeOf(sim.ask('a', { type: 'internal' }, { timeoutMs: 1_000 }))).toBe('INTERNAL');
    expect(await sim.ask('a', { type: 'count' }, { timeoutMs: 5_000 })).toBe(1);
    expect(sim.describe().groups).toEqual([{ name: 'g', restarts: 2, failed: false }]);
  });

  it('restarts rest_for_one: the crashed child and those after it, not those before', async () => {
    const sim = new SimSystem({ seed: 5 });
    await sim.startGroup(echoGroup('g', ['first', 'middle', 'last'], { strategy: 'rest_for_one' }));
    for (const address of ['first', 'middle', 'last']) await sim.ask(address, { type: 'count' }, { timeoutMs: 1_000 });
    await sim.killActor('middle');
    const counts = [];
    for (const address of ['first', 'middle', 'last'])
      counts.push(await sim.ask(address, { type: 'count' }, { timeoutMs: 5_000 }));
    expect(counts).toEqual([2, 1, 1]);
    expect(sim.trace()).toMatch(/restart g after middle: middle last/);
  });

  it('rest_for_one: a child that cannot start because an earlier one crashed meanwhile restarts from that earlier one', async () => {
    const sim = new SimSystem({ seed: 5 });
    await sim.startGroup({
      name: 'g',
      strategy: 'rest_for_one',
      maxRestarts: 3,
      withinMs: 10_000,
      children: [
        { address: 'provider', module: ECHO, factory: 'createEcho', args: {} },
        { address: 'dependent', module: SIM_ACTORS, factory: 'createDependent', args: { on: 'provider', delayMs: 50 } },
      ],
    });
    await sim.killActor('dependent');
    // The provider dies while the dependent's restart is starting: that start fails, and the provider's own
    // crash report waits behind the running restart. Retrying the dependent alone would fail until the group gave up.
    await sim.sleep(10);
    await sim.killActor('provider');
    await sim.sleep(1_000);
    // Two restarts: the dependent's, then one from the provider (not a retry loop until the group gives up).
    expect(sim.describe().groups).toEqual([{ name: 'g', restarts: 2, failed: false }]);
    expect(await sim.ask('dependent', { type: 'ping' }, { timeoutMs: 1_000 })).toEqual({ from: 'dependent' });
    expect(await sim.ask<{ from: string }>('provider', { type: 'ping' }, { timeoutMs: 1_000 })).toMatchObject({
      from: 'provider',
    });
    expect(sim.trace()).toMatch(/restart g after provider: provider dependent/);
  });

  it('shuts down in order: every actor runs its stop, then nothing answers', async () => {
    const sim = new SimSystem({ seed: 7, fs: { directories: ['/data'] } });
    await sim.startGroup(echoGroup('g', ['a', 'b']));
    await sim.startGroup({
      name: 'j',
      strategy: 'one_for_one',
      maxRestarts: 1,
      withinMs: 1_000,
      children: [{ address: 'journal', module: SIM_ACTORS, factory: 'createJournal', args: { path: '/data/journal' } }],
    });
    await sim.shutdown();
    expect(sim.describe()).toEqual({ workers: 0, actors: [], groups: [] });
    expect(sim.trace()).toMatch(/io journal close \/data\/journal ok\n.*stopped journal/);
    expect(await codeOf(sim.ask('a', { type: 'ping' }, { timeoutMs: 1_000 }))).toBe('UNAVAILABLE');
    await expect(sim.startGroup(echoGroup('late', ['x']))).rejects.toThrow(/shut down/);
  });

  it('crashes the whole node and restarts it from durable state', async () => {
    const sim = new SimSystem({ seed: 6, fs: { directories: ['/data'] } });
    const journal: GroupSpec = {
      name: 'j',
      strategy: 'one_for_one',
      maxRestarts: 3,
      withinMs: 10_000,
      children: [{ address: 'journal', module: SIM_ACTORS, factory: 'createJournal', args: { path: '/data/journal' } }],
    };
    await sim.startGroup(journal);
    for (const line of ['one', 'two', 'three'])
      await sim.ask('journal', { type: 'append', line }, { timeoutMs: 1_000 });
    const unacknowledged = sim.ask('journal', { type: 'append', line: 'four' }, { timeoutMs: 1_000 });
    sim.crashNode({ keepProbability: 0 });
    expect(await codeOf(unacknowledged)).toBe('UNAVAILABLE');
    expect(await codeOf(sim.ask('journal', { type: 'lines' }, { timeoutMs: 1_000 }))).toBe('UNAVAILABLE');
    await sim.restartNode();
    expect(await sim.ask('journal', { type: 'lines' }, { timeoutMs: 1_000 })).toEqual(['one', 'two', 'three']);
    expect(sim.trace()).toMatch(/crash-node\n.*fs-crash/);
  });
});
