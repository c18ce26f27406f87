/**
 * The receive policy end to end through receive() in process: signatures
 * (ed25519 and GPG) verified before any ref moves, signing on receive, the
 * summary rewritten and signed, the update hook, ref permissions.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { decode, type Variant } from '../gvariant/index.js';
import { decodeCommitmeta, encodeCommitmeta, readMetadataFile } from '../repo/metadata.js';
import { objectBasename, objectRelPath, type ObjectName } from '../repo/object-names.js';
import { listRefs, ZERO_CHECKSUM } from '../repo/refs.js';
import type { Repo } from '../repo/repo.js';
import { SUMMARY_SIG_FILE } from '../repo/summary.js';
import { assertUntouched, makeFixture, snapshot, stagingLeft, type Fixture } from '../../testkit/receive-fixtures.js';
import { closureObjects, objectBytes, runSession } from '../../testkit/scripted-pusher.js';
import type { ReceiveResult, ReceiverPolicy } from '../protocol/receiver.js';
import { ostree, ostreeFsck } from '../../testkit/ostree.js';
import { assertPullable } from '../../testkit/pull-check.js';
import { tmpDir } from '../../testkit/tmp.js';
import { needTools } from '../../testkit/tools.js';
import { mergeSignatures, readCommitForSigning, verifyCommitSignatures } from './commit-signatures.js';
import { ED25519_KEY, loadPublicKeys, loadSecretKeys, signEd25519, verifyAny } from './ed25519.js';
import { receiverPolicyParts } from './engine.js';
import { GPG_KEY, gpgSign } from './gpg.js';
import { buildReceivePolicy } from './policy.js';
import { makeEd25519Keys, makeGpgKey } from '../../testkit/test-keys.js';

/** Adds signatures over the commit's bytes to its commitmeta in `repo` (as `ostree sign` / `gpg-sign` would). */
async function signInSource(repo: Repo, commit: string, sigs: (bytes: Uint8Array) => Promise<Map<string, Uint8Array[]>>): Promise<void> {
  const c = await readCommitForSigning(repo, null, commit);
  writeFileSync(repo.resolve(objectRelPath(commit, 'commitmeta')), encodeCommitmeta(mergeSignatures(c.commitmeta, await sigs(c.commitBytes))));
}

function ed25519Signer(secretFile: string) {
  const [key] = loadSecretKeys(secretFile);
  return async (bytes: Uint8Array) => new Map([[ED25519_KEY, [signEd25519(key!, bytes)]]]);
}

interface Pushed {
  result: ReceiveResult;
  statuses: Array<{ name: string; result: boolean; message: string }>;
  updateStatus: { result: boolean; message: string } | null;
}

/** Pushes `ref` → `to` with `to`'s closure (parent first, as closureObjects lists it), stopping at the first refusal. */
async function push(f: Fixture, policy: ReceiverPolicy, ref: string, to: string, from = ZERO_CHECKSUM, objects?: ObjectName[]): Promise<Pushed> {
  const list = objects ?? (await closureObjects(f.src, to));
  const statuses: Pushed['statuses'] = [];
  let updateStatus: Pushed['updateStatus'] = null;
  const { result } = await runSession({ repo: f.dest, policy, log: () => undefined }, async (p) => {
    await p.info();
    const st = await p.update({ [ref]: { from, to } });
    updateStatus = st === null ? null : { result: st.result, message: st.message };
    if (st?.result === true) {
      for (const o of list) {
        const name = objectBasename(o.checksum, o.type);
        const s = await p.put(name, objectBytes(f.src, o));
        if (s === null) break;
        statuses.push({ name, result: s.result, message: s.message });
        if (!s.result) break;
      }
    }
    await p.done();
  });
  return { result, statuses, updateStatus };
}

async function fsckClean(t: TestContext, repo: Repo): Promise<void> {
  if (!needTools(t, 'ostree')) return;
  const r = await ostreeFsck(repo.path);
  assert.ok(r.ok, r.stderr);
}

function ed25519Setup(t: TestContext, f: Fixture) {
  const dir = tmpDir(t, 'keys');
  const trusted = makeEd25519Keys(dir, 'trusted');
  const stranger = makeEd25519Keys(dir, 'stranger');
  const policy = buildReceivePolicy({ sign_verify: true, sign_trustedkeyfile: trusted.publicFile, update: false });
  return { dir, trusted, stranger, policy: { ...receiverPolicyParts(policy) } satisfies ReceiverPolicy, f };
}

test('policy/ed25519: a commit signed by a trusted key is published; the signature arrives intact', async (t) => {
  const f = await makeFixture(t);
  const { trusted, policy } = ed25519Setup(t, f);
  await signInSource(f.src, f.c4, ed25519Signer(trusted.secretFile));
  const r = await push(f, policy, 'os/main', f.c4);
  assert.equal(r.result.outcome, 'published', r.result.error?.message);
  assert.deepEqual(listRefs(f.dest), new Map([['os/main', f.c4]]));
  const meta = decodeCommitmeta(await readMetadataFile(f.dest.resolve(objectRelPath(f.c4, 'commitmeta'))));
  assert.equal(meta.get('note')?.value, 'detached', 'other commitmeta keys kept');
  await fsckClean(t, f.dest);
});

test('policy/ed25519: unsigned, wrong key and tampered commitmeta are refused naming the commit; nothing is published', async (t) => {
  const f = await makeFixture(t);
  const { trusted, stranger, policy } = ed25519Setup(t, f);
  const before = snapshot(f);
  const refsBefore = listRefs(f.dest);

  // Unsigned: no commitmeta at all, so the refusal comes at DONE (a commitmeta could still have followed).
  const unsigned = await push(f, policy, 'os/main', f.c2);
  assert.equal(unsigned.result.outcome, 'refused');
  assert.equal(unsigned.result.error?.code, 'POLICY_UNSIGNED');
  assert.match(unsigned.result.error?.message ?? '', new RegExp(`commit ${f.c2} is not signed \\(ed25519\\): it has no detached metadata`));
  await assertUntouched(t, f, before, refsBefore, { fsck: false });

  // c4 has a commitmeta without a signature: refused at its PUTOBJECT with a STATUS.
  const noKey = await push(f, policy, 'os/main', f.c4);
  assert.equal(noKey.result.error?.code, 'POLICY_UNSIGNED');
  const lastNoKey = noKey.statuses.at(-1);
  assert.equal(lastNoKey?.result, false);
  assert.match(lastNoKey?.message ?? '', new RegExp(`commit ${f.c4} is not signed \\(ed25519\\): its .commitmeta has no ostree.sign.ed25519`));
  await assertUntouched(t, f, before, refsBefore, { fsck: false });

  // Signed by a key the receiver does not trust.
  const metaPath = f.src.resolve(objectRelPath(f.c4, 'commitmeta'));
  const original = readFileSync(metaPath);
  await signInSource(f.src, f.c4, ed25519Signer(stranger.secretFile));
  const wrong = await push(f, policy, 'os/main', f.c4);
  assert.equal(wrong.result.error?.code, 'POLICY_BAD_SIGNATURE');
  assert.match(wrong.statuses.at(-1)?.message ?? '', new RegExp(`commit ${f.c4}: no ed25519 signature verifies with a trusted key`));
  await assertUntouched(t, f, before, refsBefore, { fsck: false });

  // Signed by the trusted key, then one byte of the signature flipped.
  writeFileSync(metaPath, original);
  await signInSource(f.src, f.c4, ed25519Signer(trusted.secretFile));
  const signedBytes = readFileSync(metaPath);
  const meta = decodeCommitmeta(signedBytes);
  const sig = Uint8Array.from((meta.get(ED25519_KEY)!.value as Uint8Array[])[0]!);
  sig[0] = (sig[0] ?? 0) ^ 0x01;
  writeFileSync(metaPath, encodeCommitmeta(mergeSignatures(new Map([...meta].filter(([k]) => k !== ED25519_KEY)), new Map([[ED25519_KEY, [sig]]]))));
  const tampered = await push(f, policy, 'os/main', f.c4);
  assert.equal(tampered.result.error?.code, 'POLICY_BAD_SIGNATURE');
  await assertUntouched(t, f, before, refsBefore);
});

test('policy/ed25519: signing on receive writes a commitmeta our verifier accepts, keeping other keys; the summary is written and signed', async (t) => {
  const f = await makeFixture(t);
  const dir = tmpDir(t, 'keys');
  const server = makeEd25519Keys(dir, 'server');
  const policy = receiverPolicyParts(buildReceivePolicy({ sign_keyfiles: [server.secretFile] }));
  const r = await push(f, policy, 'os/main', f.c4);
  assert.equal(r.result.outcome, 'published', r.result.error?.message);
  const c = await readCommitForSigning(f.dest, null, f.c4);
  assert.equal(c.commitmeta?.get('note')?.value, 'detached');
  await verifyCommitSignatures(c, { ed25519: { keys: loadPublicKeys(server.publicFile), file: server.publicFile } });

  // The summary did not exist before: `update` (default on) wrote it, and summary.sig signs its bytes.
  const summary = readFileSync(f.dest.resolve('summary'));
  const sig = decode('a{sv}', readFileSync(f.dest.resolve(SUMMARY_SIG_FILE)), 'le') as Map<string, Variant>;
  assert.deepEqual([...sig.keys()], [ED25519_KEY]);
  assert.equal(verifyAny(loadPublicKeys(server.publicFile), summary, sig.get(ED25519_KEY)?.value as Uint8Array[]), 0);
  if (needTools(t, 'ostree')) {
    const view = await ostree(['summary', '--view', `--repo=${f.dest.path}`]);
    assert.match(view, new RegExp(`\\* os/main\\s+Latest Commit \\(\\d+ bytes\\):\\s+${f.c4}`));
    // A client pulls through the signed summary (Debian's ostree has no ed25519 support: unverified).
    const pulled = await assertPullable(t, f.dest.path);
    assert.deepEqual(pulled.refs, { 'os/main': f.c4 });
    assert.ok(pulled.requested.includes('/summary'), 'the client read the summary');
  }
  await fsckClean(t, f.dest);

});

test('policy/summary: after a push, a real `ostree pull` over http gets the new commit from the regenerated summary', async (t) => {
  if (!needTools(t, 'ostree')) return;
  const f = await makeFixture(t);
  const policy = receiverPolicyParts(buildReceivePolicy({}));
  assert.equal((await push(f, policy, 'os/main', f.c1)).result.outcome, 'published');
  const first = await assertPullable(t, f.dest.path);
  assert.deepEqual(first.refs, { 'os/main': f.c1 });
  const second = await push(f, policy, 'os/main', f.c2, f.c1, (await closureObjects(f.src, f.c2)).filter((o) => !existsSync(f.dest.resolve(objectRelPath(o.checksum, o.type)))));
  assert.equal(second.result.outcome, 'published', second.result.error?.message);
  const again = await assertPullable(t, f.dest.path);
  assert.deepEqual(again.refs, { 'os/main': f.c2 }, 'the client sees the moved ref');
  assert.ok(again.requested.includes('/summary'), 'the client read the summary');
});

test('policy/gpg: signed by a trusted key is published; unsigned, wrong key and tampered are refused; gpg signing on receive is accepted by a gpg-verifying ostree pull', async (t) => {
  if (!needTools(t, 'gpg', 'gpgv')) return;
  const f = await makeFixture(t);
  const alice = makeGpgKey(t, 'alice');
  const mallory = makeGpgKey(t, 'mallory');
  const verifying = receiverPolicyParts(buildReceivePolicy({ gpg_verify: true, gpg_trustedkeys: alice.keyring, update: false }));
  const before = snapshot(f);
  const refsBefore = listRefs(f.dest);

  const unsigned = await push(f, verifying, 'os/main', f.c2);
  assert.equal(unsigned.result.error?.code, 'POLICY_UNSIGNED');
  assert.match(unsigned.result.error?.message ?? '', /\(gpg\)/);

  const metaPath = f.src.resolve(objectRelPath(f.c4, 'commitmeta'));
  const original = readFileSync(metaPath);
  await signInSource(f.src, f.c4, async (b) => new Map([[GPG_KEY, [await gpgSign(mallory.homedir, mallory.fingerprint, b)]]]));
  const wrong = await push(f, verifying, 'os/main', f.c4);
  assert.equal(wrong.result.error?.code, 'POLICY_BAD_SIGNATURE');
  assert.match(wrong.statuses.at(-1)?.message ?? '', new RegExp(`commit ${f.c4}: no gpg signature verifies`));

  writeFileSync(metaPath, original);
  await signInSource(f.src, f.c4, async (b) => {
    const sig = await gpgSign(alice.homedir, alice.fingerprint, b);
    sig[sig.length - 1] = (sig[sig.length - 1] ?? 0) ^ 0xff;
    return new Map([[GPG_KEY, [sig]]]);
  });
  const tampered = await push(f, verifying, 'os/main', f.c4);
  assert.equal(tampered.result.error?.code, 'POLICY_BAD_SIGNATURE');
  await assertUntouched(t, f, before, refsBefore);

  writeFileSync(metaPath, original);
  await signInSource(f.src, f.c4, async (b) => new Map([[GPG_KEY, [await gpgSign(mallory.homedir, mallory.fingerprint, b), await gpgSign(alice.homedir, alice.fingerprint, b)]]]));
  const good = await push(f, verifying, 'os/main', f.c4);
  assert.equal(good.result.outcome, 'published', good.result.error?.message);

  // Signing on receive with gpg, then a client that insists on GPG pulls it over http.
  const g = await makeFixture(t);
  const signing = receiverPolicyParts(buildReceivePolicy({ gpg_sign: [alice.fingerprint], gpg_homedir: alice.homedir }));
  const pushed = await push(g, signing, 'os/main', g.c1);
  assert.equal(pushed.result.outcome, 'published', pushed.result.error?.message);
  const sigFile = decode('a{sv}', readFileSync(g.dest.resolve(SUMMARY_SIG_FILE)), 'le') as Map<string, Variant>;
  assert.equal((sigFile.get(GPG_KEY)?.value as Uint8Array[] | undefined)?.length, 1);
  if (!needTools(t, 'ostree')) return;
  assert.deepEqual((await assertPullable(t, g.dest.path, { gpg: { keyring: alice.keyring, commits: true } })).refs, { 'os/main': g.c1 });
  await fsckClean(t, g.dest);
});

test('policy/hook: runs after the refs moved with the Python environment; a failing hook is reported and the push stays published', async (t) => {
  const f = await makeFixture(t);
  const dir = tmpDir(t, 'hook');
  const out = join(dir, 'seen');
  const ok = receiverPolicyParts(buildReceivePolicy({ update_hook: `echo "$OSTREE_RECEIVE_REPO|$OSTREE_RECEIVE_REFS|$(cat "$OSTREE_RECEIVE_REPO/refs/heads/os/main")" > ${out}` }));
  const r = await push(f, ok, 'os/main', f.c1);
  assert.equal(r.result.outcome, 'published');
  assert.equal(r.result.hook?.ok, true);
  assert.equal(readFileSync(out, 'utf8'), `${f.dest.path}|os/main|${f.c1}\n`, 'the hook saw the moved ref');

  const failing = receiverPolicyParts(buildReceivePolicy({ update_hook: 'echo hook-complains >&2; exit 7' }));
  const objects = (await closureObjects(f.src, f.c2)).filter((o) => !existsSync(f.dest.resolve(objectRelPath(o.checksum, o.type))));
  const bad = await push(f, failing, 'os/main', f.c2, f.c1, objects);
  assert.equal(bad.result.outcome, 'published', 'a failing hook cannot undo the publication');
  assert.equal(bad.result.error, undefined);
  assert.equal(bad.result.hook?.ok, false);
  assert.equal(bad.result.hook?.error?.code, 'POLICY_HOOK_FAILED');
  assert.match(bad.result.hook?.error?.message ?? '', /exited with status 7/);
  assert.deepEqual(listRefs(f.dest), new Map([['os/main', f.c2]]));
  assert.deepEqual(stagingLeft(f.dest), []);
  await fsckClean(t, f.dest);
});

test('policy/update, as 1.x: update_hook replaces the summary update; with update off neither the summary nor the hook runs', async (t) => {
  const dir = tmpDir(t, 'hook-update');
  const seen = join(dir, 'seen');
  const hook = `echo "$OSTREE_RECEIVE_REFS" >> ${seen}`;
  const summary = (f: Fixture) => f.dest.resolve('summary');

  // update on, a hook: the hook runs, and owns the summary: none is written.
  const f = await makeFixture(t);
  const withHook = receiverPolicyParts(buildReceivePolicy({ update_hook: hook }));
  assert.equal((await push(f, withHook, 'os/main', f.c1)).result.outcome, 'published');
  assert.equal(readFileSync(seen, 'utf8'), 'os/main\n');
  assert.equal(existsSync(summary(f)), false, 'the hook, not the receiver, updates the summary');
  // An existing summary (signed by whoever the hook is) is left to the hook too, and a signed one is no reason to refuse.
  writeFileSync(summary(f), 'left by the hook');
  writeFileSync(f.dest.resolve(SUMMARY_SIG_FILE), 'its signature');
  const objects = (await closureObjects(f.src, f.c2)).filter((o) => !existsSync(f.dest.resolve(objectRelPath(o.checksum, o.type))));
  const second = await push(f, withHook, 'os/main', f.c2, f.c1, objects);
  assert.equal(second.result.outcome, 'published', second.result.error?.message);
  assert.equal(readFileSync(summary(f), 'utf8'), 'left by the hook');
  assert.equal(readFileSync(seen, 'utf8'), 'os/main\nos/main\n');

  // update off: no summary (an existing one is left as it is) and no hook.
  const g = await makeFixture(t);
  writeFileSync(summary(g), 'stale on purpose');
  const off = receiverPolicyParts(buildReceivePolicy({ update: false, update_hook: hook }));
  assert.equal((await push(g, off, 'os/main', g.c1)).result.outcome, 'published');
  assert.equal(readFileSync(summary(g), 'utf8'), 'stale on purpose');
  assert.equal(readFileSync(seen, 'utf8'), 'os/main\nos/main\n', 'the hook did not run');
  assert.equal((await push(g, off, 'os/x', g.c1)).result.hook, undefined);

  // update on, no hook: the summary is written, also where there was none.
  const h = await makeFixture(t);
  assert.equal((await push(h, receiverPolicyParts(buildReceivePolicy({})), 'os/main', h.c1)).result.outcome, 'published');
  assert.equal(existsSync(summary(h)), true);
  await fsckClean(t, h.dest);
});

test('policy/permissions: create/move allowed per pattern, others refused at UPDATE; a forced update needs force', async (t) => {
  const f = await makeFixture(t);
  const rules = { 'app/*/x86_64/beta': ['create', 'move'], 'os/**': ['create', 'move', 'force'] };
  const policy = { ...receiverPolicyParts(buildReceivePolicy({ ref_permissions: rules, update: false })), allowForce: true };
  const before = snapshot(f);
  const refsBefore = listRefs(f.dest);
  const stable = await push(f, policy, 'app/org.example.App/x86_64/stable', f.c1);
  assert.equal(stable.updateStatus?.result, false);
  assert.match(stable.updateStatus?.message ?? '', /ref app\/org.example.App\/x86_64\/stable: this repository does not allow a push to create it: no ref_permissions pattern matches it/);
  assert.equal(stable.result.error?.code, 'POLICY_REF_DENIED');
  await assertUntouched(t, f, before, refsBefore, { fsck: false });

  const beta = 'app/org.example.App/x86_64/beta';
  assert.equal((await push(f, policy, beta, f.c1)).result.outcome, 'published');
  // c3 does not descend from c1: a forced update, which beta does not allow.
  const forced = await push(f, policy, beta, f.c3, f.c1);
  assert.equal(forced.result.outcome, 'refused');
  assert.equal(forced.result.error?.code, 'POLICY_REF_DENIED');
  assert.match(forced.result.error?.message ?? '', /allow force/);
  assert.deepEqual(listRefs(f.dest), new Map([[beta, f.c1]]));
  // os/** may be forced.
  assert.equal((await push(f, policy, 'os/x', f.c1)).result.outcome, 'published');
  const osForced = await push(f, policy, 'os/x', f.c3, f.c1);
  assert.equal(osForced.result.outcome, 'published', osForced.result.error?.message);
  await fsckClean(t, f.dest);
});
