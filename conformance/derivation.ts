/**
 * Cases derived from the machines (STYLE.md item 6): every transition of
 * spec/machines/*.json must be driven by at least one case (its `covers`)
 * or be listed in conformance/uncovered.json with the reason no peer can
 * drive it.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PUSHER, RECEIVER } from '../spec/machine.js';
import type { Machine } from '../src/protocol/index.js';
import type { Case } from './case.js';

export function transitionKey(m: Machine, t: { from: string; event: string; to: string }): string {
  return `${m.id}:${t.from}->${t.event}->${t.to}`;
}

export function allTransitions(): string[] {
  return [RECEIVER, PUSHER].flatMap((m) => m.transitions.map((t) => transitionKey(m, t)));
}

export function uncoveredList(): Record<string, string> {
  const path = fileURLToPath(new URL('./uncovered.json', import.meta.url));
  return (JSON.parse(readFileSync(path, 'utf8')) as { transitions: Record<string, string> }).transitions;
}

export interface Derivation {
  /** Transitions with neither a case nor a listed reason. */
  missing: string[];
  /** `covers` entries naming no transition of the machines. */
  unknown: { id: string; covers: string }[];
  /** Listed as uncoverable, yet some case covers them. */
  listedButCovered: string[];
  /** Transition → ids of the cases covering it. */
  coverage: Map<string, string[]>;
}

export function derive(cases: readonly Case[]): Derivation {
  const all = allTransitions();
  const known = new Set(all);
  const coverage = new Map<string, string[]>(all.map((t) => [t, []]));
  const unknown: Derivation['unknown'] = [];
  for (const c of cases) {
    for (const k of c.covers) {
      if (!known.has(k)) unknown.push({ id: c.id, covers: k });
      else coverage.get(k)?.push(c.id);
    }
  }
  const exempt = uncoveredList();
  return {
    missing: all.filter((t) => (coverage.get(t) ?? []).length === 0 && !(t in exempt)),
    unknown,
    listedButCovered: Object.keys(exempt).filter((t) => (coverage.get(t) ?? []).length > 0 || !known.has(t)),
    coverage,
  };
}
