#!/usr/bin/env node
/**
 * ostree-receive --repo=PATH [-v]
 *
 * The receiving end, as version 0 runs it (`ssh HOST ostree-receive
 * --repo=PATH`): the protocol on stdin/stdout and nothing else on stdout;
 * log lines and the one-line error on stderr. Exit status 0 when the session
 * ended idle or published, 1 when refused or aborted, else the ending
 * error's status (2 usage or a bad configuration file).
 *
 * The configuration (receive-config.ts) applies to every session: `root`
 * confines PATH, `force` allows non-fast-forward updates, `log_level: debug`
 * means -v, `update_hook` runs after refs moved, with OSTREE_RECEIVE_REPO
 * and OSTREE_RECEIVE_REFS (`ref:from:to`, space-separated) in its
 * environment and its output on our stderr; a failing hook is reported and
 * does not change the exit status (the refs are already published).
 * `dry_run: true` is refused with CONFIG_INVALID: the engine cannot yet
 * receive without publishing, and doing it anyway would break the promise.
 */
import { spawnSync } from 'node:child_process';
import { openRepoForWriting } from '../repo/staging.js';
import { receive, type ReceiveResult } from '../protocol/receiver.js';
import { parseCommandLine, runMain, usageError } from './common.js';
import { ConfigError, loadReceiveConfig, resolveRepoPath, settingsFor } from './receive-config.js';

const PROG = 'ostree-receive';
const USAGE = 'usage: ostree-receive --repo=PATH [-v]';

// stdout belongs to the protocol: anything printed by mistake goes to stderr.
console.log = console.error;
console.info = console.error;

function runHook(hook: string, repoPath: string, result: ReceiveResult): void {
  const refs = result.updated.map((u) => `${u.ref}:${u.from}:${u.to}`).join(' ');
  // The hook's stdout would corrupt the protocol stream: it goes to stderr.
  const r = spawnSync('/bin/sh', ['-c', hook], {
    stdio: ['ignore', 2, 2],
    env: { ...process.env, OSTREE_RECEIVE_REPO: repoPath, OSTREE_RECEIVE_REFS: refs },
    timeout: 10 * 60 * 1000,
  });
  if (r.status !== 0) process.stderr.write(`${PROG}: update_hook '${hook}' failed (${r.error?.message ?? `status ${String(r.status ?? r.signal)}`}); the refs were published\n`);
}

async function main(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, {
    repo: { type: 'string' },
    verbose: { type: 'boolean', short: 'v' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help === true) {
    process.stderr.write(`${USAGE}\n`);
    return 0;
  }
  if (positionals.length > 0) throw usageError(`unexpected argument '${positionals[0]}'`);
  if (values.repo === undefined || values.repo === '') throw usageError('--repo=PATH is required');
  const config = loadReceiveConfig();
  const path = resolveRepoPath(config, values.repo);
  const settings = settingsFor(config, path);
  if (settings.dryRun) {
    throw new ConfigError('CONFIG_INVALID', `${String(config.file)}: dry_run is set, and this receiver cannot receive without publishing yet; refusing`, { file: config.file, key: 'dry_run' });
  }
  const repo = openRepoForWriting(path);
  const verbose = values.verbose === true || settings.logLevel === 'debug';
  const result = await receive({
    repo,
    input: process.stdin,
    output: process.stdout,
    policy: { allowForce: settings.force },
    log: (line) => {
      if (verbose) process.stderr.write(`${PROG}: ${line}\n`);
    },
  });
  if (result.error !== undefined) process.stderr.write(`${PROG}: ${result.error.message}\n`);
  if (result.outcome === 'published' && settings.updateHook !== null) runHook(settings.updateHook, path, result);
  if (result.outcome === 'idle' || result.outcome === 'published') return 0;
  return 1;
}

const code = await runMain(PROG, () => main(process.argv.slice(2)));
// Flush stdout (the protocol) before leaving; stdin may still be open.
process.stdout.write('', () => process.exit(code));
