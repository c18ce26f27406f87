import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeGpgKey } from './test-keys.js';
import { commitTree, initArchiveRepo, objectRelPath } from '../src/repo/index.js';
import { ostree } from './ostree.js';
import { assertPullable } from './pull-check.js';
import { tmpDir } from './tmp.js';
import { needTools } from './tools.js';

const tree = { type: 'dir' as const, children: { a: { type: 'file' as const, content: 'a\n' }, d: { type: 'dir' as const, children: { b: { type: 'file' as const, content: 'b\n' } } } } };

async function repoWithTwoRefs(t: Parameters<typeof tmpDir>[0]) {
  const repo = initArchiveRepo(join(tmpDir(t, 'pullable'), 'repo'));
  const c1 = (await commitTree(repo, { tree, timestamp: 1, branch: 'os/main' })).commit;
  const c2 = (await commitTree(repo, { tree: { type: 'dir', children: {} }, timestamp: 2, branch: 'other' })).commit;
  return { repo, c1, c2 };
}

test('pull-check: every ref is pulled over http into a fresh client and fsck passes; a remote ref is left out', async (t) => {
  if (!needTools(t, 'ostree')) return;
  const { repo, c1, c2 } = await repoWithTwoRefs(t);
  await ostree(['remote', 'add', `--repo=${repo.path}`, '--no-gpg-verify', 'up', 'http://127.0.0.1:1/']);
  await ostree(['refs', `--repo=${repo.path}`, `--create=up:stable`, c1]);
  const got = await assertPullable(t, repo.path);
  assert.deepEqual(got.refs, { 'os/main': c1, other: c2 });
  assert.deepEqual((await assertPullable(t, repo.path, { refs: ['other'] })).refs, { other: c2 });
});

test('pull-check: a destination missing an object of its closure is not pullable', async (t) => {
  if (!needTools(t, 'ostree')) return;
  const { repo } = await repoWithTwoRefs(t);
  const built = await commitTree(repo, { tree, timestamp: 3, branch: 'broken' });
  rmSync(repo.resolve(objectRelPath(built.dirtree, 'dirtree')));
  await assert.rejects(assertPullable(t, repo.path, { refs: ['broken'] }), /ostree pull/);
});

test('pull-check: with a keyring the client verifies the summary signature, and a summary signed by another key fails', async (t) => {
  if (!needTools(t, 'ostree', 'gpg', 'gpgv')) return;
  const { repo, c1 } = await repoWithTwoRefs(t);
  const alice = makeGpgKey(t, 'alice');
  const mallory = makeGpgKey(t, 'mallory');
  await ostree(['summary', '-u', `--repo=${repo.path}`, `--gpg-sign=${alice.fingerprint}`, `--gpg-homedir=${alice.homedir}`]);
  assert.equal((await assertPullable(t, repo.path, { refs: ['os/main'], gpg: { keyring: alice.keyring } })).refs['os/main'], c1);
  await assert.rejects(assertPullable(t, repo.path, { refs: ['os/main'], gpg: { keyring: mallory.keyring } }), /ostree pull/);
  // Unsigned summary: a verifying client refuses it.
  await ostree(['summary', '-u', `--repo=${repo.path}`]);
  await assert.rejects(assertPullable(t, repo.path, { refs: ['os/main'], gpg: { keyring: alice.keyring } }), /ostree pull/);
});
