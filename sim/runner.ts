/**
 * One simulated push, and many of them under fast-check.
 *
 * A run: a fresh destination next to a neighbour file (sometimes holding the
 * older commits already, for an incremental push); `push()` (or, in some
 * schedules, the parent-first pusher) against a receiver over the fault
 * link of link.ts. Behind the link: over the in-memory link, the receiver in
 * this process (`receive()`) or, when a kill is scheduled, a child process
 * that SIGKILLs itself at the chosen point; over `ssh2` / `openssh`, a real
 * ssh session (ssh-link.ts). A second pusher when a race is scheduled. Then
 * recovery as the next receiver would do it (stale staging and ref temp
 * files removed, ref journal rolled forward under the lock) and the
 * invariants I1–I7. The legacy mode runs the model of the 2015 receiver
 * (legacy-receiver.ts) and `receiverCommand` any receiver as a child process, instead
 * and skips recovery (it had none).
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { push, type RefStatus, receive } from '../src/protocol/index.js';
import { acquireLock, listRefs, Repo, openRepoForWriting } from '../src/repo/index.js';
import { ALL_FAULT_KINDS, describeFault, isLinkFault, type Fault, type FaultKind } from './faults.js';
import { installFsFaults } from './fs-faults.js';
import {
  checkNoStaging,
  checkNothingOutside,
  checkFailureReport,
  checkPusherReport,
  checkRefsAtomic,
  checkStore,
  readHeads,
  snapshotOutside,
  tmpListing,
  type Violation,
} from './invariants.js';
import { legacyReceive } from './legacy-receiver.js';
import { createLink, describeLink, FAST_LINK, type Link } from './link.js';
import { pushParentFirst } from './parent-first-pusher.js';
import { scheduleArb, type Schedule, type SizeTable, type StreamSize } from './schedules.js';
import { prepopulate, source, SHAPE_COUNT, type Source } from './shapes.js';
import { bindTransport, LINK_FAULTS, type LinkKind, type RemoteReceiver } from './ssh-link.js';

export type { Schedule } from './schedules.js';

export interface RunReport {
  schedule: Schedule;
  violations: Violation[];
  /** Fault kinds scheduled, and those that took effect. */
  generated: FaultKind[];
  fired: FaultKind[];
  pushOk: boolean;
  /** The parent-first model pusher reported failure although the refs moved (it has no second session; ours is held to I8). */
  unsure: boolean;
  /** What the (first) pusher's link carried, as delivered, and the objects it sent. */
  stream: StreamSize;
  /** Kept for callers of the first version: stream.bytes.up. */
  bytesUp: number;
  /** Race schedules: whether the two receivers' sessions overlapped (else the race did not take effect). */
  raceOverlapped?: boolean;
  /** When cross-checked: `ostree fsck`'s verdict and whether it agrees with I1–I3. */
  fsck?: { ok: boolean; agrees: boolean; out: string };
}

export interface RunContext {
  /** Scratch directory for sources and runs. */
  base: string;
  legacy?: boolean;
  idleMs?: number;
  /**
   * The pusher's idle timeout, well inside the run's time limit (default 3 s
   * in memory; 6 s over ssh, where the wait for INFO includes starting the
   * remote receiver; 8 s for the REPORT after DONE). Given, it is all three.
   */
  pusherIdleMs?: number;
  /** A run that takes longer is a liveness violation. */
  runTimeoutMs?: number;
  keepFailed?: boolean;
  /** A real ssh link to the receiver (ssh-link.ts); none: the in-memory link. */
  remote?: RemoteReceiver;
  /**
   * Any receiver as a child process: a command for `sh -c` with `{repo}`
   * (shell-quoted), speaking the protocol on stdin/stdout (the real 2015
   * receiver, 1.x's ostree-receive-0, another implementation). Link faults
   * and races apply; this project's recovery is not run after it.
   */
  receiverCommand?: string;
  /** Cross-check the store's invariants with `ostree fsck` after this run. */
  fsck?: boolean;
}

/** Fault kinds a receiver command can suffer: those of the link, and a racing pusher (no kill points or fs faults inside a foreign process). */
export const COMMAND_FAULTS: readonly FaultKind[] = ALL_FAULT_KINDS.filter((k) => k !== 'kill' && k !== 'fs');

const shellQuote = (v: string): string => (/^[\w@%+=:,./-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`);

const CHILD = join(import.meta.dirname, 'receiver.child.ts');

export function describeSchedule(s: Schedule): string {
  const faults = s.faults.length === 0 ? ['no faults'] : s.faults.map(describeFault);
  return [
    `repository shape ${s.shape}${s.incremental ? ', destination holds the older commits' : ', empty destination'}`,
    `link: ${describeLink(s.link)}`,
    ...(s.parentFirst === true ? ['pusher: sends objects parent first'] : []),
    ...faults.map((f) => `fault: ${f}`),
  ].join('\n');
}

const exitCode = (outcome: string): number => (outcome === 'idle' || outcome === 'published' ? 0 : 1);

/** Neither this project's receiver nor a model of ours: no recovery, no hang verdict of ours. */
const foreign = (ctx: RunContext): boolean => ctx.legacy === true || ctx.receiverCommand !== undefined;

/** What the runner needs of either pusher's result. */
interface PushOutcome {
  ok: boolean;
  refs: { ref: string; to: string; status: RefStatus }[];
  objectsSent: number;
}

interface Side {
  pushing: Promise<PushOutcome | null>;
  done: Promise<unknown>;
  fired: () => FaultKind[];
  link: Link;
  /** Breaks the link (a hung run is given up). */
  close: () => void;
  /** When the receiver first wrote (its INFO) and when its session ended (ms, monotonic; 0: never). */
  window: { start: number; end: number };
}

interface Receiver {
  remoteExit: Promise<number | null>;
  done: Promise<unknown>;
  fired: () => FaultKind[];
  kill?: () => void;
}

const killOf = (faults: Fault[]) => faults.find((f): f is Extract<Fault, { kind: 'kill' }> => f.kind === 'kill');
const fsOf = (faults: Fault[]) => faults.find((f): f is Extract<Fault, { kind: 'fs' }> => f.kind === 'fs');

/** The receiver at the other end of `link`, as the context and the faults ask. */
async function startReceiver(ctx: RunContext, link: Link, dst: string, faults: Fault[]): Promise<Receiver> {
  const kill = killOf(faults);
  const fsFault = fsOf(faults);
  if (ctx.remote !== undefined) {
    // Over ssh2 the receiver runs in this process: the fs layer is installed here for the session.
    const fsLayer = ctx.remote.kind === 'ssh2' && fsFault !== undefined ? installFsFaults({ root: dst, fail: fsFault }) : undefined;
    const session = await ctx.remote.connect(dst, { ...(kill ? { kill } : {}), ...(fsFault ? { fs: fsFault } : {}) });
    const ended = bindTransport(link, session.transport).finally(() => fsLayer?.uninstall());
    return {
      remoteExit: session.transport.exit,
      done: ended,
      fired: () => [...session.fired(), ...(fsLayer?.failed === true ? (['fs'] as const) : [])],
      kill: () => session.transport.kill(),
    };
  }
  if (ctx.receiverCommand !== undefined) {
    const child = spawn('sh', ['-c', ctx.receiverCommand.replace(/\{repo\}/g, shellQuote(dst))], { stdio: ['pipe', 'pipe', 'ignore'], detached: true });
    child.stdin.on('error', () => undefined);
    link.receiver.input.pipe(child.stdin);
    child.stdout.on('data', (d: Buffer) => link.receiver.output.write(d));
    const remoteExit = new Promise<number | null>((res) => {
      child.once('error', () => res(127));
      child.once('exit', (code, signal) => res(signal !== null ? null : code));
    });
    const done = remoteExit.then(() => link.receiverExited());
    const kill = (): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* gone already */
      }
    };
    return { remoteExit, done, fired: () => [], kill };
  }
  if (ctx.legacy === true) {
    const fired: FaultKind[] = [];
    const run = legacyReceive({ repo: dst, input: link.receiver.input, output: link.receiver.output, ...(kill ? { kill: { at: kill.at, step: kill.step } } : {}) });
    const done = run.then((r) => {
      if (r.outcome === 'killed') fired.push('kill');
      link.receiverExited();
    });
    return { remoteExit: run.then((r) => r.code, () => 1), done, fired: () => fired };
  }
  if (kill !== undefined || (fsFault !== undefined && faults.some((f) => f.kind === 'race'))) {
    const report = join(ctx.base, `child-${process.pid}-${Math.random().toString(16).slice(2)}.report`);
    const plan = { ...(kill ? { kill: { at: kill.at, step: kill.step } } : {}), ...(fsFault ? { fail: fsFault } : {}) };
    const env = { ...process.env, SIM_IDLE_MS: String(ctx.idleMs ?? 1000), SIM_FS_FAULTS: JSON.stringify(plan), SIM_REPORT: report };
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, `--repo=${dst}`], { env, stdio: ['pipe', 'pipe', 'ignore'] });
    child.stdin.on('error', () => undefined);
    link.receiver.input.pipe(child.stdin);
    child.stdout.on('data', (d: Buffer) => link.receiver.output.write(d));
    const remoteExit = new Promise<number | null>((res) => child.once('exit', (code, signal) => res(signal !== null ? null : code)));
    let what = '';
    const done = remoteExit.then(() => {
      what = existsSync(report) ? readFileSync(report, 'utf8') : '';
      rmSync(report, { force: true });
      link.receiverExited();
    });
    return {
      remoteExit,
      done,
      fired: () => (what === 'killed' ? ['kill'] : what === 'fs' ? ['fs'] : []),
      kill: () => child.kill('SIGKILL'),
    };
  }
  const fsLayer = fsFault === undefined ? undefined : installFsFaults({ root: dst, fail: fsFault });
  let fsFired = false;
  const run = (async () => {
    try {
      const repo = openRepoForWriting(dst);
      return await receive({ repo, input: link.receiver.input, output: link.receiver.output, policy: { idleTimeoutMs: ctx.idleMs ?? 300 } });
    } finally {
      fsFired = fsLayer?.failed === true;
      fsLayer?.uninstall();
      link.receiverExited();
    }
  })();
  return { remoteExit: run.then((r) => exitCode(r.outcome), () => 1), done: run.catch(() => undefined), fired: () => (fsFired ? ['fs'] : []) };
}

/** One pusher and its receiver over one link. */
async function startPair(ctx: RunContext, srcPath: string, dst: string, s: Schedule, faults: Fault[]): Promise<Side> {
  const link = createLink(s.link, faults.filter(isLinkFault));
  let receiver: Receiver;
  try {
    receiver = await startReceiver(ctx, link, dst, faults);
  } catch {
    // The ssh session could not even start: count it as a failed push, the store must still be sound.
    link.close();
    return { pushing: Promise.resolve(null), done: Promise.resolve(), fired: () => [], link, close: () => undefined, window: { start: 0, end: 0 } };
  }
  const window = { start: 0, end: 0 };
  const out = link.receiver.output;
  const write = out.write.bind(out) as (...a: unknown[]) => boolean;
  out.write = ((...a: unknown[]): boolean => {
    if (window.start === 0) window.start = performance.now();
    return write(...a);
  }) as typeof out.write;
  // A stalled link is given up by the pusher's own idle timeout (a hang otherwise: nothing closes a black hole).
  // The wait for the REPORT (publication under load) gets more, but stays well inside the run's limit.
  const idleTimeoutMs = ctx.pusherIdleMs ?? (ctx.remote === undefined ? 3000 : 6000);
  const reportTimeoutMs = ctx.pusherIdleMs ?? 8000;
  const io = { repo: Repo.open(srcPath), input: link.pusher.input, output: link.pusher.output, remoteExit: receiver.remoteExit, idleTimeoutMs, reportTimeoutMs };
  // Lost after DONE, our pusher asks a second, fault-free session what the refs are (the parent-first model pusher does not).
  const reconnect = async () => {
    const second = createLink(FAST_LINK, []);
    const r = await startReceiver(ctx, second, dst, []);
    return {
      input: second.pusher.input,
      output: second.pusher.output,
      close: async () => {
        await Promise.race([r.done, new Promise((res) => setTimeout(res, 5000).unref())]);
      },
    };
  };
  const pushing: Promise<PushOutcome | null> = (s.parentFirst === true ? pushParentFirst(io) : push({ ...io, reconnect })).catch(() => null);
  return {
    pushing,
    window,
    done: Promise.all([pushing, receiver.done.finally(() => (window.end = performance.now()))]),
    fired: () => [...receiver.fired(), ...link.stats.fired.map((f) => f.kind)],
    link,
    close: () => {
      link.close();
      receiver.kill?.();
    },
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
  const tmpBefore = tmpListing(dst);
  const snapshot = snapshotOutside(dir, [dst]);
  const race = s.faults.some((f) => f.kind === 'race');

  const sides = await Promise.all([startPair(ctx, src.path, dst, s, s.faults), ...(race ? [startPair(ctx, src.race, dst, s, s.faults.filter((f) => f.kind === 'race'))] : [])]);
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
    if (!foreign(ctx)) violations.push({ invariant: 'I6', message: `the run did not end within ${ctx.runTimeoutMs ?? 20_000} ms (a hang)` });
    hung = true;
    for (const x of sides) x.close();
    await Promise.race([Promise.all(sides.map((x) => x.done)), new Promise((r) => setTimeout(r, 2000))]);
  }
  const results = await Promise.all(sides.map((x) => (hung ? Promise.resolve(null) : x.pushing)));
  const fired = new Set<FaultKind>(sides.flatMap((x) => x.fired()));
  // A race took effect only if the two receivers' sessions overlapped: the second wrote its INFO before the first ended, and the other way round.
  const [w1, w2] = sides.map((x) => x.window);
  const overlapped = race && w1 !== undefined && w2 !== undefined && w1.start > 0 && w2.start > 0 && w1.start < (w2.end || Infinity) && w2.start < (w1.end || Infinity);
  if (overlapped) fired.add('race');

  // A receiver that exited by itself must have cleaned up already.
  if (!fired.has('kill') && !foreign(ctx)) violations.push(...checkNoStaging(dst, tmpBefore));
  if (!foreign(ctx)) {
    // What the next receiver does on start: remove dead staging, finish a ref journal.
    const repo = openRepoForWriting(dst);
    (await acquireLock(repo, { timeoutMs: 5000 })).release();
  }
  violations.push(...(await checkStore(dst, tmpBefore)));
  // One push's set is what its UPDATE asked for: refs the pusher itself rejected (non-fast-forward) are not in it.
  const intents = [src.next, ...(race ? [src.raceNext] : [])].map((all, i) => {
    const r = results[i];
    return r === null || r === undefined ? all : new Map(r.refs.filter((x) => x.status !== 'rejected').map((x) => [x.ref, x.to]));
  });
  violations.push(...checkRefsAtomic(dst, before, intents));
  // A receiver without checks (the 2015 model) may have written a ref that is not a checksum: I4 reports it, the run goes on.
  const after = readHeads(dst).refs;
  let unsure = false;
  results.forEach((r, i) => {
    const ok = r !== null && r.ok;
    const pushed = new Map((r?.refs ?? []).filter((x) => x.status === 'pushed' || x.status === 'up-to-date').map((x) => [x.ref, x.to]));
    violations.push(...checkPusherReport(dst, { ok, pushed }));
    const moved = !ok && [...(intents[i] ?? [])].every(([ref, c]) => after.get(ref) === c);
    if (moved && s.parentFirst === true) unsure = true;
    // Our pusher must have found out (a second session); the parent-first model pusher is version 0's blind one.
    if (!(s.parentFirst === true)) violations.push(...checkFailureReport(dst, r?.refs ?? null, intents[i] ?? new Map()));
  });
  violations.push(...checkNothingOutside(snapshot, snapshotOutside(dir, [dst])));
  const dedup = [...new Map(violations.map((v) => [`${v.invariant}${v.message}`, v])).values()];
  const fsck = ctx.fsck === true ? await fsckCrossCheck(dst, dedup) : undefined;
  if (dedup.length === 0 || ctx.keepFailed !== true) rmSync(dir, { recursive: true, force: true });
  const stats = (sides[0] as Side).link.stats;
  const stream: StreamSize = { bytes: { ...stats.bytes }, messages: { ...stats.messages }, objects: results[0]?.objectsSent ?? 0, refs: src.next.size };
  const generated = [...new Set(s.faults.map((f) => f.kind))];
  return {
    schedule: s,
    violations: dedup,
    generated,
    fired: [...fired],
    pushOk: results.every((r) => r !== null && r.ok),
    unsure,
    stream,
    bytesUp: stream.bytes.up,
    ...(race ? { raceOverlapped: overlapped } : {}),
    ...(fsck ? { fsck } : {}),
  };
}

/**
 * `ostree fsck` on the destination against I1–I3: the store is unsound for
 * one exactly when it is for the other. A disagreement is reported (the
 * invariants or fsck missed something), not counted as a violation: fsck
 * walks from commits, so a dirtree without its children that no commit
 * reaches is I2's alone.
 */
async function fsckCrossCheck(dst: string, violations: readonly Violation[]): Promise<{ ok: boolean; agrees: boolean; out: string }> {
  const r = await new Promise<{ ok: boolean; out: string }>((resolve) => {
    execFile('ostree', ['fsck', `--repo=${dst}`], { timeout: 30_000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      resolve({ ok: err === null, out: `${stdout}${stderr}`.trim().split('\n').slice(-2).join(' | ') });
    });
  });
  const unsound = violations.some((v) => v.invariant === 'I1' || v.invariant === 'I2' || v.invariant === 'I3');
  return { ...r, agrees: r.ok !== unsound };
}

/**
 * The stream of a fault-free push of every shape, full and incremental, over
 * the in-memory link: the bounds fault positions are drawn in (schedules.ts).
 */
export async function calibrate(base: string): Promise<SizeTable> {
  const known = calibrated.get(base);
  if (known !== undefined) return known;
  const table = new Map<string, StreamSize>();
  for (let shape = 0; shape < SHAPE_COUNT; shape++) {
    for (const incremental of [false, true]) {
      const r = await runOne({ base }, { shape, incremental, link: FAST_LINK, faults: [] });
      if (r.violations.length > 0 || !r.pushOk) throw new Error(`calibration push of shape ${shape} failed:\n${r.violations.map((v) => v.message).join('\n')}`);
      table.set(`${shape}/${incremental}`, r.stream);
    }
  }
  const sizes: SizeTable = (shape, incremental) => table.get(`${shape}/${incremental}`) as StreamSize;
  calibrated.set(base, sizes);
  return sizes;
}

/** Per scratch directory: the sources (shapes.ts) are cached there too. */
const calibrated = new Map<string, SizeTable>();

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
  /** A real ssh link (ssh-link.ts); none: the in-memory link. Fault kinds are cut down to what it supports. */
  remote?: RemoteReceiver;
  /** 1 in N schedules use the parent-first pusher (default 8; 0: never). */
  parentFirstOneIn?: number;
  /** Run this receiver command (RunContext.receiverCommand) instead of ours; fault kinds are cut down to COMMAND_FAULTS. */
  receiverCommand?: string;
  /** Cross-check 1 run in N with `ostree fsck` (default 0: never; the CLI asks for 10 when ostree is installed). */
  fsckOneIn?: number;
}

export interface SimReport {
  runs: number;
  seed: number;
  legacy: boolean;
  link: LinkKind;
  /** The fault kinds the schedules drew from. */
  kinds: FaultKind[];
  /** Runs in which each kind was scheduled, and in which it took effect. */
  generatedByKind: Map<FaultKind, number>;
  firedByKind: Map<FaultKind, number>;
  /** Runs whose pusher sent parent first. */
  parentFirst: number;
  pushesOk: number;
  failedCleanly: number;
  unsure: number;
  violationsByInvariant: Map<string, number>;
  violatingRuns: number;
  wallMs: number;
  receiverCommand?: string;
  /** Race schedules whose two sessions overlapped (a race counts as taking effect only then). */
  raceOverlapped: number;
  /** Runs cross-checked with ostree fsck, and those where it disagreed with I1–I3 (the first few, with fsck's words). */
  fsckChecked: number;
  fsckDisagreements: { run: number; fsckOk: boolean; invariants: string[]; out: string }[];
  /** The 2015 model or a receiver command (not shrunk): the first violating run. */
  firstViolation?: { run: number; schedule: Schedule; violations: Violation[] };
  /** The shrunk failing schedule (non-legacy), with what it violated. */
  counterexample?: { schedule: Schedule; violations: Violation[]; seed: number; path: string };
}

export async function simulate(o: SimOptions): Promise<SimReport> {
  const start = Date.now();
  const supported = o.remote !== undefined ? LINK_FAULTS[o.remote.kind] : o.receiverCommand !== undefined ? COMMAND_FAULTS : ALL_FAULT_KINDS;
  const kinds = (o.faults ?? ALL_FAULT_KINDS).filter((k) => supported.includes(k));
  const sizes = await calibrate(o.base);
  const report: SimReport = {
    runs: 0,
    seed: o.seed,
    legacy: o.legacy === true,
    link: o.remote?.kind ?? 'memory',
    kinds,
    generatedByKind: new Map(),
    firedByKind: new Map(),
    parentFirst: 0,
    pushesOk: 0,
    failedCleanly: 0,
    unsure: 0,
    violationsByInvariant: new Map(),
    violatingRuns: 0,
    wallMs: 0,
    ...(o.receiverCommand !== undefined ? { receiverCommand: o.receiverCommand } : {}),
    raceOverlapped: 0,
    fsckChecked: 0,
    fsckDisagreements: [],
  };
  const fsckOneIn = o.fsckOneIn ?? 0;
  const ctx: RunContext = {
    base: o.base,
    legacy: o.legacy === true,
    ...(o.legacy === true ? { runTimeoutMs: 1500 } : {}),
    // A foreign receiver may have no idle timeout (the 2015 one has none): a lost message holds it until this.
    ...(o.receiverCommand !== undefined ? { receiverCommand: o.receiverCommand, runTimeoutMs: 8000 } : {}),
    ...(o.remote ? { remote: o.remote } : {}),
  };
  let shrinking = false;
  let last: RunReport | undefined;
  const details = await fc.check(
    fc.asyncProperty(scheduleArb(sizes, kinds, { parentFirstOneIn: o.parentFirstOneIn ?? 8, cheapLink: o.remote !== undefined }), async (s) => {
      const r = await runOne({ ...ctx, fsck: !shrinking && fsckOneIn > 0 && report.runs % fsckOneIn === 0 }, s);
      last = r;
      if (!shrinking) {
        report.runs++;
        if (r.raceOverlapped === true) report.raceOverlapped++;
        if (r.fsck !== undefined) {
          report.fsckChecked++;
          if (!r.fsck.agrees && report.fsckDisagreements.length < 5) {
            report.fsckDisagreements.push({ run: report.runs, fsckOk: r.fsck.ok, invariants: [...new Set(r.violations.map((v) => v.invariant))], out: r.fsck.out });
          }
        }
        for (const k of r.generated) report.generatedByKind.set(k, (report.generatedByKind.get(k) ?? 0) + 1);
        for (const k of r.fired) report.firedByKind.set(k, (report.firedByKind.get(k) ?? 0) + 1);
        if (s.parentFirst === true) report.parentFirst++;
        if (r.violations.length > 0) {
          report.violatingRuns++;
          report.firstViolation ??= { run: report.runs, schedule: s, violations: r.violations };
          for (const v of new Set(r.violations.map((x) => x.invariant))) report.violationsByInvariant.set(v, (report.violationsByInvariant.get(v) ?? 0) + 1);
        } else if (r.pushOk) report.pushesOk++;
        else report.failedCleanly++;
        if (r.unsure) report.unsure++;
        o.onRun?.(r, report.runs);
      }
      // The legacy model and a foreign receiver are expected to violate: count, do not stop.
      if (o.legacy === true || o.receiverCommand !== undefined) return true;
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
