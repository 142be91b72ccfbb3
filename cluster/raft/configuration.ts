/**
 * Cluster membership: the voters (who elect leaders and form commit quorums)
 * and the learners (who receive the log but neither vote nor count). Changes
 * arrive one at a time through the log (Raft paper §6, thesis §4.1): with a
 * single added or removed voter, every majority of the old configuration
 * overlaps every majority of the new one, so no joint consensus is needed.
 */
import type { ConfChange, ConfState, NodeId } from './types.js';

/** The current membership and the quorum arithmetic over it. */
export class Configuration {
  private readonly voters = new Set<NodeId>();
  private readonly learners = new Set<NodeId>();

  constructor(state: ConfState) {
    for (const id of state.voters) this.voters.add(id);
    for (const id of state.learners) this.learners.add(id);
  }

  isVoter(id: NodeId): boolean {
    return this.voters.has(id);
  }

  isLearner(id: NodeId): boolean {
    return this.learners.has(id);
  }

  isMember(id: NodeId): boolean {
    return this.voters.has(id) || this.learners.has(id);
  }

  /** Voters and learners, ascending. */
  members(): NodeId[] {
    return [...this.voters, ...this.learners].sort((a, b) => a - b);
  }

  /** Voters, ascending. */
  voterIds(): NodeId[] {
    return [...this.voters].sort((a, b) => a - b);
  }

  /** The smallest majority of the voters. */
  quorum(): number {
    return Math.floor(this.voters.size / 2) + 1;
  }

  /** Applies a change; changes are idempotent, so replaying a committed change after restart is harmless. */
  apply(change: ConfChange): void {
    switch (change.type) {
      case 'add-learner':
        if (!this.voters.has(change.node)) this.learners.add(change.node);
        return;
      case 'add-voter':
        this.learners.delete(change.node);
        this.voters.add(change.node);
        return;
      case 'remove-node':
        this.learners.delete(change.node);
        this.voters.delete(change.node);
        return;
    }
  }

  /** The highest index replicated on a quorum of voters, given each voter's match index. */
  quorumMatch(matchOf: (id: NodeId) => number): number {
    if (this.voters.size === 0) return 0;
    const matches = [...this.voters].map(matchOf).sort((a, b) => b - a);
    return matches[this.quorum() - 1] as number;
  }

  /** Tallies an election: won with a quorum of grants, lost once a quorum is out of reach. */
  voteResult(votes: ReadonlyMap<NodeId, boolean>): 'won' | 'lost' | 'pending' {
    let granted = 0;
    let rejected = 0;
    for (const id of this.voters) {
      const vote = votes.get(id);
      if (vote === true) granted += 1;
      if (vote === false) rejected += 1;
    }
    if (granted >= this.quorum()) return 'won';
    if (rejected > this.voters.size - this.quorum()) return 'lost';
    return 'pending';
  }

  /** True when the voters in `active` (plus `self`) form a quorum. */
  hasActiveQuorum(self: NodeId, active: (id: NodeId) => boolean): boolean {
    let count = 0;
    for (const id of this.voters) if (id === self || active(id)) count += 1;
    return count >= this.quorum();
  }

  /** The membership as plain data, ids ascending. */
  state(): ConfState {
    return { voters: this.voterIds(), learners: [...this.learners].sort((a, b) => a - b) };
  }
}
