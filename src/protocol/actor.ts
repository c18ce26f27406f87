/**
 * The runner half of the split between a pure transition function
 * (machine.ts `transition`) and the side effects it names (STYLE.md item 13;
 * spec/protocol.md, "State machines"). The one place that owns an engine's
 * machine configuration: `Endpoint` (endpoint.ts) is an Actor that also
 * reads and writes the wire.
 *
 * An `Actor` owns the machine's configuration and the engine's session data
 * (`data`), and steps the machine by one event at a time. For each step it
 *   1. computes the guards the machine does not compute itself: those the
 *      message carries are given with the event, those the engine judges come
 *      from a `GuardTable`, one function per guard over the session data and
 *      the event's message, asked only when a transition for this event names
 *      it (no guard is passed as a constant);
 *   2. takes the transition (or throws when the machine does not allow it);
 *   3. runs every action the transition returns, in order, through an
 *      `ActionHandlers` table: one handler per action the machine names, so
 *      a missing or misspelt handler is a type error, not a silent no-op.
 * Replies are chosen by a `StateTable` keyed by the states the engine leaves
 * by sending (`owed`), never by comparing state names as strings.
 *
 * The tables are typed by the names generated from the machine JSON
 * (spec/machines.generated.ts): each handler and guard is given the message
 * of the events whose transitions name it, typed by the wire interfaces
 * (src/wire/messages.ts), or null for 'eof' and 'error'.
 */
import { ProtocolError } from '../errors.js';
import type { Message } from '../wire/messages.js';
import type { Payload } from '../wire/reader.js';
import { type Config, type Event, type Machine, type MachineNames, type Outcome, initialConfig, isFinal, transition } from './machine.js';

/** The names an engine's tables are typed by (spec/machines.generated.ts `PusherNames`, `ReceiverNames`). */
export interface EngineNames extends MachineNames {
  /** States left by a send. */
  sending: string;
  /** Guards the engine judges itself. */
  localGuard: string;
  /** Action → the events whose transitions run it. */
  actionEvents: Readonly<Record<string, string>>;
  /** Local guard → the events whose transitions ask it. */
  guardEvents: Readonly<Record<string, string>>;
}

/** The message an event carries: the wire message for `send:T` and `recv:T`, null for 'eof' and 'error'. */
export type MessageOf<E> = E extends `${'send' | 'recv'}:${infer T}` ? Extract<Message, { type: T }> : null;

/** A received PUTOBJECT's payload (not yet read) is given with it; no other event has one. */
type PayloadOf<E> = E extends 'recv:PUTOBJECT' ? { readonly payload: Payload } : { readonly payload?: Payload };

/** What a handler or guard is given of the event: its message, and for a received one its payload and validation failure. */
export type Seen<E = Event> = {
  readonly message: MessageOf<E>;
  /** PROTOCOL_BAD_MESSAGE for a body the engine asked to see although invalid. */
  readonly invalid?: ProtocolError;
} & PayloadOf<E>;

/** One handler per action of `N`; `D` is the data the engine owns (its session). */
export type ActionHandlers<N extends EngineNames, D> = {
  readonly [A in N['action']]: (data: D, seen: Seen<N['actionEvents'][A]>) => void | Promise<void>;
};

/** One function per guard the engine judges itself, computed from its data and the event's message. */
export type GuardTable<N extends EngineNames, D> = {
  readonly [G in N['localGuard']]: (data: D, seen: Seen<N['guardEvents'][G]>) => boolean | Promise<boolean>;
};

/** One entry per state `S` (e.g. the reply owed in each state left by a send). */
export type StateTable<S extends string, R> = { readonly [K in S]: R };

/** The reply owed in each state `N` leaves by sending. */
export type Replies<N extends EngineNames, R> = StateTable<N['sending'], R>;

/** One step taken: the actions it ran, in order. */
export interface StepRecord<N extends MachineNames = MachineNames> {
  from: N['state'];
  event: N['event'];
  to: N['state'];
  actions: N['action'][];
}

export interface ActorOptions<N extends MachineNames> {
  /** Called after every step, before its actions run (tests, the simulator, -v logging). */
  onStep?: (step: StepRecord<N>) => void;
}

/** What an engine brings to its actor: its session data and the tables that act on it. */
export interface Engine<N extends EngineNames, D, R = never> {
  data: D;
  handlers: ActionHandlers<N, D>;
  guards: GuardTable<N, D>;
  /** The reply owed in each state left by a send (`owed()`), for an engine that answers from a table. */
  replies?: Replies<N, R>;
}

/** A step's guard values as the machine asks for them. */
type Values = Readonly<Record<string, boolean>>;

/**
 * Throws INTERNAL unless `table` has exactly one entry per name in `names`:
 * the types make a table exhaustive for the generated names; this catches a
 * machine loaded as data whose names differ from the ones the engine was
 * written for (a renamed state or action).
 */
export function checkTable(what: string, table: object, names: readonly string[]): void {
  const have = Object.keys(table);
  const missing = names.filter((n) => !Object.hasOwn(table, n));
  const extra = have.filter((n) => !names.includes(n));
  if (missing.length > 0 || extra.length > 0) {
    throw new ProtocolError('INTERNAL', `${what}: ${[...missing.map((n) => `no entry for ${n}`), ...extra.map((n) => `${n} is not in the machine`)].join('; ')}`, {
      missing,
      extra,
    });
  }
}

/** The states a machine leaves by sending: those owing the peer a message. */
export function sendingStates(m: Machine): string[] {
  return Object.keys(m.states).filter((s) => m.transitions.some((t) => t.from === s && t.event.startsWith('send:')));
}

export class Actor<N extends EngineNames, D, R = never> {
  #config: Config<N['state']>;
  readonly #onStep: ((s: StepRecord<N>) => void) | undefined;
  /** The session data every handler and guard is given. */
  readonly data: D;
  readonly handlers: ActionHandlers<N, D>;
  readonly guards: GuardTable<N, D>;
  readonly #replies: Replies<N, R> | undefined;

  /**
   * Checks the engine's tables against the machine: INTERNAL when one lacks
   * or has an extra name (a machine whose states, actions or guards were
   * renamed since the engine was written).
   */
  constructor(
    readonly machine: Machine<N>,
    engine: Engine<N, D, R>,
    options: ActorOptions<N> = {},
  ) {
    const loose = machine as unknown as Machine;
    checkTable(`${machine.id} action handlers`, engine.handlers, Object.keys(loose.actions));
    checkTable(`${machine.id} guards`, engine.guards, Object.entries(loose.guards).filter(([, g]) => g.of === 'local').map(([n]) => n));
    if (engine.replies !== undefined) checkTable(`${machine.id} replies`, engine.replies, sendingStates(loose));
    this.data = engine.data;
    this.handlers = engine.handlers;
    this.guards = engine.guards;
    this.#replies = engine.replies;
    this.#config = initialConfig(machine);
    this.#onStep = options.onStep;
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
    return (this.machine as unknown as Machine).states[this.#config.state]?.final;
  }

  /** Whether the machine has any transition for `event` in the current state (guards aside). */
  allows(event: N['event']): boolean {
    return this.machine.transitions.some((t) => t.from === this.#config.state && t.event === event);
  }

  /** The entry of `table` for the current state, or undefined when the state has none. */
  entry<S extends N['state'], E>(table: StateTable<S, E>): E | undefined {
    const s = this.#config.state;
    return Object.hasOwn(table, s) ? table[s as S] : undefined;
  }

  /** The reply owed in the current state (the engine's `replies`), or undefined when it owes none. */
  owed(): R | undefined {
    return this.#replies === undefined ? undefined : this.entry(this.#replies);
  }

  /**
   * The values of the local guards that the transitions for `event` in the
   * current state name, each asked once, in the order the machine names them.
   */
  protected async judge(event: N['event'], seen: Seen): Promise<Values> {
    const loose = this.machine as unknown as Machine;
    const out: Record<string, boolean> = {};
    for (const t of loose.transitions) {
      if (t.from !== this.#config.state || t.event !== event) continue;
      const refs = t.guard === undefined ? [] : typeof t.guard === 'string' ? [t.guard] : t.guard;
      for (const ref of refs) {
        const name = ref.replace(/^!/, '');
        if (loose.guards[name]?.of !== 'local' || name in out) continue;
        const f = (this.guards as unknown as Record<string, (d: D, s: Seen) => boolean | Promise<boolean>>)[name];
        if (f === undefined) throw new ProtocolError('INTERNAL', `no value for guard ${name}`, { guard: name });
        out[name] = await f(this.data, seen);
      }
    }
    return out;
  }

  /**
   * Takes the step for `event` with these guard values (without running its
   * actions). Not allowed: throws `code` (with `what` in the message) and
   * nothing changes.
   */
  protected take(event: N['event'], values: Values, code: 'PROTOCOL_UNEXPECTED_MESSAGE' | 'INTERNAL', what?: string): StepRecord<N> {
    const from = this.#config.state;
    const r = transition(this.machine, this.#config, event, (name) => {
      const v = values[name];
      if (v === undefined) throw new ProtocolError('INTERNAL', `no value for guard ${name}`, { guard: name });
      return v;
    });
    if ('error' in r) {
      const message = what === undefined ? r.error : `${this.machine.id}: ${what} is not allowed in state ${from}`;
      throw new ProtocolError(code, message, { machine: this.machine.id, state: from, event });
    }
    this.#config = { state: r.next, ctx: r.ctx };
    const step: StepRecord<N> = { from, event, to: r.next, actions: r.actions };
    this.#onStep?.(step);
    return step;
  }

  /** Runs the step's actions in order, each through its handler; stops at the first that throws. */
  protected async run(step: StepRecord<N>, seen: Seen): Promise<void> {
    const table = this.handlers as unknown as Record<string, (d: D, s: Seen) => void | Promise<void>>;
    for (const a of step.actions) await (table[a] as (d: D, s: Seen) => void | Promise<void>)(this.data, seen);
  }

  /**
   * Steps the machine by `event` (its message, if any, in `seen`; the
   * message's own guard values in `given`) and runs the actions it returns.
   * A received message the machine does not allow is
   * PROTOCOL_UNEXPECTED_MESSAGE; any other disallowed event is INTERNAL (the
   * engine tried something its machine forbids). Either way nothing changes
   * and no handler runs. A handler that throws leaves the machine in the new
   * state with the later actions not run: the caller then steps 'error'.
   */
  async step(event: N['event'], given: Partial<Record<N['guard'], boolean>> = {}, seen: Seen = { message: null }): Promise<StepRecord<N>> {
    const values = { ...(await this.judge(event, seen)), ...(given as Values) };
    const step = this.take(event, values, event.startsWith('recv:') ? 'PROTOCOL_UNEXPECTED_MESSAGE' : 'INTERNAL');
    await this.run(step, seen);
    return step;
  }
}
