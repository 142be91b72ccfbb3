// Proves writeFileAtomic creates and replaces files leaving no temp file behind, cleans up after a failed write, and
// that removeTempFiles deletes exactly the `*.tmp-*` leftovers; runs on real files in a temp folder, with a wrapping
// FileSystem to count folder syncs and inject a failure.
import * as nodeFs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ShoalError } from '../../runtime/errors.js';
import { nodeFileSystem } from '../../runtime/fs.js';
import { isTempFileName, removeTempFiles, writeFileAtomic } from '../../storage/atomic-file.js';
import { recordingFileSystem } from '../fixtures/recording-fs.js';

let dir = '';

beforeEach(async () => {
  dir = await nodeFs.mkdtemp(join(tmpdir(), 'shoal-atomic-'));
});

afterEach(async () => {
  await nodeFs.rm(dir, { recursive: true, force: true });
});

describe('writeFileAtomic', () => {
  it('writes the content, syncs the folder and leaves no temp file', async () => {
    const recording = recordingFileSystem();
    const path = join(dir, 'manifest.json');
    await writeFileAtomic(recording.fs, path, Buffer.from('{"version":1}'));
    expect((await nodeFs.readFile(path)).toString()).toBe('{"version":1}');
    expect(await nodeFs.readdir(dir)).toEqual(['manifest.json']);
    expect(recording.calls.filter((call) => call.operation === 'fsyncDir').map((call) => call.path)).toEqual([dir]);
  });

  it('replaces an existing file with shorter content', async () => {
    const path = join(dir, 'state');
    await writeFileAtomic(nodeFileSystem, path, Buffer.from('a much longer first version'));
    await writeFileAtomic(nodeFileSystem, path, Buffer.from('v2'));
    expect((await nodeFs.readFile(path)).toString()).toBe('v2');
    expect(await nodeFs.readdir(dir)).toEqual(['state']);
  });

  it('keeps the old content and removes its temp file when the rename fails', async () => {
    const path = join(dir, 'state');
    await nodeFs.writeFile(path, 'old');
    const failing = recordingFileSystem((call) => {
      if (call.operation === 'rename') throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
    });
    const error = await writeFileAtomic(failing.fs, path, Buffer.from('new')).catch((reason: unknown) => reason);
    expect(error).toBeInstanceOf(ShoalError);
    expect((error as ShoalError).code).toBe('STORAGE_FAILED');
    expect((error as ShoalError).details).toMatchObject({ cause: 'ENOSPC' });
    expect((await nodeFs.readFile(path)).toString()).toBe('old');
    expect(await nodeFs.readdir(dir)).toEqual(['state']);
  });
});

describe('removeTempFiles', () => {
  it('removes leftover temp files and nothing else', async () => {
    await nodeFs.writeFile(join(dir, 'data.bin'), 'data');
    await nodeFs.writeFile(join(dir, 'data.bin.tmp-1a2b3c'), 'half');
    await nodeFs.writeFile(join(dir, '00000000000000000001.wal.tmp-x'), 'half');
    await nodeFs.mkdir(join(dir, 'nested'));
    const removed = await removeTempFiles(nodeFileSystem, dir);
    expect(removed.sort()).toEqual(['00000000000000000001.wal.tmp-x', 'data.bin.tmp-1a2b3c']);
    expect((await nodeFs.readdir(dir)).sort()).toEqual(['data.bin', 'nested']);
    expect(await removeTempFiles(nodeFileSystem, join(dir, 'missing'))).toEqual([]);
  });

  it('recognises the temp files writeFileAtomic creates', async () => {
    const spying = recordingFileSystem();
    await writeFileAtomic(spying.fs, join(dir, 'file'), Buffer.from('x'));
    const opened = spying.calls.filter((call) => call.operation === 'open');
    const names = opened.map((call) => call.path.slice(dir.length + 1));
    expect(names).toHaveLength(1);
    expect(names.every(isTempFileName)).toBe(true);
    expect(isTempFileName('file')).toBe(false);
  });
});
