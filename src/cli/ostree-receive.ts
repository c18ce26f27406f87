#!/usr/bin/env node
/**
 * ostree-receive --repo=PATH
 *
 * The receiving end, as version 0 runs it (`ssh HOST ostree-receive
 * --repo=PATH`): the protocol on stdin/stdout and nothing else on stdout;
 * log lines and the one-line error on stderr. Exit status 0 when the session
 * ended idle or published, 1 when refused or aborted, else the ending
 * error's status (2 usage).
 */
import { openRepoForWriting } from '../repo/staging.js';
import { receive } from '../protocol/receiver.js';
import { parseCommandLine, runMain, usageError } from './common.js';

const PROG = 'ostree-receive';
const USAGE = 'usage: ostree-receive --repo=PATH [-v]';

// stdout belongs to the protocol: anything printed by mistake goes to stderr.
console.log = console.error;
console.info = console.error;

async function main(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(
    argv,
    {
      repo: { type: 'string' },
      verbose: { type: 'boolean', short: 'v' },
      help: { type: 'boolean', short: 'h' },
    },
  );
  if (values.help === true) {
    process.stderr.write(`${USAGE}\n`);
    return 0;
  }
  if (positionals.length > 0) throw usageError(`unexpected argument '${positionals[0]}'`);
  if (values.repo === undefined || values.repo === '') throw usageError('--repo=PATH is required');
  const repo = openRepoForWriting(values.repo);
  const verbose = values.verbose === true;
  const result = await receive({
    repo,
    input: process.stdin,
    output: process.stdout,
    log: (line) => {
      if (verbose) process.stderr.write(`${PROG}: ${line}\n`);
    },
  });
  if (result.error !== undefined) process.stderr.write(`${PROG}: ${result.error.message}\n`);
  if (result.outcome === 'idle' || result.outcome === 'published') return 0;
  return 1;
}

const code = await runMain(PROG, () => main(process.argv.slice(2)));
// Flush stdout (the protocol) before leaving; stdin may still be open.
process.stdout.write('', () => process.exit(code));
