/**
 * An actor cell: one actor, its mailbox, and the loop that feeds it one
 * message at a time. The cell knows nothing of threads; a station (or the
 * simulator) creates it and gives it a context.
 */
import type { Actor, ActorContext, Message, Responder } from './actor.js';
import { ShoalError, toShoalError } from './errors.js';

/** Messages handled per turn before the cell yields to other work. */
const MESSAGES_PER_TURN = 64;

interface Letter {
  readonly message: Message;
  readonly responder: Responder | null;
}

/** A FIFO queue with O(1) push and shift. */
class Deque<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}

/** What a cell needs from whoever hosts it. */
export interface CellHost {
  /** Runs `work` soon, after pending I/O callbacks (setImmediate in threads, the scheduler in the simulator). */
  schedule(work: () => void): void;
  /** The actor threw something that is not a ShoalError: it is dead; its supervisor decides. */
  crashed(error: ShoalError): void;
}

type CellState = 'new' | 'starting' | 'running' | 'stopping' | 'dead';

/** Hosts one actor and delivers its messages one at a time, in arrival order. */
export class ActorCell {
  private readonly mailbox = new Deque<Letter>();
  private state: CellState = 'new';
  private draining = false;

  constructor(
    readonly address: string,
    private readonly actor: Actor,
    private readonly ctx: ActorContext,
    private readonly host: CellHost,
    private readonly capacity: number,
  ) {}

  get alive(): boolean {
    return this.state !== 'dead';
  }

  /** Runs the actor's `start`; messages that arrive meanwhile wait. Rejects with the start error. */
  async start(): Promise<void> {
    this.state = 'starting';
    try {
      await this.actor.start?.(this.ctx);
    } catch (error) {
      this.die(toShoalError(error));
      throw toShoalError(error);
    }
    if (this.state !== 'starting') return;
    this.state = 'running';
    this.kick();
  }

  /** Queues a message. A full mailbox or a dead actor answers an ask with UNAVAILABLE. */
  enqueue(message: Message, responder: Responder | null): void {
    if (this.state === 'dead' || this.state === 'stopping') {
      responder?.fail(new ShoalError('UNAVAILABLE', `actor ${this.address} is not running`, { address: this.address }));
      return;
    }
    if (this.mailbox.length >= this.capacity) {
      responder?.fail(
        new ShoalError('UNAVAILABLE', `mailbox of ${this.address} is full (${this.capacity} messages)`, {
          address: this.address,
        }),
      );
      return;
    }
    this.mailbox.push({ message, responder });
    this.kick();
  }

  /** Orderly stop: finishes the current message, fails queued asks, runs the actor's `stop`. */
  async stop(): Promise<void> {
    if (this.state === 'dead') return;
    this.state = 'stopping';
    while (this.draining) await new Promise<void>((resolve) => this.host.schedule(resolve));
    this.failQueued('stopped');
    try {
      await this.actor.stop?.(this.ctx);
    } finally {
      this.state = 'dead';
    }
  }

  /** Kills the actor as if it had thrown `error` (fault injection). */
  crash(error: ShoalError): void {
    if (this.state === 'dead') return;
    this.die(error);
    this.host.crashed(error);
  }

  private die(error: ShoalError): void {
    this.state = 'dead';
    this.failQueued(`crashed: ${error.message}`);
  }

  private failQueued(reason: string): void {
    for (let letter = this.mailbox.shift(); letter !== undefined; letter = this.mailbox.shift()) {
      letter.responder?.fail(
        new ShoalError('UNAVAILABLE', `actor ${this.address} ${reason}`, { address: this.address }),
      );
    }
  }

  private kick(): void {
    if (this.draining || this.state !== 'running' || this.mailbox.length === 0) return;
    this.draining = true;
    this.host.schedule(() => void this.drain());
  }

  private async drain(): Promise<void> {
    let handled = 0;
    while (this.state === 'running' && handled < MESSAGES_PER_TURN) {
      const letter = this.mailbox.shift();
      if (letter === undefined) break;
      handled++;
      if (!(await this.deliver(letter))) return;
    }
    this.draining = false;
    this.kick();
  }

  /** Delivers one letter; false when the actor crashed on it. */
  private async deliver(letter: Letter): Promise<boolean> {
    try {
      const result = this.actor.receive(letter.message, this.ctx, letter.responder);
      if (result !== undefined) await result;
      return true;
    } catch (thrown) {
      // A ShoalError is an answer (bad input, a failed dependency); INTERNAL and anything else is a bug,
      // so the actor crashes and is restarted rather than carry on in a state it did not expect.
      if (thrown instanceof ShoalError && thrown.code !== 'INTERNAL') {
        letter.responder?.fail(thrown);
        if (letter.responder === null)
          this.ctx.log.warn('unanswered-error', {
            message: letter.message.type,
            code: thrown.code,
            error: thrown.message,
          });
        return true;
      }
      const error = toShoalError(thrown);
      const crashed = `actor ${this.address} crashed on a bug and is restarted: ${error.message}`;
      letter.responder?.fail(new ShoalError('INTERNAL', crashed, { address: this.address }));
      this.ctx.log.error('actor-crashed', {
        message: letter.message.type,
        error: error.message,
        stack: error.details?.['stack'],
      });
      this.draining = false;
      this.crash(error);
      return false;
    }
  }
}
