import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import type { OstreePushError } from '../errors.js';
import { Variant } from '../gvariant/index.js';
import { commitTree, initArchiveRepo, setRef, type DirNode } from '../repo/builder.js';
import { objectBasename, type ObjectName } from '../repo/object-names.js';
import type { Repo } from '../repo/repo.js';
import { closure, difference } from '../repo/traverse.js';
import { tmpDir } from '../../testkit/tmp.js';
import { type ByteOrder, ZERO_CHECKSUM } from '../wire/constants.js';
import type { Message } from '../wire/messages.js';
import { MessageReader } from '../wire/reader.js';
import { MessageWriter } from '../wire/writer.js';
import { push, type PushOptions, type PushProgress } from './pusher.js';

const tree = (extra: Record<string, string> = {}): DirNode => ({
  type: 'dir',
  children: {
    'README': { type: 'file', content: 'hello\n' },
    bin: { type: 'dir', children: { tool: { type: 'file', content: 'x'.repeat(5000), mode: 0o755 }, link: { type: 'symlink', target: 'tool' } } },
    ...Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, { type: 'file' as const, content: v }])),
  },
});

interface Seen {
  order: ByteOrder;
  message: Message;
  payload?: Uint8Array;
}

interface FakeScript {
  mode?: number;
  refs?: Record<string, string>;
  /** Answer to UPDATE / each PUTOBJECT (default true). */
  onUpdate?: () => [boolean, string];
  onObject?: (index: number, name: string) => [boolean, string];
  /** Hang up right after INFO. */
  hangUp?: boolean;
  /** INFO's `capabilities` (absent: a plain version-0 receiver). */
  capabilities?: string[];
}

/** A scripted receiver over in-memory streams: INFO, then STATUS for each request, until DONE or EOF. */
function fakeReceiver(script: FakeScript) {
  const toReceiver = new PassThrough();
  const toPusher = new PassThrough();
  const seen: Seen[] = [];
  const done = (async () => {
    const writer = new MessageWriter(toPusher);
    const extra = new Map(script.capabilities === undefined ? [] : [['capabilities', new Variant('as', script.capabilities)]]);
    await writer.send({ type: 'INFO', mode: script.mode ?? 1, refs: new Map(Object.entries(script.refs ?? {})), extra });
    if (script.hangUp === true) {
      toPusher.end();
      return;
    }
    const reader = new MessageReader(toReceiver);
    let objects = 0;
    for (;;) {
      const r = await reader.next();
      if (r === null) break;
      const s: Seen = { order: r.order, message: r.message };
      seen.push(s);
      const status = (ok: [boolean, string]) =>
        writer.send({ type: 'STATUS', result: ok[0], message: ok[1], extra: new Map() }, r.order);
      if (r.message.type === 'UPDATE') await status(script.onUpdate?.() ?? [true, '']);
      else if (r.message.type === 'PUTOBJECT') {
        const chunks: Uint8Array[] = [];
        for await (const c of r.payload!) chunks.push(Uint8Array.from(c));
        s.payload = Buffer.concat(chunks);
        await status(script.onObject?.(objects++, r.message.object) ?? [true, '']);
      } else if (r.message.type === 'DONE') break;
    }
    toPusher.end();
  })();
  return { toReceiver, toPusher, seen, done };
}

async function run(repo: Repo, script: FakeScript, extra: Partial<PushOptions> = {}) {
  const fake = fakeReceiver(script);
  const progress: PushProgress[] = [];
  const result = await push({ repo, input: fake.toPusher, output: fake.toReceiver, onProgress: (p) => progress.push(p), ...extra });
  await fake.done;
  return { result, seen: fake.seen, progress };
}

const types = (seen: Seen[]) => seen.map((s) => s.message.type);

async function fixture(t: Parameters<typeof tmpDir>[0]) {
  const repo = initArchiveRepo(`${tmpDir(t, 'pusher')}/repo`);
  const c1 = (await commitTree(repo, { tree: tree(), subject: 'one', timestamp: 1, branch: 'main' })).commit;
  return { repo, c1 };
}

test('full push to an empty remote: UPDATE from zeros, every object child-first with exact bytes, then DONE', async (t) => {
  const { repo, c1 } = await fixture(t);
  const { result, seen, progress } = await run(repo, {});
  const expected: ObjectName[] = [];
  for await (const o of closure(repo, c1)) expected.push(o);
  assert.deepEqual(types(seen), ['UPDATE', ...expected.map(() => 'PUTOBJECT'), 'DONE']);
  const update = seen[0]!.message;
  assert.equal(update.type, 'UPDATE');
  assert.deepEqual([...update.refs], [['main', { from: ZERO_CHECKSUM, to: c1 }]]);
  const puts = seen.filter((s) => s.message.type === 'PUTOBJECT');
  assert.deepEqual(
    puts.map((s) => (s.message.type === 'PUTOBJECT' ? s.message.object : '')),
    expected.map((o) => objectBasename(o.checksum, o.type)),
  );
  for (const [i, s] of puts.entries()) {
    const o = expected[i]!;
    const file = readFileSync(repo.resolve('objects', o.checksum.slice(0, 2), `${objectBasename(o.checksum, o.type).slice(2)}`));
    assert.deepEqual(Buffer.from(s.payload!), file, `payload of ${o.type} ${o.checksum}`);
    assert.equal(s.message.type === 'PUTOBJECT' && s.message.size, BigInt(file.length));
  }
  assert.equal(result.ok, true);
  assert.deepEqual(result.refs, [{ ref: 'main', from: ZERO_CHECKSUM, to: c1, status: 'pushed' }]);
  assert.equal(result.objectsSent, expected.length);
  assert.equal(result.objectsSkipped, 0);
  const last = progress.at(-1)!;
  assert.equal(last.objectsSent, last.objectsTotal);
  assert.equal(last.bytesSent, result.bytesSent);
  assert.equal(result.bytesSent, result.bytesTotal);
});

test('a ref equal to the remote is up to date: DONE only', async (t) => {
  const { repo, c1 } = await fixture(t);
  const { result, seen } = await run(repo, { refs: { main: c1 } });
  assert.deepEqual(types(seen), ['DONE']);
  assert.equal(result.ok, true);
  assert.equal(result.refs[0]!.status, 'up-to-date');
});

test('incremental push sends only the objects the remote lacks', async (t) => {
  const { repo, c1 } = await fixture(t);
  const c2 = (await commitTree(repo, { tree: tree({ NEW: 'new file\n' }), subject: 'two', timestamp: 2, parent: c1, branch: 'main' })).commit;
  const { result, seen } = await run(repo, { refs: { main: c1 } });
  const expected: string[] = [];
  for await (const o of difference(repo, [c2], [c1])) expected.push(objectBasename(o.checksum, o.type));
  assert.equal(expected.length, 3, 'the new file, the new root dirtree and the commit (the dirmetas are unchanged)');
  assert.deepEqual(seen.filter((s) => s.message.type === 'PUTOBJECT').map((s) => (s.message as { object: string }).object), expected);
  assert.deepEqual(result.refs, [{ ref: 'main', from: c1, to: c2, status: 'pushed' }]);
});

test('a new ref at a commit the remote already has: UPDATE, no objects (a receiver with capabilities)', async (t) => {
  const repo = initArchiveRepo(`${tmpDir(t, 'pusher')}/repo`);
  // Bound to both refs, as `ostree commit --branch=main --bind-ref=release/1` makes it.
  const metadata = new Map([['ostree.ref-binding', new Variant('as', ['main', 'release/1'])]]);
  const c1 = (await commitTree(repo, { tree: tree(), subject: 'one', timestamp: 1, branch: 'main', bindings: false, metadata })).commit;
  await setRef(repo, 'release/1', c1);
  const { result, seen } = await run(repo, { refs: { main: c1 }, capabilities: ['query'] });
  assert.deepEqual(types(seen), ['UPDATE', 'DONE']);
  assert.deepEqual(result.refs.map((r) => [r.ref, r.status]), [['main', 'up-to-date'], ['release/1', 'pushed']]);
  assert.equal(result.objectsSent, 0);
});

test('to a plain version-0 receiver an update with nothing to send still sends its commit: the 2015 receiver writes refs only after an object', async (t) => {
  const repo = initArchiveRepo(`${tmpDir(t, 'pusher')}/repo`);
  // Bound to both refs, so that the binding check lets release/1 through.
  const metadata = new Map([['ostree.ref-binding', new Variant('as', ['main', 'release/1'])]]);
  const c1 = (await commitTree(repo, { tree: tree(), subject: 'one', timestamp: 1, branch: 'main', bindings: false, metadata })).commit;
  await setRef(repo, 'release/1', c1);
  const { result, seen } = await run(repo, { refs: { main: c1 } });
  assert.deepEqual(types(seen), ['UPDATE', 'PUTOBJECT', 'DONE']);
  const put = seen[1]!;
  assert.equal(put.message.type === 'PUTOBJECT' && put.message.object, `${c1}.commit`);
  assert.deepEqual(Buffer.from(put.payload!), readFileSync(repo.resolve('objects', c1.slice(0, 2), `${c1.slice(2)}.commit`)));
  assert.deepEqual(result.refs.map((r) => [r.ref, r.status]), [['main', 'up-to-date'], ['release/1', 'pushed']]);
  assert.equal(result.objectsSent, 1);
});

test('INFO listing remote refs (origin:stable), as libostree list_refs does: they never match a head and are never updated', async (t) => {
  const { repo, c1 } = await fixture(t);
  // The remote's remote refs name c1, but a remote ref's commit may be absent there: the whole closure goes.
  const { result, seen } = await run(repo, { refs: { 'origin:release': c1, 'origin:stable': c1, 'upstream:os/x86_64/3.0': c1, 'a b/../c': c1 } });
  const expected: string[] = [];
  for await (const o of closure(repo, c1)) expected.push(objectBasename(o.checksum, o.type));
  assert.deepEqual(types(seen), ['UPDATE', ...expected.map(() => 'PUTOBJECT'), 'DONE']);
  const update = seen[0]!.message;
  assert.deepEqual(update.type === 'UPDATE' && [...update.refs], [['main', { from: ZERO_CHECKSUM, to: c1 }]]);
  assert.deepEqual(seen.filter((s) => s.message.type === 'PUTOBJECT').map((s) => (s.message as { object: string }).object), expected);
  assert.equal(result.ok, true);
  assert.deepEqual(result.refs, [{ ref: 'main', from: ZERO_CHECKSUM, to: c1, status: 'pushed' }]);
});

test("a remote ref's commit is not taken as held by the remote: a fast-forward sends the difference from the head", async (t) => {
  const { repo, c1 } = await fixture(t);
  const c2 = (await commitTree(repo, { tree: tree({ NEW: 'new file\n' }), subject: 'two', timestamp: 2, parent: c1, branch: 'main' })).commit;
  const { result, seen } = await run(repo, { refs: { main: c1, 'origin:main': c2 } });
  const expected: string[] = [];
  for await (const o of difference(repo, [c2], [c1])) expected.push(objectBasename(o.checksum, o.type));
  assert.equal(expected.length, 3);
  assert.deepEqual(seen.filter((s) => s.message.type === 'PUTOBJECT').map((s) => (s.message as { object: string }).object), expected);
  assert.deepEqual(result.refs, [{ ref: 'main', from: c1, to: c2, status: 'pushed' }]);
});

test("a head the remote lacks but one of its remotes has (origin:main): UPDATE names that commit as 'from', as libostree's resolve_rev there does", async (t) => {
  const { repo, c1 } = await fixture(t);
  const [x, y] = ['ab'.repeat(32), 'cd'.repeat(32)];
  const expected: string[] = [];
  for await (const o of closure(repo, c1)) expected.push(objectBasename(o.checksum, o.type));
  // One remote, or several naming the same commit: that commit; the ref is still new (whole closure, never a rejection).
  for (const refs of [{ 'origin:main': x }, { 'origin:main': x, 'upstream:main': x, 'origin:other': y }]) {
    const { result, seen } = await run(repo, { refs });
    const update = seen[0]!.message;
    assert.deepEqual(update.type === 'UPDATE' && [...update.refs], [['main', { from: x, to: c1 }]], JSON.stringify(refs));
    assert.deepEqual(seen.filter((s) => s.message.type === 'PUTOBJECT').map((s) => (s.message as { object: string }).object), expected);
    assert.deepEqual(result.refs, [{ ref: 'main', from: x, to: c1, status: 'pushed' }]);
  }
  // Remotes disagreeing: which one such a receiver finds first is unknown; 64 zeros, and the log says why.
  const lines: string[] = [];
  const { seen } = await run(repo, { refs: { 'origin:main': x, 'upstream:main': y } }, { log: (l) => lines.push(l) });
  const update = seen[0]!.message;
  assert.deepEqual(update.type === 'UPDATE' && [...update.refs], [['main', { from: ZERO_CHECKSUM, to: c1 }]]);
  assert.ok(lines.some((l) => /main: the remote's remotes name different commits \(origin:main, upstream:main\)/.test(l)), lines.join('\n'));
  // A head listed wins over any remote ref of the same name.
  const head = await run(repo, { refs: { main: c1, 'origin:main': x } });
  assert.deepEqual(types(head.seen), ['DONE']);
});

test('INFO refs stay typed: an empty name or a value that is not a lowercase 64-hex checksum is PROTOCOL_BAD_MESSAGE', async (t) => {
  const { repo, c1 } = await fixture(t);
  const bad: Array<Record<string, string>> = [{ '': c1 }, { 'origin:stable': c1.toUpperCase() }, { 'origin:stable': c1.slice(1) }, { main: 'x'.repeat(64) }, { ['r'.repeat(4097)]: c1 }];
  for (const refs of bad) {
    const fake = fakeReceiver({ refs });
    await assert.rejects(push({ repo, input: fake.toPusher, output: fake.toReceiver }), (e: OstreePushError) => {
      assert.equal(e.code, 'PROTOCOL_BAD_MESSAGE', e.message);
      return true;
    });
    await fake.done;
    assert.deepEqual(types(fake.seen), [], JSON.stringify(Object.keys(refs)).slice(0, 40));
  }
});

test('non-fast-forward is rejected locally unless forced', async (t) => {
  const { repo, c1 } = await fixture(t);
  const other = 'ab'.repeat(32); // unknown locally: cannot be proven an ancestor
  const r1 = await run(repo, { refs: { main: other } });
  assert.deepEqual(types(r1.seen), ['DONE']);
  assert.equal(r1.result.ok, false);
  assert.equal(r1.result.refs[0]!.status, 'rejected');
  assert.equal(r1.result.error?.code, 'PUSH_REJECTED');
  // ostree has no merge: pull the remote's commit and build on it, or force where the remote allows it.
  assert.equal(r1.result.error?.message, "rejected (non-fast-forward): main; pull the remote's commit and build on it, or push with --force if the remote allows replacing it");

  const r2 = await run(repo, { refs: { main: other } }, { force: true });
  const update = r2.seen[0]!.message;
  assert.equal(update.type, 'UPDATE');
  assert.deepEqual(update.refs.get('main'), { from: other, to: c1 });
  assert.equal(r2.result.ok, true);
  assert.equal(r2.result.refs[0]!.forced, true);

  // A rewind (the remote's commit is a descendant) is not a fast-forward either.
  const c2 = (await commitTree(repo, { tree: tree({ x: 'x' }), timestamp: 2, parent: c1 })).commit;
  const r3 = await run(repo, { refs: { main: c2 } });
  assert.equal(r3.result.refs[0]!.status, 'rejected');
});

test('a refused UPDATE: DONE, refs refused with the reason, PROTOCOL_REFUSED', async (t) => {
  const { repo } = await fixture(t);
  const { result, seen } = await run(repo, { onUpdate: () => [false, 'ref main moved'] });
  assert.deepEqual(types(seen), ['UPDATE', 'DONE']);
  assert.equal(result.ok, false);
  assert.equal(result.refs[0]!.status, 'refused');
  assert.equal(result.refs[0]!.reason, 'ref main moved');
  assert.equal(result.error?.code, 'PROTOCOL_REFUSED');
  assert.match(result.error!.message, /ref main moved/);
});

test('a refused object stops the push: with window 1 at once, pipelined after the objects in flight; DONE follows', async (t) => {
  const { repo } = await fixture(t);
  const pipelined = await run(repo, { onObject: (i) => (i === 1 ? [false, 'checksum mismatch'] : [true, '']) });
  const sent = types(pipelined.seen);
  assert.equal(sent.at(-1), 'DONE');
  assert.ok(sent.filter((x) => x === 'PUTOBJECT').length >= 2, sent.join(' '));
  assert.equal(pipelined.result.objectsSent, 1);
  assert.equal(pipelined.result.error?.code, 'PROTOCOL_REFUSED');
  const { result, seen } = await run(repo, { onObject: (i) => (i === 1 ? [false, 'checksum mismatch'] : [true, '']) }, { window: 1 });
  assert.deepEqual(types(seen), ['UPDATE', 'PUTOBJECT', 'PUTOBJECT', 'DONE']);
  assert.equal(result.objectsSent, 1);
  assert.ok(result.objectsSkipped > 0);
  assert.equal(result.error?.code, 'PROTOCOL_REFUSED');
  assert.match(result.refs[0]!.reason!, /checksum mismatch/);
});

test('refs count as pushed only when the receiver exits 0 after DONE', async (t) => {
  const { repo } = await fixture(t);
  const { result } = await run(repo, {}, { remoteExit: Promise.resolve(1) });
  assert.equal(result.ok, false);
  assert.equal(result.refs[0]!.status, 'refused');
  assert.equal(result.error?.code, 'PUSH_REMOTE_FAILED');
  assert.match(result.error!.message, /exited with status 1/);
});

test('a non-archive remote is refused before any request; the session is dropped', async (t) => {
  const { repo } = await fixture(t);
  const fake = fakeReceiver({ mode: 0 });
  await assert.rejects(push({ repo, input: fake.toPusher, output: fake.toReceiver }), (e: OstreePushError) => {
    assert.equal(e.code, 'PUSH_REMOTE_NOT_ARCHIVE');
    return true;
  });
  await fake.done;
  assert.deepEqual(types(fake.seen), []);
});

test('a non-archive remote is named by its mode, never by the bare number INFO carries', async (t) => {
  const { repo } = await fixture(t);
  // (A number outside 0-4 fails INFO's schema before this: PROTOCOL_BAD_MESSAGE.)
  const names: Array<[number, string]> = [[0, 'bare'], [2, 'bare-user'], [3, 'bare-user-only'], [4, 'bare-split-xattrs']];
  for (const [mode, name] of names) {
    const fake = fakeReceiver({ mode });
    await assert.rejects(push({ repo, input: fake.toPusher, output: fake.toReceiver }), (e: OstreePushError) => {
      assert.equal(e.code, 'PUSH_REMOTE_NOT_ARCHIVE');
      assert.equal(e.data['mode'], mode);
      assert.equal(e.data['modeName'], name);
      assert.ok(e.message.includes(`a ${name} repository`), e.message);
      assert.doesNotMatch(e.message, new RegExp(`mode ${mode}\\b`));
      return true;
    });
    await fake.done;
  }
});

test('the receiver hanging up is TRANSPORT_CLOSED (exit 3) naming its exit status', async (t) => {
  const { repo } = await fixture(t);
  const fake = fakeReceiver({ hangUp: true });
  await assert.rejects(push({ repo, input: fake.toPusher, output: fake.toReceiver, remoteExit: Promise.resolve(1) }), (e: OstreePushError) => {
    assert.equal(e.code, 'TRANSPORT_CLOSED');
    assert.equal(e.exitCode, 3);
    assert.match(e.message, /exited with status 1/);
    return true;
  });
});

test('an unknown local ref is PUSH_UNKNOWN_REF (usage, exit 2)', async (t) => {
  const { repo } = await fixture(t);
  const fake = fakeReceiver({});
  await assert.rejects(push({ repo, refs: ['nope'], input: fake.toPusher, output: fake.toReceiver }), (e: OstreePushError) => {
    assert.equal(e.code, 'PUSH_UNKNOWN_REF');
    assert.equal(e.exitCode, 2);
    return true;
  });
});

test('dry run: DONE only, with the plan in the result', async (t) => {
  const { repo, c1 } = await fixture(t);
  const { result, seen } = await run(repo, {}, { dryRun: true });
  assert.deepEqual(types(seen), ['DONE']);
  let n = 0;
  for await (const _ of closure(repo, c1)) n++;
  assert.equal(result.objectsTotal, n);
  assert.equal(result.objectsSent, 0);
  assert.equal(result.objectsSkipped, n);
});

test('big-endian: every message goes out with the B order byte', async (t) => {
  const { repo } = await fixture(t);
  const { result, seen } = await run(repo, {}, { order: 'be' });
  assert.equal(result.ok, true);
  assert.ok(seen.length > 2);
  assert.ok(seen.every((s) => s.order === 'be'));
});
