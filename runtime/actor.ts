/**
 * The actor contract. An actor owns its state and sees the world only through
 * its context: messages in, messages out, time from `ctx.clock`, randomness
 * from `ctx.random`, files through `ctx.fs`. The same actor code runs in a
 * dedicated worker thread, shares a worker with others, or runs under the
 * deterministic simulator.
 */
import type { Clock } from './clock.js';
import type { ErrorData, ShoalError } from './errors.js';
import type { FileSystem } from './fs.js';
import type { Logger } from './log.js';
import type { Random } from './random.js';

/** The name of an actor, unique within an actor system (e.g. `shard/docs/0`). */
export type Address = string;

/** Messages are plain data tagged by `type`. */
export interface Message {
  readonly type: string;
  readonly [field: string]: unknown;
}

/** Objects whose ownership moves to the receiver (their buffers become unusable to the sender). */
export type TransferList = readonly ArrayBuffer[];

/** Answers one ask. Only the first call counts; later ones are ignored. */
export interface Responder<T = unknown> {
  /** Replies with `value`; buffers in `transfer` move to the asker. */
  ok(value: T, transfer?: TransferList): void;
  /** Replies with an error; the asker's promise rejects with it as a ShoalError. */
  fail(error: ShoalError | ErrorData | unknown): void;
  /** When the asker stops waiting, in `ctx.clock` milliseconds. */
  readonly deadline: number;
}

/** The outcome of a promise piped back to an actor as a message. */
export type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: ShoalError };

/** Options of an ask. Every ask has a deadline. */
export interface AskOptions {
  readonly timeoutMs: number;
  readonly transfer?: TransferList;
}

/** What an actor may do. */
export interface ActorContext {
  readonly self: Address;
  readonly clock: Clock;
  readonly random: Random;
  readonly fs: FileSystem;
  readonly log: Logger;
  /** The worker thread hosting this actor (0 for the main thread). */
  readonly threadId: number;
  /** Sends without waiting for an answer. Delivery is FIFO per (sender thread, receiver). */
  tell(to: Address, message: Message, transfer?: TransferList): void;
  /** Sends and waits for the answer; rejects with TIMEOUT after `timeoutMs`, UNAVAILABLE if the target is gone. */
  ask<T>(to: Address, message: Message, options: AskOptions): Promise<T>;
  /** Delivers the outcome of `promise` to this actor as the message `toMessage(outcome)`, in mailbox order. */
  pipeToSelf<T>(promise: Promise<T>, toMessage: (outcome: Outcome<T>) => Message): void;
  /** Resolves after the events pending now (incoming messages, I/O completions) have been handled. */
  nextTurn(): Promise<void>;
  /** Asks the actor system (start or stop a supervision group, ...). */
  system<T>(request: SystemRequest, timeoutMs: number): Promise<T>;
}

/**
 * An actor. `receive` handles one message at a time: if it returns a promise,
 * the mailbox waits for it before the next message. Throwing (or rejecting
 * with) a ShoalError answers the current ask with that error; throwing
 * anything else is a bug: the actor crashes and its supervisor decides.
 */
export interface Actor {
  /** Runs before the first message; messages wait in the mailbox until it resolves. */
  start?(ctx: ActorContext): Promise<void> | void;
  receive(message: Message, ctx: ActorContext, responder: Responder | null): Promise<void> | void;
  /** Runs on an orderly stop (not on a crash): close files, flush. */
  stop?(ctx: ActorContext): Promise<void> | void;
}

/** How to make an actor in any thread: a module URL, the name of its exported factory, and plain-data arguments. */
export interface ActorSpec {
  readonly address: Address;
  readonly module: string;
  readonly factory: string;
  readonly args: unknown;
}

/** Erlang/OTP restart strategies. */
export type RestartStrategy = 'one_for_one' | 'rest_for_one';

/** A supervision group: children started in order and restarted by `strategy` within an intensity limit. */
export interface GroupSpec {
  readonly name: string;
  readonly strategy: RestartStrategy;
  /** More than `maxRestarts` restarts within `withinMs` and the group gives up and escalates. */
  readonly maxRestarts: number;
  readonly withinMs: number;
  readonly children: readonly ActorSpec[];
  /** Told `{ type: 'group-failed', group, error }` when the group gives up. */
  readonly owner?: Address;
}

/** Requests actors may make of the system. */
export type SystemRequest =
  | { readonly type: 'start-group'; readonly group: GroupSpec }
  | { readonly type: 'stop-group'; readonly name: string }
  | { readonly type: 'kill-worker'; readonly address: Address }
  | { readonly type: 'crash-actor'; readonly address: Address }
  | { readonly type: 'describe' };

/** Where every actor lives, as the system sees it. */
export interface SystemDescription {
  readonly workers: number;
  readonly actors: readonly { readonly address: Address; readonly threadId: number; readonly restarts: number }[];
  readonly groups: readonly { readonly name: string; readonly restarts: number; readonly failed: boolean }[];
}

/** Told to a group's owner when the group exceeded its restart intensity and stopped. */
export interface GroupFailedMessage extends Message {
  readonly type: 'group-failed';
  readonly group: string;
  readonly error: ErrorData;
}

/** A factory exported by an actor module. */
export type ActorFactory = (args: never) => Actor;
