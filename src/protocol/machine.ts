/**
 * The interpreter of the endpoint state machines (spec/protocol.md, "State
 * machines"): the one pure function that steps a machine of spec/machines/
 * (the machines themselves are data: spec/machine.ts loads them).
 *
 * An engine keeps a `Config` (state name + integer context), and for every
 * message it sends or receives, for a lost connection ('eof') and for a
 * local failure ('error') it calls `transition` (through actor.ts). An
 * `{ error }` result means the machine does not allow that event there: for
 * a received message the engine ends the session with
 * PROTOCOL_UNEXPECTED_MESSAGE, for one it was about to send it has a bug. On
 * success it runs the named actions in order.
 *
 * Transitions are tried in file order; the first whose guards all hold wins.
 * Guards `of: 'context'` are evaluated here from their `expr`; the others
 * are supplied by the caller (the engine's judgement, or the message).
 * The composition explorer (spec/compose.ts) and the simulator step the
 * same machines through this function.
 */

export type Outcome = 'success' | 'refused' | 'failure';
export type Event = `send:${string}` | `recv:${string}` | 'eof' | 'error';
type Op = 'lt' | 'le' | 'eq' | 'ne' | 'ge' | 'gt';
export type Expr = Partial<Record<Op, [string | number, string | number]>>;

/**
 * The names a machine uses. `MachineNames` itself (plain strings) types a
 * machine read from anywhere; PUSHER and RECEIVER carry the unions generated
 * from their JSON (spec/machines.generated.ts), so a state, event, guard or
 * action name the JSON does not have is a type error.
 */
export interface MachineNames {
  state: string;
  event: Event;
  guard: string;
  action: string;
  context: string;
}

/** A guard reference in a transition: the name, or `!name` for its negation. */
export type GuardRef<G extends string = string> = G | `!${G}`;

export interface Transition<N extends MachineNames = MachineNames> {
  from: N['state'];
  event: N['event'];
  guard?: GuardRef<N['guard']> | GuardRef<N['guard']>[];
  actions?: N['action'][];
  to: N['state'];
}

export interface Machine<N extends MachineNames = MachineNames> {
  id: string;
  doc: string;
  initial: N['state'];
  context?: Record<N['context'], { doc: string; initial: number; max: number }>;
  states: Record<N['state'], { doc: string; final?: Outcome }>;
  transitions: Transition<N>[];
  guards: Record<N['guard'], { doc: string; of: 'message' | 'local' | 'context'; expr?: Expr }>;
  actions: Record<N['action'], { doc: string; add?: Record<string, number>; set?: Record<string, number> }>;
}

export type Context = Readonly<Record<string, number>>;
export interface Config<S extends string = string> {
  state: S;
  ctx: Context;
}

/** The caller's guard values: a record, or a function asked by name. */
export type GuardValues<G extends string = string> = Readonly<Partial<Record<G, boolean>>> | ((name: G) => boolean);

export type Step<N extends MachineNames = MachineNames> = { next: N['state']; actions: N['action'][]; ctx: Context } | { error: string };

/** Any machine seen with plain-string names, for the code that walks it by name. */
const loose = <N extends MachineNames>(m: Machine<N>): Machine => m as unknown as Machine;

export function initialConfig<N extends MachineNames>(m: Machine<N>): Config<N['state']> {
  const ctx: Record<string, number> = {};
  for (const [k, v] of Object.entries(loose(m).context ?? {})) ctx[k] = v.initial;
  return { state: m.initial, ctx };
}

export function isFinal<N extends MachineNames>(m: Machine<N>, state: NoInfer<N['state']>): boolean {
  return loose(m).states[state]?.final !== undefined;
}

/** Guard names of a transition, without negation marks. */
export function guardNames<N extends MachineNames>(t: Transition<N>): N['guard'][] {
  const g: string[] = t.guard === undefined ? [] : typeof t.guard === 'string' ? [t.guard] : t.guard;
  return g.map((x) => x.replace(/^!/, '') as N['guard']);
}

function operand(ctx: Context, x: string | number): number {
  if (typeof x === 'number') return x;
  const v = ctx[x];
  if (v === undefined) throw new Error(`machine: unknown context variable ${x}`);
  return v;
}

function evalExpr(e: Expr, ctx: Context): boolean {
  const [op, args] = Object.entries(e)[0] as [Op, [string | number, string | number]];
  const a = operand(ctx, args[0]);
  const b = operand(ctx, args[1]);
  return { lt: a < b, le: a <= b, eq: a === b, ne: a !== b, ge: a >= b, gt: a > b }[op];
}

function guardHolds(m: Machine, ref: string, ctx: Context, values: GuardValues): boolean {
  const negated = ref.startsWith('!');
  const name = negated ? ref.slice(1) : ref;
  const def = m.guards[name];
  if (def === undefined) throw new Error(`machine ${m.id}: undocumented guard ${name}`);
  let v: boolean | undefined;
  if (def.of === 'context') v = evalExpr(def.expr ?? {}, ctx);
  else v = typeof values === 'function' ? values(name) : values[name];
  if (v === undefined) throw new Error(`machine ${m.id}: no value given for guard ${name}`);
  return v !== negated;
}

function applyActions(m: Machine, names: readonly string[], ctx: Context): Context {
  let out: Record<string, number> | undefined;
  for (const a of names) {
    const def = m.actions[a];
    if (def === undefined) throw new Error(`machine ${m.id}: undocumented action ${a}`);
    for (const [k, d] of Object.entries(def.add ?? {})) {
      out ??= { ...ctx };
      out[k] = operand(out, k) + d;
    }
    for (const [k, v] of Object.entries(def.set ?? {})) {
      out ??= { ...ctx };
      out[k] = v;
    }
  }
  if (out === undefined) return ctx;
  for (const [k, v] of Object.entries(out)) {
    const max = m.context?.[k]?.max ?? 0;
    if (v < 0 || v > max) throw new RangeError(`machine ${m.id}: context ${k}=${v} is outside 0..${max}`);
  }
  return out;
}

/** Steps the machine by one event, or says why the event is not allowed. */
export function transition<N extends MachineNames>(
  typed: Machine<N>,
  at: NoInfer<N['state']> | Config<NoInfer<N['state']>>,
  event: NoInfer<N['event']>,
  guards: GuardValues<NoInfer<N['guard']>> = {} as GuardValues<N['guard']>,
): Step<N> {
  const m = loose(typed);
  const { state, ctx }: Config = typeof at === 'string' ? { state: at, ctx: initialConfig(m).ctx } : at;
  if (m.states[state] === undefined) return { error: `${m.id}: unknown state ${state}` };
  if (isFinal(m, state)) return { error: `${m.id}: ${event} after the session ended (${state})` };
  for (const t of m.transitions) {
    if (t.from !== state || t.event !== event) continue;
    const refs = t.guard === undefined ? [] : typeof t.guard === 'string' ? [t.guard] : t.guard;
    if (!refs.every((g) => guardHolds(m, g, ctx, guards as GuardValues))) continue;
    const actions = t.actions ?? [];
    return { next: t.to, actions: [...actions], ctx: applyActions(m, actions, ctx) };
  }
  return { error: `${m.id}: ${event} is not allowed in state ${state}` };
}

/** The message types a machine sends or receives. */
export function messageTypes(m: Machine): string[] {
  const out = new Set<string>();
  for (const t of m.transitions) {
    const i = t.event.indexOf(':');
    if (i > 0) out.add(t.event.slice(i + 1));
  }
  return [...out];
}
