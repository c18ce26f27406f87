/**
 * Signature policy through the real commands (receive-policy-fixture.ts:
 * ostree-push → local ostree-receive configured by OSTREE_RECEIVE_CONF → a
 * repository made by `ostree init`): sign_verify, sign_keyfiles, and a bad
 * key setting stopping the receiver before INFO.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { decode, type Variant } from '../gvariant/index.js';
import { readCommitForSigning, verifyCommitSignatures } from '../policy/commit-signatures.js';
import { ED25519_KEY, loadPublicKeys, verifyAny } from '../policy/ed25519.js';
import { listRefs } from '../repo/refs.js';
import { Repo } from '../repo/repo.js';
import { SUMMARY_FILE, SUMMARY_SIG_FILE } from '../repo/summary.js';
import { assertPullable } from '../../testkit/pull-check.js';
import { needTools } from '../../testkit/tools.js';
import { assertClean, commit, receiverLines, setup, signInSource } from '../../testkit/receive-policy-fixture.js';

test('cli policy: with sign_verify advertised, ostree-push rejects an unsigned commit before sending anything, and pushes the signed one', async (t) => {
  if (!needTools(t, 'ostree')) return;
  const s = await setup(t);
  const c1 = await commit(s, 'os/main', 'one');
  const env = s.configure(`sign_verify: true\nsign_trustedkeyfile: ${s.keys.publicFile}\n`);

  // The receiver's own refusal of an unsigned commit: src/policy/receive-policy.test.ts.
  const unsigned = await s.push(env);
  assert.equal(unsigned.code, 1, unsigned.stderr);
  assert.match(unsigned.stderr, /^ ! \[rejected\] +os\/main \(unsigned \(ed25519\); the remote requires signed commits\)$/m);
  assert.equal(unsigned.stderr.split('the remote requires signed commits').length, 2, 'the reason once, on the ref line');
  assert.deepEqual(receiverLines(unsigned.stderr), [], 'nothing was asked of the receiver');
  assert.deepEqual(listRefs(Repo.open(s.dest)), new Map());
  await assertClean(s);

  await signInSource(s, c1);
  const signed = await s.push(env);
  assert.equal(signed.code, 0, signed.stderr);
  assert.deepEqual(listRefs(Repo.open(s.dest)), new Map([['os/main', c1]]));
  await assertClean(s);
  // The signed commit and its commitmeta reach a client intact.
  assert.deepEqual((await assertPullable(t, s.dest)).refs, { 'os/main': c1 });
});

test('cli policy: sign_keyfiles signs each received commit and the summary; our verifier accepts both', async (t) => {
  if (!needTools(t, 'ostree')) return;
  const s = await setup(t);
  const c1 = await commit(s, 'os/main', 'one');
  const r = await s.push(s.configure(`sign_keyfiles:\n  - ${s.keys.secretFile}\n`));
  assert.equal(r.code, 0, r.stderr);
  const dest = Repo.open(s.dest);
  const trusted = { keys: loadPublicKeys(s.keys.publicFile), file: s.keys.publicFile };
  const verified = await verifyCommitSignatures(await readCommitForSigning(dest, null, c1), { ed25519: trusted });
  assert.equal(verified.ed25519Key, 0);
  const sig = decode('a{sv}', readFileSync(dest.resolve(SUMMARY_SIG_FILE)), 'le') as Map<string, Variant>;
  assert.equal(verifyAny(trusted.keys, readFileSync(dest.resolve(SUMMARY_FILE)), sig.get(ED25519_KEY)?.value as Uint8Array[]), 0);
  await assertClean(s);
  // A client reads the signed summary (Debian's ostree cannot check ed25519 signatures: unverified).
  const pulled = await assertPullable(t, s.dest);
  assert.deepEqual(pulled.refs, { 'os/main': c1 });
  assert.ok(pulled.requested.includes('/summary'), 'the client read the summary');
});

test('cli policy: a bad policy setting ends the receiver before INFO: one line naming the file and the key', async (t) => {
  if (!needTools(t, 'ostree')) return;
  const s = await setup(t);
  await commit(s, 'os/main', 'one');
  const r = await s.push(s.configure('repos:\n  dest:\n    sign_verify: true\n    sign_trustedkeyfile: /nonexistent/keys\n'.replace('dest', s.dest)));
  assert.equal(r.code, 1, r.stderr);
  // The receiver's line once: quoted by the pusher's error, not relayed as well.
  const said = `ostree-receive: ${join(s.dir, 'ostree-receive.conf')}: /nonexistent/keys: cannot read the key file: ENOENT: no such file or directory, open '/nonexistent/keys'`;
  assert.deepEqual(receiverLines(r.stderr), []);
  assert.match(r.stderr, /^ostree-push: the receiver on .* failed before the session began \(exit 2\)/m);
  assert.equal(r.stderr.split(said).length, 2, r.stderr);
  assert.deepEqual(listRefs(Repo.open(s.dest)), new Map());
});

test('cli policy: the receiver advertises sign_verify in INFO; ostree-push --dry-run says per ref whether the commit is signed', async (t) => {
  if (!needTools(t, 'ostree')) return;
  const s = await setup(t);
  const a = await commit(s, 'os/a', 'a');
  await commit(s, 'os/b', 'b');
  const env = s.configure(`sign_verify: true\nsign_trustedkeyfile: ${s.keys.publicFile}\n`);
  await signInSource(s, a);
  const r = await s.push(env, '--dry-run');
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^ ! \[rejected\] +os\/b \(unsigned \(ed25519\); the remote requires signed commits\)$/m);
  assert.match(r.stderr, /^the remote requires signed commits \(ed25519\); the ones this push would send:\n {3}os\/a: signed \(ed25519\)$/m);
  assert.deepEqual(listRefs(Repo.open(s.dest)), new Map(), 'a dry run changes nothing');
  // Without a policy, nothing is said.
  const plain = await s.push(s.configure('force: false\n'), '--dry-run');
  assert.equal(plain.code, 0, plain.stderr);
  assert.doesNotMatch(plain.stderr, /signed/);
});

