/**
 * The command under test as a child process: `sh -c` with the template's
 * placeholders replaced by shell-quoted values, stdin/stdout piped, stderr
 * kept (bounded) for the report. Every wait has a deadline; the process is
 * killed (its whole process group) when a case gives up on it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { MessageReader, type ReadResult } from '../src/wire/index.js';

export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Replaces `{name}` by the quoted value; a list becomes several words. */
export function fillTemplate(template: string, values: Record<string, string | string[]>): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const v = values[name];
    if (v === undefined) return whole;
    return Array.isArray(v) ? v.map(shellQuote).join(' ') : shellQuote(v);
  });
}

/** A case's failed checks: every one of them, in the order they were found (`message` joins them). */
export class CaseFailure extends Error {
  readonly problems: string[];
  constructor(problems: string | readonly string[]) {
    const list = typeof problems === 'string' ? [problems] : [...problems];
    super(list.join('; '));
    this.problems = list;
  }
}

/**
 * Collects failed checks so a case reports all of them, not just the first:
 * `run` calls a check and keeps its CaseFailure; `throwIfAny` ends the case.
 */
export class Problems {
  readonly list: string[] = [];
  add(...problems: string[]): void {
    this.list.push(...problems);
  }
  /** Runs a check; a CaseFailure is recorded (true: it passed). Other errors propagate. */
  async run(check: () => void | Promise<void>): Promise<boolean> {
    try {
      await check();
      return true;
    } catch (e) {
      if (!(e instanceof CaseFailure)) throw e;
      this.add(...e.problems);
      return false;
    }
  }
  throwIfAny(prefix = ''): void {
    if (this.list.length > 0) throw new CaseFailure(this.list.map((p) => `${prefix}${p}`));
  }
}

const STDERR_CAP = 16 * 1024;

export class Peer {
  readonly child: ChildProcess;
  readonly reader: MessageReader;
  readonly exited: Promise<number | null>;
  #stderr = '';
  #stdinClosed = false;

  constructor(command: string, options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}) {
    this.child = spawn('sh', ['-c', command], { stdio: ['pipe', 'pipe', 'pipe'], detached: true, env: options.env ?? process.env, ...(options.cwd ? { cwd: options.cwd } : {}) });
    this.child.stdin?.on('error', () => undefined); // EPIPE: the peer hung up; the checks say what that means
    this.child.stderr?.on('data', (d: Buffer) => {
      if (this.#stderr.length < STDERR_CAP) this.#stderr += d.toString('utf8');
    });
    this.exited = new Promise((resolve) => {
      this.child.once('error', () => resolve(127));
      this.child.once('exit', (code, signal) => resolve(signal !== null ? null : code));
    });
    this.reader = new MessageReader(this.child.stdout as AsyncIterable<Uint8Array>);
  }

  get stderr(): string {
    return this.#stderr;
  }

  get stdinClosed(): boolean {
    return this.#stdinClosed;
  }

  /** Writes bytes, honouring backpressure; false when the peer is gone. */
  async write(bytes: Uint8Array): Promise<boolean> {
    const stdin = this.child.stdin;
    if (stdin === null || this.#stdinClosed || stdin.destroyed) return false;
    if (!stdin.write(bytes)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          stdin.off('drain', done);
          stdin.off('close', done);
          stdin.off('error', done);
          resolve();
        };
        stdin.once('drain', done);
        stdin.once('close', done);
        stdin.once('error', done);
      });
    }
    return !stdin.destroyed;
  }

  closeStdin(): void {
    this.#stdinClosed = true;
    this.child.stdin?.end();
  }

  /** The next message, null at eof, or 'timeout'. A framing error from the peer is a failure. */
  async next(timeoutMs: number): Promise<ReadResult | null | 'timeout'> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
    try {
      const r = await Promise.race([this.reader.next(), timeout]);
      if (r !== 'timeout' && r !== null && r.payload !== undefined) await r.payload.skip();
      return r;
    } catch (e) {
      throw new CaseFailure(`the command sent bytes that do not frame as protocol messages: ${(e as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Exit status, or 'timeout' (after which the process is killed). */
  async wait(timeoutMs: number): Promise<number | null | 'timeout'> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
    const r = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    if (r === 'timeout') this.kill();
    return r;
  }

  kill(): void {
    const pid = this.child.pid;
    if (pid === undefined || this.child.exitCode !== null || this.child.signalCode !== null) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      this.child.kill('SIGKILL');
    }
  }

  /** The last lines of stderr, for a failure message. */
  stderrTail(lines = 4): string {
    const all = this.#stderr.trim().split('\n').filter((l) => l !== '');
    return all.slice(-lines).join(' | ');
  }
}

/**
 * An `ssh` for the suite's and the interop runner's PATH: drops ssh's options
 * and the host, then runs the remote command here, as a version-0 pusher's
 * `ssh HOST ostree-receive --repo=PATH` would run it on the server.
 */
export const SSH_STAND_IN = `#!/bin/sh
# ssh stand-in: drops ssh's options and the host, then runs the remote
# command here, with this directory first on PATH.
while [ $# -gt 0 ]; do
  case "$1" in
    -[bcDEeFIiJLlmOopQRSWw]) shift 2 ;;
    --) shift; break ;;
    -*) shift ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] && shift
exec sh -c "$*"
`;
