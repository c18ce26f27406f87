/**
 * ostree-receive in 1.x form (what the 1.x pusher runs on the server, as
 * `ostree-receive-1`, then as `ostree-receive` on exit 127):
 *
 *   ostree-receive[-1] [-n] [-f] [-q] [-v] [--no-update] REPO URL [REF...]
 *
 * pulls REFs (all of the remote's summary when none is named, less the
 * generated appstream/ and ostree-metadata refs) from URL, an archive
 * repository served over plain HTTP, into REPO (src/protocol/pull.ts), under
 * the same configuration as a version-0 push: `root` confines REPO, the
 * policy (signatures, signing, ref permissions, update hook, summary), the
 * bindings and the limits apply unchanged.
 *
 *   -n, --dry-run   fetch and check everything, publish nothing (as does `dry_run: true`)
 *   -f, --force     also refs whose new commit is not newer than the current
 *                   one, or has the same tree (1.x's rule), and ask for a
 *                   non-fast-forward, which `force: true` in the server's
 *                   configuration (and the ref's `force` permission) must allow
 *   -q, --quiet     warnings and errors only
 *   -v, --verbose   every object fetched, too
 *   --no-update     no summary update and no update hook
 *   the limit options of the version-0 form (--idle-timeout …)
 *
 * Log lines on stderr, `ostree-receive: ` first. Exit 0 when the refs moved,
 * were up to date, or the dry run passed; else the error's status (1 for a
 * refusal or a failed pull, 2 for usage and configuration): never 127, which
 * the 1.x pusher takes for "not installed".
 */
import { receiverPolicyParts } from '../policy/engine.js';
import { pull, type PullLogLevel } from '../protocol/pull.js';
import { parseRemoteUrl } from '../protocol/pull-http.js';
import { openRepoForWriting } from '../repo/open-for-writing.js';
import { parseCommandLine, usageError } from './command-line.js';
import { loadReceiveConfig, receivePolicyFor, resolveRepoPath, settingsFor } from './receive-config.js';
import { LIMIT_OPTIONS, limitsFromOptions } from './receive-limits-config.js';

const PROG = 'ostree-receive';

export { isPullForm } from './receive-pull-form.js';

const RANK: Record<PullLogLevel | 'error', number> = { debug: 0, info: 1, warning: 2, error: 3 };

export async function pullMain(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, {
    'dry-run': { type: 'boolean', short: 'n' },
    force: { type: 'boolean', short: 'f' },
    quiet: { type: 'boolean', short: 'q' },
    verbose: { type: 'boolean', short: 'v' },
    'no-update': { type: 'boolean' },
    ...LIMIT_OPTIONS,
  });
  const [repoArg, urlArg, ...refs] = positionals;
  if (repoArg === undefined || urlArg === undefined) throw usageError('REPO and URL are required (see --help)');
  const url = parseRemoteUrl(urlArg);
  const fromCommandLine = limitsFromOptions(values);
  const config = loadReceiveConfig(env);
  const path = resolveRepoPath(config, repoArg);
  const settings = { ...settingsFor(config, path), ...fromCommandLine };
  const policy = receivePolicyFor(config, path);
  const repo = openRepoForWriting(path);
  // As 1.x: the command line's -q/-v over the file's log_level.
  const level: PullLogLevel | 'error' =
    values.verbose === true ? 'debug' : values.quiet === true ? 'warning' : settings.logLevel === 'debug' ? 'debug' : settings.logLevel === 'info' ? 'info' : settings.logLevel === 'warning' ? 'warning' : 'error';
  const say = (l: PullLogLevel | 'error', line: string): void => {
    if (RANK[l] >= RANK[level]) process.stderr.write(`${PROG}: ${l === 'warning' ? 'warning: ' : ''}${line.replace(/\s*\n\s*/g, ' ')}\n`);
  };
  const parts = receiverPolicyParts(policy);
  const result = await pull({
    repo,
    url,
    refs,
    force: values.force === true,
    dryRun: values['dry-run'] === true || settings.dryRun,
    update: values['no-update'] !== true,
    policy: {
      // As for a push: the server allows forcing (`force`), the command asks for it (-f).
      allowForce: settings.force && values.force === true,
      canSignSummary: parts.canSignSummary,
      ...(parts.signSummary === undefined ? {} : { signSummary: parts.signSummary }),
      alwaysWriteSummary: parts.alwaysWriteSummary,
      leaveSummary: parts.leaveSummary,
      recommit: parts.recommit,
      checks: parts.checks,
      ...(settings.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: settings.idleTimeoutMs }),
      ...(settings.sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs: settings.sessionTimeoutMs }),
      ...(settings.maxPushBytes === undefined ? {} : { maxPushBytes: settings.maxPushBytes }),
      ...(settings.maxPushObjects === undefined ? {} : { maxPushObjects: settings.maxPushObjects }),
      ...(settings.maxReceivers === undefined ? {} : { maxReceivers: settings.maxReceivers }),
      ...(settings.minFreeBytes === undefined ? {} : { minFreeBytes: settings.minFreeBytes }),
    },
    log: say,
  });
  for (const w of result.warnings) say('warning', w.message);
  if (result.hook !== undefined && !result.hook.ok) say('warning', result.hook.error?.message ?? 'the update hook failed');
  if (result.error !== undefined) {
    process.stderr.write(`${PROG}: ${result.error.message.replace(/\s*\n\s*/g, ' ')}\n`);
    return result.error.exitCode === 127 ? 1 : result.error.exitCode;
  }
  return 0;
}
