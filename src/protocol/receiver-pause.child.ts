/**
 * Test helper for ostree-race.test.ts (not a test itself): the receiver on
 * stdin/stdout, stopping for good at the publication step named by PAUSE_AT
 * (it writes `paused STEP` to stderr there), so a test can kill it while it
 * holds its locks; with PAUSE_KILL=1 it SIGKILLs itself there.
 *
 *   PAUSE_AT=published node --import tsx receiver-pause.child.ts --repo=PATH
 */
import { openRepoForWriting } from '../repo/open-for-writing.js';
import { receive } from './receiver.js';

const path = (process.argv.find((a) => a.startsWith('--repo=')) ?? '--repo=.').slice('--repo='.length);
const at = process.env.PAUSE_AT;
const result = await receive({
  repo: openRepoForWriting(path),
  input: process.stdin,
  output: process.stdout,
  hooks: {
    pause: (step) => {
      if (step !== at) return;
      process.stderr.write(`paused ${step}\n`);
      // PAUSE_KILL=1: die right there, as a receiver killed at that step would.
      if (process.env.PAUSE_KILL === '1') process.kill(process.pid, 'SIGKILL');
      return new Promise<void>(() => undefined);
    },
  },
});
process.stdout.write('', () => process.exit(result.outcome === 'idle' || result.outcome === 'published' ? 0 : 1));
