/**
 * The body of `ostree-push`, callable in-process (tests) as well as from the
 * entry point. PUSH_USAGE below is the reference for options and exit
 * statuses.
 *
 * REMOTE forms and the colon rule: transport/remote.ts. Transports: the
 * system OpenSSH client (default; transport/openssh.ts), the built-in ssh2
 * client (--ssh=builtin; transport/builtin-ssh.ts), or for a local path the
 * receiver spawned over pipes (transport/local.ts). `--byte-order=be` makes
 * the pusher send big-endian messages: for interoperability tests only.
 *
 * When the link fails, the transport's own explanation (connection refused,
 * authentication, host key, receiver missing) replaces the pusher's generic
 * "connection closed"; a receiver that exits with an error before INFO (no
 * such repository, outside root) is PUSH_RECEIVER_FAILED with its message,
 * over a local path as over ssh (exit 1). A missing or non-archive source
 * is a usage error (exit 2), found before anything is started.
 */
import { OstreePushError, RepoError, TransportError, UsageError, WireError, asOstreePushError } from '../errors.js';
import { resolveRefspecs } from '../protocol/push-plan.js';
import { DEFAULT_PUSH_IDLE_TIMEOUT_MS } from '../protocol/idle.js';
import type { PushOptions, PushResult } from '../protocol/pusher.js';
import { Repo } from '../repo/repo.js';
import { spawnLocalReceiver } from '../transport/local.js';
import { openSshForwarding, type ForwardingLink } from '../transport/forward.js';
import { keepAliveFor, spawnOpenSsh } from '../transport/openssh.js';
import { describeRemote, parseRemote, type Remote } from '../transport/remote.js';
import type { Transport } from '../transport/transport.js';
import type { ByteOrder } from '../wire/constants.js';
import { defaultRepoPath } from './default-repo.js';
import { parseCommandLine, usageError } from './command-line.js';
import { versionLine } from './version-line.js';
import { Progress } from './progress.js';
import { parseProtocol, peekInfo, probeOf, type Protocol } from './push-protocol.js';
import type { PullOutcome } from './push-pull-form.js';
import { closingLine, reportLines } from './push-report.js';
import { RemoteRelay } from './remote-relay.js';
import { jsonSummary, pullJsonSummary } from './push-json.js';
import { ZERO_CHECKSUM } from '../wire/constants.js';

export const PUSH_USAGE = `usage: ostree-push [--repo=PATH] [-f|--force] [-n|--dry-run] [--json] [-v|-q]
                   [--protocol=auto|v0|pull] [--ssh=openssh|builtin] [--ssh-command=CMD]
                   [-p PORT] [-o OPTION] [-i FILE] [--known-hosts=FILE]
                   [--receive-command=CMD] [--command=CMD] [--delete=DST...]
                   REMOTE [--all | REFSPEC...]

Push refs of a local archive repository to REMOTE as git push does: only
fast-forwards unless --force, only the objects the remote lacks.

REMOTE is [user@]host:path or ssh://[user@]host[:port]/path (over ssh), or a
local path or file:///path (the receiver runs here, over pipes). A ':' before
any '/' means ssh: write ./a:b for a local path with a colon.

REFSPEC is REF (pushed as REF), SRC:DST (SRC a local ref or a commit checksum
of the source repository, pushed as the remote ref DST), or either with a
leading '+' (force for that ref alone), or :DST (delete the remote ref DST,
when the receiver offers deleting refs and its ref_permissions allow it). No
REFSPEC, or --all: every ref under refs/heads, each under its own name.

  --repo=PATH          the source repository (default: the current directory
                       if it is a repository, else $OSTREE_REPO, else /ostree/repo)
  -f, --force          also ask for non-fast-forward updates (every ref, as '+' on each)
  --all                push every ref under refs/heads (the same as no REFSPEC)
  --delete=DST         delete the remote ref DST, as :DST does (repeatable)
  -n, --dry-run        show what would move and how much would be sent; change nothing
  --json               print one JSON summary on stdout (also for a failure,
                       usage errors included)
  -v, --verbose        more detail (each step; progress lines even off a terminal)
  -q, --quiet          print errors only (the refs that failed, the error, the
                       remote's warnings; not the remote's update hook output)
  --protocol=auto      ours (version 0) when the server's receiver offers it, else
                       the pull form when the server has ostree-receive-1, else
                       plain version 0 with a warning (default)
  --protocol=v0        only ours: ssh HOST ostree-receive --repo=PATH
  --protocol=pull      only the pull form of 1.x servers: the server runs
                       ostree-receive-1 REPO URL [REF...] and pulls from this
                       repository over a port forwarded through ssh
  --ssh=openssh        the system ssh client (default; honours ~/.ssh/config, agents)
  --ssh=builtin        the built-in client: agent and key auth, strict known_hosts
  --ssh-command=CMD    run CMD instead of ssh (also $OSTREE_PUSH_SSH_COMMAND), via sh -c
  -p, --port=PORT      the ssh port (overrides the one in REMOTE)
  -o, --ssh-option=OPTION  passed to ssh as -o OPTION (repeatable; OpenSSH only)
  -i, --identity=FILE  a private key to use (repeatable; OpenSSH gets -i FILE)
  --receive-command=CMD  the version-0 remote command (default ostree-receive)
  --command=CMD        the pull form's remote command, tried in order while the
                       server's shell does not find it (exit 127); repeatable
                       (default ostree-receive-1, then ostree-receive)
  --known-hosts=FILE   --ssh=builtin: known_hosts file (repeatable; default ~/.ssh/known_hosts)
  --idle-timeout=SECONDS  give up when the receiver sends nothing and takes nothing
                       for this long while the push waits for it (default 60, also
                       $OSTREE_PUSH_IDLE_TIMEOUT); also sets ssh keep-alives to match
  --byte-order=le|be   byte order of the messages sent (for testing)
  --version            print the version and exit

Exit status, on every transport: 0 pushed or nothing to do; 1 refused by the
remote (a missing destination too) or rejected (non-fast-forward); 2 usage (a
missing or non-archive source too); 3 connection or transport failure (the
receiver killed by a signal, or an interruption: the remote publishes nothing
unless the push completed); 4 the connection was lost after the push was
complete and a second session could not read the remote's refs: whether they
moved is unknown. (When a second session can read them, the refs are
reported as they are: 0 when they moved, with a warning; 3, or 1 after a
failed receiver, when not.)
`;

export interface PushIo {
  err(line: string): void;
  out(text: string): void;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Whether stderr is a terminal (progress line). */
  tty?: boolean;
  /** Raw stderr writes (progress, the remote's messages); default process.stderr. */
  stderr?: (text: string | Buffer) => void;
  /** How to start a local receiver (tests replace it). */
  spawn?: (destPath: string) => Transport;
  /** Registers an interruption handler; returns its removal (tests drive it). */
  onInterrupt?: (handler: () => void) => () => void;
}

/** REMOTE → where it is (transport/remote.ts). */
export function parseDestination(dest: string): Remote {
  return parseRemote(dest);
}

/** --idle-timeout, else $OSTREE_PUSH_IDLE_TIMEOUT, else 60 s: seconds, fractions allowed, more than 0. */
export function idleTimeoutOf(option: string | undefined, env: NodeJS.ProcessEnv): number {
  const fromEnv = env['OSTREE_PUSH_IDLE_TIMEOUT'];
  const [text, where] = option !== undefined ? [option, '--idle-timeout'] : fromEnv !== undefined && fromEnv !== '' ? [fromEnv, 'OSTREE_PUSH_IDLE_TIMEOUT'] : [undefined, ''];
  if (text === undefined) return DEFAULT_PUSH_IDLE_TIMEOUT_MS;
  const seconds = /^\s*\d+(\.\d+)?\s*$/.test(text) ? Number(text) : NaN;
  if (!(seconds > 0) || seconds > 86_400 * 365) throw usageError(`${where} must be a number of seconds greater than 0, not '${text}'`);
  return Math.max(1, Math.round(seconds * 1000));
}

function parseOrder(v: string | undefined): ByteOrder {
  if (v === undefined || v === 'le') return 'le';
  if (v === 'be') return 'be';
  throw usageError(`--byte-order must be 'le' or 'be', not '${v}'`);
}

const defaultInterrupt = (handler: () => void): (() => void) => {
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
};

interface LinkOptions {
  ssh: string;
  /** -o OPTION values (OpenSSH only). */
  sshOption?: string[];
  /** The push's idle timeout: the ssh keep-alives follow it. */
  idleTimeoutMs: number;
  sshCommand?: string;
  receiveCommand?: string;
  identity?: string[];
  knownHosts?: string[];
}

async function openLink(remote: Remote, o: LinkOptions, io: PushIo, onStderr: (c: Buffer) => void): Promise<Transport> {
  if (remote.kind === 'local') {
    if (o.receiveCommand !== undefined) throw usageError('--receive-command applies to ssh remotes only');
    // No check here that the path is a repository: the receiver says so, as it does over ssh (exit 1 either way).
    const t = io.spawn ? io.spawn(remote.path) : spawnLocalReceiver(remote.path, { stderr: 'pipe' });
    t.stderr?.on('data', onStderr);
    return t;
  }
  const common = { env: io.env, onStderr, ...(o.receiveCommand === undefined ? {} : { receiveCommand: o.receiveCommand }) };
  const keepAlive = keepAliveFor(o.idleTimeoutMs);
  if (o.ssh === 'openssh') {
    return spawnOpenSsh(remote, { ...common, keepAlive, sshOptions: openSshOptions(o), ...(o.sshCommand === undefined ? {} : { sshCommand: o.sshCommand }) });
  }
  // Loaded only here: the ssh2 library adds about 40 ms to the start of every push that does not use it.
  const { connectBuiltinSsh } = await import('../transport/builtin-ssh.js');
  return await connectBuiltinSsh(remote, {
    ...common,
    keepAlive: { intervalMs: keepAlive.intervalSeconds * 1000, countMax: keepAlive.countMax },
    ...(o.identity === undefined ? {} : { identityFiles: o.identity }),
    ...(o.knownHosts === undefined ? {} : { knownHosts: o.knownHosts }),
  });
}

/** What 1.x's `ostree-receive` (argparse) says when given `--repo=PATH` instead of REPO URL. */
const PULL_FORM_USAGE = /: error: (unrecognized arguments|the following arguments are required)/;

/** The user's -o and -i as OpenSSH words. */
function openSshOptions(o: LinkOptions): string[] {
  return [...(o.sshOption ?? []).flatMap((v) => ['-o', v]), ...(o.identity ?? []).flatMap((f) => ['-i', f])];
}

/** Options that only one ssh client takes, checked before anything starts. */
function checkSshOptions(o: LinkOptions): void {
  if (o.ssh === 'openssh' && o.knownHosts !== undefined) throw usageError('--known-hosts applies to --ssh=builtin; with OpenSSH use -o UserKnownHostsFile=FILE');
  if (o.ssh === 'builtin' && o.sshCommand !== undefined) throw usageError('--ssh-command applies to --ssh=openssh');
  if (o.ssh === 'builtin' && o.sshOption !== undefined) throw usageError('-o applies to --ssh=openssh (the built-in client takes no ssh options)');
}

/** The connection the pull form runs over, with the same options as a version-0 link. */
async function openForwarding(remote: Extract<Remote, { kind: 'ssh' }>, o: LinkOptions, io: PushIo, onStderr: (c: Buffer) => void): Promise<ForwardingLink> {
  const keepAlive = keepAliveFor(o.idleTimeoutMs);
  if (o.ssh === 'openssh') {
    return await openSshForwarding(remote, { env: io.env, onOutput: onStderr, keepAlive, sshOptions: openSshOptions(o), ...(o.sshCommand === undefined ? {} : { sshCommand: o.sshCommand }) });
  }
  const { openBuiltinForwarding } = await import('../transport/builtin-forward.js');
  return await openBuiltinForwarding(remote, {
    env: io.env,
    onStderr,
    keepAlive: { intervalMs: keepAlive.intervalSeconds * 1000, countMax: keepAlive.countMax },
    ...(o.identity === undefined ? {} : { identityFiles: o.identity }),
    ...(o.knownHosts === undefined ? {} : { knownHosts: o.knownHosts }),
  });
}

/** -p PORT: 1 to 65535. */
function parsePort(v: string): number {
  const n = /^\d{1,5}$/.test(v) ? Number(v) : NaN;
  if (!(n >= 1 && n <= 65535)) throw usageError(`-p must be a port number from 1 to 65535, not '${v}'`);
  return n;
}

/**
 * The source repository, opened and checked before anything is started. A
 * missing or unreadable one, or one the pusher cannot read objects from, is
 * the command line's fault: a usage error (exit 2), whatever the transport.
 */
function openSource(path: string): Repo {
  try {
    const repo = Repo.open(path);
    void repo.objects; // REPO_UNSUPPORTED_MODE for bare-split-xattrs, or xattrs unreadable here
    return repo;
  } catch (e) {
    if (!(e instanceof RepoError)) throw e;
    const data = { ...e.data, path };
    if (e.code === 'REPO_NOT_FOUND' || e.code === 'REPO_BAD_CONFIG') {
      throw new UsageError('PUSH_SOURCE_NOT_REPO', `the source ${e.code === 'REPO_NOT_FOUND' ? e.message : `${path} is not a usable OSTree repository (config has no [core] group)`}; give it with --repo=PATH`, data, { cause: e });
    }
    if (e.code === 'REPO_UNSUPPORTED_MODE' || e.code === 'REPO_UNSUPPORTED_VERSION') {
      const what = e.code === 'REPO_UNSUPPORTED_MODE' ? `a ${String(e.data['mode'])} repository` : `a repository of repo_version ${String(e.data['version'])}`;
      // The store's own reason when it has one (a mode needing xattrs this platform cannot read).
      const why = e.data['platform'] !== undefined ? e.message : `only archive, bare, bare-user and bare-user-only repositories can be pushed from`;
      throw new UsageError('PUSH_SOURCE_UNSUPPORTED', `the source ${path} is ${what}: ${why} (copy the commits into an archive repository with ostree pull-local)`, data, { cause: e });
    }
    throw e;
  }
}

/** The error to report when the session broke: the transport's own reason when it has one. */
async function explain(e: unknown, link: Transport, lastRemoteLine: () => string, where: string): Promise<OstreePushError> {
  const err = asOstreePushError(e);
  const linkBroke = (err instanceof TransportError && err.code === 'TRANSPORT_CLOSED') || (err instanceof WireError && (err.code === 'WIRE_STREAM_CLOSED' || err.code === 'WIRE_TRUNCATED'));
  if (!linkBroke) return err;
  let status: number | null | undefined;
  try {
    status = await Promise.race([link.exit, new Promise<undefined>((r) => setTimeout(() => r(undefined), 3000).unref())]);
  } catch (failure) {
    if (failure instanceof OstreePushError) return failure;
  }
  const said = lastRemoteLine();
  if (typeof status === 'number' && status !== 0 && err.data['state'] === 'waiting for INFO') {
    return new OstreePushError('PUSH_RECEIVER_FAILED', `the receiver on ${where} failed before the session began (exit ${status})${said === '' ? '' : `: ${said}`}`, { exit: status, remote: said });
  }
  if (said !== '' && !err.message.includes(said)) return new TransportError('TRANSPORT_CLOSED', `${err.message}; the receiver said: ${said}`, err.data, { cause: err });
  return err;
}

/** Whether --json was asked for: looked up before parsing, so that a bad command line answers in JSON too. */
function asksForJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

export async function pushMain(argv: readonly string[], io: PushIo): Promise<number> {
  const started = Date.now();
  const parse = () => parseCommandLine(argv, {
    repo: { type: 'string' },
    force: { type: 'boolean', short: 'f' },
    all: { type: 'boolean' },
    delete: { type: 'string', multiple: true },
    'dry-run': { type: 'boolean', short: 'n' },
    json: { type: 'boolean' },
    verbose: { type: 'boolean', short: 'v' },
    quiet: { type: 'boolean', short: 'q' },
    ssh: { type: 'string' },
    'ssh-command': { type: 'string' },
    'receive-command': { type: 'string' },
    protocol: { type: 'string' },
    command: { type: 'string', multiple: true },
    port: { type: 'string', short: 'p' },
    'ssh-option': { type: 'string', short: 'o', multiple: true },
    identity: { type: 'string', short: 'i', multiple: true },
    'known-hosts': { type: 'string', multiple: true },
    'byte-order': { type: 'string' },
    'idle-timeout': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean' },
  });
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse();
  } catch (e) {
    if (asksForJson(argv)) io.out(`${JSON.stringify(jsonSummary({ remote: '', dryRun: false, result: undefined, error: asOstreePushError(e), seconds: (Date.now() - started) / 1000 }))}\n`);
    throw e;
  }
  const { values, positionals } = parsed;
  if (values.help === true) {
    io.out(PUSH_USAGE);
    return 0;
  }
  if (values.version === true) {
    io.out(`${versionLine('ostree-push')}\n`);
    return 0;
  }
  const json = values.json === true;
  const [dest, ...refspecs] = positionals;
  // --delete DST is :DST.
  const refNames = [...refspecs, ...(values.delete ?? []).map((d) => `:${d}`)];
  const emitJson = (result: PushResult | undefined, error: OstreePushError | undefined, where: string) => {
    if (json) io.out(`${JSON.stringify(jsonSummary({ remote: where, dryRun: values['dry-run'] === true, result, error, seconds: (Date.now() - started) / 1000 }))}\n`);
  };
  try {
    if (dest === undefined) throw usageError('missing REMOTE (see --help)');
    // --all is what no REF means: every head under its own name.
    if (values.all === true && refNames.length > 0) throw usageError('--all takes no REF (it pushes every local head under its own name)');
    const opts: PushCliOptions = {
      force: values.force === true,
      dryRun: values['dry-run'] === true,
      quiet: values.quiet === true,
      verbose: values.verbose === true && values.quiet !== true,
      ssh: values.ssh ?? 'openssh',
      idleTimeoutMs: idleTimeoutOf(values['idle-timeout'], io.env),
    };
    if (values.repo !== undefined) opts.repo = values.repo;
    if (values['byte-order'] !== undefined) opts.byteOrder = values['byte-order'];
    if (values['ssh-command'] !== undefined) opts.sshCommand = values['ssh-command'];
    if (values['receive-command'] !== undefined) opts.receiveCommand = values['receive-command'];
    if (values.identity !== undefined) opts.identity = values.identity;
    if (values['known-hosts'] !== undefined) opts.knownHosts = values['known-hosts'];
    if (values['ssh-option'] !== undefined) opts.sshOption = values['ssh-option'];
    if (values.command !== undefined) opts.commands = values.command;
    if (values.port !== undefined) opts.port = parsePort(values.port);
    opts.protocol = parseProtocol(values.protocol);
    const pulled = (command: string, refs: ReadonlyMap<string, string>) => {
      if (json) io.out(`${JSON.stringify(pullJsonSummary({ remote: dest, dryRun: opts.dryRun, command, refs, seconds: (Date.now() - started) / 1000 }))}\n`);
    };
    return await pushTo(dest, refNames, opts, io, (r) => emitJson(r, r.ok ? undefined : r.error, dest), pulled);
  } catch (e) {
    emitJson(undefined, asOstreePushError(e), dest ?? '');
    throw e;
  }
}

interface PushCliOptions extends LinkOptions {
  repo?: string;
  protocol?: Protocol;
  /** --command: the pull form's command list. */
  commands?: string[];
  /** -p PORT */
  port?: number;
  force: boolean;
  dryRun: boolean;
  quiet: boolean;
  verbose: boolean;
  byteOrder?: string;
}

/** The pull form (with its HTTP server) is loaded only by a push that takes it. */
const pullFormModule = () => import('./push-pull-form.js');

async function pushTo(
  dest: string,
  refNames: string[],
  o: PushCliOptions,
  io: PushIo,
  done: (r: PushResult) => void,
  pulled: (command: string, refs: ReadonlyMap<string, string>) => void,
): Promise<number> {
  const order = parseOrder(o.byteOrder);
  const { quiet, verbose, dryRun } = o;
  if (o.ssh !== 'openssh' && o.ssh !== 'builtin') throw usageError(`--ssh must be 'openssh' or 'builtin', not '${o.ssh}'`);

  const parsedRemote = parseRemote(dest);
  const protocol = o.protocol ?? 'auto';
  checkSshOptions(o);
  if (parsedRemote.kind === 'local') {
    if (o.port !== undefined) throw usageError('-p applies to ssh remotes only');
    if (protocol === 'pull' || o.commands !== undefined) throw usageError('the pull form (--protocol=pull, --command) needs an ssh remote');
  }
  if (protocol === 'v0' && o.commands !== undefined) throw usageError('--command names the pull form\'s command; with --protocol=v0 use --receive-command');
  if (protocol === 'pull' && o.receiveCommand !== undefined) throw usageError('--receive-command names the version-0 command; with --protocol=pull use --command');
  if (o.commands !== undefined && o.receiveCommand !== undefined) throw usageError('--command (pull form) and --receive-command (version 0) exclude each other; choose with --protocol');
  const remote: Remote = parsedRemote.kind === 'ssh' && o.port !== undefined ? { ...parsedRemote, port: o.port } : parsedRemote;
  const repo = openSource(o.repo ?? defaultRepoPath(io.env, io.cwd));
  // Unknown refs and bad refspecs are usage errors, found before the receiver is started.
  const named = resolveRefspecs(repo, refNames);
  const offered = named.refs;

  const stderr = io.stderr ?? ((t: string | Buffer) => process.stderr.write(t));
  const progress = new Progress((t) => stderr(t), quiet ? 'off' : io.tty === true ? 'tty' : verbose ? 'lines' : 'off');
  // The remote's stderr, each message once (remote-relay.ts); -q hides all but its warnings and errors.
  const relay = new RemoteRelay((t) => progress.interject(t), { quiet });
  const onStderr = (c: Buffer) => relay.push(c);
  const lastRemoteLine = () => relay.lastLine();
  const where = describeRemote(remote);

  const pullForm = async (commands: readonly string[]) => {
    if (remote.kind !== 'ssh') throw new Error('unreachable: the pull form needs ssh');
    // The server's pull takes one force for all refs.
    if (named.forced.size > 0 && !o.force) throw usageError('+REF (force for one ref) is not available in the pull form: use --force, or --protocol=v0');
    if ([...offered.values()].includes(ZERO_CHECKSUM)) throw usageError('deleting a remote ref (:DST, --delete) is not available in the pull form: use --protocol=v0 with a receiver that offers it');
    const abort = new AbortController();
    const stop = (io.onInterrupt ?? defaultInterrupt)(() => abort.abort());
    try {
      return await pullFormWith(remote, commands, abort.signal);
    } finally {
      stop();
    }
  };
  const pullFormWith = async (remote: Extract<Remote, { kind: 'ssh' }>, commands: readonly string[], signal: AbortSignal) =>
    (await pullFormModule()).pushThroughPull({
      signal,
      remote,
      repo,
      refs: offered,
      named: refNames.length > 0,
      commands,
      flags: { dryRun, force: o.force, quiet, verbose },
      connect: () => openForwarding(remote, o, io, onStderr),
      ...(verbose ? { log: (line: string) => progress.interject(`${line}\n`) } : {}),
    });
  const endPull = async (outcome: PullOutcome): Promise<number> => {
    if (remote.kind !== 'ssh') return 1;
    const failure = (await pullFormModule()).pullFailure(outcome, remote, lastRemoteLine());
    relay.end([failure?.message ?? '']);
    if (failure !== undefined) throw failure;
    if (outcome.kind === 'ran' && !quiet) {
      const which = refNames.length > 0 ? refNames.join(', ') : `every ref it was offered (${offered.size})`;
      io.err(`ostree-push: ${where}: '${outcome.command}' ${dryRun ? 'checked (dry run)' : 'pulled'} ${which} from this repository (exit 0; its own lines above say what moved)`);
    }
    if (outcome.kind === 'ran') pulled(outcome.command, offered);
    return 0;
  };
  if (remote.kind === 'ssh' && (protocol === 'pull' || (protocol === 'auto' && o.commands !== undefined))) {
    const outcome = await pullForm(o.commands ?? (await pullFormModule()).DEFAULT_PULL_COMMANDS).catch((e: unknown) => {
      relay.end([asOstreePushError(e).message]);
      throw e;
    });
    return endPull(outcome);
  }

  // The protocol engine and its validators load while ssh connects and the receiver starts, not before.
  const engine = import('../protocol/pusher.js');
  engine.catch(() => undefined);
  const opened = await openLink(remote, o, io, onStderr).catch((e: unknown) => {
    relay.end([asOstreePushError(e).message]);
    throw e;
  });
  let link: Transport = opened;
  // auto: read the receiver's INFO first (push-protocol.ts).
  if (remote.kind === 'ssh' && protocol === 'auto' && o.receiveCommand === undefined) {
    const peeked = await peekInfo(opened.stdout);
    link = { ...opened, stdout: peeked.input };
    const probe = probeOf(peeked.info);
    let commands: readonly string[] | undefined;
    if (probe.kind === 'legacy') {
      commands = (await pullFormModule()).DEFAULT_PULL_COMMANDS.filter((c) => c !== 'ostree-receive');
    } else if (peeked.ended) {
      const status = await opened.exit.then(
        (code) => code,
        (e: unknown) => (asOstreePushError(e).code === 'TRANSPORT_RECEIVER_MISSING' ? 127 : undefined),
      );
      // 127: no version-0 receiver; 2 with argparse's words: a 1.0/1.1 `ostree-receive`, the pull form's, refusing --repo.
      if (status === 127 || (status === 2 && PULL_FORM_USAGE.test(lastRemoteLine()))) commands = (await pullFormModule()).DEFAULT_PULL_COMMANDS;
    }
    if (commands !== undefined) {
      if (verbose) progress.interject(`the receiver on ${where} ${probe.kind === 'legacy' ? 'speaks plain version 0 (no extensions)' : 'did not start'}: trying the pull form (${commands.join(', ')})\n`);
      // With a version-0 session open, a pull form that cannot even start (no forwarding there) falls back to it.
      const outcome = await pullForm(commands).catch((e: unknown) => {
        const err = asOstreePushError(e);
        if (probe.kind !== 'legacy' || err.code === 'TRANSPORT_INTERRUPTED') {
          opened.kill();
          relay.end([err.message]);
          throw err;
        }
        return err;
      });
      if (!(outcome instanceof OstreePushError) && outcome.kind === 'ran') {
        opened.kill();
        link.stdout.destroy();
        return endPull(outcome);
      }
      if (probe.kind === 'legacy') {
        const why = outcome instanceof OstreePushError ? `the pull form failed: ${outcome.message}` : `${outcome.tried.join(', ')} is not there`;
        io.err(`ostree-push: warning: the receiver on ${where} is a plain version-0 receiver, which reads no server configuration (${why}): no root, signature, permission or hook policy of the server applies to this push`);
      }
    }
  }
  let interrupted = false;
  let allSent = false;
  const stopListening = (io.onInterrupt ?? defaultInterrupt)(() => {
    interrupted = true;
    link.kill();
  });
  const options: PushOptions = {
    repo,
    refs: refNames,
    force: o.force,
    dryRun,
    input: link.stdout,
    output: link.stdin,
    order,
    remoteExit: link.exit,
    idleTimeoutMs: o.idleTimeoutMs,
    // Lost after DONE: a second session reads the remote's refs (never after Ctrl-C).
    reconnect: async () => {
      if (interrupted) throw new TransportError('TRANSPORT_INTERRUPTED', 'interrupted', { remote: where });
      const second = await openLink(remote, o, io, onStderr);
      return {
        input: second.stdout,
        output: second.stdin,
        close: async () => {
          await Promise.race([second.exit.catch(() => undefined), new Promise((r) => setTimeout(r, 5000).unref())]);
          second.kill();
          second.stdout.destroy();
        },
      };
    },
    onProgress: (p) => {
      allSent = p.objectsSent >= p.objectsTotal;
      progress.update(p);
    },
  };
  if (verbose) options.log = (line) => progress.interject(`${line}\n`);
  let result: PushResult;
  try {
    result = await (await engine).push(options);
  } catch (e) {
    link.kill();
    progress.finish();
    if (interrupted) {
      relay.end([]);
      throw new TransportError(
        'TRANSPORT_INTERRUPTED',
        allSent
          ? `interrupted after every object was sent; the receiver may have published: check the refs on ${where}`
          : `interrupted; nothing was published on ${where} (the receiver publishes only a complete push)`,
        { remote: where },
      );
    }
    await drained(link);
    const failure = await explain(e, link, lastRemoteLine, where);
    relay.end([failure.message]);
    throw failure;
  } finally {
    stopListening();
    link.stdout.destroy();
  }
  progress.finish();
  await link.exit.catch(() => undefined);
  if (interrupted && result.checkedAfterLoss !== undefined) {
    throw new TransportError('TRANSPORT_INTERRUPTED', `interrupted after every object was sent; the receiver may have published: check the refs on ${where}`, { remote: where });
  }
  await drained(link);
  relay.end([...result.refs.map((r) => (r.status === 'refused' ? (r.reason ?? '') : '')), result.error?.message ?? '']);
  // -q still prints the refs that failed: they carry the reasons.
  for (const line of reportLines(result, { dest, verbose, dryRun, failuresOnly: quiet })) io.err(line);
  if (result.checkedAfterLoss?.outcome === 'pushed') {
    io.err(`ostree-push: warning: ${result.checkedAfterLoss.reason}; a second session shows the refs moved: pushed`);
  }
  // A dry run also says whether each commit carries what the remote requires (spec/protocol.md 12.6).
  if (!quiet && dryRun) for (const line of await (await import('./push-signatures.js')).signatureLines(repo, result)) io.err(line);
  done(result);
  if (result.ok) return 0;
  const err: OstreePushError | undefined = result.error;
  if (err !== undefined) io.err(`ostree-push: ${closingLine(result, err, dest)}`);
  return err?.exitCode ?? 1;
}

/** Waits (briefly) until the receiver's stderr is read to its end, so its last line is judged before the report. */
async function drained(link: Transport): Promise<void> {
  const s = link.stderr;
  if (s === null || s.readableEnded || s.destroyed) return;
  await new Promise<void>((resolve) => {
    s.once('end', resolve);
    s.once('close', resolve);
    s.once('error', () => resolve());
    setTimeout(resolve, 1000).unref();
  });
}

