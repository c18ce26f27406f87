/**
 * One measured push, in a process of its own so that its peak RSS and CPU are
 * the pusher's and nobody else's:
 *
 *   node dist/bench/push-driver.js '<json DriverConfig>'   (compiled, as the bench runs it)
 *   node --import tsx bench/push-driver.ts '<json DriverConfig>'
 *
 * It starts the receiver over the chosen link, each helper process under
 * /usr/bin/time (the receiver itself; the ssh client), runs push(), waits for
 * the receiver's exit and prints one JSON line (DriverResult) on stdout.
 *
 * The OpenSSH link is the product's transport (src/transport/openssh.ts) with
 * `--ssh-command` set to the bench's ssh options under /usr/bin/time, and
 * `--receive-command` set to our ostree-receive under the same Node, wrapped
 * in /usr/bin/time on the remote side. The memory link (sim/link.ts) runs
 * both ends in this one process: its RSS and CPU are both sides together.
 */
import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { isOstreePushError } from '../src/errors.js';
import { push, type PushOptions, receive } from '../src/protocol/index.js';
import { Repo, openRepoForWriting } from '../src/repo/index.js';
import { receiverCommand } from '../src/transport/local.js';
import { spawnOpenSsh } from '../src/transport/openssh.js';
import { shellQuote } from '../src/transport/transport.js';
import { createLink, FAST_LINK } from '../sim/link.js';
import { readUsage, timePrefix, type Usage } from './timed.js';

export interface DriverConfig {
  repo: string;
  ref: string;
  /** Every ref to push (default: `ref` alone). */
  refs?: string[];
  dest: string;
  link: 'local' | 'openssh' | 'memory' | 'ssh2';
  /** openssh, ssh2: client options (no -p), user, host, port (sshd's or a delay proxy's), key and known_hosts. */
  ssh?: { options: string[]; user: string; host: string; port: number; identityFile: string; knownHosts: string };
  /** memory: simulated round-trip time (half of it each way). */
  rttMs?: number;
  /** Where /usr/bin/time writes the receiver's and the ssh client's figures. */
  receiverUsageFile: string;
  sshUsageFile: string;
  /** Objects in flight; passed through only when the pusher has the option. */
  window?: number;
}

export interface DriverResult {
  ok: boolean;
  error?: string;
  objectsSent: number;
  bytesSent: number;
  /** push() alone, from the first byte read to the receiver's exit. */
  pushMs: number;
  receiverExit: number | null;
  pusher: Usage;
  /** The ssh client, when there is one (pusher side). */
  sshClient: Usage | null;
  receiver: Usage | null;
}

interface Link {
  stdin: Writable;
  stdout: Readable;
  exit: Promise<number | null>;
  kill(): void;
}

function start(argv: string[]): Link {
  const [cmd, ...args] = argv as [string, ...string[]];
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const exit = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(signal !== null ? null : code));
  });
  exit.catch(() => undefined);
  child.stdin.on('error', () => undefined);
  return { stdin: child.stdin, stdout: child.stdout, exit, kill: () => child.kill('SIGTERM') };
}

function receiverArgv(c: DriverConfig): string[] {
  return [...timePrefix(c.receiverUsageFile), process.execPath, ...receiverCommand(), `--repo=${c.dest}`];
}

async function openLink(c: DriverConfig): Promise<Link> {
  if (c.link === 'local') return start(receiverArgv(c));
  if (c.link === 'memory') {
    const link = createLink({ ...FAST_LINK, latencyMs: (c.rttMs ?? 0) / 2 });
    const done = receive({ repo: openRepoForWriting(c.dest), input: link.receiver.input, output: link.receiver.output }).then((r) => {
      link.receiverExited();
      return r.outcome === 'published' || r.outcome === 'idle' ? 0 : 1;
    });
    return { stdin: link.pusher.output, stdout: link.pusher.input, exit: done, kill: () => link.close() };
  }
  if (c.ssh === undefined) throw new Error('the ssh links need ssh options');
  if (c.link === 'ssh2') {
    // Loaded by path: the built-in transport is optional for the bench (runners.ts checks it is there).
    const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
    const mod = (await import(new URL(`../src/transport/builtin-ssh.${ext}`, import.meta.url).href)) as {
      connectBuiltinSsh(remote: unknown, options: Record<string, unknown>): Promise<Link>;
    };
    return await mod.connectBuiltinSsh(
      { kind: 'ssh', host: c.ssh.host, user: c.ssh.user, port: c.ssh.port, path: c.dest },
      { knownHosts: [c.ssh.knownHosts], identityFiles: [c.ssh.identityFile], agent: false, receiveCommand: receiverArgv(c).slice(0, -1).map(shellQuote).join(' ') },
    );
  }
  const q = (argv: string[]): string => argv.map(shellQuote).join(' ');
  const t = spawnOpenSsh(
    { kind: 'ssh', host: c.ssh.host, user: c.ssh.user, port: c.ssh.port, path: c.dest },
    { sshCommand: q([...timePrefix(c.sshUsageFile), 'ssh', ...c.ssh.options]), receiveCommand: q(receiverArgv(c).slice(0, -1)) },
  );
  return t;
}

async function main(): Promise<void> {
  const c = JSON.parse(process.argv[2] ?? '{}') as DriverConfig;
  const repo = Repo.open(c.repo);
  const t0 = performance.now();
  const link = await openLink(c);
  const options: PushOptions & { window?: number } = { repo, refs: c.refs ?? [c.ref], input: link.stdout, output: link.stdin, remoteExit: link.exit };
  if (c.window !== undefined) options.window = c.window;
  let result: DriverResult;
  const self = (): Usage => {
    const u = process.resourceUsage();
    return { maxRssKiB: u.maxRSS, userMs: Math.round(u.userCPUTime / 1000), sysMs: Math.round(u.systemCPUTime / 1000) };
  };
  try {
    const r = await push(options);
    const code = await link.exit.catch(() => null);
    result = {
      ok: r.ok && code === 0,
      objectsSent: r.objectsSent,
      bytesSent: r.bytesSent,
      pushMs: performance.now() - t0,
      receiverExit: code,
      pusher: self(),
      sshClient: null,
      receiver: null,
      ...(r.ok ? {} : { error: r.error?.message ?? 'not ok' }),
    };
  } catch (e) {
    link.kill();
    const code = await link.exit.catch(() => null);
    result = {
      ok: false,
      error: isOstreePushError(e) ? `${e.code}: ${e.message}` : String(e),
      objectsSent: 0,
      bytesSent: 0,
      pushMs: performance.now() - t0,
      receiverExit: code,
      pusher: self(),
      sshClient: null,
      receiver: null,
    };
  }
  link.stdout.destroy();
  result.receiver = readUsage(c.receiverUsageFile);
  if (c.link === 'openssh') result.sshClient = readUsage(c.sshUsageFile);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

await main();
