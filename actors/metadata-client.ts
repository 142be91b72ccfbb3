/**
 * How the supervisor talks to the metadata Raft group: proposals go to the
 * leader, reads through ReadIndex (linearizable) or to any replica's applied
 * state. A refusal names the leader it knows of, and the client follows that
 * hint; without one it tries the next replica after a short backoff. Every
 * call has a deadline: with a majority of replicas down no leader can be
 * elected and the call fails with UNAVAILABLE once the deadline is near,
 * naming how many replicas are needed. Each attempt is bounded on its own,
 * so a leader whose worker died does not eat the whole deadline.
 */
import type { ActorContext } from '../runtime/actor.js';
import { ShoalError } from '../runtime/errors.js';
import type { ClusterCommand, ClusterState } from '../cluster/metadata.js';
import { metadataReplicaAddress } from './addresses.js';
import type { MetadataReplicaMessage, ProposeAnswer, ReadAnswer, ReplicaStatus } from './metadata-replica-actor.js';

const ATTEMPT_MS_MAX = 2_000;
const BACKOFF_MS_MAX = 200;

/** True for errors after which a metadata write may or may not have committed (and a retry elsewhere may help). */
export function isUnknownOutcome(error: unknown): error is ShoalError {
  return error instanceof ShoalError && (error.code === 'UNAVAILABLE' || error.code === 'TIMEOUT');
}

/** What `status` reports for a replica that did not answer. */
export interface UnreachableReplica {
  readonly id: number;
  readonly error: string;
}

/** Asks the metadata replicas on behalf of one actor. */
export class MetadataClient {
  /** The replica believed to lead (index into `ids`). */
  private guess = 0;
  private readonly ids: number[];

  constructor(replicas: number) {
    this.ids = Array.from({ length: replicas }, (_, index) => index + 1);
  }

  /** Raft ids of the replicas. */
  replicaIds(): readonly number[] {
    return this.ids;
  }

  /**
   * Commits `command` and answers what applying it answered; a refusal by the
   * state machine (COLLECTION_EXISTS, ...) is thrown as that ShoalError.
   * An UNAVAILABLE or TIMEOUT leaves the outcome unknown: the command may
   * still commit (commands are idempotent, so retrying is safe).
   */
  async propose(ctx: ActorContext, command: ClusterCommand, deadline: number): Promise<ProposeAnswer> {
    const answer = await this.call<ProposeAnswer>(ctx, { type: 'propose', command }, deadline, 'metadata write');
    if (!answer.result.ok) throw new ShoalError(answer.result.code, answer.result.message);
    return answer;
  }

  /** The metadata state: linearizable (ReadIndex through the leader), or some replica's applied state. */
  async read(ctx: ActorContext, deadline: number, linearizable = true): Promise<ClusterState> {
    const answer = await this.call<ReadAnswer>(ctx, { type: 'read', linearizable }, deadline, 'metadata read');
    return answer.state;
  }

  /** Every replica's status, or why it did not answer. */
  async status(ctx: ActorContext, timeoutMs: number): Promise<(ReplicaStatus | UnreachableReplica)[]> {
    return Promise.all(
      this.ids.map((id) =>
        ctx
          .ask<ReplicaStatus>(metadataReplicaAddress(id), { type: 'status' }, { timeoutMs })
          .catch((error: unknown) => ({ id, error: error instanceof Error ? error.message : String(error) })),
      ),
    );
  }

  private async call<T>(
    ctx: ActorContext,
    message: MetadataReplicaMessage,
    deadline: number,
    what: string,
  ): Promise<T> {
    let lastError: unknown = null;
    // Stop a little before the deadline, so the caller hears UNAVAILABLE from here rather than its own TIMEOUT.
    const stopAt = deadline - Math.min(100, (deadline - ctx.clock.now()) / 10);
    for (let attempt = 0; ; attempt++) {
      const left = stopAt - ctx.clock.now();
      if (left <= 1) break;
      const id = this.ids[this.guess] as number;
      try {
        return await ctx.ask<T>(metadataReplicaAddress(id), message, { timeoutMs: Math.min(ATTEMPT_MS_MAX, left) });
      } catch (error) {
        if (!isUnknownOutcome(error)) throw error;
        lastError = error;
        const hint = typeof error.details?.['leader'] === 'number' ? (error.details['leader'] as number) : 0;
        const hinted = this.ids.indexOf(hint);
        if (hinted >= 0 && hinted !== this.guess) {
          this.guess = hinted;
          continue;
        }
        this.guess = (this.guess + 1) % this.ids.length;
        const backoff = Math.min(BACKOFF_MS_MAX, 10 * 2 ** Math.min(attempt, 5), stopAt - ctx.clock.now());
        if (backoff > 0) await new Promise<void>((resolve) => ctx.clock.setTimer(backoff, resolve));
      }
    }
    const majority = Math.floor(this.ids.length / 2) + 1;
    const cause = lastError instanceof Error ? lastError.message : 'deadline reached';
    throw new ShoalError(
      'UNAVAILABLE',
      `${what} failed: no metadata leader answered in time ` +
        `(a majority, ${majority} of ${this.ids.length} metadata replicas, must be up): ${cause}`,
      {
        replicas: this.ids.length,
      },
    );
  }
}
