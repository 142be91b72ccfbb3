// Proves cancellation by AbortSignal through real threads: every public method given an aborted signal rejects
// with ABORTED (name AbortError, cause the signal's reason) before posting anything (nothing is created or
// written); a write or search aborted right after the call rejects at once; the abort listeners are removed as
// calls settle (many calls on one long-lived signal leave none); a bad signal is INVALID_ARGUMENT; and the
// database answers normally after aborts; an open aborted before it starts touches nothing, one aborted while it
// boots rejects at once and lets go of the directory soon after. The pure helpers are checked on their own first.
import { getEventListeners, setMaxListeners } from 'node:events';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Shoal, ShoalError } from '../../index.js';
import type { RequestOptions } from '../../index.js';
import { abortable, abortedError, signalOf } from '../../actors/client/abort.js';
import { temporaryDirectory } from '../fixtures/vectors.js';

const DIMENSION = 8;

async function rejection(promise: Promise<unknown>): Promise<ShoalError> {
  const outcome = await promise.then(
    () => null,
    (error: unknown) => error,
  );
  expect(outcome).toBeInstanceOf(ShoalError);
  return outcome as ShoalError;
}

function expectAborted(error: ShoalError, reason: unknown): void {
  expect(error.code).toBe('ABORTED');
  expect(error.name).toBe('AbortError');
  expect(error.cause).toBe(reason);
}

function vector(seed: number): number[] {
  return Array.from({ length: DIMENSION }, (_, index) => Math.sin(seed * 7 + index));
}

describe('abort helpers', () => {
  it('makes an AbortError ShoalError whose cause is the reason', () => {
    const controller = new AbortController();
    const reason = new Error('stop');
    controller.abort(reason);
    const error = abortedError(controller.signal, 'search');
    expect(error).toBeInstanceOf(ShoalError);
    expectAborted(error, reason);
    expect(error.message).toBe('search was aborted');
  });

  it('checks the signal option', () => {
    expect(signalOf(undefined)).toBeUndefined();
    const signal = new AbortController().signal;
    expect(signalOf(signal)).toBe(signal);
    expect(() => signalOf({ aborted: false })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('settles as the work does and leaves no listener, or rejects at the abort', async () => {
    const controller = new AbortController();
    await expect(abortable(Promise.resolve(1), controller.signal, 'get')).resolves.toBe(1);
    await expect(abortable(Promise.reject(new Error('no')), controller.signal, 'get')).rejects.toThrow('no');
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    const never = new Promise<number>(() => undefined);
    const pending = abortable(never, controller.signal, 'get');
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    controller.abort('why');
    expectAborted(await rejection(pending), 'why');
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });
});

describe('aborting Shoal calls', () => {
  let db: Shoal;
  let remove: () => Promise<void>;
  beforeAll(async () => {
    const directory = await temporaryDirectory('abort');
    remove = directory.remove;
    db = await Shoal.open({ dataDir: directory.path, maxWorkers: 4, metadataReplicas: 1 });
    await db.createCollection({ name: 'c', dimension: DIMENSION, metric: 'l2', shards: 2 });
    await db.upsert(
      'c',
      Array.from({ length: 500 }, (_, index) => ({ id: `r${index}`, vector: vector(index) })),
    );
  });
  afterAll(async () => {
    await db?.close();
    await remove?.();
  });

  it('rejects every method given an aborted signal before posting anything', async () => {
    const controller = new AbortController();
    const reason = new Error('cancelled before the call');
    controller.abort(reason);
    const signal = controller.signal;
    const options: RequestOptions = { signal };
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['createCollection', () => db.createCollection({ name: 'never', dimension: 2, metric: 'l2', signal })],
      ['listCollections', () => db.listCollections(options)],
      ['dropCollection', () => db.dropCollection('c', options)],
      ['upsert', () => db.upsert('c', [{ id: 'ghost', vector: vector(1) }], options)],
      ['get', () => db.get('c', ['r1'], options)],
      ['delete', () => db.delete('c', ['r1'], options)],
      ['search', () => db.search('c', { vector: vector(1), k: 3, signal })],
      ['searchBatch', () => db.searchBatch('c', { queries: [{ vector: vector(1), k: 3 }], signal })],
      ['optimize', () => db.optimize('c', options)],
      ['stats', () => db.stats(options)],
      ['shardAssignments', () => db.shardAssignments('c', { linearizable: true, signal })],
      ['metadataStatus', () => db.metadataStatus(options)],
      ['request', () => db.request({ type: 'get', collection: 'c', ids: ['r2'], signal })],
    ];
    for (const [name, call] of calls) {
      const error = await rejection(call());
      expect(error.code, name).toBe('ABORTED');
      expectAborted(error, reason);
    }
    // Nothing was posted: no collection created or dropped, nothing written or deleted.
    expect((await db.listCollections()).map((info) => info.name)).toEqual(['c']);
    expect((await db.get('c', ['ghost', 'r1'])).map((record) => record.id)).toEqual(['r1']);
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
  });

  it('rejects a write and a search aborted right after the call, at once', async () => {
    const controller = new AbortController();
    const records = Array.from({ length: 5_000 }, (_, index) => ({
      id: `bulk${index}`,
      vector: vector(index + 1_000),
    }));
    const write = db.upsert('c', records, { signal: controller.signal });
    const search = db.search('c', { vector: vector(3), k: 10, exact: true, signal: controller.signal });
    const batch = db.searchBatch('c', { queries: [{ vector: vector(4), k: 5 }], signal: controller.signal });
    const reason = new Error('user went away');
    controller.abort(reason);
    for (const call of [write, search, batch]) expectAborted(await rejection(call), reason);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    // The write's outcome is unknown (it may be in the WAL); the database goes on answering.
    const hits = await db.search('c', { vector: vector(3), k: 1 });
    expect(hits[0]?.id).toBe('r3');
  });

  it('leaves no listener on a long-lived signal after many calls', async () => {
    const controller = new AbortController();
    const signal = controller.signal;
    // 401 calls wait on it at once: past Node's default of 10 listeners, which would warn of a leak.
    setMaxListeners(1_000, signal);
    const calls = [];
    for (let index = 0; index < 200; index++) {
      calls.push(db.search('c', { vector: vector(index), k: 2, signal }));
      calls.push(db.get('c', [`r${index}`], { signal }));
    }
    calls.push(db.upsert('c', [{ id: 'late', vector: vector(9_999) }], { signal }));
    expect(getEventListeners(signal, 'abort').length).toBeGreaterThan(0);
    await Promise.all(calls);
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
    expect((await db.get('c', ['late'], { signal })).map((record) => record.id)).toEqual(['late']);
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
  });

  it('refuses a signal that is not an AbortSignal', async () => {
    const signal = { aborted: true } as unknown as AbortSignal;
    expect((await rejection(db.stats({ signal }))).code).toBe('INVALID_ARGUMENT');
  });
});

describe('aborting Shoal.open', () => {
  it('touches nothing when the signal is aborted already', async () => {
    const directory = await temporaryDirectory('abort-open');
    try {
      const dataDir = join(directory.path, 'data');
      const reason = new Error('no');
      const error = await rejection(Shoal.open({ dataDir, signal: AbortSignal.abort(reason) }));
      expectAborted(error, reason);
      expect(existsSync(dataDir)).toBe(false);
    } finally {
      await directory.remove();
    }
  });

  it('rejects at once when aborted while booting, and releases the directory once the boot is stopped', async () => {
    const directory = await temporaryDirectory('abort-open');
    try {
      const controller = new AbortController();
      const opening = Shoal.open({
        dataDir: directory.path,
        maxWorkers: 4,
        metadataReplicas: 1,
        signal: controller.signal,
      });
      // Past the locks and into the boot: the lock file exists once the actors are being started.
      while (!existsSync(join(directory.path, 'shoal.lock'))) await new Promise((resolve) => setTimeout(resolve, 1));
      controller.abort('stop booting');
      expectAborted(await rejection(opening), 'stop booting');
      let reopened: Shoal | null = null;
      for (let attempt = 0; reopened === null && attempt < 600; attempt++) {
        reopened = await Shoal.open({ dataDir: directory.path, maxWorkers: 4, metadataReplicas: 1 }).catch(
          (error: unknown) => {
            if ((error as ShoalError).code !== 'LOCKED') throw error;
            return new Promise<null>((resolve) => setTimeout(() => resolve(null), 50));
          },
        );
      }
      expect(reopened).not.toBeNull();
      expect(await reopened?.listCollections()).toEqual([]);
      await reopened?.close();
    } finally {
      await directory.remove();
    }
  });
});
