/**
 * A throw-away OpenSSH server on loopback for the benchmark: fresh host and
 * user keys, a config that accepts only that user key, `sshd -D` in the
 * foreground so it dies with us. Both the pusher's ssh runs and the
 * baselines (rsync over ssh, the raw `ssh … cat >/dev/null` pipe) go through
 * the same server, so their costs are comparable.
 *
 * The ssh client options make every run identical and quiet: no known_hosts
 * writes, no agent, no multiplexing, the default cipher (what a user gets).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { freePort } from '../../src/testkit/sshd.js';

export interface Sshd {
  port: number;
  user: string;
  /** ssh client options without the port: `-i KEY -o …`. */
  options: string[];
  /** The same with `-p PORT`, ready to put before the login. */
  sshArgs: string[];
  /** The same as one string for `rsync -e`. */
  sshCommand: string;
  host: string;
  identityFile: string;
  /** A known_hosts file holding the host key for 127.0.0.1 on any port (sshd's and the delay proxies'). */
  knownHosts: string;
  /** sshd's own pid (its per-connection children are reaped by it). */
  pid: number | undefined;
  stop(): Promise<void>;
}

/** Starts sshd on 127.0.0.1 with state under `dir`; resolves once it accepts connections. */
export async function startSshd(dir: string): Promise<Sshd> {
  mkdirSync(dir, { recursive: true });
  const hostKey = join(dir, 'host_ed25519');
  const userKey = join(dir, 'user_ed25519');
  for (const k of [hostKey, userKey]) {
    if (!existsSync(k)) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', k], { stdio: 'ignore' });
  }
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${userKey}.pub`));
  // sshd running as root insists on its privilege-separation directory.
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const port = await freePort();
  const user = userInfo().username;
  const config = join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      'PermitRootLogin yes',
      'StrictModes no',
      'UsePAM no',
      'MaxStartups 100',
      'LogLevel ERROR',
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (d: Buffer) => {
    log += d.toString();
  });
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  const options = [
    '-i', userKey,
    '-o', 'IdentitiesOnly=yes',
    '-o', 'StrictHostKeyChecking=no',
    '-o', `UserKnownHostsFile=/dev/null`,
    '-o', 'LogLevel=ERROR',
    '-o', 'BatchMode=yes',
    '-o', 'ControlMaster=no',
    '-o', 'ControlPath=none',
    '-F', '/dev/null',
  ];
  const sshArgs = ['-p', String(port), ...options];
  const knownHosts = join(dir, 'known_hosts');
  const [type, key] = readFileSync(`${hostKey}.pub`, 'utf8').trim().split(/\s+/);
  writeFileSync(knownHosts, `[127.0.0.1]:* ${type} ${key}\n`);
  const sshd: Sshd = {
    port,
    user,
    host: '127.0.0.1',
    identityFile: userKey,
    knownHosts,
    options,
    sshArgs,
    sshCommand: ['ssh', ...sshArgs].join(' '),
    pid: child.pid,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
  // Wait until a real login works (sshd has no readiness signal).
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`sshd exited: ${log.trim()}`);
    try {
      execFileSync('ssh', [...sshArgs, `${user}@127.0.0.1`, 'true'], { stdio: 'ignore', timeout: 5000 });
      return sshd;
    } catch {
      if (Date.now() > deadline) {
        await sshd.stop();
        throw new Error(`sshd on port ${port} did not accept a login within 10 s: ${log.trim()}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
