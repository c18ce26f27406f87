/**
 * Output of a conformance run: TAP 13 lines as results arrive (the format
 * node's test runner also reads), a summary table per level, or one JSON
 * document. With an expectations file an expected failure is TAP's TODO
 * ("expected fail"), an unexpected pass a TODO that passes, an unexpected
 * failure a plain `not ok` that says so.
 */
import type { CaseResult } from './run.js';

export function tapLine(n: number, r: CaseResult): string {
  const title = `${r.id} - ${r.summary}`;
  switch (r.status) {
    case 'pass':
      return `ok ${n} - ${title}`;
    case 'skip':
      return `ok ${n} - ${title} # SKIP ${r.message ?? ''}`;
    case 'expected-fail':
      return `not ok ${n} - ${title} # TODO expected fail: ${r.expected ?? ''}\n${yamlBlock(r)}`;
    case 'unexpected-pass':
      return `ok ${n} - ${title} # TODO unexpected pass: ${r.message ?? ''}`;
    case 'unexpected-fail':
      return `not ok ${n} - ${title} # unexpected fail\n${yamlBlock(r)}`;
    case 'fail':
      return `not ok ${n} - ${title}\n${yamlBlock(r)}`;
  }
}

function yamlBlock(r: CaseResult): string {
  const problems = r.problems ?? (r.message !== undefined ? [r.message] : []);
  return ['  ---', `  level: ${r.level}`, '  failed:', ...problems.map((p) => `    - ${JSON.stringify(p)}`), `  duration_ms: ${r.ms}`, '  ...'].join('\n');
}

/** Per level: cases, pass, fail (unexpected fail with expectations), expected fail, unexpected pass, skip. */
export function summaryTable(results: readonly CaseResult[]): string {
  const levels = ['vectors', 'core', 'hardened', 'extension'] as const;
  const rows = ['| level | cases | pass | fail | expected fail | unexpected pass | skip |', '| --- | --- | --- | --- | --- | --- | --- |'];
  for (const level of levels) {
    const of = results.filter((r) => r.level === level);
    if (of.length === 0) continue;
    const n = (...s: CaseResult['status'][]): number => of.filter((r) => s.includes(r.status)).length;
    rows.push(`| ${level} | ${of.length} | ${n('pass')} | ${n('fail', 'unexpected-fail')} | ${n('expected-fail')} | ${n('unexpected-pass')} | ${n('skip')} |`);
  }
  return rows.join('\n');
}
