/**
 * The runner half of the split between a pure transition function
 * (spec/machine.ts `transition`) and the side effects it names (STYLE.md
 * item 13; spec/protocol.md, "State machines").
 *
 * An `Actor` owns the machine's configuration and steps it by one event at a
 * time. For each step it
 *   1. computes every guard the machine does not compute itself: those the
 *      message carries are given with the event, those the endpoint judges
 *      come from a `GuardTable`, one function per guard over data the
 *      endpoint owns (no guard is passed as a constant);
 *   2. takes the transition (or throws when the machine does not allow it);
 *   3. runs every action the transition returns, in order, through an
 *      `ActionHandlers` table: one handler per action the machine names, so
 *      a missing or misspelt handler is a type error, not a silent no-op.
 * Replies are chosen by a `StateTable` keyed by the states the endpoint
 * leaves by sending, never by comparing state names as strings.
 *
 * The tables are typed by the names generated from the machine JSON
 * (spec/machines.generated.ts). Nothing here reads or writes bytes: the
 * wire stays with `Endpoint`, which an engine can drive from its handlers.
 */
import { type Config, type GuardValues, type Machine, type MachineNames, type Outcome, initialConfig, isFinal, transition } from '../../spec/machine.js';
import type {
  PusherAction,
  PusherLocalGuard,
  PusherSendingState,
  ReceiverAction,
  ReceiverLocalGuard,
  ReceiverSendingState,
} from '../../spec/machines.generated.js';
import { ProtocolError } from '../errors.js';

/** One handler per action `A`; `D` is the data the endpoint owns (its session). */
export type ActionHandlers<A extends string, D> = { readonly [K in A]: (data: D) => void | Promise<void> };

/** One function per guard `G` the endpoint judges itself, computed from its data. */
export type GuardTable<G extends string, D> = { readonly [K in G]: (data: D) => boolean };

/** One entry per state `S` (e.g. the reply owed in each state left by a send). */
export type StateTable<S extends string, R> = { readonly [K in S]: R };

export type ReceiverActionHandlers<D> = ActionHandlers<ReceiverAction, D>;
export type PusherActionHandlers<D> = ActionHandlers<PusherAction, D>;
export type ReceiverGuardTable<D> = GuardTable<ReceiverLocalGuard, D>;
export type PusherGuardTable<D> = GuardTable<PusherLocalGuard, D>;
export type ReceiverReplies<R> = StateTable<ReceiverSendingState, R>;
/** @public The pusher's half of the pair with ReceiverReplies, kept for symmetry. */
export type PusherReplies<R> = StateTable<PusherSendingState, R>;

/** Runs `actions` in order, each through its handler; stops at the first that throws. */
export async function runActions<A extends string, D>(handlers: ActionHandlers<A, D>, actions: readonly A[], data: D): Promise<void> {
  for (const a of actions) {
    const h = (handlers as Partial<ActionHandlers<A, D>>)[a];
    // Unreachable when the table is typed by the machine's actions; kept for tables built at run time.
    if (h === undefined) throw new ProtocolError('INTERNAL', `no handler for action ${a}`, { action: a });
    await h(data);
  }
}

/**
 * The guard values for one step: `given` (the message's own guards) first,
 * then the endpoint's table over `data`. A guard in neither is left to the
 * machine, which computes context guards and rejects any other.
 */
export function guardValues<G extends string, D>(table: Partial<GuardTable<G, D>>, data: D, given: Partial<Record<G, boolean>> = {}): GuardValues<G> {
  return (name: G): boolean => {
    const v = given[name];
    if (v !== undefined) return v;
    const f = table[name];
    if (f === undefined) throw new ProtocolError('INTERNAL', `no value for guard ${name}`, { guard: name });
    return f(data);
  };
}

/** One step taken by an actor. */
export interface ActorStep<N extends MachineNames> {
  from: N['state'];
  event: N['event'];
  to: N['state'];
  actions: N['action'][];
}

export class Actor<N extends MachineNames, D, L extends N['guard'] = N['guard']> {
  #config: Config<N['state']>;

  constructor(
    readonly machine: Machine<N>,
    readonly handlers: ActionHandlers<N['action'], D>,
    readonly guards: GuardTable<L, D>,
  ) {
    this.#config = initialConfig(machine);
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

  get outcome(): Outcome | undefined {
    return (this.machine as Machine).states[this.#config.state]?.final;
  }

  /**
   * Steps the machine by `event` and runs the actions it returns. A received
   * message the machine does not allow is PROTOCOL_UNEXPECTED_MESSAGE; any
   * other disallowed event is INTERNAL (the engine tried something its
   * machine forbids). Either way nothing changes and no handler runs. A
   * handler that throws leaves the machine in the new state with the later
   * actions not run: the caller then steps 'error'.
   */
  async step(event: N['event'], data: D, given: Partial<Record<N['guard'], boolean>> = {}): Promise<ActorStep<N>> {
    const from = this.#config.state;
    const r = transition(this.machine, this.#config, event, guardValues<N['guard'], D>(this.guards as Partial<GuardTable<N['guard'], D>>, data, given));
    if ('error' in r) {
      const code = event.startsWith('recv:') ? 'PROTOCOL_UNEXPECTED_MESSAGE' : 'INTERNAL';
      throw new ProtocolError(code, r.error, { machine: this.machine.id, state: from, event });
    }
    this.#config = { state: r.next, ctx: r.ctx };
    await runActions(this.handlers, r.actions, data);
    return { from, event, to: r.next, actions: r.actions };
  }

  /**
   * The entry of `table` for the current state, or undefined when the
   * state has none (e.g. the reply owed in a state left by a send).
   */
  owed<S extends N['state'], R>(table: StateTable<S, R>): R | undefined {
    const s = this.#config.state;
    return Object.hasOwn(table, s) ? table[s as S] : undefined;
  }
}
