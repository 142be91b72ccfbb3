/**
 * Test helper: what a Raft node has made durable, kept in memory with the
 * same rules as `storage/raft-log.ts` (an entry at index i replaces stored
 * entries from i on; a received snapshot replaces the log; a local snapshot
 * drops the entries it covers). A crash keeps exactly this and nothing else.
 */
import type { Entry, HardState, Ready, RestoredState, Snapshot } from '../../../cluster/raft/index.js';

/** The durable state of one simulated node. */
export class MemoryStorage {
  hardState: HardState = { term: 0, vote: 0, commit: 0 };
  entries: Entry[] = [];
  snapshot: Snapshot | null = null;

  /** Persists what a Ready asks for, in the order the contract gives: snapshot, entries, hard state. */
  save(ready: Pick<Ready, 'hardState' | 'entries' | 'snapshot'>): void {
    if (ready.snapshot !== undefined) {
      this.snapshot = ready.snapshot;
      this.entries = [];
    }
    const first = ready.entries[0];
    if (first !== undefined) {
      this.entries = this.entries.filter((entry) => entry.index < first.index).concat(ready.entries);
    }
    if (ready.hardState !== undefined) this.hardState = ready.hardState;
  }

  /** Persists a snapshot made by local compaction; entries after it stay. */
  saveSnapshot(snapshot: Snapshot): void {
    this.snapshot = snapshot;
    this.entries = this.entries.filter((entry) => entry.index > snapshot.index);
  }

  /** The state a restarted node is built from. */
  restored(): RestoredState {
    return { hardState: this.hardState, entries: [...this.entries], snapshot: this.snapshot };
  }
}
