/**
 * The default transport: the system OpenSSH client, so ~/.ssh/config,
 * agents, known_hosts, ProxyJump and ControlMaster work as they do for git.
 *
 *   ssh [keep-alives] [-o OPTION...] [-i FILE...] [-p PORT] [USER@]HOST 'ostree-receive --repo=PATH'
 *
 * `--ssh-command` or OSTREE_PUSH_SSH_COMMAND replaces `ssh`, as
 * GIT_SSH_COMMAND does: it is run by `sh -c 'CMD "$@"'`, so it may hold
 * options and quoting. No `--` is passed (a custom command need not know
 * it); the host and user are checked not to start with '-' (remote.ts).
 *
 * No `-o BatchMode=yes`: on a terminal ssh may ask for a password or a key
 * passphrase, or to confirm a new host key, on /dev/tty, never on the pipes
 * the protocol uses. Without a terminal ssh fails instead of prompting.
 *
 * ssh's stderr (its own diagnostics and the receiver's log lines) is passed
 * through as it comes and its tail kept: when ssh exits 255 (its own
 * failure) or the remote shell exits 127/126 (command missing, or Node.js
 * missing for it), `exit` rejects with a TransportError whose one-line
 * message says which failure.
 *
 * A receiver ended by a signal: OpenSSH's client does not pass the signal
 * on; it exits 255 without a word (the only silent 255), or, when a remote
 * shell ran the receiver as its child, the shell exits 128+N. Both are
 * TRANSPORT_RECEIVER_KILLED, the second naming the signal.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { TransportError } from '../errors.js';
import type { Remote } from './remote.js';
import { childTransport, receiveCommandLine, receiverKilled, signalName, type Transport } from './transport.js';

export interface OpenSshOptions {
  /** --ssh-command; falls back to env OSTREE_PUSH_SSH_COMMAND, then `ssh`. */
  sshCommand?: string;
  /** --receive-command (default `ostree-receive`). */
  receiveCommand?: string;
  env?: NodeJS.ProcessEnv;
  /** Where ssh's stderr goes (default: our stderr). */
  onStderr?: (chunk: Buffer) => void;
  /**
   * Keep-alives: `-o ServerAliveInterval=S -o ServerAliveCountMax=N`, so ssh
   * itself ends a connection whose server stopped answering. Passed to
   * `ssh`, and to a --ssh-command whose program is named ssh; another
   * command may not know -o.
   */
  keepAlive?: KeepAlive;
  /** The user's `-o OPTION` and `-i FILE` words, passed before the host. */
  sshOptions?: readonly string[];
}

export interface KeepAlive {
  intervalSeconds: number;
  countMax: number;
}

/** Keep-alives that give up on a silent server after about `idleMs` (three unanswered probes). */
export function keepAliveFor(idleMs: number): KeepAlive {
  return { intervalSeconds: Math.max(1, Math.ceil(idleMs / 3000)), countMax: 3 };
}

type SshRemote = Extract<Remote, { kind: 'ssh' }>;

/** The program and arguments to run for a remote. */
export function sshInvocation(remote: SshRemote, options: OpenSshOptions = {}): { file: string; args: string[] } {
  const env = options.env ?? process.env;
  const custom = options.sshCommand ?? env['OSTREE_PUSH_SSH_COMMAND'];
  const args: string[] = [];
  const k = options.keepAlive;
  const sshLike = custom === undefined || custom === '' || /(^|\/)ssh$/.test(custom.trim().split(/\s+/)[0] ?? '');
  if (k !== undefined && sshLike) args.push('-o', `ServerAliveInterval=${k.intervalSeconds}`, '-o', `ServerAliveCountMax=${k.countMax}`);
  args.push(...(options.sshOptions ?? []));
  if (remote.port !== undefined) args.push('-p', String(remote.port));
  args.push(remote.user === undefined ? remote.host : `${remote.user}@${remote.host}`);
  args.push(receiveCommandLine(remote.path, options.receiveCommand));
  if (custom === undefined || custom === '') return { file: 'ssh', args };
  return { file: '/bin/sh', args: ['-c', `${custom} "$@"`, custom, ...args] };
}

const TAIL_BYTES = 8192;

function lastLine(text: string): string {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
  return lines[lines.length - 1] ?? '';
}

/**
 * Maps an exit status and the end of ssh's stderr to the failure it means,
 * or undefined when it is the receiver's own status (0, 1, 2...).
 */
export function classifySshExit(code: number | null, stderr: string, remote: SshRemote, receiveCommand = 'ostree-receive'): TransportError | undefined {
  const where = remote.port === undefined ? remote.host : `${remote.host} port ${remote.port}`;
  const data = { host: remote.host, ...(remote.port === undefined ? {} : { port: remote.port }), exit: code, stderr: lastLine(stderr) };
  const program = receiveCommand.split(/\s+/)[0] ?? receiveCommand;
  // `#!/usr/bin/env node` (how npm installs the commands) on a PATH without node.
  if (code === 127 && /\benv: .?node.?: No such file or directory|(^|\s)node: (command )?not found/m.test(stderr)) {
    return new TransportError(
      'TRANSPORT_RECEIVER_NO_NODE',
      `'${program}' is installed on ${remote.host}, but Node.js is not on the PATH of its ssh sessions (${lastLine(stderr)}): install Node.js 20 or later there, or link node into a directory of that PATH such as /usr/local/bin`,
      data,
    );
  }
  if (code === 127 || code === 126 || (code !== 0 && /command not found|: not found/.test(stderr) && stderr.includes(program))) {
    return new TransportError('TRANSPORT_RECEIVER_MISSING', `'${program}' is not installed on ${remote.host} or not on its PATH (the remote shell exited ${String(code)}): install ostree-push there or give --receive-command`, data);
  }
  // A remote shell reports a child ended by signal N as 128+N.
  if (code !== null && code > 128 && code < 160 && signalName(code - 128) !== undefined) {
    return receiverKilled(`the receiver on ${where}`, code - 128, data, `the remote shell reported status ${code}`);
  }
  if (code !== 255) return undefined;
  if (/REMOTE HOST IDENTIFICATION HAS CHANGED/.test(stderr)) {
    return new TransportError('TRANSPORT_HOST_KEY_CHANGED', `the host key of ${where} has changed since it was recorded in known_hosts; refusing to connect`, data);
  }
  if (/revoked/i.test(stderr) && /host key/i.test(stderr)) {
    return new TransportError('TRANSPORT_HOST_KEY_REVOKED', `the host key of ${where} is revoked in known_hosts; refusing to connect`, data);
  }
  if (/Host key verification failed/.test(stderr)) {
    return new TransportError('TRANSPORT_HOST_KEY_UNKNOWN', `host key verification failed for ${where}: add its key to known_hosts (check the fingerprint out of band)`, data);
  }
  if (/Permission denied/.test(stderr)) {
    return new TransportError('TRANSPORT_AUTH_FAILED', `authentication to ${where} failed: ${lastLine(stderr)}`, data);
  }
  const unreachable = /Connection refused|Could not resolve hostname|No route to host|Network is unreachable|Connection timed out|Operation timed out|Name or service not known|Temporary failure in name resolution|Connection closed by remote host|kex_exchange_identification/.exec(stderr);
  if (unreachable !== null) {
    return new TransportError('TRANSPORT_UNREACHABLE', `cannot reach ${where}: ${lastLine(stderr) || unreachable[0]}`, data);
  }
  return new TransportError('TRANSPORT_SSH_FAILED', `ssh to ${where} failed (exit 255)${stderr.trim() === '' ? '' : `: ${lastLine(stderr)}`}`, data);
}

/** Starts ssh to the remote's receiver. Failures arrive through `exit` (see the header). */
export function spawnOpenSsh(remote: SshRemote, options: OpenSshOptions = {}): Transport {
  const { file, args } = sshInvocation(remote, options);
  const onStderr = options.onStderr ?? ((chunk: Buffer) => process.stderr.write(chunk));
  let child: ChildProcess;
  try {
    child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], env: options.env ?? process.env });
  } catch (e) {
    throw new TransportError('TRANSPORT_SPAWN', `cannot start ${file}: ${e instanceof Error ? e.message : String(e)}`, { command: file }, { cause: e });
  }
  let tail = '';
  const stderr = child.stderr as Readable;
  const stderrDone = new Promise<void>((resolve) => {
    stderr.on('data', (chunk: Buffer) => {
      tail = (tail + chunk.toString('utf8')).slice(-TAIL_BYTES);
      onStderr(chunk);
    });
    stderr.once('close', () => resolve());
    stderr.once('error', () => resolve());
  });
  let killed = false;
  const exit = new Promise<number | null>((resolve, reject) => {
    child.once('error', (e: NodeJS.ErrnoException) => {
      const hint = e.code === 'ENOENT' ? ' (is openssh-client installed? --ssh=builtin needs none)' : '';
      reject(new TransportError('TRANSPORT_SPAWN', `cannot start ${file}: ${e.message}${hint}`, { command: file }, { cause: e }));
    });
    child.once('exit', (code, signal) => {
      // ssh's last words may still be in the pipe: let stderr finish (briefly) before judging.
      const settle = Promise.race([stderrDone, new Promise((r) => setTimeout(r, 1000).unref())]);
      void settle.then(() => {
        const status = signal !== null ? null : code;
        // Our own client (or the --ssh-command around it) ended by a signal we did not send: say so, not "the receiver".
        if (signal !== null && !killed) {
          reject(new TransportError('TRANSPORT_SSH_FAILED', `the ssh client (${file === 'ssh' ? 'ssh' : '--ssh-command'}) was killed by ${signal}`, { host: remote.host, signal }));
          return;
        }
        // ssh says why whenever it fails itself; a silent 255 is the remote command ended by a signal.
        const failure =
          status === 255 && tail.trim() === ''
            ? receiverKilled(`the receiver on ${remote.port === undefined ? remote.host : `${remote.host} port ${remote.port}`}`, undefined, { host: remote.host, exit: 255 }, 'ssh exited 255 without a message: OpenSSH does not pass on which signal')
            : classifySshExit(status, tail, remote, options.receiveCommand);
        if (failure !== undefined) reject(failure);
        else resolve(status);
      });
    });
  });
  return childTransport(child, exit, {
    stderr: null,
    describe: `ssh ${remote.user === undefined ? '' : `${remote.user}@`}${remote.host}${remote.port === undefined ? '' : `:${remote.port}`}`,
    onKill: () => {
      killed = true;
    },
  });
}
