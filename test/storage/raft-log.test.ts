// Proves RaftLogFile persists a Raft replica exactly (hard state, entries with overwrites, received and local
// snapshots), fsyncs before `save` resolves, cuts a torn log tail, refuses corruption elsewhere, and lets a RaftNode
// restart from it with the same term, vote, log and commit; runs on real files in a temp folder.
import * as nodeFs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Packr } from 'msgpackr';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RaftNode } from '../../cluster/raft/index.js';
import type { Entry, RaftConfig, Ready, Snapshot } from '../../cluster/raft/index.js';
import { ShoalError } from '../../runtime/errors.js';
import { FaultyFileSystem } from '../../runtime/faulty-fs.js';
import { nodeFileSystem } from '../../runtime/fs.js';
import type { FileSystem } from '../../runtime/fs.js';
import { SeededRandom } from '../../runtime/random.js';
import { writeFileAtomic } from '../../storage/atomic-file.js';
import { RaftLogFile } from '../../storage/raft-log.js';
import { encodeFrame } from '../../storage/wal/frame.js';
import { recordingFileSystem } from '../fixtures/recording-fs.js';
import type { FileSystemCall } from '../fixtures/recording-fs.js';

let dir = '';

beforeEach(async () => {
  dir = await nodeFs.mkdtemp(join(tmpdir(), 'shoal-raft-log-'));
});

afterEach(async () => {
  await nodeFs.rm(dir, { recursive: true, force: true });
});

const packr = new Packr({ moreTypes: true, useRecords: false });
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

function entry(index: number, term: number, data = `e${index}`): Entry {
  return { kind: 'normal', index, term, data: bytes(data) };
}

function snapshot(index: number, term: number): Snapshot {
  return { index, term, voters: [1, 2, 3], learners: [], data: bytes(`state@${index}`) };
}

function open(fs: FileSystem = nodeFileSystem): Promise<RaftLogFile<Entry, Snapshot>> {
  return RaftLogFile.open<Entry, Snapshot>(fs, dir);
}

async function reopen(log: RaftLogFile<Entry, Snapshot>): Promise<RaftLogFile<Entry, Snapshot>> {
  await log.close();
  return open();
}

async function rejection(promise: Promise<unknown>): Promise<ShoalError> {
  const error = await promise.then(
    () => null,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(ShoalError);
  return error as ShoalError;
}

describe('RaftLogFile', () => {
  it('starts empty and restores hard state and entries exactly', async () => {
    let log = await open();
    expect(log.load()).toEqual({ hardState: { term: 0, vote: 0, commit: 0 }, entries: [], snapshot: null });
    const conf: Entry = { kind: 'conf-change', index: 1, term: 1, change: { type: 'add-voter', node: 1 } };
    await log.save({ hardState: { term: 2, vote: 1, commit: 1 }, entries: [conf, entry(2, 2), entry(3, 2)] });
    log = await reopen(log);
    const loaded = log.load();
    expect(loaded.hardState).toEqual({ term: 2, vote: 1, commit: 1 });
    expect(loaded.entries).toEqual([conf, entry(2, 2), entry(3, 2)]);
    expect((loaded.entries[1] as Entry & { kind: 'normal' }).data).toBeInstanceOf(Uint8Array);
    await log.close();
  });

  it('overwrites a conflicting suffix from the first new entry on', async () => {
    let log = await open();
    await log.save({ entries: [entry(1, 1), entry(2, 1), entry(3, 1), entry(4, 1)] });
    await log.save({ entries: [entry(3, 2, 'x'), entry(4, 2, 'y'), entry(5, 2, 'z')] });
    await log.save({ entries: [entry(6, 2)] });
    log = await reopen(log);
    expect(log.load().entries).toEqual([
      entry(1, 1),
      entry(2, 1),
      entry(3, 2, 'x'),
      entry(4, 2, 'y'),
      entry(5, 2, 'z'),
      entry(6, 2),
    ]);
    await expect(log.save({ entries: [entry(9, 2)] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await log.close();
  });

  it('fsyncs the log before the hard state and resolves only after both', async () => {
    const recording = recordingFileSystem();
    const log = await open(recording.fs);
    recording.calls.length = 0;
    await log.save({ hardState: { term: 1, vote: 1, commit: 0 }, entries: [entry(1, 1)] });
    const events = [...fileEvents(recording.calls), 'resolved'];
    expect(events).toEqual([
      'write log',
      'datasync log',
      'open hard-state.tmp',
      'write hard-state.tmp',
      'sync hard-state.tmp',
      'rename hard-state.tmp -> hard-state',
      'fsyncDir',
      'resolved',
    ]);
    await log.close();
  });

  it('cuts a torn tail of the log and keeps every complete entry', async () => {
    const log = await open();
    await log.save({ hardState: { term: 1, vote: 0, commit: 2 }, entries: [entry(1, 1), entry(2, 1)] });
    await log.close();
    const path = join(dir, 'log');
    const before = (await nodeFs.stat(path)).size;
    const torn = encodeFrame(bytes('an append cut short by a crash')).subarray(0, 20);
    await nodeFs.appendFile(path, torn);
    const reopened = await open();
    expect(reopened.recovery.truncatedBytes).toBe(20);
    expect(reopened.load().entries).toEqual([entry(1, 1), entry(2, 1)]);
    expect((await nodeFs.stat(path)).size).toBe(before);
    await reopened.save({ entries: [entry(3, 1)] });
    expect((await reopen(reopened)).load().entries.map((each) => each.index)).toEqual([1, 2, 3]);
  });

  it('refuses to open when a byte before the tail changed, and leaves the file alone', async () => {
    const log = await open();
    await log.save({ entries: [entry(1, 1), entry(2, 1), entry(3, 1)] });
    await log.close();
    const path = join(dir, 'log');
    const content = await nodeFs.readFile(path);
    content[14] = (content[14] as number) ^ 0xff;
    await nodeFs.writeFile(path, content);
    expect((await rejection(open())).code).toBe('CORRUPTION');
    expect(await nodeFs.readFile(path)).toEqual(content);
  });

  it('refuses a damaged hard state or snapshot file', async () => {
    const log = await open();
    await log.save({ hardState: { term: 3, vote: 2, commit: 0 }, entries: [] });
    await log.saveSnapshot(snapshot(0, 0));
    await log.close();
    for (const name of ['hard-state', 'snapshot']) {
      const path = join(dir, name);
      const original = await nodeFs.readFile(path);
      const damaged = Buffer.from(original);
      damaged[damaged.length - 1] = (damaged[damaged.length - 1] as number) ^ 0x01;
      await nodeFs.writeFile(path, damaged);
      expect((await rejection(open())).code).toBe('CORRUPTION');
      await nodeFs.writeFile(path, original);
    }
  });

  it('refuses entries that break the log invariants', async () => {
    const frames = [entry(1, 2), entry(2, 1)].map((each) => Buffer.from(encodeFrame(packr.pack(each))));
    await nodeFs.writeFile(join(dir, 'log'), Buffer.concat(frames));
    expect((await rejection(open())).message).toMatch(/cannot follow/);
  });

  it('replaces the whole log with a snapshot received from the leader', async () => {
    let log = await open();
    await log.save({ entries: [entry(1, 1), entry(2, 1), entry(3, 1)] });
    await log.save({ snapshot: snapshot(10, 3), entries: [entry(11, 3)], hardState: { term: 3, vote: 0, commit: 10 } });
    log = await reopen(log);
    expect(log.load()).toEqual({
      hardState: { term: 3, vote: 0, commit: 10 },
      entries: [entry(11, 3)],
      snapshot: snapshot(10, 3),
    });
    await log.close();
  });

  it('keeps the entries after a local snapshot, and survives a crash between its two writes', async () => {
    let log = await open();
    await log.save({ entries: [1, 2, 3, 4, 5].map((index) => entry(index, 1)) });
    await log.saveSnapshot(snapshot(3, 1));
    log = await reopen(log);
    expect(log.load().entries.map((each) => each.index)).toEqual([4, 5]);
    await log.close();
    // A crash after the snapshot file was replaced but before the log was rewritten.
    await writeFileAtomic(nodeFileSystem, join(dir, 'snapshot'), encodeFrame(packr.pack(snapshot(4, 1))));
    log = await open();
    expect(log.load().entries.map((each) => each.index)).toEqual([5]);
    await log.close();
    // A snapshot from another history (term differs at its index): the old entries are dropped.
    await writeFileAtomic(nodeFileSystem, join(dir, 'snapshot'), encodeFrame(packr.pack(snapshot(4, 2))));
    log = await open();
    expect(log.recovery.discardedEntries).toBe(2);
    expect(log.load().entries).toEqual([]);
    await log.save({ entries: [entry(5, 2)] });
    expect((await reopen(log)).load().entries).toEqual([entry(5, 2)]);
  });

  it('fails for good after a failed fsync', async () => {
    const faulty = new FaultyFileSystem(nodeFileSystem);
    const log = await open(faulty);
    faulty.arm('datasync', 'EIO');
    expect((await rejection(log.save({ entries: [entry(1, 1)] }))).code).toBe('STORAGE_FAILED');
    faulty.disarm();
    expect((await rejection(log.save({ entries: [entry(1, 1)] }))).code).toBe('STORAGE_FAILED');
    await log.close();
  });
});

describe('RaftNode restarted from RaftLogFile', () => {
  const config = (): RaftConfig => ({
    id: 1,
    peers: [1],
    electionTicks: 10,
    heartbeatTicks: 1,
    preVote: true,
    checkQuorum: false,
    random: new SeededRandom(7),
  });

  async function drain(node: RaftNode, log: RaftLogFile<Entry, Snapshot>, applied: string[]): Promise<void> {
    for (let ready: Ready | null = node.ready(); ready !== null; ready = node.ready()) {
      await log.save(ready);
      for (const committed of ready.committed) {
        if (committed.kind === 'normal' && committed.data.byteLength > 0)
          applied.push(new TextDecoder().decode(committed.data));
      }
      node.advance(ready);
    }
  }

  it('comes back with the same term, vote, log and commit, and re-applies from its snapshot', async () => {
    let log = await open();
    let node = new RaftNode(config(), log.load());
    const applied: string[] = [];
    node.campaign();
    await drain(node, log, applied);
    for (const text of ['a', 'b', 'c']) node.propose(bytes(text));
    await drain(node, log, applied);
    const compacted = node.compact(bytes(JSON.stringify(applied)));
    await log.saveSnapshot(compacted as Snapshot);
    node.propose(bytes('d'));
    await drain(node, log, applied);
    const before = node.status();

    log = await reopen(log);
    node = new RaftNode(config(), log.load());
    const restored = log.load().snapshot;
    const replayed: string[] =
      restored === null ? [] : (JSON.parse(new TextDecoder().decode(restored.data)) as string[]);
    await drain(node, log, replayed);
    const after = node.status();
    expect({ ...after, role: before.role, leader: before.leader, progress: before.progress }).toEqual(before);
    expect(replayed).toEqual(['a', 'b', 'c', 'd']);
    expect(after.firstIndex).toBe((compacted as Snapshot).index + 1);
    await log.close();
  });
});

/** The writes, syncs and renames among `calls` (and the opens of temp files), named by file, in order. */
function fileEvents(calls: readonly FileSystemCall[]): string[] {
  const name = (path: string): string =>
    path.includes('.tmp-')
      ? `${path.slice(path.lastIndexOf('/') + 1, path.indexOf('.tmp-'))}.tmp`
      : path.slice(path.lastIndexOf('/') + 1);
  return calls.flatMap((call): string[] => {
    switch (call.operation) {
      case 'open':
        return call.path.includes('.tmp-') ? [`open ${name(call.path)}`] : [];
      case 'write':
      case 'datasync':
      case 'sync':
        return [`${call.operation} ${name(call.path)}`];
      case 'rename':
        return [`rename ${name(call.path)} -> ${name(call.to ?? '')}`];
      case 'fsyncDir':
        return ['fsyncDir'];
      default:
        return [];
    }
  });
}
