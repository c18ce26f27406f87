/**
 * A plain version-0 receiver for tests: our receiver engine with the
 * extensions off (no capabilities in INFO) and no configuration read, as
 * the 2015 receiver and 1.x's legacy entry behave. Run as
 * `plain-v0-receiver.ts --repo=PATH` on stdin/stdout.
 */
import { receive } from '../src/protocol/index.js';
import { openRepoForWriting } from '../src/repo/index.js';

const arg = process.argv.slice(2).find((a) => a.startsWith('--repo='));
if (arg === undefined) {
  process.stderr.write('usage: plain-v0-receiver --repo=PATH\n');
  process.exit(2);
}
const result = await receive({ repo: openRepoForWriting(arg.slice('--repo='.length)), input: process.stdin, output: process.stdout, extensions: false });
process.stdout.write('', () => process.exit(result.outcome === 'idle' || result.outcome === 'published' ? 0 : 1));
