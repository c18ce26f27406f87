/**
 * Must show: a receiver killed at any point of publication leaves a store in
 * which every object is complete and valid and has all its children, and the
 * next writer removes the dead receiver's staging.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { needTools } from '../../testkit/tools.js';
import { ostree } from '../../testkit/ostree.js';
import { decodeCommit, decodeDirtree, readMetadataFile } from './metadata.js';
import { objectRelPath, type ObjectName } from './object-names.js';
import { Repo } from './repo.js';
import { sweepStaleDebris } from './stale-debris.js';
import { closure } from './traverse.js';
import { verifyObject } from './verify.js';

const scratch = mkdtempSync(join(tmpdir(), 'publish-kill-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
const CHILD = join(import.meta.dirname, 'publish-kill.child.ts');

async function fixture(): Promise<{ src: string; commit: string; order: ObjectName[] }> {
  const src = join(scratch, 'src');
  await ostree(['init', `--repo=${src}`, '--mode=archive']);
  const tree = join(scratch, 'tree');
  mkdirSync(join(tree, 'etc/app'), { recursive: true });
  mkdirSync(join(tree, 'usr/bin'), { recursive: true });
  mkdirSync(join(tree, 'empty'));
  writeFileSync(join(tree, 'etc/app/conf'), 'key=value\n');
  writeFileSync(join(tree, 'etc/hostname'), 'box\n');
  writeFileSync(join(tree, 'usr/bin/tool'), Buffer.alloc(200_000, 7), { mode: 0o755 });
  writeFileSync(join(tree, 'README'), 'hello\n');
  symlinkSync('usr/bin/tool', join(tree, 'tool'));
  const out = await ostree(['commit', `--repo=${src}`, '--branch=main', '-s', 'fixture', '--add-detached-metadata-string=k=v', tree]);
  const commit = out.trim();
  const order: ObjectName[] = [];
  for await (const o of closure(src, commit)) order.push(o);
  return { src, commit, order };
}

function runChild(src: string, dst: string, commit: string, killAfter: number | null, delayMs = 0): Promise<string | null> {
  const env = { ...process.env };
  if (killAfter === null) delete env.KILL_AFTER;
  else env.KILL_AFTER = String(killAfter);
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, src, dst, commit], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  child.stdout.on('data', (d: Buffer) => {
    if (d.toString().includes('staged')) setTimeout(() => child.kill('SIGKILL'), delayMs);
  });
  return new Promise((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
}

/** Every file in objects/ is a valid object, and every object's children are present. */
async function assertStoreSound(dst: string): Promise<number> {
  const repo = Repo.open(dst);
  const objects: ObjectName[] = [];
  for (const xx of readdirSync(join(dst, 'objects'))) {
    assert.match(xx, /^[0-9a-f]{2}$/);
    for (const f of readdirSync(join(dst, 'objects', xx))) objects.push({ checksum: xx + f.slice(0, 62), type: f.slice(63) === 'filez' ? 'file' : (f.slice(63) as ObjectName['type']) });
  }
  const has = (c: string, t: ObjectName['type']): Promise<boolean> => repo.objects.has(c, t);
  for (const o of objects) {
    await verifyObject(dst, o.checksum, o.type);
    if (o.type === 'commit') {
      const c = decodeCommit(await readMetadataFile(join(dst, objectRelPath(o.checksum, 'commit'))));
      assert.ok((await has(c.rootDirtree, 'dirtree')) && (await has(c.rootDirmeta, 'dirmeta')), `children of commit ${o.checksum}`);
    } else if (o.type === 'dirtree') {
      const t = decodeDirtree(await readMetadataFile(join(dst, objectRelPath(o.checksum, 'dirtree'))));
      for (const f of t.files) assert.ok(await has(f.checksum, 'file'), `file ${f.name} of dirtree ${o.checksum}`);
      for (const d of t.dirs) assert.ok((await has(d.dirtree, 'dirtree')) && (await has(d.dirmeta, 'dirmeta')), `dir ${d.name} of dirtree ${o.checksum}`);
    }
  }
  return objects.length;
}

test('SIGKILL at every publication step and at random moments leaves a sound store', { timeout: 60_000 }, async (t) => {
  if (!needTools(t, 'ostree')) return;
  const { src, commit, order } = await fixture();
  assert.ok(order.length >= 12, `fixture has ${order.length} objects`);
  const N = order.length;
  const plans: { killAfter: number | null; delayMs: number }[] = [];
  for (let k = 0; k <= N; k++) plans.push({ killAfter: k, delayMs: 0 });
  for (const delayMs of [0, 1, 2, 4]) plans.push({ killAfter: null, delayMs });
  let i = 0;
  // Two children at a time: the machine has two cores.
  const runOne = async (plan: { killAfter: number | null; delayMs: number }): Promise<void> => {
    const dst = join(scratch, `dst${i++}`);
    Repo.init(dst);
    const signal = await runChild(src, dst, commit, plan.killAfter, plan.delayMs);
    const what = JSON.stringify(plan);
    if (plan.killAfter !== null) assert.equal(signal, 'SIGKILL', what);
    const count = await assertStoreSound(dst);
    // A leaf directory moved whole (Staging.publish) places several objects in one step.
    if (plan.killAfter !== null) assert.ok(count >= plan.killAfter && count <= N, `${what}: ${count} objects published, at least k`);
    else t.diagnostic(`random kill after ${plan.delayMs} ms: ${count}/${N} objects published, signal ${signal}`);
    const left = readdirSync(join(dst, 'tmp')).filter((n) => n !== 'cache');
    // (A random kill may land after publish and dispose, just before exit.)
    if (signal === 'SIGKILL' && (plan.killAfter !== null || count < N)) {
      assert.equal(left.filter((n) => n.startsWith('push-staging-')).length, 1, `${what}: the dead staging is there`);
    }
    sweepStaleDebris(Repo.open(dst));
    assert.deepEqual(readdirSync(join(dst, 'tmp')), ['cache'], `${what}: stale staging removed`);
  };
  for (let p = 0; p < plans.length; p += 2) await Promise.all(plans.slice(p, p + 2).map(runOne));

  // A later complete run over a killed one finishes the job; ostree agrees the result is whole.
  const dst = join(scratch, 'dst1'); // was killed after one object
  assert.equal(await runChild(src, dst, commit, N + 1), null);
  assert.equal(await assertStoreSound(dst), N);
  await ostree(['refs', `--repo=${dst}`, `--create=main`, commit]);
  await ostree(['fsck', `--repo=${dst}`]);
});
