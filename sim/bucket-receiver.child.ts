/**
 * The bucket receiver as a child process the simulator can kill for real:
 * like `ostree-receive --repo=s3://BUCKET/PREFIX` (protocol on stdin/stdout,
 * exit 0 idle or published, 1 otherwise, the error as one stderr line), with
 * the store faults of bucket-faults.ts on its S3 client, from
 * SIM_BUCKET_FAULTS (JSON, a BucketFaultPlan). The gateway comes from the
 * SDK's own chain (AWS_ENDPOINT_URL and the rest in the environment).
 *
 * SIM_REPORT=FILE: one line per write that reached the store
 * (`write N MS KEY`, MS the wall clock), per fault that fired (`fault KIND ATTEMPT KEY`), and
 * `killed` just before the SIGKILL of the kill point, and `error CODE` when
 * the session ended with an error; the runner reads it after the exit. SIM_IDLE_MS sets the idle timeout.
 *
 *   node --import tsx sim/bucket-receiver.child.ts --repo=s3://BUCKET/PREFIX
 */
import { appendFileSync } from 'node:fs';
import { makeS3Client } from '../src/bucket/client.js';
import { receiveIntoBucket } from '../src/bucket/index.js';
import { installBucketFaults, type BucketFaultPlan } from './bucket-faults.js';

const repoArg = process.argv.find((a) => a.startsWith('--repo='));
if (repoArg === undefined) {
  process.stderr.write('usage: bucket-receiver.child.ts --repo=s3://BUCKET/PREFIX\n');
  process.exit(2);
}
const url = repoArg.slice('--repo='.length);
const plan = JSON.parse(process.env['SIM_BUCKET_FAULTS'] ?? '{}') as BucketFaultPlan;
const reportFile = process.env['SIM_REPORT'];
const note = (line: string): void => {
  if (reportFile !== undefined && reportFile !== '') appendFileSync(reportFile, `${line}\n`);
};
const client = makeS3Client();
installBucketFaults(client, plan, {
  onWrite: (n, key) => note(`write ${n} ${Date.now()} ${key}`),
  onFault: (kind, attempt, key) => note(`fault ${kind} ${attempt} ${key}`),
  onKill: () => {
    note('killed');
    process.kill(process.pid, 'SIGKILL');
  },
});

let code = 1;
try {
  const result = await receiveIntoBucket({
    url,
    input: process.stdin,
    output: process.stdout,
    policy: { idleTimeoutMs: Number(process.env['SIM_IDLE_MS'] ?? 3000), alwaysWriteSummary: true },
    // Short backoff: five attempts within a fraction of a second, so a run stays short.
    bucket: { client, retry: { baseDelayMs: 5, maxDelayMs: 40 } },
  });
  if (result.error !== undefined) note(`error ${result.error.code}`);
  if (result.error !== undefined) process.stderr.write(`bucket-receiver: ${result.error.code}: ${result.error.message.replace(/\s*\n\s*/g, ' ')}\n`);
  for (const w of result.warnings) process.stderr.write(`bucket-receiver: warning: ${w.code}\n`);
  code = result.outcome === 'idle' || result.outcome === 'published' ? 0 : 1;
} catch (e) {
  const c = (e as { code?: unknown }).code;
  note(`error ${typeof c === 'string' ? c : 'INTERNAL'}`);
  process.stderr.write(`bucket-receiver: ${typeof c === 'string' ? `${c}: ` : ''}${e instanceof Error ? e.message : String(e)}\n`);
}
client.destroy();
process.stdout.write('', () => process.exit(code));
