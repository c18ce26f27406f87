#!/usr/bin/env -S node --max-semi-space-size=4 --heap-growing-percent=50
/**
 * ostree-receive --repo=PATH [-v|--verbose] [--debug]
 * ostree-receive --repo=s3://BUCKET/PREFIX [--init]
 * ostree-receive --version
 * ostree-receive [-n] [-f] [-q] [-v] [--no-update] REPO URL [REF...]   (1.x's form: receive-pull.ts)
 *
 * The receiving end, as version 0 runs it (`ssh HOST ostree-receive
 * --repo=PATH`, and the 2015 pusher adds `--verbose` and `--debug` when it
 * was given them: `--debug` means the same as -v here): the protocol on stdin/stdout and nothing else on stdout;
 * log lines and the one-line error on stderr. Exit status 0 when the session
 * ended idle or published, 1 when refused or aborted, else the ending
 * error's status (2 usage or a bad configuration file).
 *
 * With `--repo=s3://BUCKET/PREFIX` the repository is a bucket (src/bucket/):
 * the same session, published into it children first with the refs moved by
 * compare-and-swap; `--init` writes an archive config into a bucket without
 * one and exits. A bucket takes the configuration's top-level settings, and
 * is refused when `root` is set (root confines repositories on disk).
 *
 * The configuration (receive-config.ts) applies to every session: `root`
 * confines PATH, `force` allows non-fast-forward updates, `log_level: debug`
 * means -v, and the receive policy (src/policy/: signature verification,
 * signing on receive, the summary, `ref_permissions`, `update_hook`) is
 * built from the top-level keys overlaid by PATH's `repos` entry, its key
 * files loaded before INFO is sent: a bad setting ends the receiver with
 * one line and status 2 before anything is received.
 *
 * A refused push (unsigned commit, ref not allowed, a commit bound to
 * another ref or collection, …) is one line on stderr and status 1, and then
 * no ref was written. With the extensions on, INFO advertises `force`,
 * `ref_permissions`, the signatures required and the collection id
 * (spec/protocol.md 12.6), so a pusher can reject such refs before sending
 * anything. Once a ref file was written the status is 0 whatever follows: a
 * failing update hook or summary, or a pusher gone before the REPORT, is one
 * warning line each (the refs are already published).
 * `dry_run: true` is refused with CONFIG_INVALID: the engine cannot yet
 * receive without publishing, and doing it anyway would break the promise.
 *
 * The limits (idle time, session deadline, objects and bytes per push,
 * receivers per repository, free-space floor: src/protocol/receive-limits.ts)
 * come from the file, PATH's `repos` entry, then the command line. A
 * refusal by one of them is one stderr line and status 1, after a STATUS
 * false where the protocol has one (REPO_BUSY comes before INFO).
 */
import { receiverPolicyParts } from '../policy/engine.js';
import { receive } from '../protocol/receiver.js';
import { openRepoForWriting } from '../repo/open-for-writing.js';
import { parseCommandLine, usageError } from './command-line.js';
import { runMain } from './run-main.js';
import { versionLine } from './version-line.js';
import { ConfigError, fileOf, loadReceiveConfig, receivePolicyFor, resolveRepoPath, settingsFor } from './receive-config.js';
import { LIMIT_KEYS, LIMIT_OPTIONS, limitsFromOptions, type LimitSettings } from './receive-limits-config.js';
import { isPullForm } from './receive-pull-form.js';

const PROG = 'ostree-receive';
const USAGE = `usage: ostree-receive --repo=PATH|s3://BUCKET/PREFIX [-v|--verbose] [--debug] [--idle-timeout=SECONDS] [--session-timeout=SECONDS]
                      [--max-push-bytes=N] [--max-push-objects=N] [--max-receivers=N] [--min-free-space=BYTES]
       ostree-receive --repo=s3://BUCKET/PREFIX --init
       ostree-receive [-n|--dry-run] [-f|--force] [-q|--quiet] [-v|--verbose] [--no-update] [LIMITS] REPO URL [REF...]
       ostree-receive --version
(the form with REPO URL is 1.x's: pull REFs, or every ref of URL's summary, from URL, an archive repository
served over http://, with the same configuration and checks as a push; the limits override the configuration file's idle_timeout, session_timeout, max_push_bytes,
max_push_objects, max_receivers and min_free_space; 0 is no limit, except for --idle-timeout)`;

// stdout belongs to the protocol: anything printed by mistake goes to stderr.
console.log = console.error;
console.info = console.error;

/** The limits among the settings, for the receiver's policy. */
function limitsOf(settings: LimitSettings): LimitSettings {
  const out: LimitSettings = {};
  for (const { field } of LIMIT_KEYS) if (settings[field] !== undefined) Object.assign(out, { [field]: settings[field] });
  return out;
}

/** A configured hook command may span lines; what we print about it may not. */
function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}

async function main(argv: readonly string[]): Promise<number> {
  // 1.x's form (REPO URL [REF...], no --repo): a pull from the URL (receive-pull.ts, loaded only then).
  if (isPullForm(argv) && !argv.includes('--help') && !argv.includes('-h') && !argv.includes('--version')) return (await import('./receive-pull.js')).pullMain(argv);
  const { values, positionals } = parseCommandLine(argv, {
    repo: { type: 'string' },
    verbose: { type: 'boolean', short: 'v' },
    debug: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean' },
    init: { type: 'boolean' },
    ...LIMIT_OPTIONS,
  });
  if (values.help === true) {
    process.stderr.write(`${USAGE}\n`);
    return 0;
  }
  // Not a session: nothing else is on stdout (`ssh HOST ostree-receive --version` reads it).
  if (values.version === true) {
    process.stdout.write(`${versionLine(PROG)}\n`);
    return 0;
  }
  if (positionals.length > 0) throw usageError(`unexpected argument '${positionals[0]}'`);
  if (values.repo === undefined || values.repo === '') throw usageError('--repo=PATH is required');
  const fromCommandLine = limitsFromOptions(values);
  const config = loadReceiveConfig();
  if (values.repo.startsWith('s3://')) return receiveBucket(values, config, fromCommandLine);
  if (values.init === true) throw usageError('--init is for an s3:// repository (a directory is made with ostree init --mode=archive)');
  const path = resolveRepoPath(config, values.repo);
  const session = sessionOptions(values, config, path, fromCommandLine);
  const repo = openRepoForWriting(path);
  return finish(await receive({ repo, input: process.stdin, output: process.stdout, ...session }));
}

/**
 * What a session into LOCATION (a repository path or a bucket URL) takes from
 * the configuration and the command line: its policy and its log. A
 * configured dry run is refused: a version-0 session cannot receive without
 * publishing.
 */
function sessionOptions(values: { verbose?: boolean; debug?: boolean }, config: ReturnType<typeof loadReceiveConfig>, location: string, fromCommandLine: LimitSettings) {
  const settings = { ...settingsFor(config, location), ...fromCommandLine };
  if (settings.dryRun) {
    throw new ConfigError('CONFIG_INVALID', `${String(fileOf(config, 'dry_run'))}: dry_run is set, and this receiver cannot receive without publishing yet; refusing`, { file: fileOf(config, 'dry_run'), key: 'dry_run' });
  }
  const policy = receivePolicyFor(config, location);
  const verbose = values.verbose === true || values.debug === true || settings.logLevel === 'debug';
  return {
    policy: { allowForce: settings.force, ...receiverPolicyParts(policy), ...limitsOf(settings) },
    log: (line: string) => {
      if (verbose) process.stderr.write(`${PROG}: ${line}\n`);
    },
  };
}

/**
 * --repo=s3://BUCKET/PREFIX (src/bucket/): the same session, published into
 * the bucket. `--init` writes an archive config into a bucket that has none
 * and exits (no session). `root` confines repositories on disk: with it set,
 * a bucket is refused. The bucket's settings are the top-level ones.
 */
async function receiveBucket(values: { repo?: string; init?: boolean; verbose?: boolean; debug?: boolean }, config: ReturnType<typeof loadReceiveConfig>, fromCommandLine: LimitSettings): Promise<number> {
  const url = values.repo as string;
  if (config.root !== null) {
    throw new ConfigError('CONFIG_INVALID', `${String(config.file)}: root confines repositories to ${config.root}; an s3:// repository is outside it, refused`, { file: config.file, key: 'root' });
  }
  // Loaded only for a bucket: the S3 SDK is large.
  const bucket = await import('../bucket/index.js');
  if (values.init === true) {
    (await bucket.BucketRepo.open(url, { init: true, forWriting: true })).close();
    process.stderr.write(`${PROG}: ${url} is an archive repository\n`);
    return 0;
  }
  const session = sessionOptions(values, config, url, fromCommandLine);
  return finish(await bucket.receiveIntoBucket({ url, input: process.stdin, output: process.stdout, ...session }));
}

function finish(result: Awaited<ReturnType<typeof receive>>): number {
  if (result.error !== undefined) process.stderr.write(`${PROG}: ${oneLine(result.error.message)}\n`);
  // Whatever went wrong after the refs moved (summary, the link) cannot undo them: warnings, status 0.
  for (const w of result.warnings) process.stderr.write(`${PROG}: warning: ${oneLine(w.message)}\n`);
  // The hook's failure cannot undo the publication: a warning, status unchanged.
  if (result.hook !== undefined && !result.hook.ok) process.stderr.write(`${PROG}: warning: ${oneLine(result.hook.error?.message ?? 'the update hook failed')}\n`);
  if (result.outcome === 'idle' || result.outcome === 'published') return 0;
  return 1;
}

const code = await runMain(PROG, () => main(process.argv.slice(2)));
// Flush stdout (the protocol) before leaving; stdin may still be open.
process.stdout.write('', () => process.exit(code));
