// Proves the `storage` option of Shoal.open is validated once with errors that name the option: URLs must parse, file:
// URLs must be absolute local paths, s3/gs/adls are refused as not supported yet, other schemes and duplicates are
// refused, strategies are checked, and defaults put every component under dataDir.
import { describe, expect, it } from 'vitest';
import { storageConfig } from '../../actors/client/validation.js';
import { ShoalError } from '../../runtime/errors.js';
import { normaliseStorageUrl } from '../../storage/placement.js';

function rejection(run: () => unknown): ShoalError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ShoalError);
    return error as ShoalError;
  }
  throw new Error('expected an error');
}

describe('storageConfig', () => {
  it('defaults every component to the single URL of dataDir, round-robin', () => {
    const config = storageConfig(undefined, '/var/shoal');
    for (const component of ['wal', 'viper', 'lsm', 'index', 'metadata'] as const) {
      expect(config[component]).toEqual({ urls: ['file:///var/shoal'], strategy: 'round-robin' });
    }
  });

  it('fills in left-out components and strategies, and normalises URLs', () => {
    const config = storageConfig(
      {
        wal: { urls: ['file:///mnt/fast/shoal/'] },
        viper: { urls: ['file:///mnt/a/./x', 'file:///mnt/b'], strategy: 'hash' },
        lsm: { strategy: 'hash' },
      },
      '/d',
    );
    expect(config.wal).toEqual({ urls: ['file:///mnt/fast/shoal'], strategy: 'round-robin' });
    expect(config.viper).toEqual({ urls: ['file:///mnt/a/x', 'file:///mnt/b'], strategy: 'hash' });
    expect(config.lsm).toEqual({ urls: ['file:///d'], strategy: 'hash' });
    expect(config.index.urls).toEqual(['file:///d']);
  });

  it('refuses object stores as not supported yet, naming the option', () => {
    for (const url of ['s3://bucket/shoal', 'gs://bucket/shoal', 'adls://account/container']) {
      const error = rejection(() => storageConfig({ wal: { urls: ['file:///mnt/a', url] } }, '/d'));
      expect(error.code).toBe('INVALID_ARGUMENT');
      expect(error.message).toMatch(/^storage\.wal\.urls\[1\]: .*not supported yet/);
    }
  });

  it('refuses other schemes, relative and host-qualified file URLs, and text that is not a URL', () => {
    const cases: [unknown, string][] = [
      ['http://example.com/x', 'unsupported scheme http:'],
      ['file://mnt/a', 'not an absolute local path'],
      ['file:relative/path', 'not an absolute local path'],
      ['/mnt/a', 'is not a URL'],
      ['file:///mnt/a?x=1', 'query or fragment'],
      [42, 'must be a storage URL'],
    ];
    for (const [url, mentions] of cases) {
      const error = rejection(() => storageConfig({ index: { urls: [url] } }, '/d'));
      expect(error.code).toBe('INVALID_ARGUMENT');
      expect(error.message).toContain('storage.index.urls[0]: ');
      expect(error.message).toContain(mentions);
    }
  });

  it('refuses duplicates (after normalisation), empty lists, unknown strategies, components and keys', () => {
    expect(
      rejection(() => storageConfig({ wal: { urls: ['file:///a', 'file:///b', 'file:///a/'] } }, '/d')).message,
    ).toBe('storage.wal.urls[2]: duplicates storage.wal.urls[0] (file:///a)');
    expect(rejection(() => storageConfig({ wal: { urls: [] } }, '/d')).message).toContain(
      'storage.wal.urls: must be an array of 1 to 64',
    );
    expect(
      rejection(() => storageConfig({ wal: { urls: ['file:///a'], strategy: 'random' } }, '/d')).message,
    ).toContain('storage.wal.strategy: must be one of round-robin, hash');
    expect(rejection(() => storageConfig({ segments: {} }, '/d')).message).toContain(
      'storage.segments: is not a storage component',
    );
    expect(rejection(() => storageConfig({ wal: { url: 'file:///a' } }, '/d')).message).toContain(
      'storage.wal.url: is not an option',
    );
    expect(rejection(() => storageConfig('file:///a', '/d')).message).toContain('storage: must be an object');
  });

  it('normalises a URL to an absolute file: URL without a trailing slash', () => {
    expect(normaliseStorageUrl('file:///mnt/a/../b/', 'f')).toBe('file:///mnt/b');
    expect(normaliseStorageUrl('file://localhost/mnt/a', 'f')).toBe('file:///mnt/a');
    expect(normaliseStorageUrl('file:///mnt/with%20space', 'f')).toBe('file:///mnt/with%20space');
  });
});
