/**
 * What the benchmark runs: our pusher over each link, and the baselines, each
 * as a `Runner` that pushes one data set into one fresh destination and
 * returns a Sample. Nothing here deletes anything (the caller removes the
 * whole run directory at the very end): deleting hundreds of MB makes file
 * creation several times slower for minutes and would skew later runs.
 *
 * Baselines, on the same data and the same sshd:
 *   rsync        `rsync -a objects refs` over ssh into an initialised repository
 *   pull-local   `ostree pull-local --untrusted` (a verifying copy, no network)
 *   raw-ssh      the exact object files a push sends, `xargs -0 cat | ssh … 'cat >/dev/null'`
 *   stop-and-wait  our pusher forced to a window of one object
 *
 * Ours runs compiled (dist/, built by cli.ts before any run), as users run it:
 * the ssh runners start `node dist/src/cli/ostree-push.js --json` with the
 * receiver as `node dist/src/cli/ostree-receive.js` on the far side; the
 * local and stop-and-wait runners (which need the receiver under
 * /usr/bin/time, or a window the command line does not offer) run the
 * compiled push-driver, whose local receiver is the compiled one too. The
 * tsx loader would add about 0.5 s and 60 MB to every process.
 */
import { NODE_RUNTIME_FLAGS } from '../src/runtime-flags.js';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setRef, initArchiveRepo } from '../src/repo/index.js';
import { shellQuote } from '../src/transport/transport.js';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Rgw } from '../testkit/rgw.js';
import type { Dataset } from './datasets.js';
import type { DriverConfig, DriverResult } from './push-driver.js';
import type { Sshd } from './sshd.js';
import { addUsage, readUsage, timePrefix, type Usage } from './timed.js';

export interface Sample {
  runner: string;
  dataset: string;
  rep: number;
  ok: boolean;
  error?: string;
  wallMs: number;
  /** push() itself, without process start-up (ours only). */
  pushMs?: number;
  objects: number;
  bytes: number;
  pusher: Usage | null;
  receiver: Usage | null;
  dest: string;
  verify?: string;
}

export interface BenchContext {
  runDir: string;
  sshd: Sshd | null;
  /** Delay proxies in front of sshd, by round-trip time. */
  proxyPort(rttMs: number): Promise<number>;
  window?: number;
  pusherHasWindow: boolean;
  log(line: string): void;
  /** The gateway for the bucket runners (s3.ts), when one of them was chosen. */
  s3?: { rgw: Rgw; client: S3Client };
}

export interface Runner {
  id: string;
  label: string;
  kind: 'ours' | 'baseline';
  rttMs: number;
  /** Why this runner cannot run here (null: it can). */
  unavailable(ctx: BenchContext, ds: Dataset): string | null;
  run(ctx: BenchContext, ds: Dataset, dest: string, rep: number): Promise<Sample>;
  /** Runners whose result leaves no repository to verify. */
  noDestination?: boolean;
  /** Whether it needs the loopback sshd (cli.ts starts it only then). */
  needsSshd: boolean;
  /** Whether it needs the gateway (s3.ts; cli.ts starts it only then). */
  needsS3?: boolean;
  /** Its own check of a successful run, instead of cli.ts's check of a destination directory ('ok' when good). */
  check?(ctx: BenchContext, ds: Dataset, s: Sample): Promise<string>;
  /** Run after the check (a bucket run frees the gateway's memory). */
  cleanUp?(ctx: BenchContext, s: Sample): Promise<void>;
}

/** The compiled tree that ours runs from (cli.ts builds it). */
export const DIST = new URL('../dist/', import.meta.url).pathname;
export const distFile = (rel: string): string => join(DIST, rel);
export const PUSH_BIN = distFile('src/cli/ostree-push.js');
export const RECEIVE_BIN = distFile('src/cli/ostree-receive.js');
export const DRIVER_BIN = distFile('bench/push-driver.js');

/** A fresh destination: an empty archive repository, or one holding the base commit for incremental sets. */
export async function prepareDestination(ds: Dataset, dest: string): Promise<void> {
  initArchiveRepo(dest);
  if (ds.base !== undefined) {
    // Objects are immutable, so hard links seed the destination in a second.
    await run('cp', ['-al', `${ds.base.repo}/objects/.`, `${dest}/objects/`]);
    for (const [ref, commit] of Object.entries(ds.base.refs ?? { [ds.ref]: ds.base.commit })) await setRef(dest, ref, commit);
  }
}

/** The refs a push of this data set names, and the commits they must reach. */
export function pushRefs(ds: Dataset): Record<string, string> {
  return ds.pushRefs ?? { [ds.ref]: ds.commit };
}

function run(cmd: string, args: string[], options: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    // A stalled run is killed (SIGTERM) and reported as failed rather than hanging the bench.
    const child = execFile(cmd, args, { maxBuffer: 64 << 20, timeout: options.timeoutMs ?? 0, ...(options.env === undefined ? {} : { env: options.env }) }, (err, stdout, stderr) => {
      const killed = err !== null && (err as { killed?: boolean }).killed === true;
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : null;
      if (killed) resolve({ code: null, stdout, stderr: `${stderr}\nkilled after ${options.timeoutMs} ms (stalled?)` });
      else if (err !== null && code === null) reject(err);
      else resolve({ code, stdout, stderr });
    });
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

let seq = 0;
function usageFile(ctx: BenchContext, what: string): string {
  mkdirSync(join(ctx.runDir, 'usage'), { recursive: true });
  return join(ctx.runDir, 'usage', `${++seq}-${what}.time`);
}

function baseSample(r: Runner, ds: Dataset, rep: number, dest: string): Omit<Sample, 'ok' | 'wallMs' | 'objects' | 'bytes' | 'pusher' | 'receiver'> {
  return { runner: r.id, dataset: ds.name, rep, dest };
}

const needSshd = (ctx: BenchContext): string | null => (ctx.sshd === null ? 'no sshd (openssh-server) on this machine' : null);

/** A stop-and-wait pusher at this RTT needs at least objects × RTT: skip what would take too long. */
function rttBudget(ds: Dataset, rttMs: number, windowed: boolean): string | null {
  if (rttMs === 0 || windowed) return null;
  const s = (ds.objects * rttMs) / 1000;
  return s > 300 ? `skipped: stop-and-wait needs ≥ ${Math.round(s)} s (${ds.objects} objects × ${rttMs} ms)` : null;
}

export function failed(r: Runner, ds: Dataset, rep: number, dest: string, wallMs: number, error: string): Sample {
  return { ...baseSample(r, ds, rep, dest), ok: false, error, wallMs, objects: 0, bytes: 0, pusher: null, receiver: null };
}

/** The command line's JSON summary (src/cli/push-json.ts), the fields the bench uses. */
export interface PushJson {
  ok: boolean;
  seconds: number;
  objects: { sent: number };
  bytes: { sent: number };
  error: { code: string; message: string } | null;
}

function ours(id: string, label: string, link: DriverConfig['link'], rttMs: number, window?: number): Runner {
  const ssh = link === 'openssh' || link === 'ssh2';
  const r: Runner = {
    id,
    label,
    kind: 'ours',
    rttMs,
    needsSshd: ssh,
    // No window given: the pusher's own, which is windowed (not stop-and-wait), so os-like at 20 ms is not skipped.
    unavailable: (ctx, ds) => (ssh ? needSshd(ctx) : null) ?? (link === 'ssh2' ? builtinMissing() : null) ?? rttBudget(ds, rttMs, (window ?? ctx.window ?? 2) > 1 && ctx.pusherHasWindow),
    run: async (ctx, ds, dest, rep) => {
      const w = window ?? ctx.window;
      const timeoutMs = Math.round(30_000 + ds.objects * (rttMs + 15) + ds.objectBytes / 1e4);
      // The command line has no window option: a forced window goes through the driver.
      if (ssh && w === undefined && ctx.sshd !== null) return runCommand(r, ctx, ds, dest, rep, link, rttMs, timeoutMs);
      const config: DriverConfig = {
        repo: ds.repo,
        ref: ds.ref,
        refs: Object.keys(pushRefs(ds)),
        dest,
        link,
        receiverUsageFile: usageFile(ctx, 'receiver'),
        sshUsageFile: usageFile(ctx, 'ssh'),
      };
      if (w !== undefined) config.window = w;
      if (link === 'memory') config.rttMs = rttMs;
      if (ssh && ctx.sshd !== null) {
        const port = rttMs === 0 ? ctx.sshd.port : await ctx.proxyPort(rttMs);
        const { options, user, host, identityFile, knownHosts } = ctx.sshd;
        config.ssh = { options, user, host, port, identityFile, knownHosts };
      }
      const t0 = performance.now();
      const out = await run(process.execPath, [...NODE_RUNTIME_FLAGS, DRIVER_BIN, JSON.stringify(config)], { timeoutMs });
      const wallMs = performance.now() - t0;
      let res: DriverResult;
      try {
        res = JSON.parse(out.stdout.trim().split('\n').pop() ?? '') as DriverResult;
      } catch {
        return failed(r, ds, rep, dest, wallMs, `driver exited ${out.code}: ${out.stderr.trim().split('\n').pop() ?? ''}`);
      }
      const s: Sample = {
        ...baseSample(r, ds, rep, dest),
        ok: res.ok,
        wallMs,
        pushMs: res.pushMs,
        objects: res.objectsSent,
        bytes: res.bytesSent,
        pusher: addUsage(res.pusher, res.sshClient === null ? null : { ...res.sshClient, maxRssKiB: 0 }),
        receiver: res.receiver,
      };
      if (res.error !== undefined) s.error = withReceiverLine(res.error, out.stderr);
      return s;
    },
  };
  return r;
}

// The receiver's own one-line error (on stderr) says more than the pusher's view of it.
function withReceiverLine(error: string, stderr: string): string {
  const said = stderr.split('\n').filter((l) => l.startsWith('ostree-receive:')).pop();
  return said === undefined ? error : `${error}; ${said}`;
}

/**
 * `ostree-push --json` itself over ssh, under /usr/bin/time (which counts the
 * ssh client it reaps, not sshd); the receiver under /usr/bin/time on the far side.
 */
async function runCommand(r: Runner, ctx: BenchContext, ds: Dataset, dest: string, rep: number, link: DriverConfig['link'], rttMs: number, timeoutMs: number, bins: { push: string; receive: string } = { push: PUSH_BIN, receive: RECEIVE_BIN }): Promise<Sample> {
  const sshd = ctx.sshd as Sshd;
  const port = rttMs === 0 ? sshd.port : await ctx.proxyPort(rttMs);
  const pusherFile = usageFile(ctx, 'pusher');
  const receiverFile = usageFile(ctx, 'receiver');
  const q = (argv: string[]): string => argv.map(shellQuote).join(' ');
  const args = ['--json', '-q', `--repo=${ds.repo}`, `--receive-command=${q([...timePrefix(receiverFile), process.execPath, ...NODE_RUNTIME_FLAGS, bins.receive])}`];
  if (link === 'ssh2') args.push('--ssh=builtin', `--identity=${sshd.identityFile}`, `--known-hosts=${sshd.knownHosts}`);
  else args.push(`--ssh-command=${q(['ssh', ...sshd.options])}`);
  args.push(`ssh://${sshd.user}@${sshd.host}:${port}${dest}`, ...Object.keys(pushRefs(ds)));
  const argv = [...timePrefix(pusherFile), process.execPath, ...NODE_RUNTIME_FLAGS, bins.push, ...args];
  const t0 = performance.now();
  // No agent: the built-in client would try it first, and the bench's key is the one to use.
  const out = await run(argv[0] as string, argv.slice(1), { timeoutMs, env: { ...process.env, SSH_AUTH_SOCK: '' } });
  const wallMs = performance.now() - t0;
  let res: PushJson;
  try {
    res = JSON.parse(out.stdout.trim().split('\n').pop() ?? '') as PushJson;
  } catch {
    return failed(r, ds, rep, dest, wallMs, `ostree-push exited ${out.code}: ${out.stderr.trim().split('\n').pop() ?? ''}`);
  }
  const s: Sample = {
    ...baseSample(r, ds, rep, dest),
    ok: res.ok && out.code === 0,
    wallMs,
    pushMs: res.seconds * 1000,
    objects: res.objects.sent,
    bytes: res.bytes.sent,
    pusher: readUsage(pusherFile),
    receiver: readUsage(receiverFile),
  };
  if (!s.ok) s.error = withReceiverLine(res.error === null ? `exit ${out.code}` : `${res.error.code}: ${res.error.message}`, out.stderr);
  return s;
}

function rsync(rttMs: number): Runner {
  const r: Runner = {
    id: rttMs === 0 ? 'rsync' : `rsync@${rttMs}ms`,
    label: `rsync -a objects refs over OpenSSH${rttMs === 0 ? '' : ` at ${rttMs} ms RTT`}`,
    kind: 'baseline',
    rttMs,
    needsSshd: true,
    unavailable: (ctx) => needSshd(ctx) ?? (existsSync('/usr/bin/rsync') ? null : 'rsync not installed'),
    run: async (ctx, ds, dest, rep) => {
      const sshd = ctx.sshd as Sshd;
      const port = rttMs === 0 ? sshd.port : await ctx.proxyPort(rttMs);
      const local = usageFile(ctx, 'rsync-client');
      const remote = usageFile(ctx, 'rsync-server');
      const e = ['ssh', '-p', String(port), ...sshd.options].join(' ');
      const args = ['-a', '--stats', '-e', e, `--rsync-path=${[...timePrefix(remote), 'rsync'].map(shellQuote).join(' ')}`, `${ds.repo}/objects`, `${ds.repo}/refs`, `${sshd.user}@${sshd.host}:${dest}/`];
      const argv = [...timePrefix(local), 'rsync', ...args];
      const t0 = performance.now();
      const out = await run(argv[0] as string, argv.slice(1));
      const wallMs = performance.now() - t0;
      const files = /Number of regular files transferred: ([\d,]+)/.exec(out.stdout)?.[1];
      const sent = /Total bytes sent: ([\d,]+)/.exec(out.stdout)?.[1];
      const num = (x: string | undefined): number => (x === undefined ? 0 : Number(x.replace(/,/g, '')));
      const s: Sample = { ...baseSample(r, ds, rep, dest), ok: out.code === 0, wallMs, objects: num(files), bytes: num(sent), pusher: readUsage(local), receiver: readUsage(remote) };
      if (out.code !== 0) s.error = out.stderr.trim().split('\n').pop() ?? `exit ${out.code}`;
      return s;
    },
  };
  return r;
}

const pullLocal: Runner = {
  id: 'pull-local',
  label: 'ostree pull-local --untrusted (verifying copy, no network)',
  kind: 'baseline',
  rttMs: 0,
  needsSshd: false,
  unavailable: () => (existsSync('/usr/bin/ostree') ? null : 'ostree not installed'),
  run: async (ctx, ds, dest, rep) => {
    const file = usageFile(ctx, 'pull-local');
    const argv = [...timePrefix(file), 'ostree', `--repo=${dest}`, 'pull-local', '--untrusted', ds.repo, ...Object.keys(pushRefs(ds))];
    const t0 = performance.now();
    const out = await run(argv[0] as string, argv.slice(1));
    const wallMs = performance.now() - t0;
    const s: Sample = { ...baseSample(pullLocal, ds, rep, dest), ok: out.code === 0, wallMs, objects: ds.objects, bytes: ds.objectBytes, pusher: readUsage(file), receiver: null };
    if (out.code !== 0) s.error = out.stderr.trim();
    return s;
  },
};

const rawSsh: Runner = {
  id: 'raw-ssh',
  label: "the pushed object files through ssh … 'cat >/dev/null' (the wire's cost)",
  kind: 'baseline',
  rttMs: 0,
  noDestination: true,
  needsSshd: true,
  unavailable: needSshd,
  run: async (ctx, ds, dest, rep) => {
    const sshd = ctx.sshd as Sshd;
    const file = usageFile(ctx, 'raw-ssh');
    const ssh = [...timePrefix(file), 'ssh', ...sshd.sshArgs, `${sshd.user}@${sshd.host}`, 'cat >/dev/null'].map(shellQuote).join(' ');
    const t0 = performance.now();
    const out = await new Promise<number | null>((resolve, reject) => {
      const child = spawn('/bin/sh', ['-c', `xargs -0 cat < ${shellQuote(ds.objectList)} | ${ssh}`], { stdio: ['ignore', 'ignore', 'inherit'] });
      child.once('error', reject);
      child.once('exit', (code) => resolve(code));
    });
    const wallMs = performance.now() - t0;
    const s: Sample = { ...baseSample(rawSsh, ds, rep, dest), ok: out === 0, wallMs, objects: ds.objects, bytes: ds.objectBytes, pusher: readUsage(file), receiver: null };
    if (out !== 0) s.error = `exit ${out}`;
    return s;
  },
};

/**
 * The floor under any push's fixed cost: one ssh session that runs `true`, and
 * two Node starts (the pusher's and the receiver's), one after the other.
 * What an up-to-date push takes beyond this is ours to cut.
 */
const startFloor: Runner = {
  id: 'start-floor',
  label: 'ssh HOST true, then node -e 0 twice (the fixed cost no push can avoid)',
  kind: 'baseline',
  rttMs: 0,
  noDestination: true,
  needsSshd: true,
  unavailable: needSshd,
  run: async (ctx, ds, dest, rep) => {
    const sshd = ctx.sshd as Sshd;
    const t0 = performance.now();
    const steps = [
      await run('ssh', [...sshd.sshArgs, `${sshd.user}@${sshd.host}`, 'true'], { env: { ...process.env, SSH_AUTH_SOCK: '' } }),
      await run(process.execPath, [...NODE_RUNTIME_FLAGS, '-e', '0']),
      await run(process.execPath, [...NODE_RUNTIME_FLAGS, '-e', '0']),
    ];
    const wallMs = performance.now() - t0;
    const bad = steps.find((x) => x.code !== 0);
    const s: Sample = { ...baseSample(startFloor, ds, rep, dest), ok: bad === undefined, wallMs, objects: 0, bytes: 0, pusher: null, receiver: null };
    if (bad !== undefined) s.error = bad.stderr.trim().split('\n').pop() ?? `exit ${bad.code}`;
    return s;
  },
};

/**
 * Another build of ours, for before/after figures in one run: the checkout
 * named by OSTREE_PUSH_BENCH_REFERENCE (its dist/ built, e.g. main's), over
 * OpenSSH exactly as `openssh`, interleaved with it in every repetition.
 */
const REFERENCE = process.env.OSTREE_PUSH_BENCH_REFERENCE;
const referenceBins = (): { push: string; receive: string } | null =>
  REFERENCE === undefined ? null : { push: join(REFERENCE, 'dist/src/cli/ostree-push.js'), receive: join(REFERENCE, 'dist/src/cli/ostree-receive.js') };
const reference: Runner = {
  id: 'openssh-ref',
  label: `ours over OpenSSH, the build in ${REFERENCE ?? '$OSTREE_PUSH_BENCH_REFERENCE'}`,
  kind: 'ours',
  rttMs: 0,
  needsSshd: true,
  unavailable: (ctx) => {
    const bins = referenceBins();
    if (bins === null) return 'set OSTREE_PUSH_BENCH_REFERENCE to a checkout with dist/ built';
    return needSshd(ctx) ?? (existsSync(bins.push) && existsSync(bins.receive) ? null : `no ${bins.push}`);
  },
  run: (ctx, ds, dest, rep) => {
    const timeoutMs = Math.round(30_000 + ds.objects * 15 + ds.objectBytes / 1e4);
    return runCommand(reference, ctx, ds, dest, rep, 'openssh', 0, timeoutMs, referenceBins() as { push: string; receive: string });
  },
};

function builtinMissing(): string | null {
  return existsSync(new URL('../src/transport/builtin-ssh.ts', import.meta.url).pathname) ? null : 'not available: the built-in ssh2 transport has not landed';
}

/** Every runner, in the order a repetition runs them (A/B interleaved within each repetition). */
export function allRunners(): Runner[] {
  return [
    ours('local', 'ours, local path (receiver as a child process)', 'local', 0),
    ours('openssh', 'ours over OpenSSH on loopback', 'openssh', 0),
    reference,
    rsync(0),
    rawSsh,
    pullLocal,
    startFloor,
    ours('stop-and-wait', 'ours over OpenSSH, window of one object', 'openssh', 0, 1),
    ours('ssh2', 'ours over the built-in ssh2 client, same sshd', 'ssh2', 0),
    ours('ssh2-stop-and-wait', 'ours over the built-in ssh2 client, window of one object', 'ssh2', 0, 1),
    ours('memory@0ms', 'ours over the in-memory link, 0 ms RTT (both ends in one process)', 'memory', 0),
    ours('memory@20ms', 'ours over the in-memory link, 20 ms RTT', 'memory', 20),
    ours('memory@100ms', 'ours over the in-memory link, 100 ms RTT', 'memory', 100),
    ours('openssh@20ms', 'ours over OpenSSH behind a 20 ms RTT delay proxy', 'openssh', 20),
    ours('stop-and-wait@20ms', 'ours over OpenSSH at 20 ms RTT, window of one object', 'openssh', 20, 1),
    rsync(20),
  ];
}
