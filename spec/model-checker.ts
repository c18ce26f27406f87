/**
 * The model checker of the composed machines (spec/protocol.md, "Checking the machines"): the
 * pusher and the receiver joined by one bounded FIFO channel per direction,
 * explored breadth-first over every interleaving, every outcome of the
 * engines' own judgements (local guards), connection loss at any point and
 * a local failure of either side at any point.
 *
 * Modelling choices, so the results can be read:
 * - a send is enabled only while its channel has room (writes block);
 * - a message carries the values of its `of: 'message'` guards (STATUS's
 *   result), so the receiving side sees what the sending side decided;
 * - a side in a final state has closed the connection: once its peer has
 *   read everything already sent, the peer sees 'eof';
 * - a lost connection drops whatever is in flight; both sides then see 'eof';
 * - a write to a peer that has closed fails once the channel is full (EPIPE):
 *   the writer takes its 'error' step instead of blocking for ever;
 * - once a side has sent the commit message (DONE), its own later failure
 *   (e.g. while awaiting a REPORT) no longer taints publication: DONE was
 *   sent while everything was still in order.
 *
 * It reports, each with the shortest path that reaches it: a deadlock (not
 * both final, and nothing but injected faults could move), a message the
 * machine has no transition for, messages left unread at a fault-free end, publication
 * after a refusal, an eof or a failure, a fault-free run that ends in failure
 * or with the sides disagreeing, a counter out of bounds, and a channel over
 * its bound.
 */
import { type Config, type Event, type Machine, guardNames, initialConfig, isFinal, transition } from '../src/protocol/machine.js';

export interface ModelCheckOptions {
  /** Messages each direction's channel holds. */
  capacity: number;
  /** Explore connection loss at every point (default true). */
  loss?: boolean;
  /** Explore a local failure of either side at every point (default true). */
  failures?: boolean;
  /** The action that makes anything visible to readers (default 'publish'). */
  publishAction?: string;
  /** Give up beyond this many global states (default 200,000). */
  maxStates?: number;
  /** The message after which the sender's own failure no longer taints publication (default 'DONE'). */
  commitMessage?: string;
  /**
   * What a side does with a message its machine has no transition for:
   * 'violation' (default) reports it; 'error' takes the side's 'error' step,
   * as the engines do (PROTOCOL_UNEXPECTED_MESSAGE ends the session), so a
   * peer that is stricter than ours can be checked for safety.
   */
  unexpected?: 'violation' | 'error';
}

interface Msg { type: string; labels: Record<string, boolean> }
interface Global {
  sides: [Config, Config]; // [pusher, receiver]
  chans: [Msg[], Msg[]]; // chans[i]: messages travelling TO side i
  lost: boolean;
  committed: [boolean, boolean]; // the side has sent the commit message
  injected: boolean; // a loss or failure was injected
  tainted: string | null; // why publication is no longer allowed
  published: boolean;
}

export interface Violation { kind: string; message: string; path: string[] }
export interface ModelCheckResult {
  states: number;
  edges: number;
  terminals: number;
  violations: Violation[];
  /** "machine: from --event--> to" for every machine transition the exploration took. */
  covered: Set<string>;
}

const SIDE_NAMES = ['pusher', 'receiver'] as const;

/** Every assignment of true/false to the given guard names. */
function valuations(names: string[], fixed: Record<string, boolean>): Record<string, boolean>[] {
  const free = [...new Set(names)].filter((n) => !(n in fixed));
  const out: Record<string, boolean>[] = [];
  for (let bits = 0; bits < 1 << free.length; bits++) {
    const v: Record<string, boolean> = { ...fixed };
    free.forEach((n, i) => {
      v[n] = ((bits >> i) & 1) === 1;
    });
    out.push(v);
  }
  return out;
}

interface Move { label: string; next: Global; violation?: Omit<Violation, 'path'>; fault: boolean }

export function checkComposition(pusher: Machine, receiver: Machine, opts: ModelCheckOptions): ModelCheckResult {
  const machines = [pusher, receiver] as const;
  const publishAction = opts.publishAction ?? 'publish';
  const maxStates = opts.maxStates ?? 200_000;
  const covered = new Set<string>();

  const key = (g: Global): string => JSON.stringify(g);

  function stepSide(g: Global, i: 0 | 1, event: Event, values: Record<string, boolean>, fault: boolean, label: string): Move | null {
    const m = machines[i];
    let r;
    try {
      r = transition(m, g.sides[i], event, values);
    } catch (e) {
      return { label, next: g, fault, violation: { kind: 'bound', message: (e as Error).message } };
    }
    if ('error' in r) return null;
    covered.add(`${m.id}: ${g.sides[i].state} --${event}--> ${r.next}`);
    const sides: [Config, Config] = [...g.sides];
    sides[i] = { state: r.next, ctx: r.ctx };
    const next: Global = { ...g, sides, chans: [[...g.chans[0]], [...g.chans[1]]] };
    if ((event === 'eof' || event === 'error') && !g.committed[i]) next.tainted ??= `${SIDE_NAMES[i]} ${event}`;
    if (event === `send:${opts.commitMessage ?? 'DONE'}`) {
      next.committed = [...g.committed];
      next.committed[i] = true;
    }
    if (r.actions.includes(publishAction)) {
      if (g.tainted !== null) {
        return { label, next, fault, violation: { kind: 'publish-after-failure', message: `${SIDE_NAMES[i]} runs ${publishAction} after ${g.tainted}` } };
      }
      next.published = true;
    }
    return { label, next, fault };
  }

  function moves(g: Global): Move[] {
    const out: Move[] = [];
    for (const i of [0, 1] as const) {
      const m = machines[i];
      const me = g.sides[i];
      if (isFinal(m, me.state)) continue;
      const inbox = g.chans[i];
      const outbox = g.chans[1 - i] as Msg[];
      const peerFinal = isFinal(machines[1 - i] as Machine, g.sides[1 - i]!.state);
      const who = SIDE_NAMES[i];
      if (g.lost || (inbox.length === 0 && peerFinal)) {
        const mv = stepSide(g, i, 'eof', {}, false, `${who} eof`);
        if (mv) out.push(mv);
        else out.push({ label: `${who} eof`, next: g, fault: false, violation: { kind: 'no-eof', message: `${who} has no eof transition in ${me.state}` } });
        continue;
      }
      if (opts.failures ?? true) {
        const mv = stepSide(g, i, 'error', {}, true, `${who} error`);
        if (mv) { mv.next.injected = true; out.push(mv); }
      }
      // An engine reads only in states where it expects a message; a state
      // that owes a send does not look at its input first.
      const reads = m.transitions.some((t) => t.from === me.state && t.event.startsWith('recv:'));
      const head = inbox[0];
      if (head !== undefined && reads) {
        const event = `recv:${head.type}` as Event;
        const names = m.transitions.filter((t) => t.from === me.state && t.event === event).flatMap(guardNames)
          .filter((n) => m.guards[n]?.of !== 'context');
        let any = false;
        for (const v of valuations(names, head.labels)) {
          const mv = stepSide(g, i, event, v, false, `${who} ${event}`);
          if (!mv) continue;
          any = true;
          mv.next.chans[i].shift();
          out.push(mv);
        }
        if (!any && opts.unexpected === 'error') {
          const mv = stepSide(g, i, 'error', {}, false, `${who} ${event} unexpected: error`);
          if (mv) { mv.next.injected = true; out.push(mv); }
        } else if (!any) out.push({ label: `${who} ${event}`, next: g, fault: false, violation: { kind: 'unexpected-message', message: `${who} in ${me.state} has no transition for ${event}` } });
      }
      const sendEvents = new Set(m.transitions.filter((t) => t.from === me.state && t.event.startsWith('send:')).map((t) => t.event));
      for (const event of sendEvents) {
        if (outbox.length >= opts.capacity) {
          // The write blocks; to a closed peer it fails instead.
          if (peerFinal) {
            const mv = stepSide(g, i, 'error', {}, false, `${who} ${event} fails: peer closed`);
            if (mv) out.push(mv);
          }
          continue;
        }
        const names = m.transitions.filter((t) => t.from === me.state && t.event === event).flatMap(guardNames)
          .filter((n) => m.guards[n]?.of !== 'context');
        for (const v of valuations(names, {})) {
          const labels: Record<string, boolean> = {};
          for (const [n, b] of Object.entries(v)) if (m.guards[n]?.of === 'message') labels[n] = b;
          const mv = stepSide(g, i, event as Event, v, false, `${who} ${event}${Object.keys(labels).length ? ' ' + JSON.stringify(labels) : ''}`);
          if (!mv) continue;
          mv.next.chans[1 - i]!.push({ type: event.slice(5), labels });
          if (labels['statusOk'] === false) mv.next.tainted ??= `${who} refused`;
          if ((mv.next.chans[1 - i]?.length ?? 0) > opts.capacity) mv.violation = { kind: 'channel-bound', message: `channel to ${SIDE_NAMES[1 - i]} over ${opts.capacity}` };
          out.push(mv);
        }
      }
    }
    if ((opts.loss ?? true) && !g.lost && !g.sides.every((s, i) => isFinal(machines[i] as Machine, s.state))) {
      out.push({ label: 'connection lost', fault: true, next: { ...g, chans: [[], []], lost: true, injected: true, tainted: g.tainted ?? 'connection lost' } });
    }
    // Dedupe moves that reach the same global state with the same label.
    const seen = new Set<string>();
    return out.filter((mv) => { const k = mv.label + key(mv.next); if (seen.has(k)) return false; seen.add(k); return true; });
  }

  function terminalChecks(g: Global): Omit<Violation, 'path'>[] {
    const found: Omit<Violation, 'path'>[] = [];
    const outcomes = g.sides.map((s, i) => (machines[i] as Machine).states[s.state]?.final);
    if (!g.injected && (g.chans[0].length > 0 || g.chans[1].length > 0)) {
      found.push({ kind: 'unread-messages', message: `session ended with messages unread: ${JSON.stringify(g.chans.map((c) => c.map((x) => x.type)))}` });
    }
    if (!g.injected) {
      if (outcomes.includes('failure')) found.push({ kind: 'fault-free-failure', message: `no fault was injected yet the session ended ${g.sides.map((s) => s.state).join(' / ')}` });
      else if ((outcomes[0] === 'refused') !== (outcomes[1] === 'refused')) found.push({ kind: 'disagreement', message: `the sides disagree: ${g.sides.map((s) => s.state).join(' / ')}` });
    }
    return found;
  }

  const init: Global = { sides: [initialConfig(pusher), initialConfig(receiver)], chans: [[], []], lost: false, committed: [false, false], injected: false, tainted: null, published: false };
  const parent = new Map<string, { prev: string | null; label: string }>([[key(init), { prev: null, label: 'start' }]]);
  const pathTo = (k: string, last?: string): string[] => {
    const labels: string[] = last === undefined ? [] : [last];
    for (let cur: string | null = k; cur !== null; ) {
      const p = parent.get(cur);
      if (!p || p.prev === null) break;
      labels.push(p.label);
      cur = p.prev;
    }
    return labels.reverse();
  };

  const violations: Violation[] = [];
  const queue: Global[] = [init];
  let edges = 0;
  let terminals = 0;
  for (let qi = 0; qi < queue.length; qi++) {
    const g = queue[qi] as Global;
    const k = key(g);
    const ms = moves(g);
    const bothFinal = g.sides.every((s, i) => isFinal(machines[i] as Machine, s.state));
    if (bothFinal) {
      terminals++;
      for (const v of terminalChecks(g)) violations.push({ ...v, path: pathTo(k) });
    } else if (ms.every((mv) => mv.fault)) {
      const stuck = g.sides.map((s) => s.state).join(' / ');
      violations.push({ kind: 'deadlock', message: `nothing can move: ${stuck}, channels ${JSON.stringify(g.chans.map((c) => c.map((x) => x.type)))}`, path: pathTo(k) });
    }
    for (const mv of ms) {
      edges++;
      if (mv.violation) { violations.push({ ...mv.violation, path: pathTo(k, mv.label) }); continue; }
      const nk = key(mv.next);
      if (parent.has(nk)) continue;
      if (parent.size >= maxStates) throw new Error(`checkComposition: more than ${maxStates} states`);
      parent.set(nk, { prev: k, label: mv.label });
      queue.push(mv.next);
    }
  }
  return { states: queue.length, edges, terminals, violations, covered };
}
