// Proves the actor runtime with real worker threads: actors run in their own threads, asks cross threads with
// transferred buffers and deadlines, errors arrive typed, and supervision restarts crashed actors and escalates past
// the restart intensity; a killed thread's dying flag is set before it is terminated, so the threads it started can
// stop first.
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { GroupSpec } from '../../runtime/actor.js';
import { ShoalError } from '../../runtime/errors.js';
import { ActorSystem } from '../../runtime/system.js';

const MODULE = new URL('./fixtures/test-actors.ts', import.meta.url).href;

function group(name: string, addresses: string[], overrides: Partial<GroupSpec> = {}): GroupSpec {
  return {
    name,
    strategy: 'one_for_one',
    maxRestarts: 3,
    withinMs: 10_000,
    children: addresses.map((address) => ({ address, module: MODULE, factory: 'createEcho', args: {} })),
    ...overrides,
  };
}

async function eventually<T>(probe: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await probe();
    } catch (error) {
      if (Date.now() > until) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

describe('ActorSystem', () => {
  let system: ActorSystem | undefined;
  afterEach(async () => {
    await system?.shutdown();
    system = undefined;
  });

  it('runs each actor in its own worker thread and relays asks between workers', async () => {
    system = new ActorSystem({ maxWorkers: 4 });
    await system.startGroup(group('g', ['a', 'b', 'c']));
    const answers = await Promise.all(
      ['a', 'b', 'c'].map((address) =>
        system!.ask<{ threadId: number }>(address, { type: 'ping' }, { timeoutMs: 5_000 }),
      ),
    );
    const threads = new Set(answers.map((answer) => answer.threadId));
    expect(threads.size).toBe(3);
    expect(threads.has(0)).toBe(false);
    const relayed = await system.ask<{ from: string }>('a', { type: 'relay', peer: 'c' } as never, {
      timeoutMs: 5_000,
    });
    expect(relayed.from).toBe('c');
  });

  it('shares workers beyond maxWorkers', async () => {
    system = new ActorSystem({ maxWorkers: 2 });
    await system.startGroup(group('g', ['a', 'b', 'c', 'd', 'e']));
    const answers = await Promise.all(
      ['a', 'b', 'c', 'd', 'e'].map((address) =>
        system!.ask<{ threadId: number }>(address, { type: 'ping' }, { timeoutMs: 5_000 }),
      ),
    );
    expect(new Set(answers.map((answer) => answer.threadId)).size).toBe(2);
    expect(system.describe().workers).toBe(2);
  });

  it('transfers vector buffers instead of copying them', async () => {
    system = new ActorSystem({ maxWorkers: 2 });
    await system.startGroup(group('g', ['a']));
    const vector = new Float32Array([1, 2, 3.5]);
    const answer = system.ask<{ sum: number; vector: Float32Array }>('a', { type: 'sum', vector } as never, {
      timeoutMs: 5_000,
      transfer: [vector.buffer],
    });
    expect(vector.byteLength).toBe(0);
    const { sum, vector: returned } = await answer;
    expect(sum).toBe(6.5);
    expect([...returned]).toEqual([1, 2, 3.5]);
  });

  it('rejects a slow ask with TIMEOUT and an unknown address with UNAVAILABLE', async () => {
    system = new ActorSystem({ maxWorkers: 2 });
    await system.startGroup(group('g', ['a']));
    const slow = system.ask('a', { type: 'sleep', delayMs: 2_000 } as never, { timeoutMs: 100 });
    await expect(slow).rejects.toMatchObject({ code: 'TIMEOUT' });
    await expect(system.ask('nobody', { type: 'ping' }, { timeoutMs: 1_000 })).rejects.toMatchObject({
      code: 'UNAVAILABLE',
    });
  });

  it('answers a ShoalError thrown in receive as a typed error without crashing the actor', async () => {
    system = new ActorSystem({ maxWorkers: 2 });
    await system.startGroup(group('g', ['a']));
    const error = await system
      .ask('a', { type: 'fail' } as never, { timeoutMs: 5_000 })
      .catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(ShoalError);
    expect((error as ShoalError).code).toBe('INVALID_ARGUMENT');
    expect(await system.ask('a', { type: 'count' } as never, { timeoutMs: 5_000 })).toBe(2);
    expect(system.describe().actors[0]?.restarts).toBe(0);
  });

  it('restarts an actor that throws, and one whose worker thread is killed', async () => {
    system = new ActorSystem({ maxWorkers: 4 });
    await system.startGroup(group('g', ['a', 'b']));
    const before = await system.ask<{ threadId: number }>('a', { type: 'ping' }, { timeoutMs: 5_000 });
    await expect(system.ask('a', { type: 'throw' } as never, { timeoutMs: 5_000 })).rejects.toMatchObject({
      code: 'INTERNAL',
    });
    const after = await eventually(() =>
      system!.ask<{ threadId: number }>('a', { type: 'ping' }, { timeoutMs: 1_000 }),
    );
    expect(after.threadId).toBeGreaterThan(0);
    await system.killWorkerOf('b');
    const revived = await eventually(() => system!.ask<{ from: string }>('b', { type: 'ping' }, { timeoutMs: 1_000 }));
    expect(revived.from).toBe('b');
    const restarts = Object.fromEntries(system.describe().actors.map((actor) => [actor.address, actor.restarts]));
    expect(restarts).toEqual({ a: 1, b: 1 });
    expect(before.threadId).toBeGreaterThan(0);
  });

  it("sets a killed thread's dying flag before terminating it, so its nested threads hear of the kill", async () => {
    system = new ActorSystem({ maxWorkers: 4 });
    const folder = await mkdtemp(join(tmpdir(), 'dying-'));
    try {
      const markerPath = join(folder, 'marker');
      await system.startGroup({
        ...group('g', []),
        children: [{ address: 'watcher', module: MODULE, factory: 'createDyingWatcher', args: { markerPath } }],
      });
      await expect(stat(markerPath)).rejects.toMatchObject({ code: 'ENOENT' });
      await system.killWorkerOf('watcher');
      expect(await readFile(markerPath, 'utf8')).toBe('heard');
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it('restarts later siblings too under rest_for_one', async () => {
    system = new ActorSystem({ maxWorkers: 4 });
    await system.startGroup(group('g', ['wal', 'engine', 'shard'], { strategy: 'rest_for_one' }));
    await system.crashActor('engine');
    await eventually(async () => {
      const restarts = Object.fromEntries(system!.describe().actors.map((actor) => [actor.address, actor.restarts]));
      expect(restarts).toEqual({ wal: 0, engine: 1, shard: 1 });
    });
    await eventually(() => system!.ask('shard', { type: 'ping' }, { timeoutMs: 1_000 }));
  });

  it('escalates to the owner after more than maxRestarts restarts, and the group answers UNAVAILABLE', async () => {
    system = new ActorSystem({ maxWorkers: 4 });
    await system.startGroup(group('owner', ['owner']));
    await system.startGroup(group('g', ['a'], { maxRestarts: 2, owner: 'owner' }));
    for (let i = 0; i < 3; i++) {
      await eventually(() => system!.ask('a', { type: 'ping' }, { timeoutMs: 1_000 }));
      await system.crashActor('a');
    }
    await eventually(async () =>
      expect(system!.describe().groups.find((each) => each.name === 'g')?.failed).toBe(true),
    );
    await expect(system.ask('a', { type: 'ping' }, { timeoutMs: 1_000 })).rejects.toMatchObject({
      code: 'UNAVAILABLE',
    });
  });

  it('refuses to start a group whose child fails to start, with the start error', async () => {
    system = new ActorSystem({ maxWorkers: 2 });
    const failing = group('bad', ['x']);
    const spec = { ...failing, children: [{ ...failing.children[0]!, args: { failStart: true } }] };
    await expect(system.startGroup(spec)).rejects.toMatchObject({ code: 'CORRUPTION' });
    expect(system.describe().groups).toEqual([]);
  });
});
