/**
 * Renders the case list into conformance/README.md between the markers
 * `<!-- generated:cases -->` and `<!-- /generated -->`: one line per case
 * saying what it checks, grouped by role and level, plus the machine
 * transitions no case can drive. `npx tsx conformance/generate-readme.ts`
 * rewrites the file; case.test.ts fails when it is stale.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadCases, type Case } from './case.js';
import { uncoveredList } from './derivation.js';

export const README = fileURLToPath(new URL('./README.md', import.meta.url));
const BEGIN = '<!-- generated:cases -->';
const END = '<!-- /generated -->';

function section(title: string, cases: Case[]): string[] {
  if (cases.length === 0) return [];
  return [`### ${title} (${cases.length})`, '', ...cases.map((c) => `- \`${c.id}\` — ${c.summary} _(${c.file})_`), ''];
}

export function renderCaseList(cases: readonly Case[] = loadCases()): string {
  const out: string[] = [];
  for (const role of ['receiver', 'pusher'] as const) {
    for (const level of ['core', 'hardened', 'extension'] as const) {
      out.push(...section(`${role}, ${level}`, cases.filter((c) => c.role === role && c.level === level)));
    }
  }
  out.push('### Transitions no case can drive', '');
  for (const [t, why] of Object.entries(uncoveredList())) out.push(`- \`${t}\` — ${why}`);
  return out.join('\n');
}

export function renderReadme(current: string, list = renderCaseList()): string {
  const a = current.indexOf(BEGIN);
  const b = current.indexOf(END, a);
  if (a < 0 || b < 0) throw new Error(`conformance/README.md lacks the ${BEGIN} … ${END} markers`);
  return `${current.slice(0, a + BEGIN.length)}\n${list}\n${current.slice(b)}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(README, renderReadme(readFileSync(README, 'utf8')));
}
