/**
 * What the simulator's tests say about a report: one summary line for the
 * test output, and the assertion that no run violated an invariant (naming
 * the seed, the replay path, the shrunk schedule and the violations).
 */
import assert from 'node:assert/strict';
import { formatViolations } from './invariants.js';
import { describeSchedule, type SimReport } from './runner.js';

export function reportLine(r: SimReport): string {
  const byKind = (m: ReadonlyMap<string, number>): string => JSON.stringify(Object.fromEntries(m));
  return `${r.runs} runs in ${(r.wallMs / 1000).toFixed(1)} s: ${r.pushesOk} ok, ${r.failedCleanly} failed cleanly; generated ${byKind(r.generatedByKind)}, fired ${byKind(r.firedByKind)}`;
}

export function assertNoViolations(r: SimReport): void {
  const ce = r.counterexample;
  assert.equal(r.violatingRuns, 0, ce ? `seed ${ce.seed} path ${ce.path}\n${describeSchedule(ce.schedule)}\n${formatViolations(ce.violations)}` : '');
}
