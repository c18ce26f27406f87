/**
 * The simulator against an S3 destination on a real Ceph RADOS Gateway
 * (started once for this file: testkit/rgw.ts). Outside CI the tests skip
 * when radosgw, ceph-mon and ceph-osd are missing; under CI=true they fail.
 * SIM_SEED and SIM_BUCKET_RUNS change the seeded runs.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { commitTree, decodeCommit, decodeDirtree, initArchiveRepo, objectRelPath, readRef, Repo } from '../src/repo/index.js';
import { buildSummaryFrom } from '../src/repo/index.js';
import { rgwForFile, type Rgw } from '../testkit/rgw.js';
import { BucketReader, checkBucketRefsAtomic, formatBucketViolations, RefHistory } from './bucket-invariants.js';
import { formatBucketReport } from './bucket-cli.js';
import { startS3Gate } from './bucket-gate.js';
import { describeBucketSchedule, endpointEnv, readerClient, runBucketOne, simulateBucket, type BucketRunReport, type BucketSchedule } from './bucket-runner.js';

const gateway = rgwForFile();
const base = mkdtempSync(join(tmpdir(), 'ostree-push-simbucket-'));
after(() => rmSync(base, { recursive: true, force: true }));

const show = (r: BucketRunReport): string => `${describeBucketSchedule(r.schedule)}\n${formatBucketViolations(r.violations)}`;

/** Runs schedules, `width` at a time (each its own bucket). */
async function runAll(rgw: Rgw, schedules: BucketSchedule[], width = 2): Promise<BucketRunReport[]> {
  const out: BucketRunReport[] = new Array(schedules.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < schedules.length) {
        const i = next++;
        out[i] = await runBucketOne({ base, endpoint: rgw }, schedules[i] as BucketSchedule);
      }
    }),
  );
  return out;
}

test('the bucket checkers find what is wrong: a partial object, a parent without its child, a ref and a summary ahead of their objects, a committed journal, a stray key, refs moved back or mixed', async (t) => {
  const rgw = gateway.get(t);
  if (rgw === undefined) return;
  const client = readerClient(rgw);
  t.after(() => client.destroy());
  const src = initArchiveRepo(join(mkdtempSync(join(base, 'chk-')), 'repo')).path;
  const c = await commitTree(src, { tree: { type: 'dir', children: { a: { type: 'file', content: 'a'.repeat(500) }, d: { type: 'dir', children: { b: { type: 'file', content: 'b' } } } } }, timestamp: 1000, branch: 'main' });
  const bucket = `chk-${process.pid}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  const put = (rel: string, body: Uint8Array | string) => client.send(new PutObjectCommand({ Bucket: bucket, Key: `os/${rel}`, Body: body }));
  const commitRel = objectRelPath(c.commit, 'commit');
  const reader = new BucketReader({ client, bucket, prefix: 'os/' });
  await put('config', '[core]\nrepo_version=1\nmode=archive-z2\n');
  assert.deepEqual((await reader.sample()).violations, [], 'an empty repository');
  // The commit alone, a ref to it, a truncated file object, a summary naming the commit.
  await put(commitRel, readFileSync(join(src, commitRel)));
  await put('refs/heads/main', `${c.commit}\n`);
  const root = decodeCommit(readFileSync(join(src, commitRel))).rootDirtree;
  const fileRel = objectRelPath(decodeDirtree(readFileSync(join(src, objectRelPath(root, 'dirtree')))).files[0]?.checksum as string, 'file');
  await put(fileRel, readFileSync(join(src, fileRel)).subarray(0, 20));
  const summary = await buildSummaryFrom({ mode: 'archive', config: Repo.open(src).config, heads: [['main', c.commit]], mirrors: [], readCommit: async () => readFileSync(join(src, commitRel)) });
  await put('summary', summary);
  await put('tmp/ostree-push-refs.journal', JSON.stringify({ state: 'committed', id: 'x', writes: [] }));
  await put('stray', 'x');
  await put('tmp/ostree-push-probe-0123abcd', 'probe 0123abcd');
  const ids = (await reader.sample()).violations.map((v) => v.invariant).sort();
  assert.deepEqual([...new Set(ids)], ['I1', 'I2', 'I3', 'I9']);
  assert.deepEqual((await reader.debris()).violations.map((v) => v.invariant), ['I5', 'I5', 'I5'], 'the committed journal, the stray key, the probe key');
  const [x, y, z] = ['1', '2', '3'].map((d) => d.repeat(64)) as [string, string, string];
  const h = new RefHistory();
  for (const v of [x, y, x]) h.observe(new Map([['r', v]]), ['r']);
  assert.deepEqual(h.violations(new Map([['r', x]]), [new Map([['r', y]])]).map((v) => v.invariant), ['I4'], 'moved back');
  const lost = new RefHistory();
  for (const v of [x, y, z]) lost.observe(new Map([['r', v]]), ['r']);
  assert.equal(lost.violations(new Map([['r', x]]), [new Map([['r', y]]), new Map([['r', z]])]).length, 1, 'a lost update');
  assert.equal(checkBucketRefsAtomic(new Map([['a', y], ['b', x]]), new Map([['a', x], ['b', x]]), [new Map([['a', y], ['b', y]])]).length, 1, 'mixed');
  assert.deepEqual(checkBucketRefsAtomic(new Map([['a', y], ['b', z]]), new Map([['a', x], ['b', x]]), [new Map([['a', y]]), new Map([['b', z]])]), [], 'two pushes on disjoint refs, both whole');
});

test('a receiver SIGKILLed right after each write of a small push, every one in turn: the bucket never shows an incomplete ref, and the next opener finishes or ignores the update', async (t) => {
  const rgw = gateway.get(t);
  if (rgw === undefined) return;
  const clean = await runBucketOne({ base, endpoint: rgw }, { shape: 0, incremental: false, faults: [] });
  assert.deepEqual(clean.violations, [], show(clean));
  assert.deepEqual(clean.ok, [true]);
  const writes = clean.writes[0] as number;
  assert.ok(writes >= 8, `a push makes at least the probe, objects, journal, ref and summary writes (${writes})`);
  const runs = await runAll(
    rgw,
    Array.from({ length: writes }, (_, i) => ({ shape: 0, incremental: false, faults: [], killAfter: i + 1 })),
  );
  for (const r of runs) {
    assert.ok(r.killed, `the kill after write ${r.schedule.killAfter} fired`);
    assert.deepEqual(r.violations, [], show(r));
  }
  // Killed after the last write (the summary), the refs had moved: the pusher's second session says so.
  assert.deepEqual(runs[runs.length - 1]?.ok, [true]);
  // Killed before the objects, nothing moved.
  assert.deepEqual(runs[0]?.ok, [false]);
});

test('failed, lost, slow and 503 writes are retried, an outage fails the push cleanly: the bucket stays sound throughout', async (t) => {
  const rgw = gateway.get(t);
  if (rgw === undefined) return;
  const kinds = ['drop', 'lost', '503', 'slow'] as const;
  // Every other write attempt of an incremental push faulted, the four kinds in turn; then an outage halfway.
  const faults = Array.from({ length: 12 }, (_, i) => ({ at: 2 * i, kind: kinds[i % 4] as (typeof kinds)[number], ms: 150 }));
  const [retried, outage, probeLost] = await runAll(rgw, [
    { shape: 1, incremental: true, faults },
    { shape: 1, incremental: true, faults: [], outageFrom: 6 },
    // The first write is the probe's create-only PUT: applied, its answer lost, the retry refused with 412.
    { shape: 1, incremental: true, faults: [{ at: 0, kind: 'lost' }] },
  ]);
  assert.ok(retried !== undefined && outage !== undefined && probeLost !== undefined);
  assert.deepEqual(probeLost.violations, [], show(probeLost));
  assert.deepEqual([probeLost.ok, probeLost.errors], [[true], [undefined]], 'a probe whose first answer was lost is not taken for a store without conditional writes');
  assert.deepEqual(retried.violations, [], show(retried));
  assert.deepEqual(retried.ok, [true], 'every fault was retried away');
  for (const k of kinds) assert.ok((retried.fired.get(k) ?? 0) > 0, `${k} fired`);
  assert.deepEqual(outage.violations, [], show(outage));
  assert.deepEqual(outage.ok, [false]);
  assert.equal(outage.errors[0], 'REPO_BUCKET_IO');
});

test('two receivers racing on the same refs, meeting at the journal: exactly one wins, the other is told REPO_REF_CONFLICT; on disjoint refs both win', async (t) => {
  const rgw = gateway.get(t);
  if (rgw === undefined) return;
  const runs = await runAll(rgw, [
    { shape: 2, incremental: false, faults: [], race: 'same', meet: true },
    { shape: 2, incremental: true, faults: [], race: 'disjoint', meet: true },
  ]);
  for (const r of runs) {
    assert.deepEqual(r.violations, [], show(r));
    assert.equal(r.overlapped, true, 'the two receivers wrote at the same time');
  }
  const [same, disjoint] = runs;
  assert.equal(same?.ok.filter(Boolean).length, 1, `exactly one wins: ${same?.ok.join(', ')}`);
  assert.deepEqual(same?.errors.filter((e) => e !== undefined), ['REPO_REF_CONFLICT']);
  assert.deepEqual(disjoint?.ok, [true, true]);
});

// Seed 5's five schedules: every store fault kind, a kill, two races (one meeting at the journal), full and incremental pushes.
test('seeded schedules of every fault kind (SIM_SEED, SIM_BUCKET_RUNS): no invariant violated', async (t) => {
  const rgw = gateway.get(t);
  if (rgw === undefined) return;
  const seed = Number(process.env['SIM_SEED'] ?? 5);
  const runs = Number(process.env['SIM_BUCKET_RUNS'] ?? 5);
  const report = await simulateBucket({ base, endpoint: rgw, runs, seed });
  assert.equal(report.violatingRuns, 0, formatBucketReport(report));
  assert.equal(report.runs, runs);
  assert.ok(report.samples > runs, 'the bucket was sampled while the pushes ran');
});

const PUSH = fileURLToPath(new URL('../src/cli/ostree-push.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

function pushCli(env: Record<string, string>, args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--no-warnings', '--import', TSX, PUSH, ...args], { env: { ...process.env, ...env }, timeout: 120_000 }, (err, _stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stderr });
    });
  });
}

test('two ostree-push to one s3:// ref, through the real commands (each starting ostree-receive --repo=s3://…): one wins each round, the other exits 1 with a one-line refusal, the bucket stays sound', async (t) => {
  const rgw = gateway.get(t);
  if (rgw === undefined) return;
  const dir = mkdtempSync(join(base, 'cli-'));
  const conf = join(dir, 'ostree-receive.conf');
  writeFileSync(conf, '{}\n');
  const src = initArchiveRepo(join(dir, 'repo')).path;
  const gate = await startS3Gate(rgw.endpoint);
  const client = readerClient(rgw);
  t.after(async () => {
    client.destroy();
    await gate.close();
  });
  const bucket = await rgw.createBucket('clirace');
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'os/config', Body: '[core]\nrepo_version=1\nmode=archive-z2\n' }));
  const reader = new BucketReader({ client, bucket, prefix: 'os/' });
  const env = { ...endpointEnv({ ...rgw, endpoint: gate.endpoint }), OSTREE_RECEIVE_CONF: conf, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
  const url = `s3://${bucket}/os`;
  let parent: string | undefined;
  for (let round = 0; round < 2; round++) {
    // Two new commits on the bucket's current one, on local branches a and b, both pushed as `race`.
    const tips = [];
    for (const side of ['a', 'b']) {
      const c = await commitTree(src, { tree: { type: 'dir', children: { f: { type: 'file', content: `${side} ${round}` } } }, timestamp: 1000 + round, branch: side, bindings: false, ...(parent ? { parent } : {}) });
      tips.push(c.commit);
    }
    gate.arm(2);
    const results = await Promise.all(['a', 'b'].map((side) => pushCli(env, [`--repo=${src}`, url, `${side}:race`])));
    assert.equal(gate.released(), 2 * (round + 1), `both receivers reached the journal together: ${results.map((r) => `${r.code}: ${r.stderr}`).join('\n')}`);
    const winners = results.flatMap((r, i) => (r.code === 0 ? [i] : []));
    assert.equal(winners.length, 1, results.map((r) => `${r.code}: ${r.stderr}`).join('\n'));
    const loser = results[1 - (winners[0] as number)] as { code: number | null; stderr: string };
    assert.equal(loser.code, 1, loser.stderr);
    // The usual report (To URL, one line per ref, the count, the verdict): the refusal is one line naming the ref, no trace.
    const lines = loser.stderr.trim().split('\n');
    assert.equal(lines.filter((l) => l.includes('[remote rejected]') && l.includes('-> race')).length, 1, loser.stderr);
    assert.equal(lines.filter((l) => /^\s+at /.test(l)).length, 0, loser.stderr);
    const { violations, refs } = await reader.sample();
    assert.deepEqual(violations, []);
    parent = tips[winners[0] as number];
    assert.equal(refs.get('race'), parent);
    assert.equal(await readRef(Repo.open(src), winners[0] === 0 ? 'a' : 'b'), parent);
  }
  assert.deepEqual((await reader.debris()).violations, []);
});
