/**
 * The leader's queue of ReadIndex requests (thesis §6.4, paper §8). Each
 * request records the commit index when it arrived; it becomes safe once a
 * quorum of voters acknowledges a heartbeat sent after it, which proves no
 * newer leader existed at that moment. Requests complete in arrival order: a
 * quorum for a later request also confirms every earlier one.
 */
import type { NodeId } from './types.js';

/** A read waiting for its quorum of heartbeat acknowledgements. */
export interface PendingRead {
  readonly requestId: string;
  /** The node that asked (the leader itself or a follower that forwarded it). */
  readonly from: NodeId;
  readonly index: number;
  readonly acks: Set<NodeId>;
}

/** FIFO of reads awaiting confirmation; bounded by the caller. */
export class ReadIndexQueue {
  private readonly queue: PendingRead[] = [];

  get size(): number {
    return this.queue.length;
  }

  /** Adds a read at commit index `index`, acknowledged by the leader itself. */
  add(requestId: string, from: NodeId, index: number, self: NodeId): void {
    this.queue.push({ requestId, from, index, acks: new Set([self]) });
  }

  /**
   * Records `voter`'s acknowledgement of the heartbeat for `requestId`; when
   * `confirmed` says the acks form a quorum, removes and returns that read and
   * every earlier one, oldest first. Otherwise returns nothing.
   */
  acknowledge(requestId: string, voter: NodeId, confirmed: (acks: ReadonlySet<NodeId>) => boolean): PendingRead[] {
    const position = this.queue.findIndex((read) => read.requestId === requestId);
    const read = this.queue[position];
    if (read === undefined) return [];
    read.acks.add(voter);
    if (!confirmed(read.acks)) return [];
    return this.queue.splice(0, position + 1);
  }

  /** Drops every pending read (leadership lost: the requesters time out and retry). */
  clear(): void {
    this.queue.length = 0;
  }
}
