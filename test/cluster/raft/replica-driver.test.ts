// Proves the replica driver's serving logic one behaviour at a time: each test replays a transcript from
// replica-driver-testdata/ (events and the exact actions the drivers return) through a small harness that plays the
// caller; REWRITE=1 regenerates the files for review.
import { describeTranscripts } from '../../fixtures/transcripts.js';
import { runDriverTranscript } from './replica-driver-harness.js';

/**
 * The transcripts were run once against deliberately broken drivers (then
 * reverted); the mutations they catch:
 * - no term check in `apply` (a superseded proposal answered with the new
 *   leader's entry): proposal-superseded.txt, and the linearizability property test;
 * - a Ready released without persisting it: every transcript, and the linearizability property test;
 * - a Ready taken while a snapshot is written: compaction-trigger.txt;
 * - elapsed ticks not capped at an election timeout: tick-accounting.txt.
 */
const TRANSCRIPTS: readonly (readonly [behaviour: string, file: string])[] = [
  ['a proposal is answered when its entry is committed and applied', 'proposal-answered.txt'],
  ['a proposal is failed as superseded when a new leader overwrites its entry', 'proposal-superseded.txt'],
  ['a linearizable read is answered once a heartbeat quorum confirms it; a term change fails it', 'read-quorum.txt'],
  ['messages and answers wait for the persist they depend on; one write at a time', 'persist-gates-messages.txt'],
  ['ticks are counted from the clock, capped at an election timeout, and one timer suffices', 'tick-accounting.txt'],
  ['snapshotEntries applied entries trigger a snapshot; no Ready is taken meanwhile', 'compaction-trigger.txt'],
];

describeTranscripts(
  'replica driver transcripts',
  new URL('./replica-driver-testdata/', import.meta.url),
  TRANSCRIPTS,
  runDriverTranscript,
);
