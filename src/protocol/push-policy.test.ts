/**
 * The pusher predicts what the receiver will refuse (push-policy.ts, spec
 * 12.6): ref permissions, force, bindings. The pusher and the real receiver
 * in process; a predicted refusal is rejected before UPDATE, alike in a dry
 * run and a real push, and no object of it is sent; the receiver still
 * enforces when the pusher does not listen.
 */
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { Variant } from '../gvariant/index.js';
import { receiverPolicyParts } from '../policy/engine.js';
import { buildReceivePolicy } from '../policy/policy.js';
import { commitTree, initArchiveRepo, setRef, type DirNode } from '../repo/builder.js';
import { COLLECTION_BINDING_KEY } from '../repo/bindings.js';
import { listRefs } from '../repo/refs.js';
import { Repo } from '../repo/repo.js';
import { tmpDir } from '../../testkit/tmp.js';
import { push, type PushOptions, type PushResult } from './pusher.js';
import { receive, type ReceiveResult, type ReceiverPolicy } from './receiver.js';

const tree = (name: string): DirNode => ({ type: 'dir', children: { [name]: { type: 'file', content: `${name}\n` } } });

async function session(src: Repo, dest: Repo, policy: ReceiverPolicy, o: Partial<PushOptions> = {}): Promise<{ pushed: PushResult; received: ReceiveResult; updates: string[][] }> {
  const toReceiver = new PassThrough();
  const toPusher = new PassThrough();
  const updates: string[][] = [];
  const receiving = receive({ repo: dest, input: toReceiver, output: toPusher, policy, log: (l) => void (l.startsWith('update ') && updates.push([l])) }).then((r) => {
    toPusher.end();
    return r;
  });
  const remoteExit = receiving.then((r) => (r.outcome === 'idle' || r.outcome === 'published' ? 0 : 1));
  const pushed = await push({ repo: src, input: toPusher, output: toReceiver, remoteExit, ...o });
  return { pushed, received: await receiving, updates };
}

const status = (r: PushResult) => r.refs.map((x) => [x.ref, x.status, x.reason ?? '']);

async function setup(t: Parameters<typeof tmpDir>[0]) {
  const dir = tmpDir(t, 'push-policy');
  const src = initArchiveRepo(`${dir}/src`);
  const dest = initArchiveRepo(`${dir}/dest`);
  const main = (await commitTree(src, { tree: tree('main'), timestamp: 1, branch: 'os/main' })).commit;
  const other = (await commitTree(src, { tree: tree('other'), timestamp: 2, branch: 'foo/bar' })).commit;
  return { src, dest, main, other };
}

const policyOf = (raw: Record<string, unknown>, allowForce: boolean): ReceiverPolicy => ({ ...receiverPolicyParts(buildReceivePolicy({ update: false, ...raw })), allowForce });

test('push policy: an unpermitted ref is rejected before UPDATE in a dry run and a real push; the permitted one goes', async (t) => {
  const s = await setup(t);
  const policy = policyOf({ ref_permissions: { 'os/**': ['create', 'move'] } }, false);
  const denied = "the remote's ref_permissions do not allow create";

  const dry = await session(s.src, s.dest, policy, { refs: ['os/main', 'foo/bar'], dryRun: true });
  assert.deepEqual(status(dry.pushed), [['os/main', 'pushed', ''], ['foo/bar', 'rejected', denied]]);
  assert.equal(dry.pushed.ok, false);
  assert.equal(dry.pushed.error?.code, 'PUSH_REJECTED');
  assert.deepEqual(dry.pushed.error?.data['reasons'], { 'foo/bar': denied });
  assert.equal(dry.pushed.objectsTotal, 4, "os/main's closure only: commit, dirtree, dirmeta, file");

  const real = await session(s.src, s.dest, policy, { refs: ['os/main', 'foo/bar'] });
  assert.deepEqual(status(real.pushed), [['os/main', 'pushed', ''], ['foo/bar', 'rejected', denied]]);
  assert.equal(real.pushed.error?.code, 'PUSH_REJECTED');
  assert.equal(real.received.outcome, 'published');
  assert.equal(real.updates.length, 1, 'the UPDATE named os/main only');
  assert.deepEqual(listRefs(s.dest), new Map([['os/main', s.main]]));
});

test('push policy: with force off, --force on a non-fast-forward is rejected before any object, saying the remote does not allow forcing', async (t) => {
  const s = await setup(t);
  // ref_permissions without `force` too: force off is the reason given, being the receiver's whole rule.
  const policy = policyOf({ ref_permissions: { 'os/**': ['create', 'move'] } }, false);
  assert.equal((await session(s.src, s.dest, policy, { refs: ['os/main'] })).received.outcome, 'published');
  const unrelated = (await commitTree(s.src, { tree: tree('unrelated'), timestamp: 3, branch: 'os/main' })).commit;
  const off = 'the remote does not accept non-fast-forward updates (force is off there)';

  for (const dryRun of [true, false]) {
    const forced = await session(s.src, s.dest, policy, { refs: ['os/main'], force: true, dryRun });
    assert.deepEqual(status(forced.pushed), [['os/main', 'rejected', off]], `dry run ${dryRun}`);
    assert.equal(forced.pushed.objectsSent, 0);
    assert.equal(forced.received.outcome, 'idle', 'nothing asked of the receiver');
    assert.doesNotMatch(forced.pushed.error?.message ?? '', /use --force/);
  }
  const plain = await session(s.src, s.dest, policy, { refs: ['os/main'] });
  assert.deepEqual(status(plain.pushed), [['os/main', 'rejected', `non-fast-forward; ${off}`]], 'without --force: --force would not help either');
  assert.doesNotMatch(plain.pushed.error?.message ?? '', /use --force/);
  assert.equal(listRefs(s.dest).get('os/main'), s.main);

  // Force on, but ref_permissions without `force` for this ref.
  const perms = policyOf({ ref_permissions: { 'os/**': ['create', 'move'] } }, true);
  const denied = await session(s.src, s.dest, perms, { refs: ['os/main'], force: true });
  assert.deepEqual(status(denied.pushed), [['os/main', 'rejected', "the remote's ref_permissions do not allow force"]]);
  // Both allowed: the forced update goes through.
  const allowed = await session(s.src, s.dest, policyOf({ ref_permissions: { 'os/**': ['create', 'force'] } }, true), { refs: ['os/main'], force: true });
  assert.deepEqual(status(allowed.pushed), [['os/main', 'pushed', '']]);
  assert.equal(listRefs(s.dest).get('os/main'), unrelated);
});

test('push policy: a commit bound to another ref is rejected by the pusher, with or without the extensions', async (t) => {
  const s = await setup(t);
  const bound = (await commitTree(s.src, { tree: tree('stable'), timestamp: 4, branch: 'os/x86_64/stable' })).commit;
  await setRef(s.src, 'os/x86_64/beta', bound);
  const why = "commit bound to 'os/x86_64/stable' by ostree.ref-binding; ostree pull would refuse it";
  for (const [o, stable] of [[{ dryRun: true }, 'pushed'], [{}, 'pushed'], [{ extensions: false }, 'up-to-date']] as const) {
    const r = await session(s.src, s.dest, {}, { refs: ['os/x86_64/stable', 'os/x86_64/beta'], ...o });
    assert.deepEqual(status(r.pushed), [['os/x86_64/stable', stable, ''], ['os/x86_64/beta', 'rejected', why]], JSON.stringify(o));
    assert.equal(r.pushed.error?.code, 'PUSH_REJECTED');
  }
  assert.deepEqual(listRefs(s.dest), new Map([['os/x86_64/stable', bound]]));
});

test('push policy: the receiver stays the authority: a pusher that ignores the advice is refused at UPDATE', async (t) => {
  const s = await setup(t);
  const policy = policyOf({ ref_permissions: { 'os/**': ['create', 'move'] } }, false);
  const r = await session(s.src, s.dest, policy, { refs: ['foo/bar'], extensions: false });
  assert.equal(r.pushed.refs[0]?.status, 'refused');
  assert.equal(r.received.error?.code, 'POLICY_REF_DENIED');
  assert.equal(r.pushed.objectsSent, 0);
  assert.deepEqual(listRefs(s.dest), new Map());
});

test('push policy: a commit bound to another collection than the advertised collection-id is rejected by the pusher', async (t) => {
  const s = await setup(t);
  appendFileSync(s.dest.resolve('config'), 'collection-id=org.example.Mine\n');
  const dest = Repo.open(s.dest.path);
  const bind = (c: string) => new Map([[COLLECTION_BINDING_KEY, new Variant('s', c)]]);
  await commitTree(s.src, { tree: tree('theirs'), timestamp: 5, branch: 'os/theirs', metadata: bind('org.example.Theirs') });
  const mine = (await commitTree(s.src, { tree: tree('mine'), timestamp: 6, branch: 'os/mine', metadata: bind('org.example.Mine') })).commit;
  const r = await session(s.src, dest, {}, { refs: ['os/theirs', 'os/mine'] });
  assert.deepEqual(status(r.pushed), [
    ['os/theirs', 'rejected', "commit bound to collection 'org.example.Theirs', the remote's is 'org.example.Mine'; ostree pull would refuse it"],
    ['os/mine', 'pushed', ''],
  ]);
  assert.deepEqual(listRefs(dest), new Map([['os/mine', mine]]));
});
