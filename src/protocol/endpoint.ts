/**
 * The thin runner between an engine and its spec machine (spec/protocol.md,
 * "State machines"; spec/machine.ts). Every message an engine sends or
 * receives goes through here and is checked as a transition the machine
 * allows; a disallowed one is PROTOCOL_UNEXPECTED_MESSAGE naming the state
 * and the message. Received bodies are validated against
 * spec/messages/*.schema.json (PROTOCOL_BAD_MESSAGE).
 *
 * The engine keeps its judgement (guards of kind 'local') and its I/O side
 * effects (the machine's actions); the endpoint keeps the state. Message
 * guards (`statusOk`) are read from the message itself.
 *
 * Byte order: the writer uses `order`. With `followPeerOrder` (the receiver)
 * every received message sets `order` to the one the peer used, so answers go
 * out in the pusher's byte order; INFO, sent before anything was read, goes
 * out in the initial order ('le').
 *
 * An Endpoint is typed by its machine's names (spec/machines.generated.ts):
 * `state`, the events and the actions it returns are the machine's unions,
 * so comparing `state` with a name the machine lacks is a type error.
 */
import { ProtocolError } from '../errors.js';
import { type Config, type GuardValues, type Machine, type MachineNames, type Outcome, initialConfig, isFinal, transition } from '../../spec/machine.js';
import type { ByteOrder } from '../wire/constants.js';
import type { Message, PutObjectMessage } from '../wire/messages.js';
import type { MessageReader, ReadResult } from '../wire/reader.js';
import type { MessageWriter } from '../wire/writer.js';
import { validateMessage } from './validate.js';

/** One step taken: what the engine must now do is `actions`, in order. */
export interface StepRecord<N extends MachineNames = MachineNames> {
  from: N['state'];
  event: N['event'];
  to: N['state'];
  actions: N['action'][];
}

/** A received message, with the validation failure when the caller asked to see invalid bodies. */
export interface Received<A extends string = string> extends ReadResult {
  /** The machine's actions for this step. */
  actions: A[];
  /** PROTOCOL_BAD_MESSAGE for the body, when `acceptInvalid` let it through. */
  invalid?: ProtocolError;
}

export type Judge<G extends string = string> = (msg: ReadResult & { invalid?: ProtocolError }) => GuardValues<G> | Promise<GuardValues<G>>;

export interface ReceiveOptions {
  /**
   * Message types whose invalid bodies are handed to the judge (as
   * `invalid`) instead of thrown: the receiver refuses a bad UPDATE or
   * PUTOBJECT with STATUS false rather than ending the session.
   */
  acceptInvalid?: readonly Message['type'][];
}

export interface EndpointOptions<N extends MachineNames = MachineNames> {
  /** Answer in the byte order of the last received message (the receiver). */
  followPeerOrder?: boolean;
  /** Called after every step (tests, the simulator, -v logging). */
  onStep?: (step: StepRecord<N>) => void;
}

/** The capability names an INFO lists (its optional `capabilities : as`). */
export function capabilitiesOf(m: Message): Set<string> {
  if (m.type !== 'INFO') return new Set();
  const v = m.extra.get('capabilities');
  return new Set(v?.type === 'as' ? (v.value as string[]) : []);
}

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

/** No guard values from the caller. */
const none = <G extends string>(): GuardValues<G> => ({}) as GuardValues<G>;

function merge<G extends string>(own: Record<string, boolean>, given: GuardValues<G> | undefined): GuardValues<G> {
  if (given === undefined) return own as GuardValues<G>;
  if (typeof given === 'function') return (name: G) => own[name] ?? given(name);
  return { ...given, ...own };
}

export class Endpoint<N extends MachineNames = MachineNames> {
  #config: Config<N['state']>;
  order: ByteOrder;
  readonly #followPeerOrder: boolean;
  // Held as taking any step (a parameter typed by N would make Endpoint<PusherNames>
  // unusable where an Endpoint is expected); only StepRecord<N> is ever passed.
  readonly #onStep: ((s: StepRecord) => void) | undefined;

  constructor(
    readonly machine: Machine<N>,
    readonly reader: MessageReader,
    readonly writer: MessageWriter,
    order: ByteOrder = 'le',
    options: EndpointOptions<N> = {},
  ) {
    this.#config = initialConfig(machine);
    this.order = order;
    this.#followPeerOrder = options.followPeerOrder ?? false;
    this.#onStep = options.onStep as ((s: StepRecord) => void) | undefined;
  }

  get state(): N['state'] {
    return this.#config.state;
  }

  get config(): Config<N['state']> {
    return this.#config;
  }

  get finished(): boolean {
    return isFinal(this.machine, this.#config.state);
  }

  /** The final state's outcome, or undefined while the session runs. */
  get outcome(): Outcome | undefined {
    return (this.machine as Machine).states[this.#config.state]?.final;
  }

  /** Whether the machine has any transition for `event` in the current state (guards aside). */
  allows(event: N['event']): boolean {
    return this.machine.transitions.some((t) => t.from === this.#config.state && t.event === event);
  }

  /** Computes a step without taking it; PROTOCOL_UNEXPECTED_MESSAGE when not allowed. */
  #plan(event: N['event'], guards: GuardValues<N['guard']>, what: string): StepRecord<N> & { next: Config<N['state']> } {
    const step = transition(this.machine, this.#config, event, guards);
    if ('error' in step) {
      throw new ProtocolError('PROTOCOL_UNEXPECTED_MESSAGE', `${this.machine.id}: ${what} is not allowed in state ${this.#config.state}`, {
        machine: this.machine.id,
        state: this.#config.state,
        event,
      });
    }
    return { from: this.#config.state, event, to: step.next, actions: step.actions, next: { state: step.next, ctx: step.ctx } };
  }

  #take(step: StepRecord<N> & { next: Config<N['state']> }): N['action'][] {
    this.#config = step.next;
    const { next: _next, ...record } = step;
    this.#onStep?.(record);
    return step.actions;
  }

  /** Sends a message (not a PUTOBJECT with payload); returns the machine's actions. */
  async send(message: Message, guards?: GuardValues<N['guard']>): Promise<N['action'][]> {
    validateMessage(message);
    // The step is taken before the write: a STATUS read concurrently (the
    // pipelined pusher) must see the machine after this send, not before.
    const actions = this.#take(this.#plan(`send:${message.type}` as N['event'], merge(messageGuards(message), guards), `sending ${message.type}`));
    await this.writer.send(message, this.order);
    return actions;
  }

  /** Sends PUTOBJECT and streams its payload (exactly `size` bytes). */
  async sendPutObject(
    put: Pick<PutObjectMessage, 'object' | 'size'> & { extra?: PutObjectMessage['extra'] },
    payload: AsyncIterable<Uint8Array>,
    guards?: GuardValues<N['guard']>,
  ): Promise<N['action'][]> {
    const message: PutObjectMessage = { type: 'PUTOBJECT', object: put.object, size: put.size, extra: put.extra ?? new Map() };
    validateMessage(message);
    const actions = this.#take(this.#plan('send:PUTOBJECT' as N['event'], merge({}, guards), 'sending PUTOBJECT'));
    await this.writer.sendPutObject(message, payload, this.order);
    return actions;
  }

  /**
   * Reads the next message and steps the machine with the judge's guard
   * values. Returns null at a clean end of stream (the 'eof' step is taken).
   * A message the current state never accepts is refused before the judge
   * runs (so a PUTOBJECT out of turn is never staged). On any error the
   * caller decides what follows; call `fail()` to take the 'error' step.
   */
  async receive(judge: Judge<N['guard']> = none, options: ReceiveOptions = {}): Promise<Received<N['action']> | null> {
    const r = await this.reader.next();
    if (r === null) {
      this.eof();
      return null;
    }
    if (this.#followPeerOrder) this.order = r.order;
    const event = `recv:${r.message.type}` as N['event'];
    if (!this.allows(event)) {
      throw new ProtocolError('PROTOCOL_UNEXPECTED_MESSAGE', `${this.machine.id}: received ${r.message.type} in state ${this.#config.state}`, {
        machine: this.machine.id,
        state: this.#config.state,
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
    const seen: ReadResult & { invalid?: ProtocolError } = invalid === undefined ? r : { ...r, invalid };
    const guards = await judge(seen);
    const actions = this.#take(this.#plan(event, merge(messageGuards(r.message), guards), `received ${r.message.type}`));
    return invalid === undefined ? { ...r, actions } : { ...r, actions, invalid };
  }

  /** The connection ended: takes the 'eof' step (no-op once final). */
  eof(): N['action'][] {
    if (this.finished) return [];
    return this.#take(this.#plan('eof' as N['event'], none(), 'end of stream'));
  }

  /** A local failure or a peer's protocol error ended the session: the 'error' step (no-op once final). */
  fail(): N['action'][] {
    if (this.finished) return [];
    return this.#take(this.#plan('error' as N['event'], none(), 'error'));
  }
}

