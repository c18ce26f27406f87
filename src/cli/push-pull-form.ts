/**
 * The pull form of a push, what 1.x servers run (`ostree-receive-1`): the
 * source repository is served read-only over HTTP on our loopback
 * (repo/http-serve.ts), the port is forwarded through the ssh connection to
 * the server's loopback (transport/forward.ts, builtin-forward.ts), and
 *
 *   COMMAND [-n] [-f] [-q|-v] REPO http://127.0.0.1:RPORT/PREFIX [REF...]
 *
 * runs there: the server pulls with its own client and applies its own
 * configuration (root, signature verification, re-commit, hook, summary).
 * COMMAND is tried from a list in order (default `ostree-receive-1`, then
 * `ostree-receive`, as 1.x's pusher does); a command the server's shell
 * cannot find (exit 127) passes to the next. No REF: none is named and the
 * server pulls every ref the served summary lists, i.e. every ref under
 * refs/heads here (the server leaves out its generated ones, appstream/*).
 *
 * What moved is known only from the server's own output, which is shown as
 * it comes: the exit status says whether it succeeded.
 */
import { OstreePushError, TransportError } from '../errors.js';
import { serveRepo, type RepoHttpServer } from '../repo/http-serve.js';
import type { Repo } from '../repo/repo.js';
import type { ForwardingLink } from '../transport/forward.js';
import type { Remote } from '../transport/remote.js';
import { shellQuote } from '../transport/transport.js';

type SshRemote = Extract<Remote, { kind: 'ssh' }>;

/** 1.x's own list: the versioned name first, then the plain one. */
export const DEFAULT_PULL_COMMANDS: readonly string[] = ['ostree-receive-1', 'ostree-receive'];

export interface PullFlags {
  dryRun: boolean;
  force: boolean;
  quiet: boolean;
  verbose: boolean;
}

/** The command line run on the server; COMMAND is used verbatim (a shell command chosen by the user, like --receive-command). */
export function pullCommandLine(command: string, repoPath: string, url: string, refs: readonly string[], f: PullFlags): string {
  const flags = [...(f.dryRun ? ['-n'] : []), ...(f.force ? ['-f'] : []), ...(f.quiet ? ['-q'] : f.verbose ? ['-v'] : [])];
  return [command, ...flags, ...[repoPath, url, ...refs].map(shellQuote)].join(' ');
}

export type PullOutcome =
  /** `command` ran and exited `exit` (0: the server pulled and published, or had nothing to do). */
  | { kind: 'ran'; command: string; exit: number | null; served: number }
  /** Every command was missing on the server (exit 127). */
  | { kind: 'missing'; tried: string[] };

export interface PullFormInput {
  remote: SshRemote;
  repo: Repo;
  /** The refs to offer (ref → commit): the named ones, or every head. */
  refs: ReadonlyMap<string, string>;
  /** Whether the user named refs (they are then passed to the server). */
  named: boolean;
  commands: readonly string[];
  flags: PullFlags;
  /** Opens the connection (OpenSSH or built-in). */
  connect: () => Promise<ForwardingLink>;
  log?: (line: string) => void;
  /** Ctrl-C: the connection and the HTTP server are closed at once (the server's pull then fails, unless it had finished). */
  signal?: AbortSignal;
}

/**
 * Serves, forwards, runs the commands in turn. Everything it started is
 * stopped before it returns or throws (the HTTP server, the connection,
 * the control directory).
 */
export async function pushThroughPull(i: PullFormInput): Promise<PullOutcome> {
  let server: RepoHttpServer | undefined;
  let link: ForwardingLink | undefined;
  const onAbort = () => {
    void link?.close();
    void server?.close();
  };
  i.signal?.addEventListener('abort', onAbort);
  const aborted = () => i.signal?.aborted === true;
  const interrupted = () =>
    new TransportError('TRANSPORT_INTERRUPTED', `interrupted; the server publishes nothing unless its pull had completed: check the refs on ${i.remote.host}`, { host: i.remote.host });
  try {
    server = await serveRepo(i.repo, i.refs, i.log === undefined ? {} : { onRequest: (r) => i.log?.(`http: ${r.method} ${r.path} ${r.status}`) });
    i.log?.(`serving ${i.refs.size} ref(s) of ${i.repo.path} on 127.0.0.1:${server.port}`);
    link = await i.connect();
    const remotePort = await link.forward(server.port);
    i.log?.(`${link.describe} forwards its 127.0.0.1:${remotePort} to our 127.0.0.1:${server.port}`);
    const url = server.urlFor(remotePort);
    const tried: string[] = [];
    for (const command of i.commands) {
      const line = pullCommandLine(command, i.remote.path, url, i.named ? [...i.refs.keys()] : [], i.flags);
      i.log?.(`running ${line}`);
      if (aborted()) throw interrupted();
      const exit = await link.run(line).catch((e: unknown) => {
        if (aborted()) throw interrupted();
        throw e;
      });
      if (aborted()) throw interrupted();
      if (exit === 127) {
        tried.push(command);
        i.log?.(`${command}: not found on ${i.remote.host} (exit 127)`);
        continue;
      }
      return { kind: 'ran', command, exit, served: server.log.filter((r) => r.status === 200).length };
    }
    return { kind: 'missing', tried };
  } catch (e) {
    if (aborted()) throw interrupted();
    throw e;
  } finally {
    i.signal?.removeEventListener('abort', onAbort);
    await link?.close();
    await server?.close();
  }
}

/** The error for an outcome that is not a success, or undefined. */
export function pullFailure(o: PullOutcome, remote: SshRemote, lastRemoteLine: string): OstreePushError | undefined {
  const where = remote.port === undefined ? remote.host : `${remote.host} port ${remote.port}`;
  if (o.kind === 'missing') {
    return new TransportError('TRANSPORT_RECEIVER_MISSING', `none of ${o.tried.map((c) => `'${c}'`).join(', ')} is installed on ${remote.host} or on its PATH (the remote shell exited 127)`, { host: remote.host, tried: o.tried });
  }
  if (o.exit === 0) return undefined;
  if (o.exit !== null && o.exit > 128 && o.exit < 160) {
    return new TransportError('TRANSPORT_RECEIVER_KILLED', `'${o.command}' on ${where} was killed by signal ${o.exit - 128} (the remote shell reported status ${o.exit})`, { host: remote.host, exit: o.exit });
  }
  if (o.exit === 255) {
    return new TransportError('TRANSPORT_SSH_FAILED', `ssh to ${where} failed while running '${o.command}' (exit 255)${lastRemoteLine === '' ? '' : `: ${lastRemoteLine}`}`, { host: remote.host, exit: 255 });
  }
  return new OstreePushError('PUSH_PULL_FAILED', `'${o.command}' on ${where} failed (exit ${String(o.exit)})${lastRemoteLine === '' ? '' : `: ${lastRemoteLine}`}`, { host: remote.host, command: o.command, exit: o.exit, remote: lastRemoteLine });
}
