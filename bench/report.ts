/**
 * The benchmark's output: a table per data set a person reads at a glance,
 * the paired ratios with the targets marked, and the same as JSON.
 */
import type { Dataset } from './datasets.js';
import type { Runner } from './runners.js';
import { RSS_TARGET_MB, type Ratio, type Summary } from './stats.js';
import { targetLines, type TargetResult } from './targets.js';

const s1 = (ms: number): string => (ms / 1000).toFixed(ms < 10_000 ? 2 : 1);
const pad = (x: string, n: number): string => (x.length >= n ? x : x + ' '.repeat(n - x.length));
const lpad = (x: string, n: number): string => (x.length >= n ? x : ' '.repeat(n - x.length) + x);
const cpu = (c: { user: number; sys: number } | undefined): string => (c === undefined ? '-' : `${s1(c.user)}+${s1(c.sys)}`);
const mb = (x: number | undefined): string => (x === undefined ? '-' : x.toFixed(0));

function table(rows: string[][], right: ReadonlySet<number>): string[] {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (right.has(i) ? lpad(c, widths[i] as number) : pad(c, widths[i] as number))).join('  ').trimEnd());
}

export interface ReportInput {
  datasets: Dataset[];
  runners: Runner[];
  summaries: Summary[];
  ratios: Ratio[];
  unavailable: Array<{ dataset: string; runner: string; why: string }>;
  rss: Array<{ dataset: string; runner: string; side: string; mb: number; met: boolean }>;
  targets: TargetResult[];
  reps: number;
  notes: string[];
}

export function textReport(r: ReportInput): string {
  const lines: string[] = [];
  for (const ds of r.datasets) {
    lines.push('', `== ${ds.name}: ${ds.files} files, ${(ds.contentBytes / 1e6).toFixed(0)} MB of content; a push sends ${ds.objects} objects, ${(ds.objectBytes / 1e6).toFixed(1)} MB${ds.base === undefined ? '' : ' (destination seeded with the parent commit)'}`);
    const rows: string[][] = [['runner', 'wall s (min–max)', 'push s', 'objects', 'MB sent', 'obj/s', 'MB/s', 'RSS MB p/r', 'CPU s pusher u+s', 'CPU s receiver u+s', 'check']];
    for (const run of r.runners) {
      const s = r.summaries.find((x) => x.dataset === ds.name && x.runner === run.id);
      if (s === undefined) {
        continue;
      }
      const wall = `${s1(s.wallMs.median)} (${s1(s.wallMs.min)}–${s1(s.wallMs.max)})${s.ok ? '' : ' FAILED'}`;
      rows.push([
        run.id,
        wall,
        s.pushMs === undefined ? '-' : s1(s.pushMs.median),
        String(s.objects),
        (s.bytes / 1e6).toFixed(1),
        s.objectsPerS.toFixed(0),
        s.mbPerS.toFixed(1),
        `${mb(s.pusherRssMB)}/${mb(s.receiverRssMB)}`,
        cpu(s.pusherCpuMs),
        cpu(s.receiverCpuMs),
        s.verify.join('; ') || '-',
      ]);
    }
    lines.push(...table(rows, new Set([2, 3, 4, 5, 6, 7, 8, 9])));
    for (const na of r.unavailable.filter((x) => x.dataset === ds.name)) lines.push(`  ${na.runner}: ${na.why}`);
    for (const s of r.summaries.filter((x) => x.dataset === ds.name && !x.ok)) lines.push(`  ${s.runner} failed: ${s.errors.join(' | ')}`);
  }
  lines.push('', `== ratios of wall time, paired by repetition (median, min–max over ${r.reps} repetitions)`);
  const rows: string[][] = [['A', 'B', 'A/B']];
  for (const x of r.ratios) {
    rows.push([`${x.a.runner} ${x.a.dataset}`, `${x.b.runner} ${x.b.dataset}`, `${x.ratio.median.toFixed(3)} (${x.ratio.min.toFixed(3)}–${x.ratio.max.toFixed(3)})`]);
  }
  lines.push(...table(rows, new Set()));
  lines.push('', '== targets (bench/targets.ts), judged on this run');
  lines.push(...targetLines(r.targets));
  const over = r.rss.filter((x) => !x.met);
  lines.push('', over.length === 0 ? `peak RSS ≤ ${RSS_TARGET_MB} MB on each side for every run of ours: met (max ${Math.max(0, ...r.rss.map((x) => x.mb)).toFixed(0)} MB)` : `peak RSS over ${RSS_TARGET_MB} MB: ${over.map((x) => `${x.runner} ${x.dataset} ${x.side} ${x.mb.toFixed(0)} MB`).join(', ')}`);
  for (const n of r.notes) lines.push(`note: ${n}`);
  return lines.join('\n');
}
