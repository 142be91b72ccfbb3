// Proves the limits table is consistent (every cross-layer relation holds for the shipped numbers) and that
// checkLimitRelations catches each relation broken on purpose in a copy of the table, naming it; pure, no I/O.
import { describe, expect, it } from 'vitest';
import { LIMITS, checkLimitRelations, publicRecordBytesMax } from '../../runtime/limits.js';
import type { Limits } from '../../runtime/limits.js';

/** A copy of the table with `change` applied to one of its groups. */
function broken<K extends keyof Limits>(group: K, change: Partial<Limits[K]>): Limits {
  const copy: Limits = { ...LIMITS };
  return Object.assign(copy, { [group]: { ...LIMITS[group], ...change } });
}

describe('the limits table', () => {
  it('breaks none of its relations', () => {
    expect(checkLimitRelations(LIMITS)).toEqual([]);
  });

  it('counts the largest public record as the WAL counts bytes (UTF-8 id and metadata, four bytes a float)', () => {
    expect(publicRecordBytesMax(LIMITS.request)).toBe((512 + 65_536) * 3 + 65_536 * 4);
    expect(publicRecordBytesMax(LIMITS.request)).toBeLessThanOrEqual(LIMITS.wal.recordBytes.fallback);
  });

  it('catches a public write batch larger than one WAL append or group', () => {
    const larger = broken('request', { recordsPerBatchMax: LIMITS.wal.batchRecords.fallback + 1 });
    expect(checkLimitRelations(larger)).toEqual([
      'a public write batch must fit one WAL append (batchRecords)',
      'a public write batch must fit one WAL group (groupRecords)',
    ]);
  });

  it('catches a public write batch whose bytes do not fit one WAL frame', () => {
    const frameBytes = LIMITS.wal.groupPayloadBytesMax;
    expect(checkLimitRelations(broken('request', { batchBytesMax: frameBytes }))).toEqual([
      'the largest public write batch, encoded, must fit one WAL frame (batchBytesMax)',
    ]);
  });

  it('catches a public record the WAL would refuse', () => {
    expect(checkLimitRelations(broken('request', { metadataBytesMax: 1024 * 1024 }))).toEqual([
      'the largest public record must fit the WAL record limit',
    ]);
    const smallRecords = broken('wal', { recordBytes: { ...LIMITS.wal.recordBytes, fallback: 64 * 1024 } });
    expect(checkLimitRelations(smallRecords)).toEqual(['the largest public record must fit the WAL record limit']);
  });

  it('catches WAL groups and records that do not fit one frame', () => {
    const frameBytes = LIMITS.wal.framePayloadBytesMax;
    const wholeFrameGroups = broken('wal', { groupPayloadBytesMax: frameBytes });
    expect(checkLimitRelations(wholeFrameGroups)).toEqual(['a WAL group payload must fit one frame']);
    const hugeRecords = broken('wal', { recordBytes: { ...LIMITS.wal.recordBytes, max: frameBytes } });
    expect(checkLimitRelations(hugeRecords)).toEqual(['the largest WAL record allowed must fit one frame']);
    const hugeGroups = broken('wal', { groupBytes: { ...LIMITS.wal.groupBytes, fallback: frameBytes } });
    expect(checkLimitRelations(hugeGroups)).toEqual(['the default WAL group must fit one frame']);
    const tinyGroups = broken('wal', { groupBytes: { ...LIMITS.wal.groupBytes, fallback: 1024 } });
    expect(checkLimitRelations(tinyGroups)).toEqual(['the largest WAL record must fit one WAL group (groupBytes)']);
  });

  it('catches public dimensions and search breadths the engines would refuse', () => {
    expect(checkLimitRelations(broken('storage', { vectorDimensionMax: 1024 }))).toEqual([
      'every public dimension must be one the engines hold',
    ]);
    expect(checkLimitRelations(broken('storage', { searchEfMax: 100 }))).toEqual([
      'every public k and ef must be a search breadth the segments accept',
    ]);
  });
});
