/**
 * One ssh connection that can forward a port from the server back to us and
 * run commands there: what the pull form of a push needs (the server pulls
 * from our HTTP server through the connection; cli/push-pull-form.ts).
 *
 * OpenSSH, as a connection-sharing master:
 *
 *   ssh -N -M -S DIR/ctl [keep-alives] [-p PORT] [SSH OPTIONS] [USER@]HOST   the master
 *   ssh -S DIR/ctl -O forward -R 0:127.0.0.1:LPORT [...] HOST               prints the remote port
 *   ssh -S DIR/ctl [...] HOST 'COMMAND LINE'                                 each command
 *   ssh -S DIR/ctl -O exit [...] HOST                                        the end
 *
 * `-R 0:…` lets the server choose a free port; with `-O forward` the ssh
 * client prints it on stdout, one decimal number. DIR is a fresh private
 * (0700) directory, removed at the end and at process exit. SSH OPTIONS are
 * the user's `-o OPTION` and `-i FILE`, given to every invocation;
 * `--ssh-command` replaces `ssh` in each, as for the version-0 transport
 * (openssh.ts). The master is ready when its control socket appears (a
 * watch on DIR, no polling); it failing first is the connection's failure,
 * classified as openssh.ts does (host key, authentication, unreachable).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, watch } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TransportError } from '../errors.js';
import { onExitCleanup } from '../repo/exit-cleanup.js';
import { classifySshExit, type KeepAlive } from './openssh.js';
import type { Remote } from './remote.js';

type SshRemote = Extract<Remote, { kind: 'ssh' }>;

/** A connection the pull form runs over (OpenSSH here, ssh2 in builtin-forward.ts). */
export interface ForwardingLink {
  /** Forwards a port on the server's loopback to 127.0.0.1:localPort here; resolves the server's port. */
  forward(localPort: number): Promise<number>;
  /** Runs a command line there (output to onOutput); resolves its exit status (null: none reported). */
  run(commandLine: string): Promise<number | null>;
  /** Ends the connection; idempotent. */
  close(): Promise<void>;
  /** For messages: "ssh user@host:port". */
  describe: string;
}

export interface OpenSshForwardOptions {
  sshCommand?: string;
  /** `-o OPTION` and `-i FILE` words, passed to every ssh invocation. */
  sshOptions?: readonly string[];
  keepAlive?: KeepAlive;
  env?: NodeJS.ProcessEnv;
  /** The master's and the commands' stderr, the commands' stdout (default: our stderr). */
  onOutput?: (chunk: Buffer) => void;
}

const TAIL = 8192;

/** The control directory: short, as a socket path is limited to about 100 bytes. */
function controlDir(): string {
  const base = tmpdir().length <= 60 ? tmpdir() : '/tmp';
  return mkdtempSync(join(base, 'ostree-push-ssh-'));
}

/** `ssh ARGS`, or the --ssh-command run by sh with ARGS after it. */
export function sshArgv(custom: string | undefined, args: readonly string[]): { file: string; args: string[] } {
  if (custom === undefined || custom === '') return { file: 'ssh', args: [...args] };
  return { file: '/bin/sh', args: ['-c', `${custom} "$@"`, custom, ...args] };
}

interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function runSsh(file: string, args: string[], env: NodeJS.ProcessEnv, onOutput: ((c: Buffer) => void) | undefined): Promise<Ran> {
  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    } catch (e) {
      reject(new TransportError('TRANSPORT_SPAWN', `cannot start ${file}: ${(e as Error).message}`, { command: file }, { cause: e }));
      return;
    }
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (c: Buffer) => {
      stdout = (stdout + c.toString('utf8')).slice(-TAIL);
      onOutput?.(c);
    });
    child.stderr?.on('data', (c: Buffer) => {
      stderr = (stderr + c.toString('utf8')).slice(-TAIL);
      onOutput?.(c);
    });
    child.once('error', (e) => reject(new TransportError('TRANSPORT_SPAWN', `cannot start ${file}: ${e.message}`, { command: file }, { cause: e })));
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Starts the master connection; resolves once it is up. Failures reject with the connection's TransportError. */
export async function openSshForwarding(remote: SshRemote, options: OpenSshForwardOptions = {}): Promise<ForwardingLink> {
  const env = options.env ?? process.env;
  const custom = options.sshCommand ?? env['OSTREE_PUSH_SSH_COMMAND'];
  const onOutput = options.onOutput ?? ((c: Buffer) => process.stderr.write(c));
  const dir = controlDir();
  const control = join(dir, 'ctl');
  const user = remote.user === undefined ? remote.host : `${remote.user}@${remote.host}`;
  const port = remote.port === undefined ? [] : ['-p', String(remote.port)];
  const extra = [...(options.sshOptions ?? [])];
  const k = options.keepAlive;
  const sshLike = custom === undefined || custom === '' || /(^|\/)ssh$/.test(custom.trim().split(/\s+/)[0] ?? '');
  const keep = k !== undefined && sshLike ? ['-o', `ServerAliveInterval=${k.intervalSeconds}`, '-o', `ServerAliveCountMax=${k.countMax}`] : [];
  // Each client invocation: the control socket, the user's options, the port (ssh needs it to match the master), the host.
  const client = (more: readonly string[], command?: string) => sshArgv(custom, ['-S', control, ...more, ...extra, ...port, user, ...(command === undefined ? [] : [command])]);

  let removed = false;
  const removeDir = () => {
    if (removed) return;
    removed = true;
    rmSync(dir, { recursive: true, force: true });
  };
  // ControlPersist (from ~/.ssh/config) would send the master to the background, out of our reach: not here.
  const master = sshArgv(custom, ['-N', '-M', '-S', control, '-o', 'ControlPersist=no', ...keep, ...extra, ...port, user]);
  let child: ChildProcess;
  try {
    child = spawn(master.file, master.args, { stdio: ['ignore', 'ignore', 'pipe'], env });
  } catch (e) {
    removeDir();
    throw new TransportError('TRANSPORT_SPAWN', `cannot start ${master.file}: ${(e as Error).message}`, { command: master.file }, { cause: e });
  }
  const unregister = onExitCleanup(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    removeDir();
  });
  let tail = '';
  child.stderr?.on('data', (c: Buffer) => {
    tail = (tail + c.toString('utf8')).slice(-TAIL);
    onOutput(c);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('error', () => resolve({ code: null, signal: null }));
    child.once('close', (code, signal) => resolve({ code, signal }));
  });

  // Ready when the control socket exists; failed when the master ends first.
  const watcher = watch(dir);
  try {
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        if (existsSync(control)) resolve();
      };
      watcher.on('change', check);
      watcher.on('error', () => undefined);
      check();
      void exited.then(({ code }) => {
        if (existsSync(control)) return;
        const why = classifySshExit(code === 0 ? 255 : code, tail, remote) ?? new TransportError('TRANSPORT_SSH_FAILED', `ssh to ${remote.host} failed (exit ${String(code)})`, { host: remote.host, exit: code });
        reject(why);
      });
      child.once('error', (e) => reject(new TransportError('TRANSPORT_SPAWN', `cannot start ${master.file}: ${e.message}`, { command: master.file }, { cause: e })));
    });
  } catch (e) {
    watcher.close();
    unregister();
    removeDir();
    throw e;
  }
  watcher.close();

  let closing: Promise<void> | undefined;
  const where = `${remote.host}${remote.port === undefined ? '' : ` port ${remote.port}`}`;
  return {
    describe: `ssh ${user}${remote.port === undefined ? '' : `:${remote.port}`}`,
    forward: async (localPort) => {
      const { file, args } = client(['-O', 'forward', '-R', `0:127.0.0.1:${localPort}`]);
      const r = await runSsh(file, args, env, undefined);
      const n = Number(r.stdout.trim());
      if (r.code !== 0 || !Number.isInteger(n) || n <= 0 || n > 65535) {
        const said = r.stderr.trim().split('\n').pop() ?? '';
        throw new TransportError('TRANSPORT_FORWARD_FAILED', `${where} did not forward a port back to this machine${said === '' ? '' : `: ${said}`} (is TCP forwarding allowed for this key there?)`, { host: remote.host, exit: r.code });
      }
      return n;
    },
    run: async (commandLine) => {
      const { file, args } = client([], commandLine);
      const r = await runSsh(file, args, env, onOutput);
      if (r.signal !== null) throw new TransportError('TRANSPORT_SSH_FAILED', `the ssh client was killed by ${r.signal}`, { host: remote.host, signal: r.signal });
      return r.code;
    },
    close: () => {
      closing ??= (async () => {
        // A master that went to the background anyway is still reached through its socket.
        if (existsSync(control)) {
          const { file, args } = client(['-O', 'exit']);
          await runSsh(file, args, env, undefined).catch(() => undefined);
        }
        if (child.exitCode === null && child.signalCode === null) {
          // -O exit ends the master; a master that does not go in 5 s is killed.
          const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
          timer.unref();
          await exited;
          clearTimeout(timer);
        }
        unregister();
        removeDir();
      })();
      return closing;
    },
  };
}
