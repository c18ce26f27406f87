/**
 * Test helper for receiver-signal.test.ts (not a test itself): the receiver
 * engine on stdin/stdout for the repository given, nothing else.
 *
 *   tsx receiver-signal.child.ts REPO
 */
import { openRepoForWriting } from '../repo/open-for-writing.js';
import { receive } from './receiver.js';

const repo = openRepoForWriting(process.argv[2] as string);
const r = await receive({ repo, input: process.stdin, output: process.stdout });
process.exitCode = r.outcome === 'published' || r.outcome === 'idle' ? 0 : 1;
process.stdin.destroy();
