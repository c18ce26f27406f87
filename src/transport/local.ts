/**
 * The local transport: for a destination on this machine, run `ostree-receive
 * --repo=PATH` as a child process and speak the protocol over its stdin and
 * stdout, exactly as over ssh. Its stderr (the receiver's log lines) is
 * passed through to ours unless the caller takes it.
 *
 * Which receiver: this same package's, under the same Node. Running from
 * source (this file is .ts) it is src/cli/ostree-receive.ts through the tsx
 * loader; compiled, dist/src/cli/ostree-receive.js.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { NODE_RUNTIME_FLAGS } from '../runtime-flags.js';
import { TransportError } from '../errors.js';
import { childTransport, receiverKilled, type Transport } from './transport.js';

/** The Transport of transport.ts, plus the child's pid. */
export interface RemoteProcess extends Transport {
  readonly pid: number | undefined;
}

export interface LocalReceiverOptions {
  /** 'inherit' (default) passes the receiver's log lines through to our stderr. */
  stderr?: 'inherit' | 'pipe';
  env?: NodeJS.ProcessEnv;
  /** Extra arguments after --repo (tests). */
  args?: readonly string[];
}

/** The command line (after node itself) that runs our ostree-receive. */
export function receiverCommand(): string[] {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    const entry = fileURLToPath(new URL('../cli/ostree-receive.ts', here));
    return [...NODE_RUNTIME_FLAGS, '--import', import.meta.resolve('tsx'), entry];
  }
  return [...NODE_RUNTIME_FLAGS, fileURLToPath(new URL('../cli/ostree-receive.js', here))];
}

/** Spawns `ostree-receive --repo=PATH` locally with piped stdin/stdout. */
export function spawnLocalReceiver(repoPath: string, options: LocalReceiverOptions = {}): RemoteProcess {
  const args = [...receiverCommand(), `--repo=${repoPath}`, ...(options.args ?? [])];
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', options.stderr ?? 'inherit'], env: options.env ?? process.env });
  } catch (e) {
    throw new TransportError('TRANSPORT_SPAWN', `cannot start the receiver: ${e instanceof Error ? e.message : String(e)}`, { command: process.execPath }, { cause: e });
  }
  let killed = false;
  const stderrDone =
    child.stderr === null
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          child.stderr?.once('close', () => resolve());
          child.stderr?.once('error', () => resolve());
        });
  const exit = new Promise<number | null>((resolve, reject) => {
    child.once('error', (e) => {
      reject(new TransportError('TRANSPORT_SPAWN', `cannot start the receiver: ${e.message}`, { command: process.execPath }, { cause: e }));
    });
    // 'exit', not 'close': 'close' also waits for stdout to be read to its
    // end, and the pusher stops reading once the session is over. Its last
    // words on a piped stderr are let through first (briefly), as the caller
    // explains a failure with them.
    child.once('exit', (code, signal) => {
      void Promise.race([stderrDone, new Promise((r) => setTimeout(r, 1000).unref())]).then(() => {
        if (signal !== null && !killed) reject(receiverKilled(`the receiver (${repoPath})`, signal, { repo: repoPath }));
        else resolve(signal !== null ? null : code);
      });
    });
  });
  return childTransport(child, exit, { stderr: child.stderr, describe: `local ${repoPath}`, onKill: () => {
      killed = true;
    },
  });
}
