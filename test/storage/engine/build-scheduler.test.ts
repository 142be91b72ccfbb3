// Proves the build scheduler's rules one by one: each test replays a transcript from testdata/ (commands and the
// exact actions they produce, carried out on a model of the tiers) through the harness; REWRITE=1 regenerates the
// files for review.
import { describeTranscripts } from '../../fixtures/transcripts.js';
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

describeTranscripts('build scheduler transcripts', new URL('./testdata/', import.meta.url), TRANSCRIPTS, runTranscript);
