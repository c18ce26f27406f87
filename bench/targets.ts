/**
 * The performance targets, as data: each names the runs it compares, its
 * bound, and where it comes from. `npm run bench` judges every one of them
 * on every run: met, MISSED (with the figure), or not measured (with the
 * options that would measure it), so no target silently drops out of the
 * report when a run leaves out its data set or runner.
 *
 * Three kinds:
 *   ratio   median over repetitions of wall(A_i) / wall(B_i) ≤ max
 *   excess  median over repetitions of wall(A_i) − wall(B_i) ≤ maxMs
 *           (fixed costs: what ours adds to the unavoidable floor)
 *   rss     the peak RSS of each side of every repetition of A ≤ maxMB
 */
import type { Sample } from './runners.js';
import { pairedRatio, pairedWalls, range, type Range } from './stats.js';

export interface RunRef {
  dataset: string;
  runner: string;
}

interface Base {
  id: string;
  what: string;
  /** Where the target was set. */
  source: string;
}

export type Target =
  | (Base & { kind: 'ratio'; a: RunRef; b: RunRef; max: number })
  | (Base & { kind: 'excess'; a: RunRef; b: RunRef; maxMs: number })
  | (Base & { kind: 'rss'; a: RunRef; maxMB: number });

export interface TargetResult {
  target: Target;
  status: 'met' | 'missed' | 'not measured';
  /** The figure judged: a ratio, milliseconds, or MB (the largest side). */
  value?: Range;
  /** For "not measured": the bench options that would measure it. */
  how?: string;
}

const run = (dataset: string, runner: string): RunRef => ({ dataset, runner });
const I19 = 'issue 19';

export const TARGETS: readonly Target[] = [
  { id: 'full-vs-pull-local', source: I19, kind: 'ratio', a: run('os-like', 'openssh'), b: run('os-like', 'pull-local'), max: 1.0, what: "full push of os-like over OpenSSH ≤ 1.0× ostree's own verifying copy (pull-local --untrusted)" },
  { id: 'full-vs-rsync', source: I19, kind: 'ratio', a: run('os-like', 'openssh'), b: run('os-like', 'rsync'), max: 1.5, what: 'full push of os-like over OpenSSH ≤ 1.5× rsync -a' },
  { id: 'rtt-os-like', source: I19, kind: 'ratio', a: run('os-like', 'openssh@20ms'), b: run('os-like', 'openssh'), max: 1.15, what: 'os-like at 20 ms RTT ≤ 1.15× its 0 ms time' },
  { id: 'rtt-small', source: I19, kind: 'ratio', a: run('small', 'openssh@20ms'), b: run('small', 'openssh'), max: 1.15, what: 'small at 20 ms RTT ≤ 1.15× its 0 ms time' },
  { id: 'incr-flat', source: I19, kind: 'ratio', a: run('wide+incr', 'openssh'), b: run('os-like+incr', 'openssh'), max: 1.1, what: 'the same increment into a remote of 100k+ objects (pusher holding every branch) ≤ 1.1× into 34k' },
  { id: 'incr-vs-rsync', source: I19, kind: 'ratio', a: run('os-like+incr', 'openssh'), b: run('os-like+incr', 'rsync'), max: 1.0, what: 'incremental push of os-like ≤ 1.0× rsync -a' },
  { id: 'fixed-cost', source: I19, kind: 'excess', a: run('small+same', 'openssh'), b: run('small+same', 'start-floor'), maxMs: 100, what: 'an up-to-date push ≤ 0.1 s over ssh plus two Node starts' },
  { id: 'rss-100k', source: I19, kind: 'rss', a: run('wide', 'openssh'), maxMB: 100, what: 'peak RSS ≤ 100 MB per side at 100k+ objects' },
  { id: 'rss-1m', source: I19, kind: 'rss', a: run('million', 'openssh'), maxMB: 150, what: 'peak RSS ≤ 150 MB per side at 1M objects' },
  { id: 'big-file', source: I19, kind: 'ratio', a: run('big-file', 'openssh'), b: run('big-file', 'rsync'), max: 1.5, what: 'one 2 GiB file ≤ 1.5× rsync -a' },
  { id: 's3-order', source: 'issue 21', kind: 'ratio', a: run('os-like', 's3-ordered'), b: run('os-like', 's3-unordered'), max: 1.1, what: 'child-first publication into a bucket ≤ 1.1× an unordered upload of the same files (same SDK, same parallelism)' },
  { id: 's3-rss', source: 'issue 21', kind: 'rss', a: run('os-like', 's3'), maxMB: 150, what: 'peak RSS ≤ 150 MB per side, ostree-push into a bucket (os-like)' },
  { id: 'incr-vs-full', source: 'earlier', kind: 'ratio', a: run('os-like+incr', 'openssh'), b: run('os-like', 'openssh'), max: 0.05, what: 'incremental push ≤ 5% of the full push (os-like)' },
  { id: 'ssh2-stall', source: 'earlier', kind: 'ratio', a: run('small', 'ssh2-stop-and-wait'), b: run('small', 'stop-and-wait'), max: 2.0, what: 'window of one object: the built-in ssh2 client ≤ 2× OpenSSH (no per-object stall)' },
];

const MB = 1024 / 1e6; // KiB → MB

function howToMeasure(refs: readonly RunRef[]): string {
  const uniq = (xs: string[]): string => [...new Set(xs)].join(',');
  return `--dataset=${uniq(refs.map((r) => r.dataset))} --only=${uniq(refs.map((r) => r.runner))}`;
}

/** Judges every target on the samples of one run. */
export function judgeTargets(samples: readonly Sample[], targets: readonly Target[] = TARGETS): TargetResult[] {
  return targets.map((t): TargetResult => {
    const notMeasured = (): TargetResult => ({ target: t, status: 'not measured', how: howToMeasure(t.kind === 'rss' ? [t.a] : [t.a, t.b]) });
    if (t.kind === 'ratio') {
      const r = pairedRatio(samples, t.a, t.b);
      if (r === null) return notMeasured();
      return { target: t, status: r.median <= t.max ? 'met' : 'missed', value: r };
    }
    if (t.kind === 'excess') {
      const ds = pairedWalls(samples, t.a, t.b).map(([wa, wb]) => wa - wb);
      if (ds.length === 0) return notMeasured();
      const r = range(ds);
      return { target: t, status: r.median <= t.maxMs ? 'met' : 'missed', value: r };
    }
    const peaks: number[] = [];
    for (const s of samples) {
      if (!s.ok || s.dataset !== t.a.dataset || s.runner !== t.a.runner) continue;
      const sides = [s.pusher?.maxRssKiB, s.receiver?.maxRssKiB].filter((x): x is number => x !== undefined && x > 0);
      if (sides.length > 0) peaks.push(Math.max(...sides) * MB);
    }
    if (peaks.length === 0) return notMeasured();
    const r = range(peaks);
    return { target: t, status: r.max <= t.maxMB ? 'met' : 'missed', value: r };
  });
}

/** One line per target, for the text report. */
export function targetLines(results: readonly TargetResult[]): string[] {
  const fig = (r: TargetResult): string => {
    const v = r.value as Range;
    const t = r.target;
    if (t.kind === 'ratio') return `${v.median.toFixed(3)}× (${v.min.toFixed(3)}–${v.max.toFixed(3)}; ≤ ${t.max})`;
    if (t.kind === 'excess') return `+${v.median.toFixed(0)} ms (${v.min.toFixed(0)}–${v.max.toFixed(0)}; ≤ ${t.maxMs})`;
    return `${v.max.toFixed(0)} MB at most (≤ ${t.maxMB})`;
  };
  return results.map((r) => {
    const head = `${r.status === 'met' ? 'met' : r.status === 'missed' ? 'MISSED' : 'not measured'}`.padEnd(12);
    const tail = r.status === 'not measured' ? `run with ${r.how}` : fig(r);
    return `${head} ${r.target.id.padEnd(18)} ${r.target.what}: ${tail}`;
  });
}
