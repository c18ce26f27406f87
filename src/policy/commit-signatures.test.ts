import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Variant } from '../gvariant/index.js';
import { commitTree, initArchiveRepo } from '../repo/builder.js';
import { Repo } from '../repo/repo.js';
import { ostree, ostreeCommit, ostreeInit, runOstree } from '../../testkit/ostree.js';
import { tmpDir } from '../../testkit/tmp.js';
import { hasTool, needTools } from '../../testkit/tools.js';
import { mergeSignatures, readCommitForSigning, signedCommitmeta, verifyCommitSignatures } from './commit-signatures.js';
import { ED25519_KEY, loadPublicKeys, loadSecretKeys } from './ed25519.js';
import { GPG_KEY } from './gpg.js';
import { makeEd25519Keys, makeGpgKey } from '../../testkit/test-keys.js';
import { decodeCommitmeta } from '../repo/metadata.js';
import { objectRelPath } from '../repo/object-names.js';

test('mergeSignatures: appends to an existing aay list, keeps every other key', () => {
  const old = new Map([
    ['note', new Variant('s', 'x')],
    [GPG_KEY, new Variant('aay', [new Uint8Array([1])])],
  ]);
  const merged = mergeSignatures(old, new Map([[GPG_KEY, [new Uint8Array([2])]], [ED25519_KEY, [new Uint8Array(64)]]]));
  assert.deepEqual([...merged.keys()].sort(), [ED25519_KEY, GPG_KEY, 'note'].sort());
  assert.deepEqual(merged.get(GPG_KEY)?.value, [new Uint8Array([1]), new Uint8Array([2])]);
  assert.equal(merged.get('note')?.value, 'x');
  assert.equal((old.get(GPG_KEY)?.value as Uint8Array[] | undefined)?.length, 1, 'the input is not changed');
});

async function ostreeRepoWithCommit(t: Parameters<typeof tmpDir>[0]): Promise<{ repo: string; commit: string }> {
  const dir = tmpDir(t, 'sigs');
  const repo = join(dir, 'repo');
  const tree = join(dir, 'tree');
  mkdirSync(tree);
  writeFileSync(join(tree, 'a'), 'a\n');
  await ostreeInit(repo);
  const commit = await ostreeCommit(repo, tree, { branch: 'main', subject: 's', timestamp: '2024-01-02 03:04:05 UTC' });
  return { repo, commit };
}

test('gpg oracle: `ostree gpg-sign` signatures verify with gpgv here; ours are appended as ostree appends them', async (t) => {
  if (!needTools(t, 'ostree', 'gpg', 'gpgv')) return;
  const { repo, commit } = await ostreeRepoWithCommit(t);
  const key = makeGpgKey(t, 'oracle');
  await ostree(['gpg-sign', `--repo=${repo}`, `--gpg-homedir=${key.homedir}`, commit, key.fingerprint]);
  const c = await readCommitForSigning(Repo.open(repo), null, commit);
  assert.equal((c.commitmeta?.get(GPG_KEY)?.value as Uint8Array[] | undefined)?.length, 1);
  assert.deepEqual(await verifyCommitSignatures(c, { gpg: { keyring: key.keyring } }), { gpgFingerprint: key.fingerprint });
  // Our signing adds a second element; ostree's own verification still passes.
  writeFileSync(Repo.open(repo).resolve(objectRelPath(commit, 'commitmeta')), await signedCommitmeta(c, { gpg: { keyIds: [key.fingerprint], homedir: key.homedir } }));
  const after = decodeCommitmeta(readFileSync(Repo.open(repo).resolve(objectRelPath(commit, 'commitmeta'))));
  assert.equal((after.get(GPG_KEY)?.value as Uint8Array[] | undefined)?.length, 2);
  // ostree reads trusted keys from trustedkeys.gpg in the home it is given.
  const trust = join(tmpDir(t, 'trust'), 'home');
  mkdirSync(trust, { mode: 0o700 });
  writeFileSync(join(trust, 'trustedkeys.gpg'), readFileSync(key.keyring));
  const shown = await runOstree(['show', `--repo=${repo}`, `--gpg-homedir=${trust}`, commit]);
  assert.ok(shown.ok, shown.stderr);
  assert.equal((shown.stdout.match(/Good signature/g) ?? []).length, 2, shown.stdout);
});

/** Whether the installed ostree was built with ed25519 (libsodium): Debian 12's 2022.7 is not. */
function ostreeHasEd25519(): boolean {
  if (!hasTool('ostree')) return false;
  return /sign-ed25519/.test(execFileSync('ostree', ['--version'], { encoding: 'utf8' }));
}

test('ed25519 oracle: `ostree sign --verify` accepts our signature (skipped when the installed ostree CLI lacks ed25519 support, a build capability, even under CI)', async (t) => {
  if (!ostreeHasEd25519()) {
    t.skip('the installed ostree was built without libsodium: `ostree --version` lists no sign-ed25519 and `ostree sign` says the type is not implemented');
    return;
  }
  const { repo, commit } = await ostreeRepoWithCommit(t);
  const keys = makeEd25519Keys(tmpDir(t, 'keys'), 'k');
  const c = await readCommitForSigning(Repo.open(repo), null, commit);
  writeFileSync(Repo.open(repo).resolve(objectRelPath(commit, 'commitmeta')), await signedCommitmeta(c, { ed25519: loadSecretKeys(keys.secretFile) }));
  const r = await runOstree(['sign', `--repo=${repo}`, '--verify', '--sign-type=ed25519', commit, keys.publicLine]);
  assert.ok(r.ok, r.stderr);
  // And the other way: ostree's signature verifies here.
  const other = makeEd25519Keys(tmpDir(t, 'keys2'), 'o');
  await ostree(['sign', `--repo=${repo}`, '--sign-type=ed25519', commit, other.secretLine]);
  await verifyCommitSignatures(await readCommitForSigning(Repo.open(repo), null, commit), { ed25519: { keys: loadPublicKeys(other.publicFile), file: other.publicFile } });
});

test('ed25519: this ostree CLI capability probe agrees with `ostree sign` itself', async (t) => {
  if (!needTools(t, 'ostree')) return;
  const { repo, commit } = await ostreeRepoWithCommit(t);
  const keys = makeEd25519Keys(tmpDir(t, 'keys'), 'k');
  const r = await runOstree(['sign', `--repo=${repo}`, '--sign-type=ed25519', commit, keys.secretLine]);
  assert.equal(r.ok, ostreeHasEd25519(), r.stderr);
  if (!r.ok) assert.match(r.stderr, /not implemented/);
});

test('readCommitForSigning: a stored commit and its commitmeta are read through the repository held objects, not its root', async (t) => {
  const dir = tmpDir(t, 'sigs-held');
  const src = initArchiveRepo(join(dir, 'src'));
  const { commit } = await commitTree(src, {
    tree: { type: 'dir', children: { a: { type: 'file', content: 'a\n' } } },
    timestamp: 1_700_000_000,
    bindings: false,
    detachedMetadata: new Map([['note', new Variant('s', 'held')]]),
  });
  // A root with no object, whose objects are src's.
  const root = Repo.open(initArchiveRepo(join(dir, 'root')).path, { held: src.held });
  const c = await readCommitForSigning(root, null, commit);
  assert.deepEqual(c.commitBytes, new Uint8Array(readFileSync(src.resolve(objectRelPath(commit, 'commit')))));
  assert.equal(c.commitmeta?.get('note')?.value, 'held');
});
