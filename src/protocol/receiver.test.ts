import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { decode } from '../gvariant/index.js';
import { initArchiveRepo } from '../repo/builder.js';
import { decodeCommit, decodeDirtree } from '../repo/metadata.js';
import { objectBasename, objectRelPath, type ObjectName } from '../repo/object-names.js';
import { listRefs, ZERO_CHECKSUM } from '../repo/refs.js';
import { Repo } from '../repo/repo.js';
import { SUMMARY_TYPE, writeSummary } from '../repo/summary.js';
import { difference } from '../repo/traverse.js';
import { ostreeFsck } from '../../testkit/ostree.js';
import { needTools } from '../../testkit/tools.js';
import type { ByteOrder } from '../wire/constants.js';
import { makeFixture, stagingLeft, type Fixture } from '../../testkit/receive-fixtures.js';
import { closureObjects, objectBytes, runSession, type ScriptedPusher } from '../../testkit/scripted-pusher.js';
import type { ReceiverHooks, ReceiveResult } from './receiver.js';

const ORDERS: ByteOrder[] = ['le', 'be'];

async function sendAll(p: ScriptedPusher, f: Fixture, objects: ObjectName[]): Promise<void> {
  for (const o of objects) {
    const st = await p.put(objectBasename(o.checksum, o.type), objectBytes(f.src, o));
    assert.deepEqual([st?.result, st?.message], [true, ''], `object ${o.checksum}.${o.type}`);
  }
}

/** A well-behaved push of `objects` for `refs` into `dest`. */
async function push(f: Fixture, dest: Repo, refs: Record<string, { from: string; to: string }>, objects: ObjectName[], order: ByteOrder = 'le', hooks: ReceiverHooks = {}): Promise<ReceiveResult> {
  const { result } = await runSession(
    { repo: dest, hooks },
    async (p) => {
      await p.info();
      const st = await p.update(refs);
      assert.equal(st?.result, true, st?.message);
      await sendAll(p, f, objects);
      await p.done();
    },
    order,
  );
  return result;
}

for (const order of ORDERS) {
  test(`receiver (${order}): a new ref with its closure is published, answered in the pusher's byte order`, async (t) => {
    const f = await makeFixture(t);
    const objects = await closureObjects(f.src, f.c2);
    const { result, pusher } = await runSession(
      { repo: f.dest },
      async (p) => {
        const info = await p.info();
        assert.equal(info.mode, 1);
        assert.deepEqual(info.refs, new Map());
        const st = await p.update({ 'os/main': { from: ZERO_CHECKSUM, to: f.c2 } });
        assert.deepEqual([st?.result, st?.message], [true, '']);
        await sendAll(p, f, objects);
        await p.done();
      },
      order,
    );
    assert.equal(result.outcome, 'published', result.error?.message);
    assert.equal(result.error, undefined);
    assert.deepEqual(result.updated, [{ ref: 'os/main', from: ZERO_CHECKSUM, to: f.c2 }]);
    assert.deepEqual(result.objects, { received: objects.length, alreadyPresent: 0, published: objects.length, discarded: 0 });
    assert.deepEqual(pusher.orders, ['le', ...Array<ByteOrder>(objects.length + 1).fill(order)], 'INFO in le, then the pusher order');
    assert.deepEqual(listRefs(f.dest), new Map([['os/main', f.c2]]));
    assert.deepEqual(stagingLeft(f.dest), []);
    for (const o of objects) assert.ok(existsSync(f.dest.resolve(objectRelPath(o.checksum, o.type))));
    if (needTools(t, 'ostree')) {
      const fsck = await ostreeFsck(f.dest.path);
      assert.ok(fsck.ok, fsck.stderr);
    }
  });
}

/** Asserts, as each object lands, that all its children are already in the store. */
function childFirstChecker(dest: Repo): { hooks: ReceiverHooks; landed: string[] } {
  const landed: string[] = [];
  const present = (checksum: string, type: ObjectName['type']): boolean => existsSync(dest.resolve(objectRelPath(checksum, type)));
  const hooks: ReceiverHooks = {
    onPublished: (o) => {
      landed.push(`${o.checksum}.${o.type}`);
      // The hook runs synchronously between two moves: read synchronously too.
      const bytes = readFileSync(dest.resolve(objectRelPath(o.checksum, o.type)));
      if (o.type === 'dirtree') {
        const tree = decodeDirtree(bytes);
        for (const x of tree.files) assert.ok(present(x.checksum, 'file'), `file ${x.checksum} before its dirtree`);
        for (const d of tree.dirs) assert.ok(present(d.dirtree, 'dirtree') && present(d.dirmeta, 'dirmeta'), `subdir ${d.name} before its dirtree`);
      } else if (o.type === 'commit') {
        const c = decodeCommit(bytes);
        assert.ok(present(c.rootDirtree, 'dirtree') && present(c.rootDirmeta, 'dirmeta'), 'root before its commit');
      }
    },
  };
  return { hooks, landed };
}

/** Deterministic Fisher–Yates with a small LCG, so a failure names its seed. */
function shuffle<T>(xs: readonly T[], seed: number): T[] {
  const out = [...xs];
  let s = seed >>> 0;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

test('receiver: objects arriving in any order are published child first', async (t) => {
  const f = await makeFixture(t);
  const objects = await closureObjects(f.src, f.c4);
  for (const seed of [1, 2, 3, 42, 1234]) {
    const dest = initArchiveRepo(join(f.dir, `dest-${seed}`));
    const arrival = shuffle(objects, seed);
    const { hooks, landed } = childFirstChecker(dest);
    const result = await push(f, dest, { 'os/main': { from: ZERO_CHECKSUM, to: f.c4 } }, arrival, seed % 2 === 0 ? 'be' : 'le', hooks);
    assert.equal(result.outcome, 'published', `seed ${seed}: ${result.error?.message}`);
    assert.equal(landed.length, objects.length, `seed ${seed}: every object published once`);
    assert.equal(landed.at(-1), `${f.c4}.commit`, 'the commit lands last');
    assert.ok(landed.includes(`${f.c4}.commitmeta`), 'the detached metadata is published');
  }
});

test('receiver: several refs move together, and the summary is regenerated', async (t) => {
  const f = await makeFixture(t);
  await writeSummary(f.dest);
  const objects: ObjectName[] = [];
  for await (const o of difference(f.src, [f.c2, f.c3], [])) objects.push(o);
  const result = await push(f, f.dest, { 'os/main': { from: ZERO_CHECKSUM, to: f.c2 }, 'os/other': { from: ZERO_CHECKSUM, to: f.c3 } }, objects);
  assert.equal(result.outcome, 'published', result.error?.message);
  assert.deepEqual(listRefs(f.dest), new Map([['os/main', f.c2], ['os/other', f.c3]]));
  const [heads] = decode(SUMMARY_TYPE, readFileSync(f.dest.resolve('summary')), 'le') as [Array<[string, unknown]>, unknown];
  assert.deepEqual(heads.map((h) => h[0]), ['os/main', 'os/other']);
  if (needTools(t, 'ostree')) assert.ok((await ostreeFsck(f.dest.path)).ok);
});

test('receiver: a fast-forward sends only the difference; a new ref to a stored commit moves with no objects', async (t) => {
  const f = await makeFixture(t);
  const first = await push(f, f.dest, { 'os/main': { from: ZERO_CHECKSUM, to: f.c1 } }, await closureObjects(f.src, f.c1));
  assert.equal(first.outcome, 'published');
  const diff: ObjectName[] = [];
  // The history between old and new: every commit after c1 up to c4, with its closure.
  for await (const o of difference(f.src, [f.c2, f.c4], [f.c1])) diff.push(o);
  const ff = await push(f, f.dest, { 'os/main': { from: f.c1, to: f.c4 } }, diff);
  assert.equal(ff.outcome, 'published', ff.error?.message);
  assert.ok(ff.objects.received < (await closureObjects(f.src, f.c4)).length + 5);

  const bare = await push(f, f.dest, { 'os/copy': { from: ZERO_CHECKSUM, to: f.c2 } }, []);
  assert.equal(bare.outcome, 'published', bare.error?.message);
  assert.deepEqual(bare.objects, { received: 0, alreadyPresent: 0, published: 0, discarded: 0 });
  assert.deepEqual(listRefs(f.dest), new Map([['os/copy', f.c2], ['os/main', f.c4]]));

  // Objects the store has are answered true and not staged again.
  const again = await push(f, f.dest, { 'os/again': { from: ZERO_CHECKSUM, to: f.c1 } }, await closureObjects(f.src, f.c1));
  assert.equal(again.outcome, 'published');
  assert.equal(again.objects.received, 0);
  assert.ok(again.objects.alreadyPresent > 0);
  if (needTools(t, 'ostree')) assert.ok((await ostreeFsck(f.dest.path)).ok);
});

test("receiver: a version-0 pusher's <commit>.sig and .sizes2 files are read, discarded and answered true, never published", async (t) => {
  const f = await makeFixture(t);
  const objects = await closureObjects(f.src, f.c2);
  const bytes = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_v, i) => (i * 31 + seed) & 0xff);
  const logs: string[] = [];
  const { result } = await runSession({ repo: f.dest, log: (line) => logs.push(line) }, async (p) => {
    await p.info();
    assert.equal((await p.update({ 'os/main': { from: ZERO_CHECKSUM, to: f.c2 } }))?.result, true);
    // The 2015 pusher sends them in no particular order: before, among and after the objects.
    const compat = (name: string, n: number) => async (): Promise<void> => {
      const st = await p.put(name, bytes(n, n));
      assert.deepEqual([st?.result, st?.message], [true, ''], name);
    };
    await compat(`${f.c2}.sig`, 566)();
    for (const [i, o] of objects.entries()) {
      const st = await p.put(o.name, objectBytes(f.src, o));
      assert.equal(st?.result, true, st?.message);
      if (i === 2) await compat(`${f.c2}.sizes2`, 70_000)();
    }
    await compat(`${f.c1}.sig`, 0)();
    await p.done();
  });
  assert.equal(result.outcome, 'published', result.error?.message);
  assert.deepEqual(result.objects, { received: objects.length, alreadyPresent: 0, published: objects.length, discarded: 3 });
  assert.deepEqual(listRefs(f.dest), new Map([['os/main', f.c2]]));
  const stored = readdirSync(f.dest.resolve('objects'), { recursive: true, encoding: 'utf8' });
  assert.deepEqual(stored.filter((n) => /\.(sig|sizes2)$/.test(n)), [], 'nothing unverified in objects/');
  assert.equal(logs.filter((l) => /^discarded [0-9a-f]{64}\.(sig|sizes2) \(\d+ bytes\)/.test(l)).length, 3, logs.join('\n'));
  assert.deepEqual(stagingLeft(f.dest), []);
  if (needTools(t, 'ostree')) {
    const fsck = await ostreeFsck(f.dest.path);
    assert.ok(fsck.ok, fsck.stderr);
  }
});

test('receiver: a compatibility file over the object size limit is refused like an object; nothing is published', async (t) => {
  const f = await makeFixture(t);
  const { result } = await runSession({ repo: f.dest, policy: { maxObjectSize: 100n } }, async (p) => {
    await p.info();
    assert.equal((await p.update({ 'os/main': { from: ZERO_CHECKSUM, to: f.c1 } }))?.result, true);
    const st = await p.put(`${f.c1}.sizes2`, new Uint8Array(101));
    assert.equal(st?.result, false);
  });
  assert.equal(result.error?.code, 'REPO_OBJECT_TOO_LARGE');
  assert.notEqual(result.outcome, 'published');
  assert.deepEqual(listRefs(f.dest), new Map());
  assert.deepEqual(stagingLeft(f.dest), []);
});

test('receiver: DONE at once is idle; a non-archive repository is refused with a clear STATUS', async (t) => {
  const f = await makeFixture(t);
  const idle = await runSession({ repo: f.dest }, async (p) => {
    await p.info();
    await p.done();
  });
  assert.equal(idle.result.outcome, 'idle');
  assert.equal(idle.result.error, undefined);

  const bare = Repo.init(join(f.dir, 'bare'), { mode: 'bare' });
  let status = '';
  const { result } = await runSession({ repo: bare }, async (p) => {
    assert.equal((await p.info()).mode, 0);
    const st = await p.update({ 'os/main': { from: ZERO_CHECKSUM, to: f.c1 } });
    assert.equal(st?.result, false);
    status = st?.message ?? '';
    await p.done();
  });
  assert.equal(result.outcome, 'refused');
  assert.equal(result.error?.code, 'REPO_UNSUPPORTED_MODE');
  assert.match(status, /is a bare repository; ostree-receive only accepts pushes into archive repositories/);
  assert.deepEqual(stagingLeft(bare), []);
});

test('receiver: a signed summary without a signing key is refused before any object', async (t) => {
  const f = await makeFixture(t);
  await writeSummary(f.dest);
  writeFileSync(f.dest.resolve('summary.sig'), new Uint8Array(0));
  const { result } = await runSession({ repo: f.dest }, async (p) => {
    await p.info();
    const st = await p.update({ 'os/main': { from: ZERO_CHECKSUM, to: f.c1 } });
    assert.equal(st?.result, false);
    assert.match(st?.message ?? '', /signed summary/);
    await p.done();
  });
  assert.equal(result.outcome, 'refused');
  assert.equal(result.error?.code, 'REPO_SUMMARY_SIGNED');
});

test('receiver: a silent pusher ends the session at the idle timeout, staging removed', async (t) => {
  const f = await makeFixture(t);
  const { result } = await runSession({ repo: f.dest, policy: { idleTimeoutMs: 100 } }, async (p) => {
    await p.info();
    assert.equal((await p.update({ 'os/main': { from: ZERO_CHECKSUM, to: f.c1 } }))?.result, true);
    // ...and then nothing.
  });
  assert.equal(result.outcome, 'aborted');
  assert.equal(result.error?.code, 'PROTOCOL_IDLE_TIMEOUT');
  assert.deepEqual(stagingLeft(f.dest), []);
  assert.deepEqual(listRefs(f.dest), new Map());
});

test('receiver: a fast-forward over several commits needs the commits in between', async (t) => {
  const f = await makeFixture(t);
  assert.equal((await push(f, f.dest, { 'os/main': { from: ZERO_CHECKSUM, to: f.c1 } }, await closureObjects(f.src, f.c1))).outcome, 'published');
  // Only c4's closure: c2 (between c1 and c4) is neither sent nor stored, so descent cannot be shown.
  const tipOnly: ObjectName[] = [];
  for await (const o of difference(f.src, [f.c4], [f.c1])) tipOnly.push(o);
  const refused = await push(f, f.dest, { 'os/main': { from: f.c1, to: f.c4 } }, tipOnly);
  assert.equal(refused.outcome, 'refused');
  assert.equal(refused.error?.code, 'PROTOCOL_NOT_FAST_FORWARD');
  assert.equal(
    refused.error?.message,
    `ref os/main: cannot show that ${f.c4} descends from ${f.c1}: its history stops at ${f.c4}, whose parent was not sent, and this repository accepts fast-forwards only: send the commits in between`,
  );
  assert.equal(listRefs(f.dest).get('os/main'), f.c1);
  assert.deepEqual(stagingLeft(f.dest), []);
});

test('receiver: with force off, a non-fast-forward is refused without advising --force (the pusher may have used it)', async (t) => {
  const f = await makeFixture(t);
  assert.equal((await push(f, f.dest, { 'os/other': { from: ZERO_CHECKSUM, to: f.c3 } }, await closureObjects(f.src, f.c3))).outcome, 'published');
  const refused = await push(f, f.dest, { 'os/other': { from: f.c3, to: f.c1 } }, await closureObjects(f.src, f.c1));
  assert.equal(refused.error?.code, 'PROTOCOL_NOT_FAST_FORWARD');
  assert.equal(refused.error?.data['forceAllowed'], false);
  assert.doesNotMatch(refused.error?.message ?? '', /--force/);
  assert.match(refused.error?.message ?? '', /accepts fast-forwards only/);
  assert.equal(listRefs(f.dest).get('os/other'), f.c3);
});
