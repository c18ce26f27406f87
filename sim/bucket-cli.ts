/**
 * npm run sim -- --bucket [--runs N] [--seed S] [--faults LIST] [--keep]
 *
 * The simulator against an S3 destination (bucket-runner.ts): starts a Ceph
 * RADOS Gateway on loopback for the run (testkit/rgw.ts; the packages
 * radosgw ceph-mon ceph-osd), runs N seeded schedules and prints a report.
 * Exit status 0 when no invariant was violated, 1 otherwise, 2 for bad
 * usage or a gateway that cannot start.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRgw } from '../testkit/rgw.js';
import { hasTool } from '../testkit/tools.js';
import { formatBucketViolations } from './bucket-invariants.js';
import { BUCKET_FAULT_KINDS, describeBucketSchedule, simulateBucket, type BucketFaultKindOrRace, type BucketSimReport } from './bucket-runner.js';

export const BUCKET_USAGE = `       npm run sim -- --bucket [--runs N] [--seed S] [--faults LIST] [--keep]
  --bucket  push into s3://BUCKET/os on a Ceph RADOS Gateway started for the run, with store faults
            (--faults: ${BUCKET_FAULT_KINDS.join(', ')}, or 'none'; default all; --runs default 20)`;

export async function bucketMain(o: { runs: number | undefined; seed: number; faults: string | undefined; keep: boolean; fail: (m: string) => never }): Promise<number> {
  let kinds: BucketFaultKindOrRace[] = [...BUCKET_FAULT_KINDS];
  if (o.faults !== undefined) {
    kinds = o.faults === 'none' ? [] : (o.faults.split(',').map((s) => s.trim()) as BucketFaultKindOrRace[]);
    for (const k of kinds) if (!BUCKET_FAULT_KINDS.includes(k)) o.fail(`unknown fault kind '${k}' for --bucket`);
  }
  if (!(hasTool('radosgw') && hasTool('cephMon') && hasTool('cephOsd'))) o.fail('--bucket needs a Ceph RADOS Gateway: install radosgw ceph-mon ceph-osd');
  const runs = o.runs ?? 20;
  // As makeS3Client does: no eight-line notice about the SDK's future Node requirement.
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  const base = mkdtempSync(join(tmpdir(), 'ostree-push-sim-'));
  let rgw: Awaited<ReturnType<typeof startRgw>> | undefined;
  try {
    process.stderr.write('sim: starting the RADOS Gateway…\n');
    try {
      rgw = await startRgw();
    } catch (e) {
      process.stderr.write(`sim: cannot start the RADOS Gateway: ${(e as Error).message}\n`);
      return 2;
    }
    const report = await simulateBucket({
      base,
      endpoint: rgw,
      runs,
      seed: o.seed,
      kinds,
      onRun: (r) => {
        if (process.stderr.isTTY) process.stderr.write(r.violations.length > 0 ? 'X' : '.');
      },
    });
    if (process.stderr.isTTY) process.stderr.write('\n');
    process.stdout.write(formatBucketReport(report, o.faults));
    return report.violatingRuns > 0 ? 1 : 0;
  } finally {
    await rgw?.stop();
    if (!o.keep) rmSync(base, { recursive: true, force: true });
  }
}

export function formatBucketReport(r: BucketSimReport, faults?: string): string {
  const lines: string[] = [];
  lines.push('ostree-push simulator — S3 destination (receiveIntoBucket into a Ceph RADOS Gateway)');
  lines.push(`  seed        ${r.seed}   (replay: npm run sim -- --bucket --runs ${r.runs} --seed ${r.seed}${faults !== undefined ? ` --faults ${faults}` : ''})`);
  lines.push(`  runs        ${r.runs}   (${r.pushesOk} with every push reported ok)`);
  lines.push(`  wall time   ${(r.wallMs / 1000).toFixed(1)} s`);
  lines.push(`  samples     ${r.samples} of the bucket taken while pushes ran (I1 I2 I3 I9, ref history)`);
  lines.push('');
  lines.push('  faults that fired (write attempts; an outage once per receiver), kills and races');
  for (const [k, n] of [...r.fired].sort()) lines.push(`    ${k.padEnd(8)} ${n}`);
  lines.push(`    killed   ${r.killed} runs`);
  lines.push(`    races    ${r.races} runs, ${r.overlapped} overlapping`);
  lines.push('');
  lines.push(`  runs violating an invariant: ${r.violatingRuns}${r.violatingRuns === 0 ? '   OK' : ''}`);
  for (const id of ['I1', 'I2', 'I3', 'I4', 'I5', 'I6', 'I8', 'I9']) lines.push(`    ${id}  ${r.violationsByInvariant.get(id) ?? 0}`);
  lines.push('');
  lines.push(`  left behind after the sweeps (counted in I5): ${r.probesLeft} probe keys in buckets, ${r.localLeft} entries in receivers' local temp dirs`);
  if (r.first !== undefined) {
    lines.push('');
    lines.push(`  first violating run (${r.first.run}):`);
    for (const l of describeBucketSchedule(r.first.schedule).split('\n')) lines.push(`    ${l}`);
    lines.push('  violations:');
    lines.push(formatBucketViolations(r.first.violations.slice(0, 8)).replace(/^/gm, '  '));
  }
  return `${lines.join('\n')}\n`;
}
