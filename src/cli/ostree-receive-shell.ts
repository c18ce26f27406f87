#!/usr/bin/env -S node --max-semi-space-size=4
/**
 * ostree-receive-shell: the restricted login shell / ForceCommand that runs
 * only ostree-receive. See receive-shell.ts for what it accepts.
 */
import { runMain } from './common.js';
import { shellMain } from './receive-shell.js';

process.exitCode = await runMain('ostree-receive-shell', () => shellMain(process.argv.slice(2), process.env));
