/**
 * The pusher against the real receiver over in-memory streams: both engines
 * in this process, no CLI, no child process.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { commitTree, initArchiveRepo, type DirNode } from '../repo/builder.js';
import { listRefs } from '../repo/refs.js';
import type { Repo } from '../repo/repo.js';
import { closure, difference } from '../repo/traverse.js';
import { tmpDir } from '../../testkit/tmp.js';
import type { ByteOrder } from '../wire/constants.js';
import { push, type PushResult } from './pusher.js';
import { receive, type ReceiveResult, type ReceiverPolicy } from './receiver.js';

const tree = (files: Record<string, string>): DirNode => ({
  type: 'dir',
  children: {
    docs: { type: 'dir', children: { 'index.txt': { type: 'file', content: 'docs\n' } } },
    ...Object.fromEntries(Object.entries(files).map(([k, v]) => [k, { type: 'file' as const, content: v }])),
  },
});

async function session(src: Repo, dest: Repo, opts: { refs?: string[]; force?: boolean; order?: ByteOrder; policy?: ReceiverPolicy } = {}): Promise<{ pushed: PushResult; received: ReceiveResult }> {
  const toReceiver = new PassThrough();
  const toPusher = new PassThrough();
  const receiving = receive({ repo: dest, input: toReceiver, output: toPusher, ...(opts.policy ? { policy: opts.policy } : {}) }).then((r) => {
    toPusher.end();
    return r;
  });
  const remoteExit = receiving.then((r) => (r.outcome === 'idle' || r.outcome === 'published' ? 0 : 1));
  const pushed = await push({
    repo: src,
    input: toPusher,
    output: toReceiver,
    remoteExit,
    ...(opts.refs ? { refs: opts.refs } : {}),
    ...(opts.force ? { force: true } : {}),
    ...(opts.order ? { order: opts.order } : {}),
  });
  return { pushed, received: await receiving };
}

async function count(it: AsyncIterable<unknown>): Promise<number> {
  let n = 0;
  for await (const _ of it) n++;
  return n;
}

async function setup(t: Parameters<typeof tmpDir>[0]) {
  const dir = tmpDir(t, 'push-receive');
  const src = initArchiveRepo(`${dir}/src`);
  const dest = initArchiveRepo(`${dir}/dest`);
  const c1 = (await commitTree(src, { tree: tree({ a: 'one\n' }), timestamp: 1, branch: 'main' })).commit;
  return { src, dest, c1 };
}

for (const order of ['le', 'be'] as const) {
  test(`full then incremental push, ${order}: refs move, only missing objects travel`, async (t) => {
    const { src, dest, c1 } = await setup(t);
    const first = await session(src, dest, { order });
    assert.equal(first.pushed.ok, true);
    assert.equal(first.received.outcome, 'published');
    assert.equal(first.pushed.objectsSent, await count(closure(src, c1)));
    assert.deepEqual(listRefs(dest), new Map([['main', c1]]));

    const c2 = (await commitTree(src, { tree: tree({ a: 'one\n', b: 'two\n' }), timestamp: 2, parent: c1, branch: 'main' })).commit;
    const second = await session(src, dest, { order });
    assert.equal(second.pushed.ok, true);
    assert.equal(second.pushed.objectsSent, await count(difference(src, [c2], [c1])));
    assert.equal(second.received.objects.received, second.pushed.objectsSent);
    assert.deepEqual(listRefs(dest), new Map([['main', c2]]));

    const third = await session(src, dest, { order });
    assert.equal(third.received.outcome, 'idle');
    assert.deepEqual(third.pushed.refs.map((r) => r.status), ['up-to-date']);
  });
}

test('--force: refused by the default policy, accepted when the receiver allows it', async (t) => {
  const { src, dest, c1 } = await setup(t);
  assert.equal((await session(src, dest)).pushed.ok, true);
  const other = (await commitTree(src, { tree: tree({ z: 'rewritten\n' }), timestamp: 3, branch: 'main' })).commit;

  const plain = await session(src, dest);
  assert.equal(plain.pushed.refs[0]!.status, 'rejected');
  assert.equal(plain.received.outcome, 'idle', 'nothing was asked for');

  // The receiver advertised force off (spec/protocol.md 12.6): rejected before UPDATE.
  const refused = await session(src, dest, { force: true });
  assert.equal(refused.pushed.ok, false);
  assert.equal(refused.pushed.refs[0]!.status, 'rejected');
  assert.equal(refused.received.outcome, 'idle', 'nothing was asked for');
  assert.deepEqual(listRefs(dest), new Map([['main', c1]]));

  const allowed = await session(src, dest, { force: true, policy: { allowForce: true } });
  assert.equal(allowed.pushed.ok, true, JSON.stringify(allowed.pushed.error));
  assert.equal(allowed.pushed.refs[0]!.forced, true);
  assert.deepEqual(listRefs(dest), new Map([['main', other]]));
});

test('a fast-forward over several commits sends the commits in between, so the receiver can prove it', async (t) => {
  const { src, dest, c1 } = await setup(t);
  assert.equal((await session(src, dest)).pushed.ok, true);
  const c2 = (await commitTree(src, { tree: tree({ a: 'one\n', b: 'two\n' }), timestamp: 2, parent: c1, branch: 'main' })).commit;
  const c3 = (await commitTree(src, { tree: tree({ a: 'one\n', b: 'two\n', c: 'three\n' }), timestamp: 3, parent: c2, branch: 'main' })).commit;
  const r = await session(src, dest);
  assert.equal(r.pushed.ok, true, JSON.stringify(r.pushed.error));
  assert.equal(r.received.outcome, 'published');
  assert.equal(r.pushed.objectsSent, await count(difference(src, [c2, c3], [c1])));
  assert.deepEqual(listRefs(dest), new Map([['main', c3]]));
  assert.ok(await dest.objects.has(c2, 'commit'), 'the commit in between is published too');
});
