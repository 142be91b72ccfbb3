/** What every route of the server shares: the database, the request deadline and the envelope. */
import type { FastifyReply } from 'fastify';
import type { Shoal } from '../client/shoal.js';

/** Answers `result` in Qdrant's envelope `{ result, status: "ok", time }` (time in seconds). */
export type Reply = (response: FastifyReply, result: unknown) => FastifyReply;

export interface ServerContext {
  readonly db: Shoal;
  /** The deadline of each database call a request makes. */
  readonly timeoutMs: number;
  readonly reply: Reply;
}
