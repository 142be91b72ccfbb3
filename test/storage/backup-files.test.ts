// Proves the file work of backups on its own, over real files: a target must be a missing or empty folder (created
// with its parents), and folder copies carry every data file byte for byte but never temp files or locks.
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ShoalError } from '../../runtime/errors.js';
import { nodeFileSystem } from '../../runtime/fs.js';
import { claimEmptyFolder, copyFolder, folderBytes, prepareEmptyFolder } from '../../storage/backup-files.js';
import { temporaryDirectory } from '../fixtures/vectors.js';

describe('backup files', () => {
  it('accepts a missing or empty target and refuses anything else', async () => {
    const directory = await temporaryDirectory('backup-files');
    try {
      await prepareEmptyFolder(nodeFileSystem, join(directory.path, 'a', 'b'), 'to');
      expect(await readdir(join(directory.path, 'a', 'b'))).toEqual([]);
      await prepareEmptyFolder(nodeFileSystem, join(directory.path, 'a', 'b'), 'to');
      await writeFile(join(directory.path, 'a', 'b', 'x'), 'x');
      const refused = await prepareEmptyFolder(nodeFileSystem, join(directory.path, 'a', 'b'), 'to').catch((e) => e);
      expect(refused).toBeInstanceOf(ShoalError);
      expect((refused as ShoalError).code).toBe('INVALID_ARGUMENT');
      expect((refused as ShoalError).message).toMatch(/^to: .*is not empty/);
      const file = await prepareEmptyFolder(nodeFileSystem, join(directory.path, 'a', 'b', 'x'), 'to').catch((e) => e);
      expect((file as ShoalError).code).toBe('INVALID_ARGUMENT');
    } finally {
      await directory.remove();
    }
  });

  it('lets one backup claim a folder and refuses a second without touching it', async () => {
    const directory = await temporaryDirectory('backup-files');
    try {
      const target = join(directory.path, 't');
      const claims = await Promise.allSettled([
        claimEmptyFolder(nodeFileSystem, target, 'backup.running', 'to'),
        claimEmptyFolder(nodeFileSystem, target, 'backup.running', 'to'),
      ]);
      expect(claims.filter((claim) => claim.status === 'fulfilled').length).toBe(1);
      const refused = claims.find((claim): claim is PromiseRejectedResult => claim.status === 'rejected');
      expect(refused?.reason).toMatchObject({ code: 'INVALID_ARGUMENT' });
      expect(await readdir(target)).toEqual(['backup.running']);
    } finally {
      await directory.remove();
    }
  });

  it('copies data files, not temp files, locks or folders', async () => {
    const directory = await temporaryDirectory('backup-files');
    try {
      const from = join(directory.path, 'from');
      await mkdir(join(from, 'nested'), { recursive: true });
      const data = new Uint8Array(3 * 1024 * 1024 + 17).map((_, index) => index % 251);
      await writeFile(join(from, 'big.parquet'), data);
      await writeFile(join(from, 'small.json'), '{}');
      await writeFile(join(from, 'segments.json.tmp-abc'), 'partial');
      await writeFile(join(from, 'shoal.lock'), 'lock');
      const copied = await copyFolder(nodeFileSystem, from, join(directory.path, 'to', 'x'));
      expect(copied).toEqual({ files: 2, bytes: data.byteLength + 2 });
      expect((await readdir(join(directory.path, 'to', 'x'))).sort()).toEqual(['big.parquet', 'small.json']);
      const read = await readFile(join(directory.path, 'to', 'x', 'big.parquet'));
      expect(read.equals(Buffer.from(data.buffer))).toBe(true);
      expect(await folderBytes(nodeFileSystem, join(directory.path, 'to', 'x'))).toBe(data.byteLength + 2);
      expect(
        await copyFolder(nodeFileSystem, join(directory.path, 'missing'), join(directory.path, 'to', 'y')),
      ).toEqual({
        files: 0,
        bytes: 0,
      });
    } finally {
      await directory.remove();
    }
  });
});
