// Proves the on-disk contract of segments on real files: the manifest is the commit point (listSegments returns only
// manifested segments and deletes orphan and temp files), removeSegment uncommits first, and a flipped byte in either
// data file, a missing file or a bad manifest makes Segment.open fail with CORRUPTION naming the file.
import * as nodeFs from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ShoalError } from '../../../runtime/errors.js';
import { nodeFileSystem } from '../../../runtime/fs.js';
import { readManifest } from '../../../storage/viper/manifest.js';
import { buildSegment } from '../../../storage/viper/segment-builder.js';
import { listSegments, removeSegment } from '../../../storage/viper/segment-files.js';
import { Segment } from '../../../storage/viper/segment.js';
import { temporaryDirectory } from '../../fixtures/vectors.js';
import { makeRows } from './fixtures/rows.js';

let folder: { path: string; remove: () => Promise<void> };

beforeEach(async () => {
  folder = await temporaryDirectory('viper-files');
});

afterEach(async () => {
  await folder.remove();
});

async function build(name: string, count = 1_200): Promise<void> {
  await buildSegment(nodeFileSystem, folder.path, name, makeRows({ count, dimension: 8, seed: count }), {
    metric: 'cosine',
  });
}

async function expectCorruption(name: string, file: string): Promise<void> {
  const error = await Segment.open(nodeFileSystem, folder.path, name).then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ShoalError);
  expect((error as ShoalError).code).toBe('CORRUPTION');
  expect((error as ShoalError).message).toContain(join(folder.path, file));
}

async function flipByte(file: string, position: (size: number) => number): Promise<void> {
  const path = join(folder.path, file);
  const bytes = await nodeFs.readFile(path);
  const at = position(bytes.length);
  bytes[at] = (bytes[at] as number) ^ 0x01;
  await nodeFs.writeFile(path, bytes);
}

describe('segment files', () => {
  it('lists only committed segments and removes orphans and temp files', async () => {
    await build('b-segment');
    await build('a-segment', 50);
    // A build that died before its manifest: data files only.
    await build('c-orphan');
    await nodeFs.rm(join(folder.path, 'c-orphan.manifest.json'));
    await nodeFs.writeFile(join(folder.path, 'd-orphan.parquet'), 'partial');
    await nodeFs.writeFile(join(folder.path, 'a-segment.manifest.json.tmp-123'), 'partial');
    await nodeFs.writeFile(join(folder.path, 'notes.txt'), 'not ours');
    expect(await listSegments(nodeFileSystem, folder.path)).toEqual(['a-segment', 'b-segment']);
    expect((await nodeFs.readdir(folder.path)).sort()).toEqual([
      'a-segment.manifest.json',
      'a-segment.parquet',
      'b-segment.hnsw',
      'b-segment.manifest.json',
      'b-segment.parquet',
      'notes.txt',
    ]);
    expect(await listSegments(nodeFileSystem, join(folder.path, 'missing'))).toEqual([]);
  });

  it('removes a segment manifest first, leaving nothing listed', async () => {
    await build('gone');
    await removeSegment(nodeFileSystem, folder.path, 'gone');
    expect(await nodeFs.readdir(folder.path)).toEqual([]);
    await removeSegment(nodeFileSystem, folder.path, 'gone');
    expect(await listSegments(nodeFileSystem, folder.path)).toEqual([]);
  });

  it('opens an intact segment', async () => {
    await build('intact');
    const segment = await Segment.open(nodeFileSystem, folder.path, 'intact');
    expect(segment.rows).toBe(1_200);
    expect(segment.indexed).toBe(true);
  });

  it('detects a flipped byte in the Parquet file', async () => {
    await build('flip');
    await flipByte('flip.parquet', (size) => Math.floor(size / 2));
    await expectCorruption('flip', 'flip.parquet');
  });

  it('detects a flipped byte in the index file', async () => {
    await build('flip');
    await flipByte('flip.hnsw', (size) => size - 5);
    await expectCorruption('flip', 'flip.hnsw');
  });

  it('detects a truncated or missing data file', async () => {
    await build('short');
    await nodeFs.truncate(join(folder.path, 'short.hnsw'), 100);
    await expectCorruption('short', 'short.hnsw');
    await nodeFs.rm(join(folder.path, 'short.parquet'));
    await expectCorruption('short', 'short.parquet');
  });

  it('detects a missing, unparsable or inconsistent manifest', async () => {
    await expectCorruption('never-built', 'never-built.manifest.json');
    await build('bad');
    const path = join(folder.path, 'bad.manifest.json');
    const manifest = await readManifest(nodeFileSystem, folder.path, 'bad');
    await nodeFs.writeFile(path, '{"version":1,');
    await expectCorruption('bad', 'bad.manifest.json');
    await nodeFs.writeFile(path, JSON.stringify({ ...manifest, liveRows: manifest.rows + 1 }));
    await expectCorruption('bad', 'bad.manifest.json');
    await nodeFs.writeFile(path, JSON.stringify({ ...manifest, name: 'other' }));
    await expectCorruption('bad', 'bad.manifest.json');
    // Valid on its own but disagreeing with the data: caught when the rows are checked.
    await nodeFs.writeFile(path, JSON.stringify({ ...manifest, maxLsn: manifest.maxLsn - 1 }));
    await expectCorruption('bad', 'bad.parquet');
  });

  it('refuses to rebuild a committed segment', async () => {
    await build('once', 50);
    const before = await nodeFs.readFile(join(folder.path, 'once.parquet'));
    await expect(build('once', 60)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(await nodeFs.readFile(join(folder.path, 'once.parquet'))).toEqual(before);
  });

  it('rejects unsafe segment names before touching the disk', async () => {
    for (const name of ['', '../escape', 'a.b', 'x'.repeat(129), 'with space']) {
      await expect(build(name)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    expect(await nodeFs.readdir(folder.path)).toEqual([]);
  });
});
