/**
 * Re-commit on receive (`recommit`, receive-recommit.ts) through receive()
 * in process: the refs name new commits with the bindings 1.x adds and the
 * server's current commit as parent, judged by timestamp; `ostree fsck`,
 * `ostree log` and `ostree show` as oracles, and libostree's own
 * write_commit_with_time for the bytes (testkit/ostree_recommit.py).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test, type TestContext } from 'node:test';
import { Variant } from '../gvariant/index.js';
import { PassThrough } from 'node:stream';
import { commitTree, setRef } from '../repo/builder.js';
import { decodeCommit, readMetadataFile, type Commit } from '../repo/metadata.js';
import { objectBasename, objectRelPath, type ObjectName } from '../repo/object-names.js';
import { listRefs, ZERO_CHECKSUM } from '../repo/refs.js';
import { Repo } from '../repo/repo.js';
import { makeFixture, stagingLeft, tree, type Fixture } from '../../testkit/receive-fixtures.js';
import { closureObjects, objectBytes, runSession } from '../../testkit/scripted-pusher.js';
import { ostree, ostreeFsck } from '../../testkit/ostree.js';
import { tmpDir } from '../../testkit/tmp.js';
import { needTools } from '../../testkit/tools.js';
import { makeEd25519Keys } from '../../testkit/test-keys.js';
import { readCommitForSigning, verifyCommitSignatures } from '../policy/commit-signatures.js';
import { receiverPolicyParts } from '../policy/engine.js';
import { buildReceivePolicy } from '../policy/policy.js';
import { push as pushSession, type PushResult } from './pusher.js';
import { receive, type ReceiveResult, type ReceiverPolicy } from './receiver.js';
import { glibDictOrderAfter } from './receive-recommit.js';

const ORACLE = fileURLToPath(new URL('../../testkit/ostree_recommit.py', import.meta.url));

const RECOMMIT: ReceiverPolicy = { recommit: true };

interface Pushed {
  result: ReceiveResult;
  report: { moved: string[]; refused: Map<string, string> } | null;
}

/** Pushes `ref` from → to with the objects of `to` the destination lacks, asking for a REPORT. */
async function push(f: Fixture, policy: ReceiverPolicy, ref: string, to: string, from = ZERO_CHECKSUM, dest: Repo = f.dest): Promise<Pushed> {
  const objects: ObjectName[] = (await closureObjects(f.src, to)).filter((o) => !existsSync(dest.resolve(objectRelPath(o.checksum, o.type))));
  let report: Pushed['report'] = null;
  const { result } = await runSession({ repo: dest, policy, log: () => undefined }, async (p) => {
    await p.info();
    const st = await p.update({ [ref]: { from, to } });
    if (st?.result === true) for (const o of objects) if ((await p.put(objectBasename(o.checksum, o.type), objectBytes(f.src, o)))?.result !== true) break;
    await p.writer.send({ type: 'DONE', extra: new Map([['report', new Variant('b', true)]]) }, p.order);
    const r = await p.reader.next();
    if (r?.message.type === 'REPORT') report = { moved: r.message.moved, refused: r.message.refused };
    p.toReceiver.end();
  });
  return { result, report };
}

async function commitOf(repo: Repo, checksum: string): Promise<Commit> {
  return decodeCommit(await readMetadataFile(repo.resolve(objectRelPath(checksum, 'commit'))));
}

function headOf(repo: Repo, ref: string): string {
  const head = listRefs(repo).get(ref);
  assert.ok(head !== undefined, `${ref} exists`);
  return head;
}

async function fsckClean(t: TestContext, repo: Repo): Promise<void> {
  if (!needTools(t, 'ostree')) return;
  const r = await ostreeFsck(repo.path);
  assert.ok(r.ok, r.stderr);
}

test('recommit: each pushed commit becomes a new commit on the current one, with its ref binding; ostree log shows a linear history', async (t) => {
  const f = await makeFixture(t);
  const first = await push(f, RECOMMIT, 'os/main', f.c1);
  assert.equal(first.result.outcome, 'published', first.result.error?.message);
  assert.deepEqual(first.report?.moved, ['os/main']);
  const r1 = headOf(f.dest, 'os/main');
  assert.notEqual(r1, f.c1, 'the ref names a re-commit');
  const c1 = await commitOf(f.src, f.c1);
  const n1 = await commitOf(f.dest, r1);
  assert.deepEqual(
    { parent: n1.parent, subject: n1.subject, body: n1.body, timestamp: n1.timestamp, tree: n1.rootDirtree, meta: n1.rootDirmeta, related: n1.related },
    { parent: null, subject: c1.subject, body: c1.body, timestamp: c1.timestamp, tree: c1.rootDirtree, meta: c1.rootDirmeta, related: [] },
  );
  assert.deepEqual([...n1.metadata.keys()], ['ostree.ref-binding']);
  assert.deepEqual(n1.metadata.get('ostree.ref-binding')?.value, ['os/main']);
  assert.ok(existsSync(f.dest.resolve(objectRelPath(f.c1, 'commit'))), 'the pushed commit is kept, under no ref');

  // c2's parent is c1 (the source's history), not r1: accepted because it is newer, and put on r1.
  const second = await push(f, RECOMMIT, 'os/main', f.c2, r1);
  assert.equal(second.result.outcome, 'published', second.result.error?.message);
  const r2 = headOf(f.dest, 'os/main');
  assert.equal((await commitOf(f.dest, r2)).parent, r1);
  assert.equal((await commitOf(f.dest, r2)).subject, 'two');
  assert.deepEqual(result(second), [{ ref: 'os/main', from: r1, to: r2 }], 'the result (and the hook) name the re-commit');

  // The same commit again: the ref already names its re-commit; nothing moves, the push succeeds.
  const again = await push(f, RECOMMIT, 'os/main', f.c2, r2);
  assert.equal(again.result.outcome, 'published', again.result.error?.message);
  assert.deepEqual(again.report?.moved, ['os/main']);
  assert.equal(headOf(f.dest, 'os/main'), r2);
  assert.deepEqual(stagingLeft(f.dest), []);

  await fsckClean(t, f.dest);
  if (needTools(t, 'ostree')) {
    const log = await ostree(['log', 'os/main', `--repo=${f.dest.path}`]);
    const commits = [...log.matchAll(/^commit ([0-9a-f]{64})$/gm)].map((m) => m[1]);
    assert.deepEqual(commits, [r2, r1], 'a linear history of re-commits');
    const shown = await ostree(['show', r2, '--print-metadata-key=ostree.ref-binding', `--repo=${f.dest.path}`]);
    assert.equal(shown.trim(), "['os/main']");
  }
});

function result(p: Pushed): Array<{ ref: string; from: string; to: string }> {
  return (p.result.updated ?? []).map((u) => ({ ref: u.ref, from: u.from, to: u.to }));
}

test('recommit: a commit not newer than the current one is refused (PROTOCOL_NOT_FAST_FORWARD) unless force is allowed', async (t) => {
  const f = await makeFixture(t);
  assert.equal((await push(f, RECOMMIT, 'os/main', f.c2)).result.outcome, 'published');
  const r2 = headOf(f.dest, 'os/main');
  const older = await push(f, RECOMMIT, 'os/main', f.c1, r2);
  assert.equal(older.result.outcome, 'refused');
  assert.equal(older.result.error?.code, 'PROTOCOL_NOT_FAST_FORWARD');
  assert.match(older.result.error?.message ?? '', /is not newer than the current commit/);
  assert.equal(headOf(f.dest, 'os/main'), r2);
  // Same content, newer timestamp: refused too (1.x skips it).
  const same = (await commitTree(f.src, { tree: tree('two'), timestamp: 1_700_000_100, subject: 'same tree', bindings: false })).commit;
  const sameContent = await push(f, RECOMMIT, 'os/main', same, r2);
  assert.equal(sameContent.result.error?.code, 'PROTOCOL_NOT_FAST_FORWARD');
  assert.match(sameContent.result.error?.message ?? '', /has the same content/);
  // Force allowed: made all the same, on the current commit.
  const forced = await push(f, { ...RECOMMIT, allowForce: true }, 'os/main', f.c1, r2);
  assert.equal(forced.result.outcome, 'published', forced.result.error?.message);
  const r3 = headOf(f.dest, 'os/main');
  assert.equal((await commitOf(f.dest, r3)).parent, r2);
  assert.equal((await commitOf(f.dest, r3)).subject, 'one');
  // Unrelated histories are no obstacle: c3 is newer than c1.
  assert.equal((await push(f, RECOMMIT, 'os/main', f.c3, r3)).result.outcome, 'published');
  await fsckClean(t, f.dest);
});

test("recommit: flatpak refs get xa.ref and xa.from_commit; a repository's collection id becomes the collection binding", async (t) => {
  const f = await makeFixture(t);
  appendFileSync(f.dest.resolve('config'), 'collection-id=org.example.Repo\n');
  const dest = Repo.open(f.dest.path);
  const ref = 'app/org.example.App/x86_64/stable';
  assert.equal((await push(f, RECOMMIT, ref, f.c1, ZERO_CHECKSUM, dest)).result.outcome, 'published');
  const n = await commitOf(dest, headOf(dest, ref));
  const meta = Object.fromEntries([...n.metadata].map(([k, v]) => [k, v.value]));
  assert.deepEqual(meta, { 'ostree.ref-binding': [ref], 'ostree.collection-binding': 'org.example.Repo', 'xa.ref': ref, 'xa.from_commit': f.c1 });
  await fsckClean(t, dest);
});

test('recommit: the new commit has the bytes libostree writes for the same inputs (GVariantDict order, write_commit_with_time)', async (t) => {
  if (!needTools(t, 'glib')) return;
  for (const collection of ['org.example.Repo', '']) {
    const f = await makeFixture(t);
    // Without a collection id here, a source's collection binding is removed (1.x does so).
    const userMeta = new Map([
      ['version', new Variant('s', '1.2.3')],
      ...(collection === '' ? [['ostree.collection-binding', new Variant('s', 'org.example.Old')] as const] : []),
      ['custom.size', new Variant('t', 42n)],
    ]);
    const source = (await commitTree(f.src, { tree: tree('meta'), timestamp: 1_700_000_050, subject: 'with metadata', body: 'a body', metadata: new Map(userMeta), bindings: false })).commit;
    if (collection !== '') appendFileSync(f.dest.resolve('config'), `collection-id=${collection}\n`);
    const dest = Repo.open(f.dest.path);
    const oracle = (ref: string, parent: string): string => execFileSync('/usr/bin/python3', [ORACLE, dest.path, source, ref, parent, collection], { encoding: 'utf8' }).trim();
    for (const ref of ['os/main', 'runtime/org.example.Platform/x86_64/1', 'app/org.example.App/x86_64/stable']) {
      assert.equal((await push(f, RECOMMIT, ref, f.c1, ZERO_CHECKSUM, dest)).result.outcome, 'published');
      const parent = headOf(dest, ref);
      const second = await push(f, RECOMMIT, ref, source, parent, dest);
      assert.equal(second.result.outcome, 'published', second.result.error?.message);
      assert.equal(headOf(dest, ref), oracle(ref, parent), `${ref}, collection '${collection}'`);
    }
    // A first commit (no parent) as well.
    assert.equal((await push(f, RECOMMIT, 'os/new', source, ZERO_CHECKSUM, dest)).result.outcome, 'published');
    assert.equal(headOf(dest, 'os/new'), oracle('os/new', ''));
    await fsckClean(t, dest);
  }
});

test('recommit: sign_verify checks the pushed commit; sign_keyfiles sign the re-commit the ref names', async (t) => {
  const f = await makeFixture(t);
  const keys = makeEd25519Keys(tmpDir(t, 'keys'), 'server');
  const policy: ReceiverPolicy = { ...receiverPolicyParts(buildReceivePolicy({ sign_keyfiles: [keys.secretFile], update: false })), recommit: true };
  assert.equal((await push(f, policy, 'os/main', f.c1)).result.outcome, 'published');
  const head = headOf(f.dest, 'os/main');
  const trusted = buildReceivePolicy({ sign_verify: true, sign_trustedkeyfile: keys.publicFile });
  await verifyCommitSignatures(await readCommitForSigning(f.dest, null, head), trusted.verify);
  assert.equal(existsSync(f.dest.resolve(objectRelPath(f.c1, 'commitmeta'))), false, 'the pushed commit is not signed by the server');
  await fsckClean(t, f.dest);
});

test('recommit: glibDictOrderAfter replays GVariantDict with removals, as GLib writes it (200 random sequences)', (t) => {
  if (!needTools(t, 'glib')) return;
  let seed = 7;
  const rand = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const names = ['version', 'ostree.ref-binding', 'ostree.collection-binding', 'xa.ref', 'xa.from_commit', 'xa.metadata', 'a', 'bb', 'custom.size', 'ostree.endoflife'];
  const cases: Array<Array<['insert' | 'remove', string]>> = [];
  for (let i = 0; i < 200; i++) {
    const ops: Array<['insert' | 'remove', string]> = [];
    for (let k = 0, n = 2 + rand(7); k < n; k++) ops.push([rand(4) === 0 ? 'remove' : 'insert', names[rand(names.length)] as string]);
    cases.push(ops);
  }
  const script = [
    'import json, sys',
    'from gi.repository import GLib',
    'out = []',
    'for ops in json.load(sys.stdin):',
    '    d = GLib.VariantDict.new(None)',
    '    for op, k in ops:',
    "        d.insert_value(k, GLib.Variant('b', True)) if op == 'insert' else d.remove(k)",
    '    v = d.end()',
    '    out.append([v.get_child_value(i).get_child_value(0).get_string() for i in range(v.n_children())])',
    'print(json.dumps(out))',
  ].join('\n');
  const glib = JSON.parse(execFileSync('/usr/bin/python3', ['-c', script], { input: JSON.stringify(cases), encoding: 'utf8' })) as string[][];
  let compared = 0;
  cases.forEach((ops, i) => {
    const ours = glibDictOrderAfter(ops);
    if (ours === null) return; // the table would grow: not modelled (the caller keeps insertion order)
    compared++;
    assert.deepEqual(ours, glib[i], JSON.stringify(ops));
  });
  assert.ok(compared > 150, `${compared} sequences compared`);
});

test('recommit: our pusher continues a re-committing repository without --force: INFO says so, only the new commit goes', async (t) => {
  const f = await makeFixture(t);
  const session = async (ref: string): Promise<{ pushed: PushResult; received: ReceiveResult }> => {
    const toReceiver = new PassThrough();
    const toPusher = new PassThrough();
    const receiving = receive({ repo: f.dest, input: toReceiver, output: toPusher, policy: RECOMMIT }).then((r) => (toPusher.end(), r));
    const pushed = await pushSession({ repo: f.src, refs: [ref], input: toPusher, output: toReceiver, remoteExit: receiving.then(() => 0) });
    return { pushed, received: await receiving };
  };
  // os/main is at c1 in the source; then c2 (child of c1, which the server never names).
  await setRef(f.src, 'os/main', f.c1);
  const first = await session('os/main');
  assert.equal(first.pushed.ok, true, first.pushed.error?.message);
  const r1 = headOf(f.dest, 'os/main');
  await setRef(f.src, 'os/main', f.c2);
  const second = await session('os/main');
  assert.equal(second.pushed.ok, true, second.pushed.error?.message);
  assert.deepEqual(second.pushed.refs.map((r) => [r.ref, r.status]), [['os/main', 'pushed']]);
  const r2 = headOf(f.dest, 'os/main');
  assert.equal((await commitOf(f.dest, r2)).parent, r1);
  assert.ok(!existsSync(f.dest.resolve(objectRelPath(f.c1, 'commitmeta'))));
  // Nothing new: the receiver finds its head is a re-commit of c2 and moves nothing.
  const third = await session('os/main');
  assert.equal(third.pushed.ok, true, third.pushed.error?.message);
  assert.equal(headOf(f.dest, 'os/main'), r2);
  // An older commit is refused by the receiver (1.x's rule), the pusher says so.
  await setRef(f.src, 'os/main', f.c1);
  const older = await session('os/main');
  assert.equal(older.pushed.ok, false);
  assert.match(older.pushed.refs[0]?.reason ?? older.pushed.error?.message ?? '', /not newer/);
  assert.equal(headOf(f.dest, 'os/main'), r2);
  await fsckClean(t, f.dest);
});

test('recommit: the update hook gets the re-commits; a push that moves nothing runs no hook (as 1.x)', async (t) => {
  const f = await makeFixture(t);
  const seen = join(tmpDir(t, 'hook'), 'seen');
  const policy: ReceiverPolicy = { ...receiverPolicyParts(buildReceivePolicy({ update_hook: `echo "$OSTREE_RECEIVE_UPDATES" >> ${seen}`, recommit: true })) };
  assert.equal((await push(f, policy, 'os/main', f.c1)).result.outcome, 'published');
  const r1 = headOf(f.dest, 'os/main');
  assert.equal(readFileSync(seen, 'utf8'), `os/main:${ZERO_CHECKSUM}:${r1}\n`);
  const again = await push(f, policy, 'os/main', f.c1, r1);
  assert.equal(again.result.outcome, 'published');
  assert.equal(again.result.hook, undefined);
  assert.equal(readFileSync(seen, 'utf8'), `os/main:${ZERO_CHECKSUM}:${r1}\n`, 'no second run');
});
