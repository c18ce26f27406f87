/**
 * Where the receiver's time goes, and how many system calls it makes per
 * object, next to rsync's receiving side on the same files.
 *
 *   npx tsx bench/receiver-profile.ts [--dataset=os-like] [--checkout=DIR] [--only=profile,strace,rsync,cpu,trace]
 *                                     [--reps=N] [--out=DIR] [--keep]
 *   npx tsx bench/receiver-profile.ts --compare=BEFORE.json,AFTER.json
 *
 * Each run pushes the cached data set (datasets.ts) with the compiled
 * commands of the checkout DIR (default: this one; its dist/ must be built),
 * `ostree-push --repo=SRC ssh://USER@127.0.0.1:PORT/DEST REF` over the
 * bench's loopback sshd (sshd.ts), as a user runs it, into a fresh empty
 * repository. The receiver is `node <flags of its #! line> DIST/src/cli/ostree-receive.js`
 * on the far side, started through --receive-command:
 *
 *   profile  under `node --cpu-prof`: the main thread's profile summarised into
 *            categories (file-system calls by name, inflate, SHA-256, GC,
 *            our JavaScript by module, Node's own JavaScript, the rest)
 *   strace   under `strace -c -f` (every thread, and the `sync -f` child):
 *            system calls per pushed object, by name
 *   rsync    `rsync -a objects refs` over the same sshd into a fresh
 *            repository, its server side (generator and receiver) under
 *            `strace -c -f`: the same figures for the same files
 *   trace    under `strace -f -tt`: every call in order, in OUT/ours.trace
 *   cpu      the receiver under /usr/bin/time alone, --reps times: user and
 *            system CPU (medians); no profiler or tracer in the way
 *
 * Counts of the file-system calls are independent of load; counts of
 * reads, epoll_wait, futex and the like depend on how the stream arrives,
 * and profile proportions only roughly so. Under strace every call is
 * several times slower: its times are not the receiver's.
 *
 * Results go to OUT/result.json (OUT defaults to a new directory under the
 * bench root) and a Markdown summary to stdout; --compare prints the
 * before/after tables of two such result.json files. The pushed
 * repositories are removed at the end unless --keep.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { initArchiveRepo, readRef, Repo } from '../src/repo/index.js';
import { shellQuote } from '../src/transport/transport.js';
import { benchRoot, dataset, type Dataset } from './datasets.js';
import { startSshd, type Sshd } from './sshd.js';
import { median } from './stats.js';
import { readUsage, timePrefix, type Usage } from './timed.js';

const USAGE = `usage: npx tsx bench/receiver-profile.ts [--dataset=NAME] [--checkout=DIR] [--only=profile,strace,rsync,cpu,trace] [--reps=N] [--out=DIR] [--keep]
       npx tsx bench/receiver-profile.ts --compare=BEFORE.json,AFTER.json`;

/** One category of the profile, in milliseconds of the main thread. */
export interface ProfileSummary {
  /** Sampled time minus idle. */
  busyMs: number;
  idleMs: number;
  categories: Record<string, number>;
  /** Native file-system calls of the main thread, by binding name. */
  fsCalls: Record<string, number>;
  /** Our JavaScript by module (dist/src/… path). */
  ourModules: Record<string, number>;
  /** Node's own JavaScript by module. */
  nodeModules: Record<string, number>;
}

export interface SyscallCounts {
  objects: number;
  calls: Record<string, number>;
  errors: Record<string, number>;
  total: number;
}

export interface Result {
  dataset: string;
  checkout: string;
  commit: string;
  objects: number;
  profile?: ProfileSummary;
  /** The .cpuprofile it was made from (--compare summarises it again when it is still there). */
  profileFile?: string;
  /** The receiver's CPU in the profiled run (the profiler adds a little). */
  profileCpu?: Usage | null;
  strace?: SyscallCounts;
  rsync?: SyscallCounts;
  cpu?: { userMs: number[]; sysMs: number[]; medianUserMs: number; medianSysMs: number };
}

interface CallFrame {
  functionName: string;
  url: string;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const add = (m: Record<string, number>, k: string, v: number): void => {
  m[k] = (m[k] ?? 0) + v;
};

/** The module part of a script URL of ours: `src/repo/staging.js` from `file:///…/dist/src/repo/staging.js`. */
function ourModule(url: string): string | null {
  const i = url.lastIndexOf('/dist/');
  return i < 0 ? null : url.slice(i + '/dist/'.length);
}

/**
 * Self time of each sampled frame, in categories. A native frame (no URL)
 * takes the category of the nearest JavaScript frame above it: under
 * node:fs it is a file-system call (by its binding name); elsewhere it
 * counts for the module that called it. Inflate is node:zlib and
 * raw-inflate.js (which calls zlib's handle itself), SHA-256 is
 * node:internal/crypto: the native work of both shows as the self time of
 * their JavaScript. The samples are taken on a wall clock: time the main
 * thread spent preempted (on a loaded machine, or when it wakes a thread-pool
 * thread) counts for whatever it was running.
 */
export function summariseProfile(p: CpuProfile): ProfileSummary {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const self = new Map<number, number>();
  // timeDeltas[i] is the time since the previous sample: the time of sample i-1.
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i + 1] ?? 0;
    const id = p.samples[i] as number;
    self.set(id, (self.get(id) ?? 0) + dt / 1000);
  }
  const s: ProfileSummary = { busyMs: 0, idleMs: 0, categories: {}, fsCalls: {}, ourModules: {}, nodeModules: {} };
  for (const [id, ms] of self) {
    const n = byId.get(id) as ProfileNode;
    const name = n.callFrame.functionName;
    if (name === '(idle)') {
      s.idleMs += ms;
      continue;
    }
    s.busyMs += ms;
    if (name === '(garbage collector)') {
      add(s.categories, 'GC', ms);
      continue;
    }
    if (name === '(program)') {
      add(s.categories, '(program): V8 and Node outside any JavaScript frame', ms);
      continue;
    }
    let url = n.callFrame.url;
    let up: number | undefined = id;
    while (url === '' && up !== undefined) {
      up = parent.get(up);
      url = up === undefined ? '' : (byId.get(up) as ProfileNode).callFrame.url;
    }
    const native = n.callFrame.url === '';
    if (native && (url === 'node:fs' || url.startsWith('node:internal/fs/'))) {
      add(s.categories, 'file-system calls', ms);
      add(s.fsCalls, name, ms);
    } else if (url === 'node:zlib' || ourModule(url) === 'src/repo/raw-inflate.js') {
      // zlib's native calls show as their JavaScript caller's self time (raw-inflate.js calls the handle itself).
      add(s.categories, 'inflate (zlib, with its JavaScript)', ms);
    } else if (url.startsWith('node:internal/crypto/')) {
      add(s.categories, 'SHA-256 (with its JavaScript)', ms);
    } else if (ourModule(url) !== null) {
      add(s.categories, 'our JavaScript', ms);
      add(s.ourModules, ourModule(url) as string, ms);
    } else if (url.startsWith('node:')) {
      add(s.categories, "Node's JavaScript", ms);
      add(s.nodeModules, url, ms);
    } else {
      add(s.categories, 'other', ms);
      add(s.nodeModules, url === '' ? `(native) ${name}` : url, ms);
    }
  }
  return s;
}

/** The table of `strace -c` (`% time seconds usecs/call calls errors syscall`). */
export function parseStraceSummary(text: string, objects: number): SyscallCounts {
  const out: SyscallCounts = { objects, calls: {}, errors: {}, total: 0 };
  for (const line of text.split('\n')) {
    const m = /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:(\d+)\s+)?([a-z_0-9]+)\s*$/.exec(line);
    if (m === null || m[3] === 'total') continue;
    const calls = Number(m[1]);
    out.calls[m[3] as string] = calls;
    if (m[2] !== undefined) out.errors[m[3] as string] = Number(m[2]);
    out.total += calls;
  }
  return out;
}

function run(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(cmd, args, { maxBuffer: 64 << 20, ...(env === undefined ? {} : { env }) }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : null;
      res({ code, stdout, stderr });
    });
  });
}

/** The flags of a compiled command's `#!/usr/bin/env -S node …` line: what an installed command runs with. */
function shebangFlags(bin: string): string[] {
  const first = readFileSync(bin, 'utf8').split('\n', 1)[0] ?? '';
  const m = /^#!\/usr\/bin\/env -S node(.*)$/.exec(first);
  return m === null ? [] : (m[1] as string).trim().split(/\s+/).filter((x) => x !== '');
}

interface Ctx {
  ds: Dataset;
  sshd: Sshd;
  out: string;
  push: string;
  receive: string;
  flags: string[];
  seq: number;
}

/** One push of ours with the receiver started as `wrap + node flags receive`; the number of objects sent. */
async function pushOnce(ctx: Ctx, wrap: string[], label: string, nodeFlags: string[] = []): Promise<number> {
  const dest = join(ctx.out, 'dest', `${++ctx.seq}-${label}`);
  mkdirSync(dest, { recursive: true });
  initArchiveRepo(dest);
  const q = (argv: string[]): string => argv.map(shellQuote).join(' ');
  const { sshd, ds } = ctx;
  const args = [
    ...ctx.flags,
    ctx.push,
    '--json',
    '-q',
    `--repo=${ds.repo}`,
    `--receive-command=${q([...wrap, process.execPath, ...ctx.flags, ...nodeFlags, ctx.receive])}`,
    `--ssh-command=${q(['ssh', ...sshd.options])}`,
    `ssh://${sshd.user}@${sshd.host}:${sshd.port}${dest}`,
    ds.ref,
  ];
  const r = await run(process.execPath, args, { ...process.env, SSH_AUTH_SOCK: '' });
  let sent = 0;
  try {
    const j = JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as { ok: boolean; objects: { sent: number } };
    if (!j.ok) throw new Error('not ok');
    sent = j.objects.sent;
  } catch {
    throw new Error(`${label}: ostree-push exited ${r.code}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  }
  if (readRef(Repo.open(dest), ds.ref) !== ds.commit) throw new Error(`${label}: ${dest} does not hold ${ds.ref} at ${ds.commit}`);
  return sent;
}

async function profileRun(ctx: Ctx, result: Result): Promise<void> {
  const dir = join(ctx.out, 'cpu-prof');
  mkdirSync(dir, { recursive: true });
  const usage = join(ctx.out, 'profile.time');
  const sent = await pushOnce(ctx, timePrefix(usage), 'profile', ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (file === undefined) throw new Error(`no .cpuprofile in ${dir}`);
  result.objects = sent;
  result.profileFile = join(dir, file);
  result.profile = summariseProfile(JSON.parse(readFileSync(result.profileFile, 'utf8')) as CpuProfile);
  result.profileCpu = readUsage(usage);
}

async function straceRun(ctx: Ctx, result: Result): Promise<void> {
  const file = join(ctx.out, 'ours.strace');
  const sent = await pushOnce(ctx, ['strace', '-c', '-f', '-o', file], 'strace');
  result.objects = sent;
  result.strace = parseStraceSummary(readFileSync(file, 'utf8'), sent);
}

/** Every call of every thread, in order (`strace -f -tt`), for reading what one object costs. */
async function traceRun(ctx: Ctx, result: Result): Promise<void> {
  result.objects = await pushOnce(ctx, ['strace', '-f', '-tt', '-o', join(ctx.out, 'ours.trace')], 'trace');
}

async function rsyncRun(ctx: Ctx, result: Result): Promise<void> {
  const { sshd, ds } = ctx;
  const dest = join(ctx.out, 'dest', `${++ctx.seq}-rsync`);
  mkdirSync(dest, { recursive: true });
  initArchiveRepo(dest);
  const file = join(ctx.out, 'rsync.strace');
  const e = ['ssh', '-p', String(sshd.port), ...sshd.options].join(' ');
  const r = await run('rsync', ['-a', '--stats', '-e', e, `--rsync-path=${['strace', '-c', '-f', '-o', file, 'rsync'].map(shellQuote).join(' ')}`, `${ds.repo}/objects`, `${ds.repo}/refs`, `${sshd.user}@${sshd.host}:${dest}/`]);
  if (r.code !== 0) throw new Error(`rsync exited ${r.code}: ${r.stderr.trim()}`);
  const files = Number((/Number of regular files transferred: ([\d,]+)/.exec(r.stdout)?.[1] ?? '0').replace(/,/g, ''));
  result.rsync = parseStraceSummary(readFileSync(file, 'utf8'), files);
}

async function cpuRuns(ctx: Ctx, result: Result, reps: number): Promise<void> {
  const userMs: number[] = [];
  const sysMs: number[] = [];
  for (let i = 0; i < reps; i++) {
    const file = join(ctx.out, `cpu-${i}.time`);
    result.objects = await pushOnce(ctx, timePrefix(file), `cpu-${i}`);
    const u = readUsage(file);
    if (u !== null) {
      userMs.push(u.userMs);
      sysMs.push(u.sysMs);
    }
  }
  result.cpu = { userMs, sysMs, medianUserMs: median(userMs), medianSysMs: median(sysMs) };
}

const pct = (x: number, of: number): string => `${((100 * x) / of).toFixed(1)} %`;
const s2 = (ms: number): string => (ms / 1000).toFixed(2);

/** Markdown: the profile's categories, then the file-system calls and our modules that take at least 0.5 % each. */
export function profileTable(cols: Array<{ label: string; p: ProfileSummary }>): string {
  const keys = (pick: (p: ProfileSummary) => Record<string, number>, floor: number): string[] => {
    const all = new Map<string, number>();
    for (const { p } of cols) for (const [k, v] of Object.entries(pick(p))) all.set(k, Math.max(all.get(k) ?? 0, v / p.busyMs));
    return [...all].filter(([, f]) => f >= floor).sort((a, b) => b[1] - a[1]).map(([k]) => k);
  };
  const head = `| main thread | ${cols.map((c) => c.label).join(' | ')} |\n| --- |${cols.map(() => ' ---: |').join('')}`;
  const row = (name: string, get: (p: ProfileSummary) => number): string => `| ${name} | ${cols.map(({ p }) => `${s2(get(p))} s (${pct(get(p), p.busyMs)})`).join(' | ')} |`;
  const lines = [head, row('busy (sampled, not idle)', (p) => p.busyMs)];
  for (const k of keys((p) => p.categories, 0)) lines.push(row(k, (p) => p.categories[k] ?? 0));
  for (const k of keys((p) => p.fsCalls, 0.005)) lines.push(row(`  fs: ${k}`, (p) => p.fsCalls[k] ?? 0));
  for (const k of keys((p) => p.ourModules, 0.005)) lines.push(row(`  ours: ${k}`, (p) => p.ourModules[k] ?? 0));
  for (const k of keys((p) => p.nodeModules, 0.01)) lines.push(row(`  node: ${k}`, (p) => p.nodeModules[k] ?? 0));
  return lines.join('\n');
}

/** Markdown: calls per object by system call, for every call that reaches 0.01 per object in any column. */
export function syscallTable(cols: Array<{ label: string; c: SyscallCounts }>): string {
  const per = (c: SyscallCounts, k: string): number => (c.calls[k] ?? 0) / c.objects;
  const names = new Set<string>();
  for (const { c } of cols) for (const k of Object.keys(c.calls)) if (per(c, k) >= 0.01) names.add(k);
  const sorted = [...names].sort((a, b) => Math.max(...cols.map(({ c }) => per(c, b))) - Math.max(...cols.map(({ c }) => per(c, a))));
  const lines = [`| system call, per object | ${cols.map((c) => c.label).join(' | ')} |`, `| --- |${cols.map(() => ' ---: |').join('')}`];
  lines.push(`| **all** | ${cols.map(({ c }) => `**${(c.total / c.objects).toFixed(2)}**`).join(' | ')} |`);
  for (const k of sorted) lines.push(`| ${k} | ${cols.map(({ c }) => (c.calls[k] === undefined ? '–' : per(c, k).toFixed(2))).join(' | ')} |`);
  lines.push(`| (objects / files) | ${cols.map(({ c }) => String(c.objects)).join(' | ')} |`);
  return lines.join('\n');
}

function report(results: Array<{ label: string; r: Result }>): string {
  const out: string[] = [];
  const profiled = results.filter((x) => x.r.profile !== undefined);
  if (profiled.length > 0) {
    out.push(`Receiver CPU profile (${profiled.map((x) => `${x.label}: ${x.r.dataset}, ${x.r.objects} objects`).join('; ')}):`, '');
    out.push(profileTable(profiled.map((x) => ({ label: x.label, p: x.r.profile as ProfileSummary }))), '');
  }
  const cols: Array<{ label: string; c: SyscallCounts }> = [];
  for (const x of results) if (x.r.strace !== undefined) cols.push({ label: `ours ${x.label}`, c: x.r.strace });
  const rs = results.find((x) => x.r.rsync !== undefined);
  if (rs !== undefined) cols.push({ label: 'rsync -a (server side)', c: rs.r.rsync as SyscallCounts });
  if (cols.length > 0) out.push('System calls per object (`strace -c -f`):', '', syscallTable(cols), '');
  for (const x of results) {
    if (x.r.cpu !== undefined) out.push(`Receiver CPU ${x.label} (${x.r.cpu.userMs.length} runs, medians): ${s2(x.r.cpu.medianUserMs)} s user + ${s2(x.r.cpu.medianSysMs)} s system`);
  }
  return out.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      dataset: { type: 'string', default: 'os-like' },
      checkout: { type: 'string' },
      only: { type: 'string', default: 'profile,strace,rsync' },
      reps: { type: 'string', default: '3' },
      out: { type: 'string' },
      keep: { type: 'boolean', default: false },
      compare: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (values.compare !== undefined) {
    const files = values.compare.split(',');
    const results = files.map((f, i) => ({ label: files.length === 2 ? (i === 0 ? 'before' : 'after') : `#${i + 1}`, r: JSON.parse(readFileSync(f, 'utf8')) as Result }));
    for (const { r } of results) {
      if (r.profileFile !== undefined && existsSync(r.profileFile)) r.profile = summariseProfile(JSON.parse(readFileSync(r.profileFile, 'utf8')) as CpuProfile);
    }
    console.log(report(results));
    return;
  }
  const only = new Set(values.only.split(','));
  for (const w of only) if (!['profile', 'strace', 'rsync', 'cpu', 'trace'].includes(w)) throw new Error(`unknown --only ${w}\n${USAGE}`);
  const checkout = resolve(values.checkout ?? new URL('../', import.meta.url).pathname);
  const push = join(checkout, 'dist/src/cli/ostree-push.js');
  const receive = join(checkout, 'dist/src/cli/ostree-receive.js');
  if (!existsSync(push) || !existsSync(receive)) throw new Error(`${checkout} has no dist/ (run npm run build there)`);
  const commit = (await run('git', ['-C', checkout, 'rev-parse', '--short', 'HEAD'])).stdout.trim();
  const ds = await dataset(values.dataset, { log: (l) => console.error(l) });
  if (ds.base !== undefined) throw new Error('full data sets only (an incremental one needs a seeded destination)');
  const out = resolve(values.out ?? join(benchRoot(), 'runs', `receiver-profile-${new Date().toISOString().replace(/[:.]/g, '-')}`));
  mkdirSync(out, { recursive: true });
  const sshd = await startSshd(join(out, 'sshd'));
  const ctx: Ctx = { ds, sshd, out, push, receive, flags: shebangFlags(receive), seq: 0 };
  const result: Result = { dataset: ds.name, checkout, commit, objects: ds.objects };
  try {
    const log = (l: string): void => console.error(`[${new Date().toISOString().slice(11, 19)}] ${l}`);
    if (only.has('profile')) {
      log(`profile: ${ds.name} with ${commit}'s receiver under --cpu-prof`);
      await profileRun(ctx, result);
    }
    if (only.has('strace')) {
      log('strace: our receiver under strace -c -f');
      await straceRun(ctx, result);
    }
    if (only.has('rsync')) {
      log('rsync: rsync -a, its server side under strace -c -f');
      await rsyncRun(ctx, result);
    }
    if (only.has('trace')) {
      log('trace: our receiver under strace -f -tt (ours.trace)');
      await traceRun(ctx, result);
    }
    if (only.has('cpu')) {
      log(`cpu: ${values.reps} pushes, the receiver under /usr/bin/time`);
      await cpuRuns(ctx, result, Number(values.reps));
    }
  } finally {
    await sshd.stop();
    if (!values.keep) rmSync(join(out, 'dest'), { recursive: true, force: true });
  }
  writeFileSync(join(out, 'result.json'), `${JSON.stringify(result, null, 2)}\n`);
  console.error(`results in ${join(out, 'result.json')}`);
  console.log(report([{ label: commit, r: result }]));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e: unknown) => {
    console.error(`receiver-profile: ${(e as Error).message}`);
    process.exit(1);
  });
}
