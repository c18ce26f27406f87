/**
 * The thin runner between an engine and its spec machine (spec/protocol.md,
 * "State machines"; spec/machine.ts). Every message an engine sends or
 * receives goes through here and is checked as a transition the machine
 * allows; a disallowed one is PROTOCOL_UNEXPECTED_MESSAGE naming the state
 * and the message. Received bodies are validated against
 * spec/messages/*.schema.json (PROTOCOL_BAD_MESSAGE).
 *
 * An Endpoint is the engine's Actor (actor.ts) with a wire: the one owner of
 * the machine's configuration. The engine brings its session data, a guard
 * table (guards of kind 'local', judged from that data and the message) and
 * a handler per action; every step runs the actions the machine returns
 * through those handlers. Message guards (`statusOk`) are read from the
 * message itself.
 *
 * Byte order: the writer uses `order`. With `followPeerOrder` (the receiver)
 * every received message sets `order` to the one the peer used, so answers go
 * out in the pusher's byte order; INFO, sent before anything was read, goes
 * out in the initial order ('le').
 *
 * An Endpoint is typed by its machine's names (spec/machines.generated.ts):
 * `state`, the events, the actions and the tables are the machine's unions,
 * so a name the machine lacks is a type error, and each handler is given
 * the message of its events as the wire interface (no cast, no check).
 */
import { ProtocolError } from '../errors.js';
import type { ByteOrder } from '../wire/constants.js';
import type { Message } from '../wire/messages.js';
import type { MessageReader, ReadResult } from '../wire/reader.js';
import type { MessageWriter } from '../wire/writer.js';
import { Actor, type ActorOptions, type Engine, type EngineNames, type Seen } from './actor.js';
import type { Machine } from './machine.js';
import { validateMessage } from './validate.js';
import { capabilitiesOf } from './capabilities.js';

export type { StepRecord } from './actor.js';

/** A received message, with the validation failure when the caller asked to see invalid bodies. */
export interface Received<A extends string = string> extends ReadResult {
  /** The machine's actions for this step (already run). */
  actions: A[];
  /** PROTOCOL_BAD_MESSAGE for the body, when `acceptInvalid` let it through. */
  invalid?: ProtocolError;
}

export interface ReceiveOptions {
  /**
   * Message types whose invalid bodies are handed to the judge (as
   * `invalid`) instead of thrown: the receiver refuses a bad UPDATE or
   * PUTOBJECT with STATUS false rather than ending the session.
   */
  acceptInvalid?: readonly Message['type'][];
}

/** The wire an endpoint reads and writes. */
export interface Wire {
  reader: MessageReader;
  writer: MessageWriter;
  /** Byte order of what is sent (default 'le'). */
  order?: ByteOrder;
  /** Answer in the byte order of the last received message (the receiver). */
  followPeerOrder?: boolean;
}



export { capabilitiesOf };

/** The guards a message carries itself (spec/machines: guards `of: 'message'`). */
export function messageGuards(m: Message): Record<string, boolean> {
  switch (m.type) {
    case 'STATUS':
      return { statusOk: m.result };
    case 'INFO': {
      const caps = capabilitiesOf(m);
      return { offersQuery: caps.has('query'), offersReport: caps.has('report') };
    }
    case 'DONE': {
      const v = m.extra.get('report');
      return { wantReport: v?.type === 'b' && v.value === true };
    }
    case 'REPORT':
      return { reportOk: m.refused.size === 0 };
    default:
      return {};
  }
}

export class Endpoint<N extends EngineNames, D, R = never> extends Actor<N, D, R> {
  order: ByteOrder;
  readonly reader: MessageReader;
  readonly writer: MessageWriter;
  readonly #followPeerOrder: boolean;

  constructor(machine: Machine<N>, wire: Wire, engine: Engine<N, D, R>, options: ActorOptions<N> = {}) {
    super(machine, engine, options);
    this.reader = wire.reader;
    this.writer = wire.writer;
    this.order = wire.order ?? 'le';
    this.#followPeerOrder = wire.followPeerOrder ?? false;
  }

  /**
   * Sends a message and runs the actions of its step. The step is taken
   * before the write: a STATUS read concurrently (the pipelined pusher) must
   * see the machine after this send, not before. A PUTOBJECT's body goes
   * out alone: its payload is the action `sendPayload`, which must call
   * `sendPayload` here.
   */
  async send(message: Message): Promise<N['action'][]> {
    validateMessage(message);
    const event = `send:${message.type}` as N['event'];
    const seen: Seen = { message };
    const values = { ...(await this.judge(event, seen)), ...messageGuards(message) };
    const step = this.take(event, values, 'PROTOCOL_UNEXPECTED_MESSAGE', `sending ${message.type}`);
    if (message.type === 'PUTOBJECT') await this.writer.sendPutObjectBody(message, this.order);
    else await this.writer.send(message, this.order);
    await this.run(step, seen);
    if (this.writer.owesPayload) throw new ProtocolError('INTERNAL', `${this.machine.id}: no payload was sent after PUTOBJECT ${message.type === 'PUTOBJECT' ? message.object : ''}`, {});
    return step.actions;
  }

  /** Streams the payload of the PUTOBJECT just sent (exactly its `size` bytes): the `sendPayload` action's work. */
  async sendPayload(payload: AsyncIterable<Uint8Array>): Promise<void> {
    await this.writer.sendPayload(payload);
  }

  /**
   * Reads the next message, judges the guards the machine asks for, steps
   * and runs the step's actions. Returns null at a clean end of stream (the
   * 'eof' step is taken). A message the current state never accepts is
   * refused before any guard is judged (so a PUTOBJECT out of turn is never
   * staged). On any error the caller decides what follows; call `fail()` to
   * take the 'error' step.
   */
  async receive(options: ReceiveOptions = {}): Promise<Received<N['action']> | null> {
    const r = await this.reader.next();
    if (r === null) {
      await this.eof();
      return null;
    }
    if (this.#followPeerOrder) this.order = r.order;
    const event = `recv:${r.message.type}` as N['event'];
    if (!this.allows(event)) {
      throw new ProtocolError('PROTOCOL_UNEXPECTED_MESSAGE', `${this.machine.id}: received ${r.message.type} in state ${this.state}`, {
        machine: this.machine.id,
        state: this.state,
        event,
      });
    }
    let invalid: ProtocolError | undefined;
    try {
      validateMessage(r.message);
    } catch (e) {
      if (!(e instanceof ProtocolError) || !(options.acceptInvalid ?? []).includes(r.message.type)) throw e;
      invalid = e;
    }
    const seen = { message: r.message, ...(r.payload === undefined ? {} : { payload: r.payload }), ...(invalid === undefined ? {} : { invalid }) } as Seen;
    const values = { ...(await this.judge(event, seen)), ...messageGuards(r.message) };
    const step = this.take(event, values, 'PROTOCOL_UNEXPECTED_MESSAGE', `received ${r.message.type}`);
    await this.run(step, seen);
    return invalid === undefined ? { ...r, actions: step.actions } : { ...r, actions: step.actions, invalid };
  }

  /** The connection ended: takes the 'eof' step and runs its actions (no-op once final). */
  async eof(): Promise<N['action'][]> {
    if (this.finished) return [];
    return (await this.step('eof' as N['event'])).actions;
  }

  /** A local failure or a peer's protocol error ended the session: the 'error' step and its actions (no-op once final). */
  async fail(): Promise<N['action'][]> {
    if (this.finished) return [];
    return (await this.step('error' as N['event'])).actions;
  }
}
