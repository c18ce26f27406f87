/**
 * The pusher's side of the truth: when the session is lost after DONE, the
 * pusher cannot know whether the refs moved; it asks a second session (INFO,
 * then DONE) and reports what the remote's refs are: pushed, not pushed, or
 * unknown when that fails too. The cut is placed with the receiver's pause
 * points, never by timing.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { commitTree, initArchiveRepo } from '../repo/builder.js';
import { listRefs, updateRefs, ZERO_CHECKSUM } from '../repo/refs.js';
import type { Repo } from '../repo/repo.js';
import { tmpDir } from '../../testkit/tmp.js';
import { push, type PushResult, type SecondSession } from './pusher.js';
import type { PublishStep } from './receive-publish.js';
import { receive, type ReceiveResult } from './receiver.js';

async function setup(t: Parameters<typeof tmpDir>[0]) {
  const dir = tmpDir(t, 'after-loss');
  const src = initArchiveRepo(`${dir}/src`);
  const dest = initArchiveRepo(`${dir}/dest`);
  const c1 = (await commitTree(src, { tree: { type: 'dir', children: { a: { type: 'file', content: 'one\n' } } }, timestamp: 1, branch: 'main' })).commit;
  return { src, dest, c1 };
}

/** A second session against a fresh receiver on `dest`. */
function secondSession(dest: Repo): () => Promise<SecondSession> {
  return () => {
    const toReceiver = new PassThrough();
    const toPusher = new PassThrough();
    const done = receive({ repo: dest, input: toReceiver, output: toPusher }).then(() => {
      toPusher.end();
    });
    return Promise.resolve({ input: toPusher, output: toReceiver, close: () => done });
  };
}

/** A push whose link to the pusher is cut when the receiver reaches `step` (after `before` runs there). */
async function cutAt(src: Repo, dest: Repo, step: PublishStep, reconnect: (() => Promise<SecondSession>) | undefined, before?: () => Promise<void>) {
  const toReceiver = new PassThrough();
  const toPusher = new PassThrough();
  const receiving: Promise<ReceiveResult> = receive({
    repo: dest,
    input: toReceiver,
    output: toPusher,
    hooks: {
      pause: async (s) => {
        if (s !== step) return;
        await before?.();
        toPusher.destroy();
      },
    },
  });
  const pushed: PushResult | Error = await push({ repo: src, input: toPusher, output: toReceiver, ...(reconnect ? { reconnect } : {}) }).catch((e: unknown) => e as Error);
  return { pushed, received: await receiving };
}

test('lost after the refs moved: a second session shows them moved, the push is reported pushed', async (t) => {
  const { src, dest, c1 } = await setup(t);
  const { pushed, received } = await cutAt(src, dest, 'summary', secondSession(dest));
  assert.ok(!(pushed instanceof Error), String(pushed));
  assert.equal(pushed.ok, true);
  assert.equal(pushed.error, undefined);
  assert.deepEqual(pushed.refs.map((r) => r.status), ['pushed']);
  assert.equal(pushed.checkedAfterLoss?.outcome, 'pushed');
  assert.deepEqual(listRefs(dest), new Map([['main', c1]]));
  // And the receiver says so too: published, the lost link a warning.
  assert.equal(received.outcome, 'published');
  assert.deepEqual(received.updated.map((u) => u.ref), ['main']);
  assert.ok(received.warnings.length > 0);
});

test('lost after DONE, nothing moved (the receiver refused): reported not pushed, the link failure the error', async (t) => {
  const { src, dest, c1 } = await setup(t);
  const other = (await commitTree(dest, { tree: { type: 'dir', children: { z: { type: 'file', content: 'z\n' } } }, timestamp: 5 })).commit;
  // Someone else creates the ref while the receiver waits for its lock: the compare-and-swap refuses.
  const { pushed, received } = await cutAt(src, dest, 'done', secondSession(dest), () => updateRefs(dest, [{ name: 'main', from: null, to: other }]));
  assert.ok(!(pushed instanceof Error), String(pushed));
  assert.equal(pushed.ok, false);
  assert.deepEqual(pushed.refs.map((r) => r.status), ['not-pushed']);
  assert.equal(pushed.checkedAfterLoss?.outcome, 'not-pushed');
  assert.equal(pushed.error?.code, 'TRANSPORT_CLOSED');
  assert.notEqual(received.outcome, 'published');
  assert.deepEqual(received.updated, []);
  assert.equal(listRefs(dest).get('main'), other);
  assert.notEqual(c1, other);
});

test('lost after DONE and no second session: unknown, PUSH_OUTCOME_UNKNOWN (exit 4)', async (t) => {
  const { src, dest } = await setup(t);
  const { pushed } = await cutAt(src, dest, 'summary', () => Promise.reject(new Error('host unreachable')));
  assert.ok(!(pushed instanceof Error), String(pushed));
  assert.equal(pushed.ok, false);
  assert.deepEqual(pushed.refs.map((r) => r.status), ['unknown']);
  assert.equal(pushed.error?.code, 'PUSH_OUTCOME_UNKNOWN');
  assert.equal(pushed.error?.exitCode, 4);
});

test('without a way to reconnect the old behaviour stands: the lost session is an error', async (t) => {
  const { src, dest } = await setup(t);
  const { pushed } = await cutAt(src, dest, 'summary', undefined);
  assert.ok(pushed instanceof Error);
  assert.equal((pushed as { code?: string }).code, 'TRANSPORT_CLOSED');
  assert.notEqual(listRefs(dest).get('main') ?? ZERO_CHECKSUM, ZERO_CHECKSUM);
});
