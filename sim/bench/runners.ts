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
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setRef, initArchiveRepo } from '../../src/repo/builder.js';
import { receiverCommand } from '../../src/transport/local.js';
import { shellQuote } from '../../src/transport/transport.js';
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
}

/** A fresh destination: an empty archive repository, or one holding the base commit for incremental sets. */
export async function prepareDestination(ds: Dataset, dest: string): Promise<void> {
  initArchiveRepo(dest);
  if (ds.base !== undefined) {
    // Objects are immutable, so hard links seed the destination in a second.
    await run('cp', ['-al', `${ds.base.repo}/objects/.`, `${dest}/objects/`]);
    await setRef(dest, ds.ref, ds.base.commit);
  }
}

function run(cmd: string, args: string[], options: { input?: string; timeoutMs?: number } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    // A stalled run is killed (SIGTERM) and reported as failed rather than hanging the bench.
    const child = execFile(cmd, args, { maxBuffer: 64 << 20, timeout: options.timeoutMs ?? 0 }, (err, stdout, stderr) => {
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

function ours(id: string, label: string, link: DriverConfig['link'], rttMs: number, window?: number): Runner {
  const r: Runner = {
    id,
    label,
    kind: 'ours',
    rttMs,
    unavailable: (ctx, ds) => (link === 'openssh' || link === 'ssh2' ? needSshd(ctx) : null) ?? (link === 'ssh2' ? builtinMissing() : null) ?? rttBudget(ds, rttMs, (window ?? ctx.window ?? 1) > 1 && ctx.pusherHasWindow),
    run: async (ctx, ds, dest, rep) => {
      const config: DriverConfig = {
        repo: ds.repo,
        ref: ds.ref,
        dest,
        link,
        receiverUsageFile: usageFile(ctx, 'receiver'),
        sshUsageFile: usageFile(ctx, 'ssh'),
      };
      const w = window ?? ctx.window;
      if (w !== undefined) config.window = w;
      if (link === 'memory') config.rttMs = rttMs;
      if ((link === 'openssh' || link === 'ssh2') && ctx.sshd !== null) {
        const port = rttMs === 0 ? ctx.sshd.port : await ctx.proxyPort(rttMs);
        const { options, user, host, identityFile, knownHosts } = ctx.sshd;
        config.ssh = { options, user, host, port, identityFile, knownHosts };
      }
      const t0 = performance.now();
      const timeoutMs = Math.round(30_000 + ds.objects * (rttMs + 15) + ds.objectBytes / 1e4);
      const out = await run(process.execPath, [...receiverCommand().slice(0, 2), new URL('./push-driver.ts', import.meta.url).pathname, JSON.stringify(config)], { timeoutMs });
      const wallMs = performance.now() - t0;
      let res: DriverResult;
      try {
        res = JSON.parse(out.stdout.trim().split('\n').pop() ?? '') as DriverResult;
      } catch {
        return { ...baseSample(r, ds, rep, dest), ok: false, error: `driver exited ${out.code}: ${out.stderr.trim().split('\n').pop() ?? ''}`, wallMs, objects: 0, bytes: 0, pusher: null, receiver: null };
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
      if (res.error !== undefined) {
        // The receiver's own one-line error (on stderr) says more than the pusher's view of it.
        const said = out.stderr.split('\n').filter((l) => l.startsWith('ostree-receive:')).pop();
        s.error = said === undefined ? res.error : `${res.error}; ${said}`;
      }
      return s;
    },
  };
  return r;
}

function rsync(rttMs: number): Runner {
  const r: Runner = {
    id: rttMs === 0 ? 'rsync' : `rsync@${rttMs}ms`,
    label: `rsync -a objects refs over OpenSSH${rttMs === 0 ? '' : ` at ${rttMs} ms RTT`}`,
    kind: 'baseline',
    rttMs,
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
  unavailable: () => (existsSync('/usr/bin/ostree') ? null : 'ostree not installed'),
  run: async (ctx, ds, dest, rep) => {
    const file = usageFile(ctx, 'pull-local');
    const argv = [...timePrefix(file), 'ostree', `--repo=${dest}`, 'pull-local', '--untrusted', ds.repo, ds.ref];
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

function builtinMissing(): string | null {
  return existsSync(new URL('../../src/transport/builtin-ssh.ts', import.meta.url).pathname) ? null : 'not available: the built-in ssh2 transport has not landed';
}

/** Every runner, in the order a repetition runs them (A/B interleaved within each repetition). */
export function allRunners(): Runner[] {
  return [
    ours('local', 'ours, local path (receiver as a child process)', 'local', 0),
    ours('openssh', 'ours over OpenSSH on loopback', 'openssh', 0),
    rsync(0),
    rawSsh,
    pullLocal,
    ours('stop-and-wait', 'ours over OpenSSH, window of one object', 'openssh', 0, 1),
    ours('ssh2', 'ours over the built-in ssh2 client, same sshd', 'ssh2', 0),
    ours('memory@0ms', 'ours over the in-memory link, 0 ms RTT (both ends in one process)', 'memory', 0),
    ours('memory@20ms', 'ours over the in-memory link, 20 ms RTT', 'memory', 20),
    ours('memory@100ms', 'ours over the in-memory link, 100 ms RTT', 'memory', 100),
    ours('openssh@20ms', 'ours over OpenSSH behind a 20 ms RTT delay proxy', 'openssh', 20),
    ours('stop-and-wait@20ms', 'ours over OpenSSH at 20 ms RTT, window of one object', 'openssh', 20, 1),
    rsync(20),
  ];
}
