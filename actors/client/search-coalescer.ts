/**
 * Client-side coalescing of concurrent searches. Searches of one collection
 * (of one dimension and one `allowPartial`) issued in the same turn of the
 * host's event loop travel to the engines as one search message with
 * several queries, so the thread hops host → engines → host are
 * paid once per group instead of once per search (the read-side twin of the
 * WAL's group commit). A lone search waits only for the end of the current
 * turn (`setImmediate`). Each search keeps its own deadline: it fails with
 * TIMEOUT at its own time even while the group's ask runs on. A search whose
 * signal aborts before its group leaves is dropped from the group (it rejects
 * ABORTED at once, and a group left empty is not sent); once the group has
 * left, the engines answer it anyway and the caller simply stops waiting.
 */
import type { Clock, Timer } from '../../runtime/clock.js';
import { assert } from '../../runtime/assert.js';
import { ShoalError } from '../../runtime/errors.js';
import type { SearchBatchResult, SearchResult } from '../public-api.js';
import type { CheckedQuery, CheckedSearch } from '../read-protocol.js';
import { abortedError, onAbortOf } from './abort.js';

/** Sends one search message (of one or more queries) to the collection's engines (the read router). */
export type SearchAsk = (collection: string, search: CheckedSearch, timeoutMs: number) => Promise<SearchBatchResult>;

interface Pending {
  readonly query: CheckedQuery;
  readonly vector: Float32Array;
  readonly timeoutMs: number;
  readonly resolve: (result: SearchResult) => void;
  readonly reject: (error: unknown) => void;
  /** Removes the abort listener that drops this search from its unsent group. */
  readonly forgetSignal: () => void;
}

interface Group {
  readonly collection: string;
  readonly dimension: number;
  readonly allowPartial: boolean;
  readonly members: Pending[];
}

/** Groups concurrent single searches into search messages of up to `groupMax` queries. */
export class SearchCoalescer {
  private readonly open = new Map<string, Group>();

  constructor(
    private readonly ask: SearchAsk,
    private readonly groupMax: number,
    /** Runs a callback at the end of the current turn (`setImmediate`; the simulator's clock there). */
    private readonly defer: (callback: () => void) => void,
    private readonly clock: Clock,
  ) {}

  /** Searches `search` (one query) together with the others of this turn; answers as a search of its own would. */
  search(collection: string, search: CheckedSearch, timeoutMs: number, signal?: AbortSignal): Promise<SearchResult> {
    const query = search.queries[0];
    assert(search.queries.length === 1 && query !== undefined, 'coalesced searches carry exactly one query');
    const key = `${search.dimension}/${search.allowPartial ? 'p' : 'w'}/${collection}`;
    let group = this.open.get(key);
    if (group === undefined) {
      const created: Group = {
        collection,
        dimension: search.dimension,
        allowPartial: search.allowPartial,
        members: [],
      };
      this.open.set(key, created);
      this.defer(() => this.send(key, created));
      group = created;
    }
    const members = group.members;
    const answer = new Promise<SearchResult>((resolve, reject) => {
      const member: Pending = {
        query,
        vector: search.vectors,
        timeoutMs,
        resolve,
        reject,
        forgetSignal: onAbortOf(signal, () => {
          const index = members.indexOf(member);
          // Still waiting for its group to leave: drop it; once sent, the group's answer settles it.
          if (index === -1 || this.open.get(key) !== group) return;
          members.splice(index, 1);
          reject(abortedError(signal as AbortSignal, 'search'));
        }),
      };
      members.push(member);
    });
    if (members.length >= this.groupMax) this.send(key, group);
    return answer;
  }

  private send(key: string, group: Group): void {
    if (this.open.get(key) !== group) return; // already sent (full)
    this.open.delete(key);
    const { members, dimension } = group;
    for (const member of members) member.forgetSignal();
    if (members.length === 0) return; // every search of the group was aborted before it left
    const vectors = new Float32Array(members.length * dimension);
    members.forEach((member, index) => vectors.set(member.vector, index * dimension));
    const search: CheckedSearch = {
      vectors,
      dimension,
      queries: members.map((member) => member.query),
      allowPartial: group.allowPartial,
    };
    const timeoutMs = Math.max(...members.map((member) => member.timeoutMs));
    const settled = new Array<boolean>(members.length).fill(false);
    const timers = members.map((member, index): Timer | null =>
      member.timeoutMs >= timeoutMs
        ? null
        : this.clock.setTimer(member.timeoutMs, () => {
            settled[index] = true;
            member.reject(
              new ShoalError('TIMEOUT', `search of ${group.collection} timed out after ${member.timeoutMs} ms`, {
                type: 'search',
                timeoutMs: member.timeoutMs,
              }),
            );
          }),
    );
    const finish = (index: number, settle: () => void): void => {
      timers[index]?.cancel();
      if (settled[index] === true) return;
      settled[index] = true;
      settle();
    };
    this.ask(group.collection, search, timeoutMs).then(
      ({ results, ...shards }) =>
        members.forEach((member, index) =>
          finish(index, () => member.resolve({ hits: results[index] ?? [], ...shards })),
        ),
      (error: unknown) => members.forEach((member, index) => finish(index, () => member.reject(error))),
    );
  }
}
