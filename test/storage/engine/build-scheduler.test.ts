// Proves the build scheduler's rules one by one: each test replays a transcript from testdata/ (commands and the
// exact actions they produce, carried out on a model of the tiers) through the harness; REWRITE=1 regenerates the
// files for review.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runTranscript } from './build-scheduler-harness.js';

const TRANSCRIPTS: readonly (readonly [behaviour: string, file: string])[] = [
  ['a memtable past the threshold freezes and flushes, one flush at a time', 'flush-threshold.txt'],
  ['a full frozen queue holds writes in order; the flush that makes room releases them first', 'write-stall.txt'],
  ['size-tiered compaction runs beside a flush, one of each at a time', 'compaction.txt'],
  ['a failed build pauses builds for the retry time; an aborted one is not retried', 'build-failure-retry.txt'],
  ['optimize freezes, waits for the flushes, merges everything; late callers wait for their own merge', 'optimize.txt'],
  ['a failed merge fails its optimize callers; an aborted one does so without a pause', 'optimize-failure.txt'],
  ['an engine without segments never freezes, holds or builds', 'memory-only.txt'],
  ['stop fails the optimize callers and starts nothing more', 'stop.txt'],
];

const TESTDATA = fileURLToPath(new URL('./testdata/', import.meta.url));

describe('build scheduler transcripts', () => {
  it('runs every transcript in testdata/', () => {
    expect(readdirSync(TESTDATA).sort()).toEqual(TRANSCRIPTS.map(([, file]) => file).sort());
  });

  for (const [behaviour, file] of TRANSCRIPTS) {
    it(behaviour, () => {
      const path = `${TESTDATA}${file}`;
      const expected = readFileSync(path, 'utf8');
      const actual = runTranscript(expected);
      if (process.env['REWRITE'] === '1') writeFileSync(path, actual);
      expect(actual).toBe(expected);
    });
  }
});
