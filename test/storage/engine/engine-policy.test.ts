// Proves the engine policy table resolves a collection's settings: the defaults when nothing is set, the index
// threshold per engine tier, and the collection's own values where it sets them.
import { describe, expect, it } from 'vitest';
import { DEFAULT_FROZEN_MEMTABLES_MAX } from '../../../storage/shard-store.js';
import { INDEX_THRESHOLD_ROWS, resolveEnginePolicy } from '../../../storage/engine/engine-policy.js';

describe('resolveEnginePolicy', () => {
  it('fills in every default', () => {
    expect(resolveEnginePolicy()).toEqual({
      engine: 'auto',
      flushThresholdRows: 20_000,
      frozenMemtablesMax: DEFAULT_FROZEN_MEMTABLES_MAX,
      indexThresholdRows: 1_000,
      searchEf: 128,
      hnswM: undefined,
      hnswEfConstruction: undefined,
    });
  });

  it('indexes lsm segments never, viper segments always, auto segments from 1,000 rows', () => {
    expect(INDEX_THRESHOLD_ROWS).toEqual({ auto: 1_000, lsm: Number.MAX_SAFE_INTEGER, viper: 1 });
    expect(resolveEnginePolicy({ engine: 'lsm' }).indexThresholdRows).toBe(Number.MAX_SAFE_INTEGER);
    expect(resolveEnginePolicy({ engine: 'viper' }).indexThresholdRows).toBe(1);
  });

  it('keeps what the collection sets', () => {
    const hnsw = { m: 8, efConstruction: 50, ef: 64 };
    const policy = resolveEnginePolicy({ flushThresholdRows: 500, frozenMemtablesMax: 2, hnsw });
    expect(policy).toMatchObject({ flushThresholdRows: 500, frozenMemtablesMax: 2, hnswM: 8, hnswEfConstruction: 50 });
    expect(policy.searchEf).toBe(64);
  });
});
