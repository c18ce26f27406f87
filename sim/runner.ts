/**
 * One simulated push, and many of them under fast-check.
 *
 * A run: a fresh destination next to a neighbour file (sometimes holding the
 * older commits already, for an incremental push); `push()` against a
 * receiver over the in-memory link, in this process (`receive()`) or, when a
 * kill is scheduled, as a child process that SIGKILLs itself at the chosen
 * point; a second pusher when a race is scheduled. Then recovery as the next
 * receiver would do it (stale staging removed, ref journal rolled forward
 * under the lock) and the invariants I1–I7. The legacy mode runs the 2015
 * behaviour model instead and skips recovery (it had none).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { push, type PushResult } from '../src/protocol/pusher.js';
import { receive } from '../src/protocol/receiver.js';
import { acquireLock } from '../src/repo/lock.js';
import { listRefs } from '../src/repo/refs.js';
import { Repo } from '../src/repo/repo.js';
import { openRepoForWriting } from '../src/repo/staging.js';
import { ALL_FAULT_KINDS, describeFault, isLinkFault, type Fault, type FaultKind, type KillPoint } from './faults.js';
import { installFsFaults } from './fs-faults.js';
import {
  checkNoStaging,
  checkNothingOutside,
  checkPusherReport,
  checkRefsAtomic,
  checkStore,
  snapshotOutside,
  type Violation,
} from './invariants.js';
import { legacyReceive } from './legacy-receiver.js';
import { createLink, describeLink, type LinkParams } from './link.js';
import { prepopulate, source, SHAPE_COUNT, type Source } from './shapes.js';

export interface Schedule {
  shape: number;
  incremental: boolean;
  link: LinkParams;
  faults: Fault[];
}

export interface RunReport {
  schedule: Schedule;
  violations: Violation[];
  /** Fault kinds that took effect. */
  fired: FaultKind[];
  pushOk: boolean;
  /** The pusher reported failure although the refs moved (the receiver died after publishing). */
  unsure: boolean;
  /** Bytes the (first) pusher's link carried up, as delivered. */
  bytesUp: number;
}

export interface RunContext {
  /** Scratch directory for sources and runs. */
  base: string;
  legacy?: boolean;
  idleMs?: number;
  /** A run that takes longer is a liveness violation. */
  runTimeoutMs?: number;
  keepFailed?: boolean;
}

const CHILD = join(import.meta.dirname, 'receiver.child.ts');

export function describeSchedule(s: Schedule): string {
  const faults = s.faults.length === 0 ? ['no faults'] : s.faults.map(describeFault);
  return [`repository shape ${s.shape}${s.incremental ? ', destination holds the older commits' : ', empty destination'}`, `link: ${describeLink(s.link)}`, ...faults.map((f) => `fault: ${f}`)].join('\n');
}

const exitCode = (outcome: string): number => (outcome === 'idle' || outcome === 'published' ? 0 : 1);

interface Side {
  pushing: Promise<PushResult | null>;
  done: Promise<unknown>;
  fired: () => FaultKind[];
  bytesUp: () => number;
  /** Breaks the link (a hung run is given up). */
  close: () => void;
}

/** One pusher and its receiver over one link. */
function startPair(ctx: RunContext, srcPath: string, dst: string, s: Schedule, faults: Fault[]): Side {
  const link = createLink(s.link, faults.filter(isLinkFault));
  const kill = faults.find((f): f is Extract<Fault, { kind: 'kill' }> => f.kind === 'kill');
  const fsFault = faults.find((f): f is Extract<Fault, { kind: 'fs' }> => f.kind === 'fs');
  const fired: FaultKind[] = [];
  let remoteExit: Promise<number | null>;
  let receiverDone: Promise<unknown>;
  if (ctx.legacy === true) {
    const run = legacyReceive({ repo: Repo.open(dst), input: link.receiver.input, output: link.receiver.output, ...(kill ? { kill: { at: kill.at, step: kill.step } } : {}) });
    receiverDone = run.then((o) => {
      if (o === 'killed') fired.push('kill');
      link.receiverExited();
    });
    remoteExit = run.then((o) => (o === 'killed' ? null : exitCode(o)), () => 1);
  } else if (kill !== undefined || (fsFault !== undefined && faults.some((f) => f.kind === 'race'))) {
    const env = { ...process.env, SIM_IDLE_MS: String(ctx.idleMs ?? 1000), SIM_FS_FAULTS: JSON.stringify({ ...(kill ? { kill: { at: kill.at, step: kill.step } } : {}), ...(fsFault ? { fail: fsFault } : {}) }) };
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, `--repo=${dst}`], { env, stdio: ['pipe', 'pipe', 'ignore'] });
    child.stdin.on('error', () => undefined);
    link.receiver.input.pipe(child.stdin);
    child.stdout.on('data', (d: Buffer) => link.receiver.output.write(d));
    remoteExit = new Promise((res) => child.once('exit', (code, signal) => res(signal !== null ? null : code)));
    receiverDone = remoteExit.then((code) => {
      if (code === null) fired.push('kill');
      link.receiverExited();
    });
  } else {
    const fsLayer = fsFault === undefined ? undefined : installFsFaults({ root: dst, fail: fsFault });
    const run = (async () => {
      try {
        const repo = openRepoForWriting(dst);
        return await receive({ repo, input: link.receiver.input, output: link.receiver.output, policy: { idleTimeoutMs: ctx.idleMs ?? 300 } });
      } finally {
        if (fsLayer?.failed === true) fired.push('fs');
        fsLayer?.uninstall();
        link.receiverExited();
      }
    })();
    receiverDone = run.catch(() => undefined);
    remoteExit = run.then((r) => exitCode(r.outcome), () => 1);
  }
  const pushing = push({ repo: Repo.open(srcPath), input: link.pusher.input, output: link.pusher.output, remoteExit }).catch(() => null);
  return {
    pushing,
    done: Promise.all([pushing, receiverDone]),
    fired: () => [...fired, ...link.stats.fired.map((f) => f.kind)],
    close: () => link.close(),
    bytesUp: () => link.stats.bytes.up,
  };
}

export async function runOne(ctx: RunContext, s: Schedule): Promise<RunReport> {
  const src: Source = await source(ctx.base, s.shape);
  const dir = mkdtempSync(join(ctx.base, 'run-'));
  const dst = join(dir, 'dst');
  Repo.init(dst);
  if (s.incremental) await prepopulate(src, dst);
  writeFileSync(join(dir, 'neighbour'), 'must stay untouched\n');
  const before = listRefs(Repo.open(dst));
  const snapshot = snapshotOutside(dir, [dst]);
  const race = s.faults.some((f) => f.kind === 'race');

  const sides = [startPair(ctx, src.path, dst, s, s.faults)];
  if (race) sides.push(startPair(ctx, src.race, dst, s, s.faults.filter((f) => f.kind === 'race')));
  const violations: Violation[] = [];
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    Promise.all(sides.map((x) => x.done)).then(() => false),
    new Promise<boolean>((res) => {
      timer = setTimeout(() => res(true), ctx.runTimeoutMs ?? 20_000);
    }),
  ]);
  clearTimeout(timer);
  let hung = false;
  if (timedOut) {
    // The 2015 model has no idle timeout: a lost message deadlocks it, as it did the real one.
    if (ctx.legacy !== true) violations.push({ invariant: 'I6', message: `the run did not end within ${ctx.runTimeoutMs ?? 20_000} ms (a hang)` });
    hung = true;
    for (const x of sides) x.close();
    await Promise.race([Promise.all(sides.map((x) => x.done)), new Promise((r) => setTimeout(r, 2000))]);
  }
  const results = await Promise.all(sides.map((x) => (hung ? Promise.resolve(null) : x.pushing)));
  const fired = new Set<FaultKind>(sides.flatMap((x) => x.fired()));
  if (race) fired.add('race');

  // A receiver that exited by itself must have cleaned up already.
  if (!fired.has('kill') && ctx.legacy !== true) violations.push(...checkNoStaging(dst));
  if (ctx.legacy !== true) {
    // What the next receiver does on start: remove dead staging, finish a ref journal.
    const repo = openRepoForWriting(dst);
    (await acquireLock(repo, { timeoutMs: 5000 })).release();
  }
  violations.push(...(await checkStore(dst)));
  // One push's set is what its UPDATE asked for: refs the pusher itself rejected (non-fast-forward) are not in it.
  const intents = [src.next, ...(race ? [src.raceNext] : [])].map((all, i) => {
    const r = results[i];
    return r === null || r === undefined ? all : new Map(r.refs.filter((x) => x.status !== 'rejected').map((x) => [x.ref, x.to]));
  });
  violations.push(...checkRefsAtomic(dst, before, intents));
  const after = listRefs(Repo.open(dst));
  let unsure = false;
  results.forEach((r, i) => {
    const ok = r !== null && r.ok;
    const pushed = new Map((r?.refs ?? []).filter((x) => x.status === 'pushed' || x.status === 'up-to-date').map((x) => [x.ref, x.to]));
    violations.push(...checkPusherReport(dst, { ok, pushed }));
    if (!ok && [...(intents[i] ?? [])].every(([ref, c]) => after.get(ref) === c)) unsure = true;
  });
  violations.push(...checkNothingOutside(snapshot, snapshotOutside(dir, [dst])));
  const dedup = [...new Map(violations.map((v) => [`${v.invariant}${v.message}`, v])).values()];
  if (dedup.length === 0 || ctx.keepFailed !== true) rmSync(dir, { recursive: true, force: true });
  return { schedule: s, violations: dedup, fired: [...fired], pushOk: results.every((r) => r !== null && r.ok), unsure, bytesUp: sides[0]?.bytesUp() ?? 0 };
}

// ---------------------------------------------------------------- schedules

const KILL_POINTS: readonly KillPoint[] = ['receiving', 'closure', 'publish', 'ref'];

export function faultArb(kinds: readonly FaultKind[]): fc.Arbitrary<Fault> {
  const dir = fc.constantFrom('up' as const, 'down' as const);
  const byte = fc.oneof(fc.nat({ max: 300 }), fc.nat({ max: 40_000 }));
  const msg = fc.nat({ max: 40 });
  const chunk = fc.nat({ max: 200 });
  const arbs: Record<FaultKind, fc.Arbitrary<Fault>> = {
    'cut-byte': fc.record({ kind: fc.constant('cut-byte' as const), dir, at: byte }),
    'cut-message': fc.record({ kind: fc.constant('cut-message' as const), dir, after: msg }),
    corrupt: fc.record({ kind: fc.constant('corrupt' as const), dir, at: byte, bit: fc.nat({ max: 7 }) }),
    'drop-chunk': fc.record({ kind: fc.constant('drop-chunk' as const), dir, index: chunk }),
    'dup-chunk': fc.record({ kind: fc.constant('dup-chunk' as const), dir, index: chunk }),
    'swap-chunk': fc.record({ kind: fc.constant('swap-chunk' as const), dir, index: chunk }),
    'drop-message': fc.record({ kind: fc.constant('drop-message' as const), dir, index: msg }),
    'dup-message': fc.record({ kind: fc.constant('dup-message' as const), dir, index: msg }),
    'swap-message': fc.record({ kind: fc.constant('swap-message' as const), dir, index: msg }),
    stall: fc.record({ kind: fc.constant('stall' as const), dir, at: byte }),
    kill: fc.constantFrom(...KILL_POINTS).chain((at) => fc.record({ kind: fc.constant('kill' as const), at: fc.constant(at), step: at === 'closure' ? fc.constant(0) : fc.nat({ max: at === 'ref' ? 3 : 12 }) })),
    fs: fc.record({ kind: fc.constant('fs' as const), op: fc.constantFrom('stage-write' as const, 'publish' as const), errno: fc.constantFrom('ENOSPC' as const, 'EIO' as const), after: fc.nat({ max: 12 }) }),
    race: fc.constant({ kind: 'race' as const }),
  };
  return fc.oneof(...kinds.map((k) => arbs[k]));
}

export function scheduleArb(kinds: readonly FaultKind[] = ALL_FAULT_KINDS): fc.Arbitrary<Schedule> {
  const link: fc.Arbitrary<LinkParams> = fc
    .record({
      seed: fc.integer(),
      minChunk: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 4096 })),
      spread: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 1 << 20 })),
      latencyMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 3 })),
      jitterMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2 })),
      bandwidth: fc.constantFrom(0, 0, 2000, 50_000),
    })
    .map(({ spread, ...p }) => ({ ...p, minChunk: Math.max(p.minChunk, p.latencyMs > 0 ? 256 : 1), maxChunk: Math.min(1 << 20, Math.max(p.minChunk, p.latencyMs > 0 ? 256 : 1) + spread) }));
  return fc.record({
    shape: fc.nat({ max: SHAPE_COUNT - 1 }),
    incremental: fc.boolean(),
    link,
    faults: kinds.length === 0 ? fc.constant([]) : fc.array(faultArb(kinds), { maxLength: 2 }),
  });
}

// ---------------------------------------------------------------- many runs

export interface SimOptions {
  runs: number;
  seed: number;
  faults?: readonly FaultKind[];
  legacy?: boolean;
  base: string;
  /** Stop starting runs after this long. */
  timeLimitMs?: number;
  onRun?: (r: RunReport, i: number) => void;
}

export interface SimReport {
  runs: number;
  seed: number;
  legacy: boolean;
  firedByKind: Map<FaultKind, number>;
  pushesOk: number;
  failedCleanly: number;
  unsure: number;
  violationsByInvariant: Map<string, number>;
  violatingRuns: number;
  wallMs: number;
  /** The shrunk failing schedule (non-legacy), with what it violated. */
  counterexample?: { schedule: Schedule; violations: Violation[]; seed: number; path: string };
}

export async function simulate(o: SimOptions): Promise<SimReport> {
  const start = Date.now();
  const report: SimReport = {
    runs: 0,
    seed: o.seed,
    legacy: o.legacy === true,
    firedByKind: new Map(),
    pushesOk: 0,
    failedCleanly: 0,
    unsure: 0,
    violationsByInvariant: new Map(),
    violatingRuns: 0,
    wallMs: 0,
  };
  const ctx: RunContext = { base: o.base, legacy: o.legacy === true, ...(o.legacy === true ? { runTimeoutMs: 1500 } : {}) };
  let shrinking = false;
  let last: RunReport | undefined;
  const details = await fc.check(
    fc.asyncProperty(scheduleArb(o.faults ?? ALL_FAULT_KINDS), async (s) => {
      const r = await runOne(ctx, s);
      last = r;
      if (!shrinking) {
        report.runs++;
        for (const k of r.fired) report.firedByKind.set(k, (report.firedByKind.get(k) ?? 0) + 1);
        if (r.violations.length > 0) {
          report.violatingRuns++;
          for (const v of new Set(r.violations.map((x) => x.invariant))) report.violationsByInvariant.set(v, (report.violationsByInvariant.get(v) ?? 0) + 1);
        } else if (r.pushOk) report.pushesOk++;
        else report.failedCleanly++;
        if (r.unsure) report.unsure++;
        o.onRun?.(r, report.runs);
      }
      // The legacy model is expected to violate: count, do not stop.
      if (o.legacy === true) return true;
      if (r.violations.length > 0) shrinking = true;
      return r.violations.length === 0;
    }),
    { numRuns: o.runs, seed: o.seed, ...(o.timeLimitMs ? { interruptAfterTimeLimit: o.timeLimitMs } : {}), endOnFailure: false },
  );
  if (details.failed && details.counterexample !== null) {
    const schedule = details.counterexample[0];
    const replay = await runOne(ctx, schedule);
    report.counterexample = { schedule, violations: replay.violations.length > 0 ? replay.violations : (last?.violations ?? []), seed: details.seed, path: details.counterexamplePath ?? '' };
  }
  report.wallMs = Date.now() - start;
  return report;
}
