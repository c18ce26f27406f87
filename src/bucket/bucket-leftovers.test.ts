/**
 * What a killed bucket receiver leaves behind, and what a later one removes,
 * and `update: false` for a bucket, against a real store: Ceph's RADOS
 * Gateway, started once for this file (testkit/rgw.ts), each test in its own
 * bucket.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test, type TestContext } from 'node:test';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { bucketKeys as keys, dropConditions, pushThroughGateway as push, rgwForFile, type Rgw } from '../../testkit/rgw.js';
import { tmpDir } from '../../testkit/tmp.js';
import { closureObjects, objectBytes, ScriptedPusher } from '../../testkit/scripted-pusher.js';
import { commitTree, initArchiveRepo } from '../repo/builder.js';
import { ZERO_CHECKSUM } from '../repo/ref-names.js';
import { BucketRepo } from './bucket-repo.js';
import { receiveIntoBucket } from './bucket-receive.js';

const gateway = rgwForFile();

const tree = (n: number) => ({
  type: 'dir' as const,
  children: {
    etc: { type: 'dir' as const, children: { 'os-release': { type: 'file' as const, content: `VERSION=${n}\n` } } },
    usr: { type: 'dir' as const, children: { tool: { type: 'file' as const, content: `tool ${n}`, mode: 0o755 } } },
  },
});

const TSX = import.meta.resolve('tsx');
const RECEIVE = fileURLToPath(new URL('../cli/ostree-receive.ts', import.meta.url));

/** `ostree-receive --repo=URL` as a child process a script talks to over its stdin and stdout. */
function receiverChild(t: TestContext, rgw: Rgw, url: string, env: Record<string, string>): { p: ScriptedPusher; kill(): void; exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }> } {
  const child = spawn(process.execPath, ['--no-warnings', '--import', TSX, RECEIVE, `--repo=${url}`], { stdio: ['pipe', 'pipe', 'ignore'], env: { ...process.env, ...rgw.env(), ...env } });
  const p = new ScriptedPusher();
  p.toReceiver.pipe(child.stdin);
  child.stdin.on('error', () => undefined);
  child.stdout.pipe(p.fromReceiver);
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  // A test that fails half way does not leave it waiting for its pusher.
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { p, kill: () => child.kill('SIGKILL'), exit };
}

/** The bucket sessions' local directories in `dir`. */
const sessionDirs = (dir: string): string[] => readdirSync(dir).filter((n) => n.startsWith('ostree-push-bucket-')).sort();

/** os.tmpdir() is `dir` for this test (the receivers in this process make their local root there). */
function tmpdirFor(t: TestContext, dir: string): void {
  const saved = process.env['TMPDIR'];
  process.env['TMPDIR'] = dir;
  t.after(() => {
    if (saved === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = saved;
  });
}

test('a receiver killed mid-push leaves its local directory; the next receiver removes it, and leaves a live receiver\'s alone', async (t) => {
  const rgw = gateway.get(t);
  if (rgw === undefined) return;
  const src = initArchiveRepo(join(tmpDir(t, 's3src'), 'repo')).path;
  const c1 = await commitTree(src, { tree: tree(1), branch: 'main', timestamp: 1_700_000_000 });
  const objects = await closureObjects(src, c1.commit);
  const client = rgw.client();
  t.after(() => client.destroy());
  const bucket = await rgw.createBucket('killed');
  const url = `s3://${bucket}/os`;
  (await BucketRepo.open(url, { client, init: true })).close();
  const local = tmpDir(t, 's3local');
  const conf = join(tmpDir(t, 's3conf'), 'ostree-receive.conf');
  writeFileSync(conf, '{}\n');
  const env = { TMPDIR: local, OSTREE_RECEIVE_CONF: conf };

  // Killed mid-push: its update accepted and one object received.
  const killed = receiverChild(t, rgw, url, env);
  await killed.p.info();
  assert.equal((await killed.p.update({ main: { from: ZERO_CHECKSUM, to: c1.commit } }))?.result, true);
  const first = objects[0] as (typeof objects)[number];
  assert.equal((await killed.p.put(first.name, objectBytes(src, first)))?.result, true);
  const [killedDir] = sessionDirs(local);
  assert.ok(killedDir !== undefined, 'the receiver has its local directory');
  killed.kill();
  assert.equal((await killed.exit).signal, 'SIGKILL');
  assert.deepEqual(sessionDirs(local), [killedDir], 'SIGKILL left the directory behind');

  // A live receiver, in the middle of its session (INFO sent, waiting for the pusher).
  const live = receiverChild(t, rgw, url, env);
  await live.p.info();
  const liveDir = sessionDirs(local).find((n) => n !== killedDir);
  assert.ok(liveDir !== undefined);

  // The next receiver: a whole push.
  tmpdirFor(t, local);
  const p = new ScriptedPusher();
  const receiving = receiveIntoBucket({ url, bucket: { client }, input: p.toReceiver, output: p.fromReceiver }).finally(() => {
    p.fromReceiver.end();
    p.toReceiver.destroy();
  });
  await p.info();
  assert.equal((await p.update({ main: { from: ZERO_CHECKSUM, to: c1.commit } }))?.result, true);
  for (const o of objects) assert.equal((await p.put(o.name, objectBytes(src, o)))?.result, true);
  await p.done();
  const result = await receiving;
  assert.equal(result.outcome, 'published', result.error?.message);
  assert.deepEqual(sessionDirs(local), [liveDir], 'the dead receiver\'s directory is gone, the live one\'s is there');

  // The live one's pusher goes away: its session ends (not published), and it removes its own.
  live.p.end();
  assert.equal((await live.exit).signal, null);
  assert.deepEqual(sessionDirs(local), []);
});

test('a probe removes its own key; a probe key a killed receiver left is removed by a later opener once it is older than the safe age, never while it could be a live probe\'s', async (t) => {
  const rgw = gateway.get(t);
  if (rgw === undefined) return;
  const client = rgw.client();
  t.after(() => client.destroy());
  const bucket = await rgw.createBucket('probe');
  const url = `s3://${bucket}/os`;
  (await BucketRepo.open(url, { client, init: true })).close();
  assert.deepEqual(await keys(client, bucket), ['os/config'], 'the probe removed its key');
  // Refused (the condition dropped on the way): the probe still removes its key.
  const dropping = dropConditions(rgw.client());
  t.after(() => dropping.destroy());
  await assert.rejects(BucketRepo.open(url, { client: dropping }), { code: 'REPO_NO_CONDITIONAL_WRITES' });
  assert.deepEqual(await keys(client, bucket), ['os/config'], 'a refused probe removed its key');

  // What a receiver killed between its probe's PUT and DELETE leaves.
  const left = 'os/tmp/ostree-push-probe-0123456789abcdef';
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: left, Body: 'probe 0123456789abcdef', IfNoneMatch: '*' }));
  // Young: it could be a live receiver's probe, between its two PUTs. Left alone.
  (await BucketRepo.open(url, { client })).close();
  assert.deepEqual(await keys(client, bucket), ['os/config', left]);
  // Past the safe age (here none: every receiver of this bucket has ended), by the store's own clock: removed.
  (await BucketRepo.open(url, { client, staleProbeMs: 0 })).close();
  assert.deepEqual(await keys(client, bucket), ['os/config']);
});

test('update: false: the bucket\'s summary is left as it is (not rewritten, not written where there is none), a signed one accepted without a key; the refs move', async (t) => {
  const rgw = gateway.get(t);
  if (rgw === undefined) return;
  const dir = tmpDir(t, 's3noupdate');
  const src = initArchiveRepo(join(dir, 'repo')).path;
  const on = join(dir, 'on.conf');
  writeFileSync(on, '{}\n');
  const off = join(dir, 'off.conf');
  writeFileSync(off, `${JSON.stringify({ update: false })}\n`);
  const client = rgw.client();
  t.after(() => client.destroy());

  // No summary, update off: none is written.
  const bare = `s3://${await rgw.createBucket('noupdate')}/os`;
  const repo = await BucketRepo.open(bare, { client, init: true });
  t.after(() => repo.close());
  const c1 = await commitTree(src, { tree: tree(1), branch: 'os/stable', timestamp: 1_700_000_000 });
  const first = await push(rgw, off, [`--repo=${src}`, bare, 'os/stable']);
  assert.equal(first.code, 0, first.stderr);
  assert.equal((await repo.readRef('os/stable'))?.checksum, c1.commit);
  assert.equal(await repo.exists('summary'), false, 'no summary written with update off');

  // Update on writes one; then, update off, the next push leaves it as it was.
  const c2 = await commitTree(src, { tree: tree(2), branch: 'os/stable', parent: c1.commit, timestamp: 1_700_000_100 });
  const second = await push(rgw, on, [`--repo=${src}`, bare, 'os/stable']);
  assert.equal(second.code, 0, second.stderr);
  const summary = await repo.get('summary');
  assert.ok(summary !== null, 'update on writes the summary');
  const c3 = await commitTree(src, { tree: tree(3), branch: 'os/stable', parent: c2.commit, timestamp: 1_700_000_200 });
  const third = await push(rgw, off, [`--repo=${src}`, bare, 'os/stable']);
  assert.equal(third.code, 0, third.stderr);
  assert.equal((await repo.readRef('os/stable'))?.checksum, c3.commit);
  assert.deepEqual((await repo.get('summary'))?.etag, summary.etag, 'the summary was not rewritten');

  // A signed summary: update off touches neither file, so no key is needed (as for a directory).
  await repo.put('summary.sig', Buffer.from('a signature'));
  const c4 = await commitTree(src, { tree: tree(4), branch: 'os/stable', parent: c3.commit, timestamp: 1_700_000_300 });
  const fourth = await push(rgw, off, [`--repo=${src}`, bare, 'os/stable']);
  assert.equal(fourth.code, 0, fourth.stderr);
  assert.equal((await repo.readRef('os/stable'))?.checksum, c4.commit);
  assert.deepEqual((await repo.get('summary'))?.etag, summary.etag);
  assert.equal(new TextDecoder().decode((await repo.get('summary.sig'))?.body), 'a signature');
});
