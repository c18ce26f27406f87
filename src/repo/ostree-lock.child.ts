/**
 * Test helper for ostree-lock.test.ts (not a test itself): takes ostree's
 * shared lock on the repository named by argv[2], prints `locked <holder pid>`
 * and waits to be killed.
 */
import { acquireOstreeLock } from './ostree-lock.js';
import { Repo } from './repo.js';

const lock = await acquireOstreeLock(Repo.open(process.argv[2] as string), 'shared');
process.stdout.write(`locked ${lock.pid ?? 0}\n`);
setInterval(() => undefined, 1 << 30);
