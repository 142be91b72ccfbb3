// Proves the storage backend interface on the file: implementation: list, read, atomic put and delete stay inside the
// URL's root, a rename across storage URLs is impossible (assertSameRoot fires with INTERNAL and nothing moves), the
// renaming FileSystem wrapper asserts the same, and object-store schemes are refused as not supported yet.
import * as nodeFs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ShoalError } from '../../runtime/errors.js';
import { nodeFileSystem } from '../../runtime/fs.js';
import {
  FileStorageBackend,
  assertSameRoot,
  confineRenames,
  isUnderRoot,
  openStorageBackend,
} from '../../storage/storage-backend.js';

let base = '';
let backendA: FileStorageBackend;
let backendB: FileStorageBackend;

beforeEach(async () => {
  base = await nodeFs.mkdtemp(join(tmpdir(), 'shoal-backend-'));
  await nodeFs.mkdir(join(base, 'a'));
  await nodeFs.mkdir(join(base, 'b'));
  backendA = new FileStorageBackend(nodeFileSystem, pathToFileURL(join(base, 'a')).href);
  backendB = new FileStorageBackend(nodeFileSystem, pathToFileURL(join(base, 'b')).href);
});

afterEach(async () => {
  await nodeFs.rm(base, { recursive: true, force: true });
});

async function internalError(run: () => unknown): Promise<ShoalError> {
  const outcome = await (async () => run())().then(
    () => new Error('expected a rejection'),
    (error: unknown) => error,
  );
  expect(outcome).toBeInstanceOf(ShoalError);
  expect((outcome as ShoalError).code).toBe('INTERNAL');
  return outcome as ShoalError;
}

describe('FileStorageBackend', () => {
  it('puts atomically, lists, reads, renames inside its root and deletes trees', async () => {
    const segment = backendA.locate('viper', 'docs-1', '0', 'segment.tmp');
    await nodeFs.mkdir(join(segment, '..'), { recursive: true });
    await backendA.putAtomic(segment, new TextEncoder().encode('bytes'));
    const final = backendA.locate('viper', 'docs-1', '0', 'segment.vpr');
    await backendA.rename(segment, final);
    expect(await backendA.list(backendA.locate('viper', 'docs-1', '0'))).toEqual([
      { name: 'segment.vpr', isDirectory: false, size: 5 },
    ]);
    expect(await backendA.list(backendA.locate('viper'))).toEqual([{ name: 'docs-1', isDirectory: true, size: 0 }]);
    expect(new TextDecoder().decode(await backendA.read(final))).toBe('bytes');
    await backendA.delete(backendA.locate('viper', 'docs-1'));
    expect(await backendA.list(backendA.locate('viper'))).toEqual([]);
    expect(await backendA.list(backendA.locate('never-created'))).toEqual([]);
  });

  it('refuses to rename across storage URLs: the assertion fires and nothing moves', async () => {
    const from = backendA.locate('wal-segment');
    await nodeFs.writeFile(from, 'data');
    const error = await internalError(() => backendA.rename(from, backendB.locate('wal-segment')));
    expect(error.message).toContain('rename across storage URLs');
    await internalError(() => backendB.rename(from, backendB.locate('wal-segment')));
    expect(await nodeFs.readFile(from, 'utf8')).toBe('data');
    expect(await nodeFs.readdir(join(base, 'b'))).toEqual([]);
  });

  it('refuses every location outside its root, also through ..', async () => {
    await internalError(() => backendA.locate('..', 'b', 'x'));
    await internalError(() => backendA.read(join(base, 'b', 'x')));
    await internalError(() => backendA.putAtomic(join(base, 'elsewhere'), new Uint8Array(1)));
    await internalError(() => backendA.delete(base));
    await internalError(() => backendA.list(join(base, 'a', '..')));
  });
});

describe('assertSameRoot and confineRenames', () => {
  it('accepts paths under the root and rejects siblings that share a prefix', () => {
    expect(isUnderRoot('/mnt/a', '/mnt/a')).toBe(true);
    expect(isUnderRoot('/mnt/a', '/mnt/a/wal/x')).toBe(true);
    expect(isUnderRoot('/mnt/a', '/mnt/ab/wal')).toBe(false);
    expect(isUnderRoot('/mnt/a', '/mnt/a/../b')).toBe(false);
    expect(() => assertSameRoot('/mnt/a', '/mnt/a/x.tmp', '/mnt/a/x')).not.toThrow();
    expect(() => assertSameRoot('/mnt/a', '/mnt/a/x', '/mnt/b/x')).toThrow(/rename across storage URLs/);
  });

  it('wraps a FileSystem so that a rename leaving the root fires the assertion', async () => {
    const fs = confineRenames(nodeFileSystem, join(base, 'a'));
    await nodeFs.writeFile(join(base, 'a', 'x'), 'data');
    await fs.rename(join(base, 'a', 'x'), join(base, 'a', 'y'));
    await internalError(() => fs.rename(join(base, 'a', 'y'), join(base, 'b', 'y')));
    expect(await nodeFs.readdir(join(base, 'a'))).toEqual(['y']);
  });
});

describe('openStorageBackend', () => {
  it('opens file: URLs and refuses object stores as not supported yet', () => {
    expect(openStorageBackend(nodeFileSystem, pathToFileURL(base).href)).toBeInstanceOf(FileStorageBackend);
    for (const url of ['s3://bucket/p', 'gs://bucket/p', 'adls://account/c']) {
      expect(() => openStorageBackend(nodeFileSystem, url)).toThrow(/not supported yet/);
    }
    expect(() => openStorageBackend(nodeFileSystem, 'ftp://host/p')).toThrow(/not a storage scheme/);
  });
});
