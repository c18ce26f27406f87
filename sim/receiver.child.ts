/**
 * The receiver as a child process the simulator can kill for real: like
 * `ostree-receive --repo=PATH` (protocol on stdin/stdout, exit 0 idle or
 * published, 1 otherwise), plus the fault layer of fs-faults.ts taken from
 * SIM_FS_FAULTS (JSON: { fail?, kill? }); a kill point SIGKILLs this process.
 * SIM_IDLE_MS sets the idle timeout. With SIM_REPORT=FILE it writes there
 * `killed` just before a kill, else at exit `fs` (the planned fs fault hit)
 * or `none`: behind sshd the runner has no other way to learn it.
 *
 *   node --import tsx sim/receiver.child.ts --repo=PATH
 */
import { writeFileSync } from 'node:fs';
import { receive } from '../src/protocol/index.js';
import { openRepoForWriting } from '../src/repo/index.js';
import { installFsFaults, type FsFaultPlan } from './fs-faults.js';

const repoArg = process.argv.find((a) => a.startsWith('--repo='));
if (repoArg === undefined) {
  process.stderr.write('usage: receiver.child.ts --repo=PATH\n');
  process.exit(2);
}
const path = repoArg.slice('--repo='.length);
const plan = JSON.parse(process.env.SIM_FS_FAULTS ?? '{}') as Omit<FsFaultPlan, 'root' | 'onKill'>;
const reportFile = process.env.SIM_REPORT;
const note = (what: string): void => {
  if (reportFile !== undefined && reportFile !== '') writeFileSync(reportFile, what);
};
const faults = installFsFaults({
  ...plan,
  root: path,
  onKill: () => {
    note('killed');
    process.kill(process.pid, 'SIGKILL');
  },
});

let code = 1;
try {
  const result = await receive({
    repo: openRepoForWriting(path),
    input: process.stdin,
    output: process.stdout,
    policy: { idleTimeoutMs: Number(process.env.SIM_IDLE_MS ?? 2000) },
  });
  code = result.outcome === 'idle' || result.outcome === 'published' ? 0 : 1;
} catch (e) {
  process.stderr.write(`receiver.child: ${e instanceof Error ? e.message : String(e)}\n`);
} finally {
  note(faults.failed ? 'fs' : 'none');
}
process.stdout.write('', () => process.exit(code));
