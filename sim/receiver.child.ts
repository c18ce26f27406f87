/**
 * The receiver as a child process the simulator can kill for real: like
 * `ostree-receive --repo=PATH` (protocol on stdin/stdout, exit 0 idle or
 * published, 1 otherwise), plus the fault layer of fs-faults.ts taken from
 * SIM_FS_FAULTS (JSON: { fail?, kill? }); a kill point SIGKILLs this process.
 * SIM_IDLE_MS sets the idle timeout.
 *
 *   node --import tsx sim/receiver.child.ts --repo=PATH
 */
import { receive } from '../src/protocol/receiver.js';
import { openRepoForWriting } from '../src/repo/staging.js';
import { installFsFaults, type FsFaultPlan } from './fs-faults.js';

const repoArg = process.argv.find((a) => a.startsWith('--repo='));
if (repoArg === undefined) {
  process.stderr.write('usage: receiver.child.ts --repo=PATH\n');
  process.exit(2);
}
const path = repoArg.slice('--repo='.length);
const plan = JSON.parse(process.env.SIM_FS_FAULTS ?? '{}') as Omit<FsFaultPlan, 'root' | 'onKill'>;
installFsFaults({ ...plan, root: path, onKill: () => process.kill(process.pid, 'SIGKILL') });

const repo = openRepoForWriting(path);
const result = await receive({
  repo,
  input: process.stdin,
  output: process.stdout,
  policy: { idleTimeoutMs: Number(process.env.SIM_IDLE_MS ?? 2000) },
});
const code = result.outcome === 'idle' || result.outcome === 'published' ? 0 : 1;
process.stdout.write('', () => process.exit(code));
