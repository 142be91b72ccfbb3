/**
 * One incarnation of an actor under the simulator: a virtual thread (its
 * gate), its cell (runtime/actor-cell.ts, unchanged) and the ActorContext it
 * sees. The context has the threaded contract (runtime/station.ts): tell,
 * ask with a deadline, pipeToSelf, nextTurn, system requests, and clock,
 * random, fs and log of its own, all virtual: every callback passes the
 * incarnation's gate, so a killed actor's code never runs again.
 */
import type { Actor, ActorContext, Address, Message, Outcome, SystemRequest } from '../actor.js';
import { ActorCell } from '../actor-cell.js';
import { toShoalError } from '../errors.js';
import type { ShoalError } from '../errors.js';
import type { Logger, LogLevel } from '../log.js';
import { SYSTEM_ADDRESS } from '../protocol.js';
import type { Random } from '../random.js';
import { Gate } from './gate.js';
import type { Scheduler } from './scheduler.js';
import type { SimFileSystem } from './sim-fs.js';
import type { Endpoint, Post } from './sim-post.js';
import { VirtualClock } from './virtual-clock.js';

/** An actor incarnation: an endpoint with a thread and a cell. */
export interface Incarnation extends Endpoint {
  /** The virtual thread hosting it (one per incarnation, as with one actor per worker). */
  readonly threadId: number;
  actorCell: ActorCell | null;
  /** Rejects a start in progress when the thread dies. */
  abortStart: ((error: ShoalError) => void) | null;
  /** Its thread was ended (stopped, killed, node crash): its crash is not reported. */
  killed: boolean;
}

/** What an incarnation's context is made of. */
export interface IncarnationServices {
  readonly scheduler: Scheduler;
  readonly fs: SimFileSystem;
  readonly post: Post;
  readonly random: Random;
  readonly log: Logger;
  readonly mailboxCapacity: number;
  /** The cell crashed (threw something other than a ShoalError). */
  crashed(incarnation: Incarnation, error: ShoalError): void;
  /** A timer callback threw: an uncaught exception kills the thread. */
  uncaught(incarnation: Incarnation, error: unknown): void;
}

const RANK: Record<LogLevel | 'silent', number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** A new incarnation of `address` on thread `id`, with an open gate and no cell yet. */
export function createIncarnation(id: number, address: Address): Incarnation {
  const incarnation: Incarnation = {
    address,
    id,
    gate: new Gate(),
    threadId: id,
    actorCell: null,
    abortStart: null,
    killed: false,
    cell: () => incarnation.actorCell,
  };
  return incarnation;
}

/**
 * A logger whose events at or above `level` become trace lines (`log <level> <source> <event> <fields>`), stacks left
 * out.
 */
export function createTraceLogger(scheduler: Scheduler, source: string, level: LogLevel | 'silent'): Logger {
  const threshold = RANK[level];
  const emit =
    (eventLevel: LogLevel) =>
    (event: string, fields?: Record<string, unknown>): void => {
      if (RANK[eventLevel] < threshold) return;
      let text = '';
      if (fields !== undefined) {
        try {
          text = ` ${JSON.stringify(fields, (key, value: unknown) => (key === 'stack' ? undefined : value))}`;
        } catch {
          text = ' (fields not serialisable)';
        }
      }
      scheduler.record(`log ${eventLevel} ${source} ${event}${text}`);
    };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}

/** The context `actor` sees in this incarnation. */
function createContext(incarnation: Incarnation, services: IncarnationServices): ActorContext {
  const { scheduler, post, gate } = { ...services, gate: incarnation.gate };
  return {
    self: incarnation.address,
    clock: new VirtualClock(scheduler, {
      name: incarnation.address,
      gate,
      uncaught: (error) => services.uncaught(incarnation, error),
    }),
    random: services.random,
    fs: services.fs.forActor(incarnation.address, gate),
    log: services.log,
    threadId: incarnation.threadId,
    tell: (to, message, transfer) => post.tell(incarnation, to, message, transfer ?? []),
    ask: (to, message, options) => post.ask(incarnation, to, message, options),
    pipeToSelf<T>(promise: Promise<T>, toMessage: (outcome: Outcome<T>) => Message): void {
      promise.then(
        (value) => {
          if (gate.open) incarnation.actorCell?.enqueue(toMessage({ ok: true, value }), null);
        },
        (error: unknown) => {
          if (gate.open) incarnation.actorCell?.enqueue(toMessage({ ok: false, error: toShoalError(error) }), null);
        },
      );
    },
    nextTurn: () => gate.promise(new Promise<void>((resolve) => scheduler.soon(resolve))),
    system: <T>(request: SystemRequest, timeoutMs: number) =>
      post.ask<T>(incarnation, SYSTEM_ADDRESS, request as unknown as Message, { timeoutMs }),
  };
}

/** Creates the incarnation's cell around `actor` (not started). */
export function createCell(incarnation: Incarnation, actor: Actor, services: IncarnationServices): ActorCell {
  const gate = incarnation.gate;
  const cell = new ActorCell(
    incarnation.address,
    actor,
    createContext(incarnation, services),
    {
      schedule: (work) => void services.scheduler.soon(gate.guard(work)),
      crashed: (error) => services.crashed(incarnation, error),
    },
    services.mailboxCapacity,
  );
  incarnation.actorCell = cell;
  return cell;
}
