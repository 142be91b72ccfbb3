// Proves the backup format on its own: a manifest round-trips, damaged or unknown manifests are CORRUPTION naming
// the file, the catalogue is a version 1 catalogue that the catalogue reader places at the opening data directory,
// and shard folders follow the data directory layout.
import { describe, expect, it } from 'vitest';
import { ShoalError } from '../../runtime/errors.js';
import { nodeFileSystem } from '../../runtime/fs.js';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  backupCollection,
  backupShardDir,
  encodeBackupCatalogue,
  encodeBackupManifest,
  parseBackupManifest,
} from '../../storage/backup-format.js';
import type { BackupManifest } from '../../storage/backup-format.js';
import { readCatalogue } from '../../storage/catalogue.js';
import type { CollectionEntry } from '../../storage/collection-entry.js';
import { dataDirUrl, uniformPlacement } from '../../storage/placement.js';
import { temporaryDirectory } from '../fixtures/vectors.js';

const entry: CollectionEntry = {
  id: 'docs-0000abcd',
  name: 'docs',
  dimension: 4,
  metric: 'cosine',
  shards: 2,
  syncMode: 'batch',
  flushThresholdRows: 500,
  placement: uniformPlacement('file:///somewhere'),
};

const manifest: BackupManifest = {
  version: 1,
  createdAt: '2026-01-01T00:00:00.000Z',
  collection: backupCollection(entry),
  shards: [0, 1].map((shard) => ({
    shard,
    lsn: 100 + shard,
    checkpointLsn: 50,
    records: 40,
    walRecords: 50 + shard,
    segments: ['seg-0000000001'],
    bytes: 1_000,
  })),
  bytes: 2_000,
};

function codeOf(action: () => unknown): string {
  try {
    action();
    return 'ok';
  } catch (error) {
    return error instanceof ShoalError ? error.code : 'other';
  }
}

describe('backup format', () => {
  it('round-trips a manifest without the placement', () => {
    const parsed = parseBackupManifest(encodeBackupManifest(manifest), '/b/backup.json');
    expect(parsed).toEqual(manifest);
    expect('placement' in parsed.collection).toBe(false);
  });

  it('refuses damaged manifests as CORRUPTION', () => {
    const encode = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));
    expect(codeOf(() => parseBackupManifest(new TextEncoder().encode('{'), '/b'))).toBe('CORRUPTION');
    expect(codeOf(() => parseBackupManifest(encode({ ...manifest, version: 2 }), '/b'))).toBe('CORRUPTION');
    expect(codeOf(() => parseBackupManifest(encode({ ...manifest, shards: manifest.shards.slice(1) }), '/b'))).toBe(
      'CORRUPTION',
    );
    const backwards = manifest.shards.map((shard) => ({ ...shard, checkpointLsn: shard.lsn + 1 }));
    expect(codeOf(() => parseBackupManifest(encode({ ...manifest, shards: backwards }), '/b'))).toBe('CORRUPTION');
    const badId = { ...manifest, collection: { ...manifest.collection, id: '../x' } };
    expect(codeOf(() => parseBackupManifest(encode(badId), '/b'))).toBe('CORRUPTION');
    expect(() => parseBackupManifest(encode([]), '/b/backup.json')).toThrow(/\/b\/backup\.json/);
  });

  it('writes a catalogue the reader places at the data directory that opens it', async () => {
    const directory = await temporaryDirectory('backup-format');
    try {
      const path = join(directory.path, 'catalogue.json');
      await writeFile(path, encodeBackupCatalogue(backupCollection(entry)));
      const catalogue = await readCatalogue(nodeFileSystem, path, dataDirUrl(directory.path));
      expect(catalogue.collections).toEqual([{ ...entry, placement: uniformPlacement(dataDirUrl(directory.path)) }]);
    } finally {
      await directory.remove();
    }
  });

  it('lays shard folders out as a data directory does', () => {
    expect(backupShardDir('/b', 'wal', 'docs-1', 3)).toBe('/b/wal/docs-1/3');
    expect(backupShardDir('/b', 'viper', 'docs-1', 0)).toBe('/b/viper/docs-1/0');
  });
});
