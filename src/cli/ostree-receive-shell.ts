#!/usr/bin/env -S node --max-semi-space-size=4 --heap-growing-percent=50
/**
 * ostree-receive-shell: the restricted login shell / ForceCommand that runs
 * only ostree-receive. See receive-shell.ts for what it accepts.
 * `ostree-receive-shell --version` prints its own version.
 */
import { runMain } from './run-main.js';
import { versionLine } from './version-line.js';
import { shellMain } from './receive-shell.js';

const PROG = 'ostree-receive-shell';
const argv = process.argv.slice(2);
if (argv.length === 1 && argv[0] === '--version') {
  process.stdout.write(`${versionLine(PROG)}\n`);
} else {
  process.exitCode = await runMain(PROG, () => shellMain(argv, process.env));
}
