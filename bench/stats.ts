/**
 * Figures from samples: medians with their range, ratios measured pair by
 * pair (repetition i of A over repetition i of B, then the median of those:
 * A and B ran next to each other, so slow drift of the machine cancels), and
 * the targets checked against them.
 */
import type { Sample } from './runners.js';

export interface Range {
  median: number;
  min: number;
  max: number;
  n: number;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

export function range(xs: readonly number[]): Range {
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), n: xs.length };
}

export interface Summary {
  dataset: string;
  runner: string;
  ok: boolean;
  errors: string[];
  wallMs: Range;
  pushMs?: Range;
  objects: number;
  bytes: number;
  objectsPerS: number;
  mbPerS: number;
  pusherRssMB?: number;
  receiverRssMB?: number;
  pusherCpuMs?: { user: number; sys: number };
  receiverCpuMs?: { user: number; sys: number };
  verify: string[];
}

const good = (ss: readonly Sample[]): Sample[] => ss.filter((s) => s.ok);

export function summarize(samples: readonly Sample[]): Summary[] {
  const groups = new Map<string, Sample[]>();
  for (const s of samples) {
    const k = `${s.dataset}\u0000${s.runner}`;
    groups.set(k, [...(groups.get(k) ?? []), s]);
  }
  const out: Summary[] = [];
  for (const ss of groups.values()) {
    const first = ss[0] as Sample;
    const ok = good(ss);
    const use = ok.length > 0 ? ok : ss;
    const wall = range(use.map((s) => s.wallMs));
    const objects = median(use.map((s) => s.objects));
    const bytes = median(use.map((s) => s.bytes));
    const sum: Summary = {
      dataset: first.dataset,
      runner: first.runner,
      ok: ok.length === ss.length,
      errors: [...new Set(ss.filter((s) => !s.ok).map((s) => s.error ?? 'failed'))],
      wallMs: wall,
      objects,
      bytes,
      objectsPerS: objects / (wall.median / 1000),
      mbPerS: bytes / 1e6 / (wall.median / 1000),
      verify: [...new Set(ss.map((s) => s.verify).filter((v): v is string => v !== undefined))],
    };
    const push = use.map((s) => s.pushMs).filter((x): x is number => x !== undefined);
    if (push.length > 0) sum.pushMs = range(push);
    const pu = use.map((s) => s.pusher).filter((u) => u !== null);
    if (pu.length > 0) {
      sum.pusherRssMB = Math.max(...pu.map((u) => u.maxRssKiB)) * 1.024e-3;
      sum.pusherCpuMs = { user: median(pu.map((u) => u.userMs)), sys: median(pu.map((u) => u.sysMs)) };
    }
    const ru = use.map((s) => s.receiver).filter((u) => u !== null);
    if (ru.length > 0) {
      sum.receiverRssMB = Math.max(...ru.map((u) => u.maxRssKiB)) * 1.024e-3;
      sum.receiverCpuMs = { user: median(ru.map((u) => u.userMs)), sys: median(ru.map((u) => u.sysMs)) };
    }
    out.push(sum);
  }
  return out;
}

export interface Ratio {
  a: { dataset: string; runner: string };
  b: { dataset: string; runner: string };
  /** Median over repetitions of wall(A_i) / wall(B_i); NaN when no pair completed. */
  ratio: Range;
}

/** The wall times of A_i and B_i for every repetition i where both succeeded. */
export function pairedWalls(samples: readonly Sample[], a: { dataset: string; runner: string }, b: { dataset: string; runner: string }): Array<[number, number]> {
  const pick = (x: { dataset: string; runner: string }): Map<number, number> =>
    new Map(samples.filter((s) => s.ok && s.dataset === x.dataset && s.runner === x.runner).map((s) => [s.rep, s.wallMs]));
  const bs = pick(b);
  const out: Array<[number, number]> = [];
  for (const [rep, wa] of pick(a)) {
    const wb = bs.get(rep);
    if (wb !== undefined) out.push([wa, wb]);
  }
  return out;
}

/** Pairs A_i with B_i by repetition number (both successful), and takes the median ratio. */
export function pairedRatio(samples: readonly Sample[], a: { dataset: string; runner: string }, b: { dataset: string; runner: string }): Range | null {
  const rs = pairedWalls(samples, a, b)
    .filter(([, wb]) => wb > 0)
    .map(([wa, wb]) => wa / wb);
  return rs.length === 0 ? null : range(rs);
}

interface RatioSpec {
  a: [string, string];
  b: [string, string];
}

/**
 * The ratios printed for reading (the targets are judged apart, in
 * targets.ts); those whose samples are missing are left out.
 */
export function ratioSpecs(datasets: readonly string[]): RatioSpec[] {
  const out: RatioSpec[] = [];
  for (const d of datasets) {
    out.push(
      { a: [d, 'openssh'], b: [d, 'rsync'] },
      { a: [d, 'openssh'], b: [d, 'raw-ssh'] },
      { a: [d, 'local'], b: [d, 'pull-local'] },
      { a: [d, 'openssh'], b: [d, 'pull-local'] },
      { a: [d, 'stop-and-wait'], b: [d, 'openssh'] },
      { a: [d, 'ssh2-stop-and-wait'], b: [d, 'stop-and-wait'] },
      { a: [d, 'openssh@20ms'], b: [d, 'openssh'] },
      { a: [d, 'memory@20ms'], b: [d, 'memory@0ms'] },
      { a: [d, 'memory@100ms'], b: [d, 'memory@0ms'] },
      { a: [d, 'stop-and-wait@20ms'], b: [d, 'stop-and-wait'] },
      { a: [d, 'rsync@20ms'], b: [d, 'rsync'] },
      // Into a bucket (s3.ts): ours end to end, and our publication alone, against an unordered upload (a sync tool's way).
      { a: [d, 's3'], b: [d, 's3-unordered'] },
      { a: [d, 's3-ordered'], b: [d, 's3-unordered'] },
    );
    if (d.endsWith('+incr')) {
      const base = d.slice(0, -'+incr'.length);
      out.push({ a: [d, 'openssh'], b: [base, 'openssh'] });
      out.push({ a: [d, 'local'], b: [base, 'local'] });
    }
  }
  return out;
}

export function ratios(samples: readonly Sample[], datasets: readonly string[]): Ratio[] {
  const out: Ratio[] = [];
  for (const spec of ratioSpecs(datasets)) {
    const a = { dataset: spec.a[0], runner: spec.a[1] };
    const b = { dataset: spec.b[0], runner: spec.b[1] };
    const r = pairedRatio(samples, a, b);
    if (r !== null) out.push({ a, b, ratio: r });
  }
  return out;
}

export const RSS_TARGET_MB = 150;

/** Peak RSS of each side ≤ 150 MB for every data set (our runners with separate processes). */
export function rssTargets(summaries: readonly Summary[], ours: ReadonlySet<string>): Array<{ dataset: string; runner: string; side: string; mb: number; met: boolean }> {
  const out: Array<{ dataset: string; runner: string; side: string; mb: number; met: boolean }> = [];
  for (const s of summaries) {
    if (!ours.has(s.runner)) continue;
    for (const [side, mib] of [['pusher', s.pusherRssMB], ['receiver', s.receiverRssMB]] as const) {
      if (mib !== undefined) out.push({ dataset: s.dataset, runner: s.runner, side, mb: mib, met: mib <= RSS_TARGET_MB });
    }
  }
  return out;
}
