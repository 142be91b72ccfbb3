/**
 * The leader's replication state for one follower (match and next index,
 * §5.3) with etcd's flow control: `probe` sends one append at a time until
 * the match point is found, `replicate` streams appends optimistically with a
 * bounded window of unacknowledged messages, `snapshot` waits for a snapshot
 * to be installed. Pure bookkeeping; no messages are built here.
 */
import type { ProgressState, ProgressStatus } from './types.js';

/** The leader's view of one follower. */
export class Progress {
  /** The highest index known to be replicated on the follower. */
  match = 0;
  /** The index of the next entry to send. */
  next: number;
  state: ProgressState = 'probe';
  /** Probe state: an append is in flight, so wait for its answer (or a heartbeat response). */
  probeSent = false;
  /** Snapshot state: the index of the snapshot sent. */
  pendingSnapshot = 0;
  /** Heard from since the last check-quorum round. */
  recentActive = false;
  /** Replicate state: the last index of each unacknowledged append, oldest first. */
  private readonly inflight: number[] = [];

  constructor(
    next: number,
    private readonly inflightMax: number,
  ) {
    this.next = next;
  }

  /** Back to probing from just after the known match (lost messages, a rejection, a retried snapshot). */
  becomeProbe(): void {
    this.state = 'probe';
    this.next = this.match + 1;
    this.probeSent = false;
    this.inflight.length = 0;
  }

  /** The match point is known: stream from it. */
  becomeReplicate(): void {
    this.state = 'replicate';
    this.next = this.match + 1;
    this.inflight.length = 0;
  }

  /** A snapshot through `index` was sent; nothing else is sent until it is acknowledged. */
  becomeSnapshot(index: number): void {
    this.state = 'snapshot';
    this.pendingSnapshot = index;
    this.next = index + 1;
    this.inflight.length = 0;
  }

  /** True when no append may be sent now. */
  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflight.length >= this.inflightMax;
      case 'snapshot':
        return true;
    }
  }

  /** Records an append carrying entries through `lastIndex` (`count` of them). */
  sentEntries(lastIndex: number, count: number): void {
    if (this.state === 'replicate') {
      if (count > 0) {
        this.next = lastIndex + 1;
        this.inflight.push(lastIndex);
      }
    } else {
      this.probeSent = true;
    }
  }

  /** An acceptance through `index`: returns false for a stale one that teaches nothing. */
  maybeUpdate(index: number): boolean {
    const updated = index > this.match;
    if (updated) {
      this.match = index;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    while (this.inflight.length > 0 && (this.inflight[0] as number) <= index) this.inflight.shift();
    return updated;
  }

  /**
   * A rejection of prevLogIndex `rejected`, with the follower's hint already
   * mapped onto the leader's log (`probeFrom`): move `next` back, never below
   * match + 1. Returns false for a stale rejection (one for an append that is
   * no longer the latest), which must not move `next` again.
   */
  maybeDecreaseTo(rejected: number, probeFrom: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.becomeProbe();
    } else if (this.state === 'snapshot' || this.next - 1 !== rejected) {
      return false;
    }
    this.next = Math.max(Math.min(rejected, probeFrom + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }

  /** A heartbeat answered: a probe may go out again, and one streaming slot frees so a lost append cannot stall us. */
  heartbeatAnswered(): void {
    this.probeSent = false;
    if (this.state === 'replicate' && this.inflight.length >= this.inflightMax) this.inflight.shift();
  }

  /** The plain-data view for `Status`. */
  view(): ProgressStatus {
    return { match: this.match, next: this.next, state: this.state };
  }
}
