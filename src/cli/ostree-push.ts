#!/usr/bin/env -S node --max-semi-space-size=4 --heap-growing-percent=50
/**
 * ostree-push [--repo=PATH] [-f] [--all] [-n] [--json] [-v|-q] [--protocol=auto|v0|pull]
 *             [--ssh=openssh|builtin] [--ssh-command=CMD] [-p PORT] [-o OPTION] [-i FILE]
 *             [--receive-command=CMD] [--command=CMD] REMOTE [REFSPEC...]
 *
 * See push-command.ts for the options and exit statuses. Results and errors
 * go to stderr, one line each; --help goes to stdout.
 */
import { runMain, stderrConsole } from './run-main.js';
import { pushMain } from './push-command.js';

process.exitCode = await runMain('ostree-push', () =>
  pushMain(process.argv.slice(2), {
    err: stderrConsole.err,
    out: (text) => process.stdout.write(text),
    env: process.env,
    cwd: process.cwd(),
    tty: process.stderr.isTTY === true,
  }),
);
