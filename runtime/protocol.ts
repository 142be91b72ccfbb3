/**
 * What threads say to each other. Every thread runs one station (the main
 * thread is station 0, each worker a higher number, never reused); stations
 * exchange envelopes over MessagePorts. Data envelopes (`msg`, `reply`) go
 * directly between workers; control envelopes go between a worker and the
 * actor system in the main thread.
 */
import type { ActorSpec, Address, Message } from './actor.js';
import type { MessagePort } from 'node:worker_threads';
import type { ErrorData } from './errors.js';

/** The address of the actor system itself (answered by station 0). */
export const SYSTEM_ADDRESS = '$system';

/** Identifies an ask so its reply can find the waiting promise. */
export interface AskHeader {
  readonly id: number;
  readonly station: number;
  /** Milliseconds the asker still waits (clocks differ between threads, so this is relative). */
  readonly timeoutMs: number;
}

/** A message for an actor, possibly an ask. */
export interface MessageEnvelope {
  readonly k: 'msg';
  readonly to: Address;
  readonly body: Message;
  readonly ask: AskHeader | null;
}

/** The answer to an ask, sent to the asking station. */
export type ReplyEnvelope =
  | { readonly k: 'reply'; readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly k: 'reply'; readonly id: number; readonly ok: false; readonly error: ErrorData };

/** From the system to a station. */
export type ControlEnvelope =
  | { readonly k: 'spawn'; readonly spec: ActorSpec; readonly incarnation: number }
  | { readonly k: 'stop'; readonly address: Address; readonly incarnation: number }
  | { readonly k: 'crash'; readonly address: Address }
  /** Directory updates: a station number, -1 while the actor is restarting, or null when it is gone. */
  | { readonly k: 'dir'; readonly entries: readonly (readonly [Address, number | null])[] }
  | { readonly k: 'down'; readonly station: number }
  | { readonly k: 'port'; readonly peer: number; readonly port: MessagePort };

/** From a station to the system. */
export type ReportEnvelope =
  | { readonly k: 'started'; readonly address: Address; readonly incarnation: number; readonly threadId: number }
  | { readonly k: 'start-failed'; readonly address: Address; readonly incarnation: number; readonly error: ErrorData }
  | { readonly k: 'crashed'; readonly address: Address; readonly incarnation: number; readonly error: ErrorData }
  | { readonly k: 'stopped'; readonly address: Address; readonly incarnation: number }
  | { readonly k: 'connect'; readonly peer: number };

/** Anything a station may receive. */
export type Envelope = MessageEnvelope | ReplyEnvelope | ControlEnvelope | ReportEnvelope;

/** What a worker receives at start. */
export interface WorkerBootData {
  readonly stationId: number;
  readonly entry: string;
  readonly useTsx: boolean;
  /** One Int32Array cell, set to 1 just before the system terminates the thread (see thread.ts). */
  readonly dying: SharedArrayBuffer;
}
