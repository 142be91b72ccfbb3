// Proves the Raft core's behaviours one by one: each test replays a transcript from testdata/ (commands and the exact
// expected Ready batches, messages and states) through the harness; REWRITE=1 regenerates the files for review.
import { describeTranscripts } from '../../fixtures/transcripts.js';
import { runTranscript } from './harness.js';

const TRANSCRIPTS: readonly (readonly [behaviour: string, file: string])[] = [
  ['campaign: a candidate with a majority becomes leader and commits an empty entry of its term', 'campaign.txt'],
  ['higher term: a node that sees a higher term steps down to follower', 'higher-term-steps-down.txt'],
  ['stale term: messages from an older term are ignored', 'stale-term-ignored.txt'],
  ['one vote per term, durable across a restart', 'one-vote-per-term.txt'],
  ['votes go only to candidates with an up-to-date log', 'vote-requires-up-to-date-log.txt'],
  [
    'log matching: conflicting entries are truncated and a lagging follower is backtracked fast',
    'log-matching-fast-backtracking.txt',
  ],
  ['commit by majority only for entries of the current term (Figure 8)', 'figure-8-commit-current-term.txt'],
  ['a new leader overwrites uncommitted conflicting entries', 'leader-overwrites-uncommitted.txt'],
  ['randomized election timeouts: dueling candidates converge', 'dueling-candidates-converge.txt'],
  ['pre-vote: a partitioned node that rejoins does not disrupt a healthy leader', 'prevote-rejoin-no-disruption.txt'],
  ['check-quorum: a leader that cannot reach a majority steps down', 'check-quorum-step-down.txt'],
  ['ReadIndex: linearizable reads confirmed by a heartbeat quorum', 'read-index.txt'],
  ['ReadIndex: a new leader serves reads only after committing an entry of its term', 'read-index-new-leader.txt'],
  ['log compaction: a lagging follower installs a snapshot', 'snapshot-lagging-follower.txt'],
  ['membership: a learner catches up before it is promoted to voter', 'conf-change-add-learner-promote.txt'],
  ['membership: removing a voter changes the quorum', 'conf-change-remove.txt'],
  ['membership: removing the leader makes it step down', 'conf-change-remove-leader.txt'],
  ['leadership transfer', 'leadership-transfer.txt'],
  ['restart restores term, vote, log and commit exactly', 'restart-restores-state.txt'],
];

describeTranscripts('raft transcripts', new URL('./testdata/', import.meta.url), TRANSCRIPTS, runTranscript);
