/**
 * The body of `ostree-push`, callable in-process (tests) as well as from the
 * entry point.
 *
 *   ostree-push [--repo=PATH] [-f|--force] [-n|--dry-run] [-v] [-q] DEST [REF...]
 *
 * --repo defaults as in ostree (common.ts defaultRepoPath). DEST is a local
 * path or file:///path; ssh destinations (host:path, ssh://) are refused
 * with PUSH_DEST_UNSUPPORTED until ssh support lands. REFs are refs/heads
 * names; none means every local ref. `--byte-order=be` makes the pusher send
 * big-endian messages: it is there for testing interoperability only.
 *
 * Exit status: 0 pushed or nothing to do; 1 refused or rejected; 2 usage;
 * 3 transport failure.
 */
import { OstreePushError } from '../errors.js';
import { localRefs } from '../protocol/push-plan.js';
import { push, type PushOptions } from '../protocol/pusher.js';
import { Repo } from '../repo/repo.js';
import { spawnLocalReceiver, type RemoteProcess } from '../transport/local.js';
import type { ByteOrder } from '../wire/constants.js';
import { defaultRepoPath, looksLikeRepo, parseCommandLine, usageError } from './common.js';
import { progressLine, reportLines } from './push-report.js';

export const PUSH_USAGE = `usage: ostree-push [--repo=PATH] [-f|--force] [-n|--dry-run] [-v] [-q] DEST [REF...]

Push refs of a local archive repository to DEST (a local path or file:///path)
as git push does: only fast-forwards unless --force, only the missing objects.

  --repo=PATH     the source repository (default: the current directory if it
                  is a repository, else $OSTREE_REPO, else /ostree/repo)
  -f, --force     also ask for non-fast-forward updates
  -n, --dry-run   show what would be pushed and sent; change nothing
  -v, --verbose   more detail (up-to-date refs, each step)
  -q, --quiet     print errors only
  --byte-order=le|be   byte order of the messages sent (for testing)
`;

export interface PushIo {
  err(line: string): void;
  out(text: string): void;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Whether stderr is a terminal (progress lines). */
  tty?: boolean;
  /** How to start the receiver (tests replace it). */
  spawn?: (destPath: string) => RemoteProcess;
}

export type Destination = { kind: 'local'; path: string };

/** DEST → where it is. Only local destinations exist so far. */
export function parseDestination(dest: string): Destination {
  if (dest === '') throw usageError('DEST is empty');
  if (dest.startsWith('file:')) {
    let url: URL;
    try {
      url = new URL(dest);
    } catch {
      throw usageError(`'${dest}' is not a valid file: URL`);
    }
    if (url.hostname !== '' && url.hostname !== 'localhost') {
      throw usageError(`'${dest}': a file: URL must name a local path (file:///path)`, 'PUSH_DEST_UNSUPPORTED', { dest });
    }
    return { kind: 'local', path: decodeURIComponent(url.pathname) };
  }
  const colon = dest.indexOf(':');
  const slash = dest.indexOf('/');
  // git's rule: a ':' before any '/' makes it a remote (host:path, ssh://...).
  if (colon > 0 && (slash === -1 || colon < slash)) {
    throw usageError(`'${dest}': remote destinations (host:path, ssh://) are not supported yet; use a local path or file:///path`, 'PUSH_DEST_UNSUPPORTED', {
      dest,
    });
  }
  return { kind: 'local', path: dest };
}

function parseOrder(v: string | undefined): ByteOrder {
  if (v === undefined || v === 'le') return 'le';
  if (v === 'be') return 'be';
  throw usageError(`--byte-order must be 'le' or 'be', not '${v}'`);
}

export async function pushMain(argv: readonly string[], io: PushIo): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, {
    repo: { type: 'string' },
    force: { type: 'boolean', short: 'f' },
    'dry-run': { type: 'boolean', short: 'n' },
    verbose: { type: 'boolean', short: 'v' },
    quiet: { type: 'boolean', short: 'q' },
    'byte-order': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help === true) {
    io.out(PUSH_USAGE);
    return 0;
  }
  const [dest, ...refNames] = positionals;
  if (dest === undefined) throw usageError('missing DEST (see --help)');
  const order = parseOrder(values['byte-order']);
  const quiet = values.quiet === true;
  const verbose = values.verbose === true && !quiet;
  const dryRun = values['dry-run'] === true;

  const repo = Repo.open(values.repo ?? defaultRepoPath(io.env, io.cwd));
  void repo.objects; // REPO_UNSUPPORTED_MODE now, before anything is started
  const target = parseDestination(dest);
  if (!looksLikeRepo(target.path)) {
    throw usageError(`'${dest}' is not an OSTree repository`, 'PUSH_DEST_NOT_REPO', { dest });
  }
  // Unknown refs are usage errors, found before the receiver is started.
  localRefs(repo, refNames);

  const remote = (io.spawn ?? ((p: string) => spawnLocalReceiver(p)))(target.path);
  let progressShown = false;
  const options: PushOptions = {
    repo,
    refs: refNames,
    force: values.force === true,
    dryRun,
    input: remote.stdout,
    output: remote.stdin,
    order,
    remoteExit: remote.exit,
  };
  if (io.tty === true && !quiet) {
    options.onProgress = (p) => {
      progressShown = true;
      process.stderr.write(`\r${progressLine(p)}`);
    };
  }
  if (verbose) options.log = (line) => io.err(line);
  let result;
  try {
    result = await push(options);
  } catch (e) {
    remote.kill();
    await remote.exit.catch(() => undefined);
    throw e;
  } finally {
    if (progressShown) process.stderr.write('\n');
    remote.stdout.destroy();
  }
  await remote.exit.catch(() => undefined);
  if (!quiet) for (const line of reportLines(result, { dest, verbose, dryRun })) io.err(line);
  if (result.ok) return 0;
  const err: OstreePushError | undefined = result.error;
  if (err !== undefined) io.err(`ostree-push: ${err.message}`);
  return err?.exitCode ?? 1;
}
