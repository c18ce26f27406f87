/**
 * Each checker passes a sound repository and catches a hand-made violation of
 * its invariant, with a message naming what is wrong.
 */
import { mkdirSync, rmSync, truncateSync, unlinkSync, writeFileSync, cpSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commitTree, initArchiveRepo, setRef, objectRelPath } from '../src/repo/index.js';
import { tmpDir } from '../testkit/tmp.js';
import {
  checkFailureReport,
  checkNoStaging,
  tmpListing,
  checkNothingOutside,
  checkObjectsComplete,
  checkPusherReport,
  checkRefsAtomic,
  checkRefsComplete,
  checkStore,
  checkStoreClosed,
  snapshotOutside,
} from './invariants.js';

const TREE = {
  type: 'dir' as const,
  children: {
    README: { type: 'file' as const, content: 'hello\n' },
    etc: { type: 'dir' as const, children: { conf: { type: 'file' as const, content: 'k=v\n' } } },
  },
};

async function sound(t: Parameters<typeof tmpDir>[0]): Promise<{ root: string; repo: string; a: string; b: string; built: Awaited<ReturnType<typeof commitTree>> }> {
  const root = tmpDir(t, 'inv');
  const repo = join(root, 'repo');
  initArchiveRepo(repo);
  const built = await commitTree(repo, { tree: TREE, timestamp: 1, branch: 'a' });
  const b = await commitTree(repo, { tree: { type: 'dir', children: { x: { type: 'file', content: 'x' } } }, timestamp: 2, branch: 'b' });
  return { root, repo, a: built.commit, b: b.commit, built };
}

test('a sound repository has no violations', async (t) => {
  const { repo } = await sound(t);
  assert.deepEqual(await checkStore(repo), []);
});

test('I1 catches a corrupt object, a truncated one and a stray file', async (t) => {
  const { repo, built } = await sound(t);
  const dirmeta = join(repo, objectRelPath(built.dirmeta, 'dirmeta'));
  writeFileSync(dirmeta, 'garbage');
  const tree = join(repo, objectRelPath(built.dirtree, 'dirtree'));
  truncateSync(tree, 10);
  writeFileSync(join(repo, 'objects', built.commit.slice(0, 2), 'junk'), 'x');
  const v = await checkObjectsComplete(repo);
  assert.equal(v.length, 3, JSON.stringify(v));
  assert.ok(v.every((x) => x.invariant === 'I1'));
  assert.ok(v.some((x) => x.message.includes(`${built.dirmeta}.dirmeta does not match its name`)));
  assert.ok(v.some((x) => x.message.includes('is not an object file')));
});

test('I2 catches a dirtree whose file is missing, and a commit without its root', async (t) => {
  const { repo, built } = await sound(t);
  unlinkSync(join(repo, objectRelPath(built.dirtree, 'dirtree')));
  const v = await checkStoreClosed(repo);
  assert.equal(v.length, 1, JSON.stringify(v));
  assert.equal(v[0]?.invariant, 'I2');
  assert.match(v[0]?.message ?? '', new RegExp(`commit ${built.commit} .* root dirtree ${built.dirtree}`));
});

test('I3 catches a ref to an incomplete commit and a ref to a missing commit', async (t) => {
  const { repo, a } = await sound(t);
  const other = await commitTree(repo, { tree: { type: 'dir', children: { y: { type: 'file', content: 'yy' } } }, timestamp: 3 });
  // Remove a leaf: the commit is there, its closure is not.
  const { closure } = await import('../src/repo/index.js');
  for await (const o of closure(repo, other.commit)) {
    if (o.type === 'file') unlinkSync(join(repo, objectRelPath(o.checksum, o.type)));
  }
  await setRef(repo, 'c', other.commit);
  await setRef(repo, 'd', 'f'.repeat(64));
  const v = await checkRefsComplete(repo);
  assert.deepEqual(
    v.map((x) => x.message.split(' ').slice(0, 2).join(' ')),
    ['ref c', 'ref d'],
  );
  assert.ok(v.every((x) => x.invariant === 'I3' && x.message.includes('closure is incomplete')));
  assert.ok(!v.some((x) => x.message.includes(a)));
});

test('I4 accepts old or new sets and catches a half-moved set', async (t) => {
  const { repo, a, b } = await sound(t);
  const before = new Map([
    ['a', a],
    ['b', b],
  ]);
  const push = new Map([
    ['a', b],
    ['b', a],
  ]);
  assert.deepEqual(checkRefsAtomic(repo, before, [push]), []);
  await setRef(repo, 'a', b);
  await setRef(repo, 'b', a);
  assert.deepEqual(checkRefsAtomic(repo, before, [push]), []);
  await setRef(repo, 'b', b);
  const v = checkRefsAtomic(repo, before, [push]);
  assert.equal(v.length, 1);
  assert.equal(v[0]?.invariant, 'I4');
  assert.match(v[0]?.message ?? '', /mix of old and new/);
});

test('I5 catches leftover staging, journal and temp ref files', async (t) => {
  const { repo } = await sound(t);
  assert.deepEqual(checkNoStaging(repo), []);
  mkdirSync(join(repo, 'tmp', 'push-staging-1-abcdef'));
  writeFileSync(join(repo, 'tmp', 'ostree-push-refs.journal'), '{}');
  writeFileSync(join(repo, 'refs', 'heads', '.tmp-1-abc'), 'x');
  const v = checkNoStaging(repo);
  assert.equal(v.length, 3, JSON.stringify(v));
  assert.ok(v.every((x) => x.invariant === 'I5'));
  rmSync(join(repo, 'tmp', 'push-staging-1-abcdef'), { recursive: true });
});

test('I5 judges tmp/ and refs/ on disk whatever the receiver names its staging: anything new is debris', async (t) => {
  const { repo } = await sound(t);
  mkdirSync(join(repo, 'tmp', 'cache'), { recursive: true });
  writeFileSync(join(repo, 'tmp', 'was-there'), '');
  const before = tmpListing(repo);
  assert.deepEqual(checkNoStaging(repo, before), []);
  // The 2015 receiver's staging (tmp/ostree-push-XXXXXXXX) and ostree's own ref temp file (refs/heads/.tmpXXXXXX).
  mkdirSync(join(repo, 'tmp', 'ostree-push-k2j4x9q1'));
  writeFileSync(join(repo, 'refs', 'heads', '.tmpAb12Cd'), 'x');
  const v = checkNoStaging(repo, before);
  assert.deepEqual(v.map((x) => x.invariant), ['I5', 'I5'], JSON.stringify(v));
  assert.match(v[0]?.message ?? '', /tmp\/ostree-push-k2j4x9q1/);
  assert.match(v[1]?.message ?? '', /refs\/heads\/\.tmpAb12Cd/);
});

test('I6 catches a success report the remote refs contradict', async (t) => {
  const { repo, a, b } = await sound(t);
  assert.deepEqual(checkPusherReport(repo, { ok: true, pushed: new Map([['a', a]]) }), []);
  assert.deepEqual(checkPusherReport(repo, { ok: false, pushed: new Map([['a', b]]) }), []);
  const v = checkPusherReport(repo, { ok: true, pushed: new Map([['a', b]]) });
  assert.equal(v.length, 1);
  assert.equal(v[0]?.invariant, 'I6');
});

test('I7 catches a file written, changed or removed next to the repository', async (t) => {
  const { root, repo } = await sound(t);
  writeFileSync(join(root, 'keep'), 'k');
  cpSync(join(repo, 'config'), join(root, 'copy'));
  const before = snapshotOutside(root, [repo]);
  writeFileSync(join(repo, 'inside'), 'fine');
  assert.deepEqual(checkNothingOutside(before, snapshotOutside(root, [repo])), []);
  writeFileSync(join(root, 'evil'), 'x');
  writeFileSync(join(root, 'keep'), 'changed!');
  rmSync(join(root, 'copy'));
  const v = checkNothingOutside(before, snapshotOutside(root, [repo]));
  assert.deepEqual(v.map((x) => x.invariant), ['I7', 'I7', 'I7']);
  assert.ok(v.some((x) => x.message.startsWith('evil was created')));
  assert.ok(v.some((x) => x.message.startsWith('keep outside the repository was modified')));
  assert.ok(v.some((x) => x.message.startsWith('copy outside the repository was removed')));
});

test('I8: a ref reported refused or not pushed must not be at what was pushed; rejected and unknown are allowed', async (t) => {
  const dir = tmpDir(t, 'inv-i8');
  const repo = initArchiveRepo(join(dir, 'r'));
  const A = 'a'.repeat(64);
  const B = 'b'.repeat(64);
  await setRef(repo, 'main', A);
  assert.equal(checkFailureReport(repo.path, [{ ref: 'main', to: A, status: 'refused' }], new Map()).length, 1);
  assert.equal(checkFailureReport(repo.path, [{ ref: 'main', to: A, status: 'not-pushed' }], new Map()).length, 1);
  assert.deepEqual(checkFailureReport(repo.path, [{ ref: 'main', to: A, status: 'unknown' }], new Map()), []);
  assert.deepEqual(checkFailureReport(repo.path, [{ ref: 'main', to: B, status: 'refused' }], new Map()), []);
  // A pusher that threw: a violation only when every ref it would have pushed moved.
  assert.equal(checkFailureReport(repo.path, null, new Map([['main', A]])).length, 1);
  assert.deepEqual(checkFailureReport(repo.path, null, new Map([['main', A], ['other', B]])), []);
});
