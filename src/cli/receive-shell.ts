/**
 * ostree-receive-shell: a login shell (or ForceCommand) for the account
 * that owns the repositories, so an ssh key can publish and do nothing else.
 *
 *   ostree-receive-shell -c 'ostree-receive --repo=PATH'     (login shell)
 *   SSH_ORIGINAL_COMMAND='ostree-receive --repo=PATH' ostree-receive-shell   (ForceCommand)
 *
 * Accepted, and nothing else:
 *   - the program `ostree-receive`, `ostree-receive-0` or `ostree-receive-1`,
 *     a bare name (a path could name any program);
 *   - exactly one `--repo=PATH` or `--repo PATH`;
 *   - `-v`/`--verbose` and `--debug` (more log lines on stderr; the 2015
 *     pusher appends `--verbose` and `--debug` when it runs with them), which
 *     change nothing else;
 *   - or `--version` alone (the receiver prints its version; no repository);
 *   - or 1.x's form, `NAME [-n] [-f] [-q] [-v] [--no-update] REPO URL [REF...]`
 *     (what the 1.x pusher runs: a pull from URL, receive-pull.ts), each
 *     option alone (the long names too), REPO not starting with '-', REF a
 *     valid ref name, and URL `http://` on a loopback address (127.0.0.0/8,
 *     [::1], localhost): the 1.x pusher's tunnel ends there, and an ssh key
 *     that may only publish must not make the server fetch from any other
 *     host of its network.
 * The command is split by shell-words.ts (no shell syntax), and whichever
 * name was used, the SAME receiver runs with the SAME configuration: our
 * ostree-receive, which loads receive-config.ts and applies `root`. (The
 * Python deployment let the legacy entry name skip its configuration, and
 * with it the `root` confinement; here no name leads anywhere else.)
 *
 * No command (an interactive login) is SHELL_INTERACTIVE, anything else
 * SHELL_REFUSED: one line on stderr, exit 1, nothing run.
 */
import { spawn } from 'node:child_process';
import { receiverCommand } from '../transport/local.js';
import { refNameProblem } from '../repo/ref-names.js';
import { isPullForm } from './receive-pull.js';
import { ShellError, splitShellWords } from './shell-words.js';

export const RECEIVE_NAMES: readonly string[] = ['ostree-receive', 'ostree-receive-0', 'ostree-receive-1'];

export type ReceiveInvocation =
  | {
      /** The name the client used (for logs only: it changes nothing). */
      name: string;
      repo: string;
      verbose: boolean;
    }
  | { name: string; version: true }
  | { name: string; pull: PullInvocation };

/** 1.x's form: a pull from URL into REPO. */
export interface PullInvocation {
  repo: string;
  url: string;
  refs: string[];
  /** The options given, in their short form (-n -f -q -v) and --no-update. */
  flags: string[];
}

const PULL_FLAGS: Readonly<Record<string, string>> = {
  '-n': '-n',
  '--dry-run': '-n',
  '-f': '-f',
  '--force': '-f',
  '-q': '-q',
  '--quiet': '-q',
  '-v': '-v',
  '--verbose': '-v',
  '--no-update': '--no-update',
};

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function parsePullCommand(name: string, args: readonly string[], command: string): { name: string; pull: PullInvocation } {
  const flags: string[] = [];
  const words: string[] = [];
  let options = true;
  for (const a of args) {
    if (options && a === '--') {
      options = false;
      continue;
    }
    if (options && a.startsWith('-')) {
      const flag = PULL_FLAGS[a];
      if (flag === undefined) throw new ShellError('SHELL_REFUSED', `refused: argument '${a}' is not allowed (1.x form: -n, -f, -q, -v, --no-update, then REPO URL [REF...])`, { command, argument: a });
      if (!flags.includes(flag)) flags.push(flag);
      continue;
    }
    words.push(a);
  }
  const [repo, url, ...refs] = words;
  if (repo === undefined || url === undefined) throw new ShellError('SHELL_REFUSED', 'refused: REPO and URL are required (1.x form)', { command });
  if (repo === '' || repo.startsWith('-')) throw new ShellError('SHELL_REFUSED', `refused: '${repo}' is not a repository path`, { command });
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (parsed === undefined || parsed.protocol !== 'http:' || !isLoopback(parsed.hostname)) {
    throw new ShellError('SHELL_REFUSED', `refused: '${url}' is not an http:// URL on a loopback address (the end of the pusher's tunnel)`, { command, url });
  }
  for (const r of refs) {
    const why = refNameProblem(r);
    if (why !== undefined) throw new ShellError('SHELL_REFUSED', `refused: '${r}' is not a ref name (${why})`, { command, ref: r });
  }
  return { name, pull: { repo, url, refs, flags } };
}

/** Parses and checks the client's command; throws ShellError SHELL_REFUSED. */
export function parseReceiveCommand(command: string): ReceiveInvocation {
  const words = splitShellWords(command);
  const [name, ...args] = words;
  if (name === undefined) throw new ShellError('SHELL_REFUSED', 'refused: empty command', { command });
  if (!RECEIVE_NAMES.includes(name)) {
    throw new ShellError('SHELL_REFUSED', `refused: '${name}' is not allowed; this account only runs ${RECEIVE_NAMES.join(', ')}`, { command, name });
  }
  if (args.length === 1 && args[0] === '--version') return { name, version: true };
  if (isPullForm(args)) return parsePullCommand(name, args, command);
  let repo: string | undefined;
  let verbose = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    let value: string | undefined;
    if (a === '--repo') {
      value = args[++i];
      if (value === undefined) throw new ShellError('SHELL_REFUSED', 'refused: --repo needs a PATH', { command });
    } else if (a.startsWith('--repo=')) {
      value = a.slice('--repo='.length);
    } else if (a === '-v' || a === '--verbose' || a === '--debug') {
      verbose = true;
      continue;
    } else {
      throw new ShellError('SHELL_REFUSED', `refused: argument '${a}' is not allowed (only --repo=PATH, -v, --verbose and --debug, or --version alone)`, { command, argument: a });
    }
    if (repo !== undefined) throw new ShellError('SHELL_REFUSED', 'refused: --repo given twice', { command });
    if (value === '' || value.startsWith('-')) throw new ShellError('SHELL_REFUSED', `refused: '${value}' is not a repository path`, { command });
    repo = value;
  }
  if (repo === undefined) throw new ShellError('SHELL_REFUSED', 'refused: --repo=PATH is required', { command });
  return { name, repo, verbose };
}

/** The command to serve: `-c COMMAND` (login shell), else SSH_ORIGINAL_COMMAND (ForceCommand). */
export function commandToServe(argv: readonly string[], env: NodeJS.ProcessEnv): string {
  if (argv[0] === '-c') {
    if (argv.length !== 2 || argv[1] === undefined) throw new ShellError('SHELL_REFUSED', 'refused: expected -c COMMAND', { argv: [...argv] });
    return argv[1];
  }
  if (argv.length > 0) throw new ShellError('SHELL_REFUSED', 'refused: expected -c COMMAND', { argv: [...argv] });
  const original = env['SSH_ORIGINAL_COMMAND'];
  if (original !== undefined && original !== '') return original;
  throw new ShellError('SHELL_INTERACTIVE', 'interactive login refused: this account only runs ostree-receive', {});
}

/** Node's arguments for our receiver: the name used is deliberately absent. */
export function receiverArgs(inv: ReceiveInvocation): string[] {
  if ('version' in inv) return [...receiverCommand(), '--version'];
  if ('pull' in inv) return [...receiverCommand(), ...inv.pull.flags, '--', inv.pull.repo, inv.pull.url, ...inv.pull.refs];
  return [...receiverCommand(), `--repo=${inv.repo}`, ...(inv.verbose ? ['-v'] : [])];
}

/** Runs our receiver with the invocation's arguments, stdio passed straight through; resolves to its exit status. */
export async function runReceiver(inv: ReceiveInvocation, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const args = receiverArgs(inv);
  const child = spawn(process.execPath, args, { stdio: 'inherit', env });
  const forward = (sig: NodeJS.Signals) => child.kill(sig);
  for (const sig of ['SIGTERM', 'SIGHUP', 'SIGINT'] as const) process.on(sig, forward);
  return await new Promise((resolve) => {
    child.once('error', () => resolve(127));
    child.once('exit', (code, signal) => resolve(code ?? (signal === null ? 1 : 128 + 15)));
  });
}

export async function shellMain(argv: readonly string[], env: NodeJS.ProcessEnv, run: (inv: ReceiveInvocation) => Promise<number> = (inv) => runReceiver(inv, env)): Promise<number> {
  const inv = parseReceiveCommand(commandToServe(argv, env));
  return await run(inv);
}
