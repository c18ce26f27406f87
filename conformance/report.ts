/**
 * Output of a conformance run: TAP 13 lines as results arrive (the format
 * node's test runner also reads), a summary table per level, or one JSON
 * document.
 */
import type { CaseResult } from './run.js';

export function tapLine(n: number, r: CaseResult): string {
  const title = `${r.id} - ${r.summary}`;
  switch (r.status) {
    case 'pass':
      return `ok ${n} - ${title}`;
    case 'skip':
      return `ok ${n} - ${title} # SKIP ${r.message ?? ''}`;
    case 'known':
      return `not ok ${n} - ${title} # TODO known failure\n${yamlBlock(r)}`;
    case 'fixed':
      return `ok ${n} - ${title} # TODO ${r.message ?? ''}`;
    case 'fail':
      return `not ok ${n} - ${title}\n${yamlBlock(r)}`;
  }
}

function yamlBlock(r: CaseResult): string {
  return ['  ---', `  level: ${r.level}`, `  message: ${JSON.stringify(r.message ?? '')}`, `  duration_ms: ${r.ms}`, '  ...'].join('\n');
}

export function summaryTable(results: readonly CaseResult[]): string {
  const levels = ['vectors', 'core', 'hardened', 'extension'] as const;
  const rows = ['| level | cases | pass | fail | known | fixed | skip |', '| --- | --- | --- | --- | --- | --- | --- |'];
  for (const level of levels) {
    const of = results.filter((r) => r.level === level);
    if (of.length === 0) continue;
    const n = (s: CaseResult['status']): number => of.filter((r) => r.status === s).length;
    rows.push(`| ${level} | ${of.length} | ${n('pass')} | ${n('fail')} | ${n('known')} | ${n('fixed')} | ${n('skip')} |`);
  }
  return rows.join('\n');
}
