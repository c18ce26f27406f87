/**
 * What every way of reaching a receiver gives the pusher: the receiver's
 * stdin and stdout, its exit status, and a way to stop it. The local
 * transport (local.ts, a child process), the system OpenSSH client
 * (openssh.ts) and the built-in ssh2 client (builtin-ssh.ts) all fit it, so
 * the CLI and the pusher never know which one they hold.
 *
 * `exit` resolves to the remote command's exit status (null: the ssh server
 * sent no status) and REJECTS with a TransportError when the link itself
 * failed (ssh could not connect, the remote command is missing) or a signal
 * ended the receiver (TRANSPORT_RECEIVER_KILLED, naming the signal when the
 * transport learns it; not after our own kill()): callers that see the
 * stream close early await `exit` to learn why. It never waits for the
 * caller to read stdout to its end.
 */
import type { ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { TransportError } from '../errors.js';

export interface Transport {
  /** The receiver's stdin: what the pusher writes. */
  stdin: Writable;
  /** The receiver's stdout: what the pusher reads. */
  stdout: Readable;
  /** Its stderr, when the transport hands it to the caller rather than passing it through. */
  stderr: Readable | null;
  exit: Promise<number | null>;
  /** Ends the link (and so the remote command) if it is still up. */
  kill(): void;
  /** For messages: "ssh example.org", "local /srv/repo". */
  describe?: string;
}

/** 'KILL' (ssh's spelling), 'SIGKILL' or 9 → 'SIGKILL'; undefined for a number no signal has. */
export function signalName(signal: string | number): string | undefined {
  if (typeof signal === 'string') return signal.startsWith('SIG') ? signal : `SIG${signal}`;
  return Object.entries(constants.signals).find(([, n]) => n === signal)?.[0];
}

/**
 * TRANSPORT_RECEIVER_KILLED: "the receiver on HOST was killed by SIGKILL".
 * `signal` undefined: the transport knows only that a signal ended it.
 * `how`: what the transport saw, when it is not the signal itself.
 */
export function receiverKilled(who: string, signal: string | number | undefined, data: Record<string, unknown>, how?: string): TransportError {
  const name = signal === undefined ? undefined : signalName(signal);
  const hint = name === 'SIGKILL' ? ' (out of memory? see the kernel log of the machine it ran on)' : '';
  return new TransportError('TRANSPORT_RECEIVER_KILLED', `${who} was killed by ${name ?? 'a signal'}${how === undefined ? '' : ` (${how})`}${hint}`, { ...data, signal: name ?? null });
}

/** Characters that need no quoting in a POSIX shell word. */
const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * Quotes one word for a POSIX shell (the remote login shell runs the
 * command ssh sends it as one string). Single quotes protect everything
 * but a single quote, which is closed, escaped and reopened.
 */
export function shellQuote(word: string): string {
  if (word !== '' && SAFE_WORD.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * The command line run on the remote side: `ostree-receive --repo=PATH`,
 * exactly what version-0 pushers run, with PATH quoted as one word.
 * `receiveCommand` (--receive-command) is used verbatim: like git's
 * --receive-pack it is a shell command chosen by the user.
 */
export function receiveCommandLine(repoPath: string, receiveCommand = 'ostree-receive'): string {
  return `${receiveCommand} --repo=${shellQuote(repoPath)}`;
}

/**
 * A Transport over a child process that speaks the protocol on its stdio
 * (our local receiver, or the ssh client): its pipes, the given `exit`
 * promise, and SIGTERM as the way to stop it.
 */
export function childTransport(
  child: ChildProcess,
  exit: Promise<number | null>,
  options: { stderr: Readable | null; describe: string; onKill?: () => void },
): Transport & { pid: number | undefined } {
  // A failed spawn or link is reported through `exit`; keep it from being an unhandled rejection meanwhile.
  exit.catch(() => undefined);
  const stdin = child.stdin as Writable;
  // Writing to a receiver that died raises EPIPE on stdin; the pusher's writer reports it.
  stdin.on('error', () => undefined);
  return {
    stdin,
    stdout: child.stdout as Readable,
    stderr: options.stderr,
    exit,
    pid: child.pid,
    describe: options.describe,
    kill: () => {
      // A child that had already died was not killed by us: onKill only when the signal goes to a live one.
      if (child.exitCode !== null || child.signalCode !== null) return;
      options.onKill?.();
      child.kill('SIGTERM');
    },
  };
}
