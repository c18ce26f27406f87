/**
 * Structural facts about one machine, checked without composing it with its
 * peer (spec/protocol.md, "Checking the machines"). Each problem is one line.
 */
import type { Machine, Transition } from '../src/protocol/machine.js';

const refsOf = (t: Transition): string[] => (t.guard === undefined ? [] : typeof t.guard === 'string' ? [t.guard] : t.guard);
const isFault = (t: Transition): boolean => t.event === 'eof' || t.event === 'error';

export function structuralProblems(m: Machine, publishAction = 'publish'): string[] {
  const problems: string[] = [];
  const states = Object.keys(m.states);
  const final = (s: string): boolean => m.states[s]?.final !== undefined;
  if (!(m.initial in m.states)) problems.push(`initial state ${m.initial} is not declared`);
  for (const t of m.transitions) {
    for (const s of [t.from, t.to]) if (!(s in m.states)) problems.push(`transition uses undeclared state ${s}`);
    if (final(t.from)) problems.push(`final state ${t.from} has an outgoing transition (${t.event})`);
    for (const g of refsOf(t)) if (!(g.replace(/^!/, '') in m.guards)) problems.push(`guard ${g} is not documented`);
    for (const a of t.actions ?? []) if (!(a in m.actions)) problems.push(`action ${a} is not documented`);
  }
  const usedGuards = new Set(m.transitions.flatMap((t) => refsOf(t).map((g) => g.replace(/^!/, ''))));
  for (const g of Object.keys(m.guards)) if (!usedGuards.has(g)) problems.push(`guard ${g} is documented but never used`);
  const usedActions = new Set(m.transitions.flatMap((t) => t.actions ?? []));
  for (const a of Object.keys(m.actions)) if (!usedActions.has(a)) problems.push(`action ${a} is documented but never used`);

  for (const s of states) {
    if (final(s)) continue;
    const out = m.transitions.filter((t) => t.from === s);
    for (const ev of ['eof', 'error']) if (!out.some((t) => t.event === ev)) problems.push(`non-final state ${s} has no ${ev} transition`);
    if (!out.some((t) => !isFault(t))) problems.push(`non-final state ${s} can only end by a fault`);
  }

  // Reachability, tracking whether a path went through a refusal or a fault.
  // 'clean' = reached with nothing but successful statuses (and at least one).
  type Mark = 'clean' | 'plain' | 'tainted';
  const seen = new Set<string>();
  const reachedAs = new Map<string, Set<Mark>>();
  const queue: [string, Mark][] = [[m.initial, 'plain']];
  while (queue.length > 0) {
    const [s, mark] = queue.shift() as [string, Mark];
    if (seen.has(`${s}/${mark}`)) continue;
    seen.add(`${s}/${mark}`);
    (reachedAs.get(s) ?? reachedAs.set(s, new Set()).get(s))?.add(mark);
    for (const t of m.transitions.filter((x) => x.from === s)) {
      const refused = refsOf(t).includes('!statusOk');
      const ok = refsOf(t).includes('statusOk');
      const next: Mark = mark === 'tainted' || refused || isFault(t) ? 'tainted' : ok ? 'clean' : mark;
      queue.push([t.to, next]);
    }
  }
  for (const s of states) if (!reachedAs.has(s)) problems.push(`state ${s} is unreachable`);
  for (const t of m.transitions.filter((x) => (x.actions ?? []).includes(publishAction))) {
    const marks = reachedAs.get(t.from) ?? new Set<Mark>();
    if (marks.has('tainted') || marks.has('plain')) {
      problems.push(`${publishAction} on ${t.from} --${t.event}--> ${t.to}, but ${t.from} is reachable without only successful statuses`);
    }
    if (isFault(t)) problems.push(`${publishAction} on a ${t.event} transition`);
  }
  return problems;
}
