/**
 * The extensions of spec/protocol.md section 12, end to end over in-memory
 * streams: pipelining (and its latency figure), QUERY/ANSWER negotiation,
 * REPORT after DONE, INFO that fits one body; and our pusher against peers
 * without capabilities, where it must speak plain version 0.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { commitTree, initArchiveRepo, type DirNode } from '../repo/builder.js';
import { listRefs, updateRefs } from '../repo/refs.js';
import type { Repo } from '../repo/repo.js';
import { closure } from '../repo/traverse.js';
import { delayedPipe } from '../../testkit/delay-link.js';
import { tmpDir } from '../../testkit/tmp.js';
import { MessageReader } from '../wire/reader.js';
import { MessageWriter } from '../wire/writer.js';
import { push, type PushOptions, type PushResult } from './pusher.js';
import { receive, type ReceiveResult } from './receiver.js';

const files = (n: number, salt = ''): DirNode => ({
  type: 'dir',
  children: Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${i}`, { type: 'file' as const, content: `${salt}file ${i}\n` }])),
});

async function session(
  src: Repo,
  dest: Repo,
  opts: { extensions?: boolean; pusher?: Partial<PushOptions>; latencyMs?: number } = {},
): Promise<{ pushed: PushResult; received: ReceiveResult; ms: number }> {
  const up = delayedPipe(opts.latencyMs ?? 0);
  const down = delayedPipe(opts.latencyMs ?? 0);
  const receiving = receive({ repo: dest, input: up.output, output: down.input, ...(opts.extensions === false ? { extensions: false } : {}) }).then((r) => {
    down.input.end();
    return r;
  });
  const remoteExit = receiving.then((r) => (r.outcome === 'idle' || r.outcome === 'published' ? 0 : 1));
  const t0 = performance.now();
  const pushed = await push({ repo: src, input: down.output, output: up.input, remoteExit, ...opts.pusher });
  const received = await receiving;
  return { pushed, received, ms: performance.now() - t0 };
}

async function sentTypes(src: Repo, dest: Repo, extensions: boolean): Promise<{ types: string[]; pushed: PushResult; received: ReceiveResult }> {
  const toReceiver = new PassThrough();
  const tap = new PassThrough();
  toReceiver.on('data', (c: Buffer) => tap.write(c));
  toReceiver.on('end', () => tap.end());
  const types: string[] = [];
  const counting = (async () => {
    const r = new MessageReader(tap);
    for (let m = await r.next(); m !== null; m = await r.next()) {
      types.push(m.message.type);
      await m.payload?.skip();
    }
  })();
  const toPusher = new PassThrough();
  const receiving = receive({ repo: dest, input: toReceiver, output: toPusher, extensions }).then((r) => {
    toPusher.end();
    return r;
  });
  const pushed = await push({ repo: src, input: toPusher, output: toReceiver, remoteExit: receiving.then((r) => (r.outcome === 'published' || r.outcome === 'idle' ? 0 : 1)) });
  const received = await receiving;
  await counting;
  return { types, pushed, received };
}

async function count(it: AsyncIterable<unknown>): Promise<number> {
  let n = 0;
  for await (const _ of it) n++;
  return n;
}

test('our receiver with extensions off: plain version 0 on the wire, the push works unchanged', async (t) => {
  const dir = tmpDir(t, 'ext-off');
  const src = initArchiveRepo(`${dir}/src`);
  const dest = initArchiveRepo(`${dir}/dest`);
  const c1 = (await commitTree(src, { tree: files(20), timestamp: 1, branch: 'main' })).commit;
  const { types, pushed, received } = await sentTypes(src, dest, false);
  assert.equal(pushed.ok, true, pushed.error?.message);
  assert.equal(received.outcome, 'published');
  assert.deepEqual(pushed.extensions, []);
  assert.equal(pushed.reported, false);
  assert.deepEqual([...new Set(types)], ['UPDATE', 'PUTOBJECT', 'DONE']);
  assert.equal(pushed.objectsSent, await count(closure(src, c1)));
  assert.deepEqual(listRefs(dest), new Map([['main', c1]]));
});

/**
 * A version-0 receiver as the 2015 one behaves: INFO without capabilities,
 * then read one message, answer it, repeat; anything but DONE after a
 * refusal ends the session. `refuseAt` refuses the n-th object.
 */
async function strictV0(repoRefs: Map<string, string>, input: PassThrough, output: PassThrough, refuseAt?: number): Promise<string[]> {
  const seen: string[] = [];
  const reader = new MessageReader(input);
  const writer = new MessageWriter(output);
  await writer.send({ type: 'INFO', mode: 1, refs: repoRefs, extra: new Map() });
  let objects = 0;
  let refused = false;
  try {
    for (let r = await reader.next(); r !== null; r = await reader.next()) {
      seen.push(r.message.type);
      if (r.message.type === 'DONE') break;
      if (refused) break; // a PUTOBJECT after the refusal: hang up
      if (r.message.type === 'PUTOBJECT') {
        await r.payload?.skip();
        objects++;
      }
      refused = objects === refuseAt;
      await writer.send({ type: 'STATUS', result: !refused, message: refused ? 'no room' : '', extra: new Map() });
    }
  } finally {
    output.end();
    input.resume();
  }
  return seen;
}

test('a strict version-0 receiver double: no new message types, pipelined objects, success', async (t) => {
  const dir = tmpDir(t, 'v0-double');
  const src = initArchiveRepo(`${dir}/src`);
  await commitTree(src, { tree: files(30), timestamp: 1, branch: 'main' });
  const toReceiver = new PassThrough();
  const toPusher = new PassThrough();
  const seen = strictV0(new Map(), toReceiver, toPusher);
  const pushed = await push({ repo: src, input: toPusher, output: toReceiver, remoteExit: seen.then(() => 0) });
  assert.equal(pushed.ok, true, pushed.error?.message);
  assert.deepEqual([...new Set(await seen)], ['UPDATE', 'PUTOBJECT', 'DONE']);
});

test('a strict version-0 receiver that refuses an object and hangs up on the next: the refusal is reported, no deadlock', async (t) => {
  const dir = tmpDir(t, 'v0-refuse');
  const src = initArchiveRepo(`${dir}/src`);
  await commitTree(src, { tree: files(200), timestamp: 1, branch: 'main' });
  const toReceiver = new PassThrough();
  const toPusher = new PassThrough();
  const seen = strictV0(new Map(), toReceiver, toPusher, 3);
  const pushed = await push({ repo: src, input: toPusher, output: toReceiver, remoteExit: seen.then(() => 1) });
  assert.equal(pushed.ok, false);
  assert.equal(pushed.error?.code, 'PROTOCOL_REFUSED');
  assert.match(pushed.error?.message ?? '', /no room/);
  assert.equal(pushed.objectsSent, 2);
});

test('negotiation: a new branch whose tree equals an existing branch sends no content objects', async (t) => {
  const dir = tmpDir(t, 'negotiate');
  // Someone else pushed `main` with tree T; our repository has T under another commit it made itself.
  const theirs = initArchiveRepo(`${dir}/theirs`);
  const src = initArchiveRepo(`${dir}/src`);
  const dest = initArchiveRepo(`${dir}/dest`);
  const tree = files(50);
  const a = (await commitTree(theirs, { tree, timestamp: 1, branch: 'main' })).commit;
  assert.equal((await session(theirs, dest)).pushed.ok, true);
  const b = (await commitTree(src, { tree, timestamp: 2, branch: 'other', subject: 'same tree' })).commit;
  const second = await session(src, dest);
  assert.equal(second.pushed.ok, true, second.pushed.error?.message);
  assert.deepEqual(second.pushed.extensions, ['query', 'report']);
  assert.equal(second.pushed.objectsSent, 1, 'the commit object alone');
  assert.equal(second.received.objects.received, 1);
  assert.equal(second.pushed.objectsKnownRemote, (await count(closure(src, b))) - 1);
  assert.deepEqual(listRefs(dest), new Map([['main', a], ['other', b]]));
  // Without negotiation the same push sends every object of the commit.
  const dest2 = initArchiveRepo(`${dir}/dest2`);
  await session(theirs, dest2);
  const plain = await session(src, dest2, { pusher: { extensions: false } });
  assert.equal(plain.pushed.objectsSent, await count(closure(src, b)));
});

test('report: each ref\'s result comes from the REPORT; a publish refused at DONE is reported per ref', async (t) => {
  const dir = tmpDir(t, 'report');
  const src = initArchiveRepo(`${dir}/src`);
  const dest = initArchiveRepo(`${dir}/dest`);
  const c1 = (await commitTree(src, { tree: files(3), timestamp: 1, branch: 'main' })).commit;
  const ok = await session(src, dest);
  assert.equal(ok.pushed.reported, true);
  assert.deepEqual(ok.pushed.refs.map((r) => [r.ref, r.status]), [['main', 'pushed']]);
  // Someone else moves the ref between INFO and DONE: the publish fails, the REPORT says so.
  const c2 = (await commitTree(src, { tree: files(4), timestamp: 2, parent: c1, branch: 'main' })).commit;
  const other = (await commitTree(dest, { tree: files(1, 'x'), timestamp: 3, branch: 'side' })).commit;
  const toReceiver = new PassThrough();
  const toPusher = new PassThrough();
  const receiving = receive({
    repo: dest,
    input: toReceiver,
    output: toPusher,
    hooks: {
      onStep: (s) => {
        if (s.event === 'recv:UPDATE') void updateRefs(dest, [{ name: 'main', from: c1, to: other }]);
      },
    },
  }).then((r) => (toPusher.end(), r));
  const pushed = await push({ repo: src, input: toPusher, output: toReceiver, remoteExit: receiving.then(() => 0) });
  const received = await receiving;
  assert.equal(received.outcome, 'refused');
  assert.equal(pushed.reported, true);
  assert.equal(pushed.ok, false, 'the REPORT decides, not the exit status (0 here)');
  assert.equal(pushed.error?.code, 'PROTOCOL_REFUSED');
  assert.equal(pushed.refs[0]?.status, 'refused');
  assert.match(pushed.refs[0]?.reason ?? '', /ref main is at/);
  assert.equal(listRefs(dest).get('main'), other);
  void c2;
});

test('10,000 refs: INFO lists what fits, marked truncated; the pusher asks about its own refs', async (t) => {
  const dir = tmpDir(t, 'many-refs');
  const src = initArchiveRepo(`${dir}/src`);
  const dest = initArchiveRepo(`${dir}/dest`);
  const c1 = (await commitTree(src, { tree: files(2), timestamp: 1, branch: 'zz/last' })).commit;
  await session(src, dest);
  // Written as plain ref files: the point is the count, not how they got there.
  mkdirSync(join(dest.path, 'refs/heads/branches'), { recursive: true });
  for (let i = 0; i < 10_000; i++) writeFileSync(join(dest.path, 'refs/heads/branches', `b${String(i).padStart(5, '0')}`), `${c1}\n`);
  assert.equal(listRefs(dest).size, 10_001);
  // The new commit on zz/last (sorted last, so surely not in INFO) must name the right `from`.
  const c2 = (await commitTree(src, { tree: files(3), timestamp: 2, parent: c1, branch: 'zz/last' })).commit;
  const r = await session(src, dest);
  assert.equal(r.pushed.ok, true, r.pushed.error?.message);
  assert.deepEqual(r.pushed.refs.map((x) => [x.ref, x.from, x.status]), [['zz/last', c1, 'pushed']]);
  assert.equal(listRefs(dest).get('zz/last'), c2);
  // A version-0 pusher (no query) is told a prefix; it sends from = zeros and is refused, nothing is overwritten.
  const c3 = (await commitTree(src, { tree: files(4), timestamp: 3, parent: c2, branch: 'zz/last' })).commit;
  const v0 = await session(src, dest, { pusher: { extensions: false } });
  assert.equal(v0.pushed.ok, false);
  assert.equal(v0.pushed.error?.code, 'PROTOCOL_REFUSED');
  assert.equal(listRefs(dest).get('zz/last'), c2);
  void c3;
});
