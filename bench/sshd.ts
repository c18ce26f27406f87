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
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { launchSshd } from '../testkit/sshd.js';

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
  stop(): Promise<void>;
}

/** Starts sshd on 127.0.0.1 with state under `dir` (the test harness's launchSshd); resolves once it listens. */
export async function startSshd(dir: string): Promise<Sshd> {
  mkdirSync(dir, { recursive: true });
  const hostKey = join(dir, 'host_ed25519');
  const userKey = join(dir, 'user_ed25519');
  for (const k of [hostKey, userKey]) {
    if (!existsSync(k)) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', k], { stdio: 'ignore' });
  }
  const authorized = join(dir, 'authorized_keys');
  writeFileSync(authorized, readFileSync(`${userKey}.pub`));
  const server = await launchSshd(dir, hostKey, authorized, [`PidFile ${join(dir, 'sshd.pid')}`, 'MaxStartups 100']);
  const { port } = server;
  const user = userInfo().username;
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
  // One real login, so a key or config problem fails here, not in every run.
  try {
    execFileSync('ssh', [...sshArgs, `${user}@127.0.0.1`, 'true'], { stdio: 'ignore', timeout: 10_000 });
  } catch (e) {
    await server.stop();
    throw new Error(`sshd on port ${port} refused a login with the bench's key: ${(e as Error).message}\n${server.log().trim()}`);
  }
  return {
    port,
    user,
    host: '127.0.0.1',
    identityFile: userKey,
    knownHosts,
    options,
    sshArgs,
    sshCommand: ['ssh', ...sshArgs].join(' '),
    stop: server.stop,
  };
}
