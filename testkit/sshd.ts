/**
 * A real OpenSSH server for integration tests: /usr/sbin/sshd on a free
 * loopback port, with a temporary host key, one temporary user key in its
 * authorized_keys, and the current user as the login (root in CI, hence
 * `StrictModes no` and `PermitRootLogin prohibit-password`).
 *
 * The remote PATH starts with a directory holding `ostree-receive` (and
 * the shell's versioned names): wrapper scripts running THIS checkout's
 * receiver under this Node, so `ssh host ostree-receive --repo=...` runs
 * the code under test. `receiverOnPath: false` leaves it out (the
 * "receiver not installed" test). `forceCommand` installs a ForceCommand
 * (the restricted shell test).
 *
 * The client side is a ready `sshCommand` (ssh with -F /dev/null, the user
 * key only, strict checking against the harness's own known_hosts), for
 * --ssh-command. sshd is killed, and waited for, in t.after.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { shellQuote } from '../src/transport/transport.js';
import { tmpDir } from './tmp.js';

export interface SshdOptions {
  /** Put the ostree-receive wrappers on the remote PATH (default true). */
  receiverOnPath?: boolean;
  /** A ForceCommand for every session. */
  forceCommand?: string;
  /** ForceCommand the harness's ostree-receive-shell wrapper (the restricted-shell deployment). */
  forceShell?: boolean;
  /** Extra environment for remote commands (SetEnv), e.g. OSTREE_RECEIVE_CONF. */
  env?: Record<string, string>;
}

export interface Sshd {
  host: '127.0.0.1';
  port: number;
  user: string;
  dir: string;
  /** The user's private key, and a second key the server does not accept. */
  userKey: string;
  strangerKey: string;
  knownHosts: string;
  /** ssh with the harness's key, known_hosts and no user config: for --ssh-command. */
  sshCommand: string;
  /** The same with the key the server does not know. */
  strangerSshCommand: string;
  /** Directory of the wrapper scripts (ostree-receive, ostree-receive-shell). */
  binDir: string;
  /** sshd's log so far (stderr, -e). */
  log(): string;
}

const SRC = fileURLToPath(new URL('../src/', import.meta.url));

export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function keygen(path: string): void {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ostree-push-test', '-f', path], { stdio: 'ignore' });
}

/** Writes `name` in `dir` as a script running one of our CLIs under this Node. */
export function writeCliWrapper(dir: string, name: string, cli: string, env: Record<string, string> = {}): string {
  const path = join(dir, name);
  const exports = Object.entries(env).map(([k, v]) => `export ${k}=${shellQuote(v)}\n`).join('');
  const tsx = import.meta.resolve('tsx');
  writeFileSync(path, `#!/bin/sh\n${exports}exec ${shellQuote(process.execPath)} --import ${shellQuote(tsx)} ${shellQuote(join(SRC, 'cli', cli))} "$@"\n`);
  chmodSync(path, 0o755);
  return path;
}

/** A running sshd of launchSshd. */
export interface SshdProcess {
  port: number;
  /** Its log so far (stderr, -e; the last 64 KiB). */
  log(): string;
  /** SIGTERM, then waits for its exit. */
  stop(): Promise<void>;
}

/**
 * Runs `/usr/sbin/sshd -D -e` on a free loopback port with `dir/sshd_config`:
 * the host key, only the keys in `authorizedKeys`, public-key logins only
 * (StrictModes off: the test user may be root and the files in /tmp), then
 * the caller's `extra` lines. Resolves once sshd says it is listening.
 */
export async function launchSshd(dir: string, hostKey: string, authorizedKeys: string, extra: readonly string[]): Promise<SshdProcess> {
  // OpenSSH insists on its privilege separation directory; in a fresh container it may be missing.
  if (!existsSync('/run/sshd')) mkdirSync('/run/sshd', { mode: 0o755, recursive: true });
  const port = await freePort();
  const config = join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${authorizedKeys}`,
      'StrictModes no',
      'PermitRootLogin prohibit-password',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      // INFO: "Server listening on" is the readiness signal.
      'LogLevel INFO',
      ...extra,
      '',
    ].join('\n'),
  );
  const child = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  const listening = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sshd did not start within 10 s:\n${log}`)), 10_000);
    child.stderr.on('data', (c: Buffer) => {
      log = (log + c.toString('utf8')).slice(-65_536);
      if (log.includes('Server listening on')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`sshd exited with status ${String(code)}:\n${log}`));
    });
  });
  try {
    await listening;
  } catch (e) {
    await stop();
    throw e;
  }
  return { port, log: () => log, stop };
}

export async function startSshd(t: TestContext, options: SshdOptions = {}): Promise<Sshd> {
  const dir = tmpDir(t, 'sshd');
  const hostKey = join(dir, 'host_ed25519');
  const userKey = join(dir, 'user_ed25519');
  const strangerKey = join(dir, 'stranger_ed25519');
  keygen(hostKey);
  keygen(userKey);
  keygen(strangerKey);
  const authorized = join(dir, 'authorized_keys');
  writeFileSync(authorized, readFileSync(`${userKey}.pub`));
  const binDir = join(dir, 'bin');
  mkdirSync(binDir);
  const env = options.env ?? {};
  if (options.receiverOnPath !== false) {
    for (const name of ['ostree-receive', 'ostree-receive-0', 'ostree-receive-1']) writeCliWrapper(binDir, name, 'ostree-receive.ts', env);
  }
  writeCliWrapper(binDir, 'ostree-receive-shell', 'ostree-receive-shell.ts', env);
  const path = `${binDir}:/usr/local/bin:/usr/bin:/bin`;
  const setEnv = [`PATH=${path}`, ...Object.entries(env).map(([k, v]) => `${k}=${v}`)].map((kv) => `"${kv}"`).join(' ');
  const server = await launchSshd(dir, hostKey, authorized, [
    'PidFile none',
    `SetEnv ${setEnv}`,
    ...(options.forceCommand === undefined ? [] : [`ForceCommand ${options.forceCommand}`]),
    ...(options.forceShell === true ? [`ForceCommand ${join(binDir, 'ostree-receive-shell')}`] : []),
  ]);
  t.after(() => server.stop());
  const { port } = server;
  const knownHosts = join(dir, 'known_hosts');
  const hostPub = readFileSync(`${hostKey}.pub`, 'utf8').trim().split(' ');
  writeFileSync(knownHosts, `[127.0.0.1]:${port} ${hostPub[0]} ${hostPub[1]}\n`);
  const ssh = (key: string) =>
    ['ssh', '-F', '/dev/null', '-i', key, '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none', '-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=yes', '-o', 'ConnectTimeout=10']
      .map(shellQuote)
      .join(' ');
  return {
    host: '127.0.0.1',
    port,
    user: userInfo().username,
    dir,
    userKey,
    strangerKey,
    knownHosts,
    sshCommand: ssh(userKey),
    strangerSshCommand: ssh(strangerKey),
    binDir,
    log: server.log,
  };
}
