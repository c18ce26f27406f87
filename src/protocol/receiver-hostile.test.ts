/**
 * Hostile input for the receiver: each case asserts the exact error code
 * (and STATUS text where the protocol allows an answer), then that the
 * destination is exactly as before: same refs, not one file more or less
 * anywhere under the test directory, no staging or lock left. The file
 * snapshot proves each case changed nothing; `ostree fsck` then runs once
 * per test, on the final state.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { setRef } from '../repo/builder.js';
import { objectBasename, type ObjectName } from '../repo/object-names.js';
import { listRefs, ZERO_CHECKSUM } from '../repo/refs.js';
import { difference } from '../repo/traverse.js';
import type { ByteOrder } from '../wire/constants.js';
import { encodeHeader } from '../wire/header.js';
import { encodeMessage, type StatusMessage } from '../wire/messages.js';
import { MessageWriter } from '../wire/writer.js';
import { assertFsckClean, assertUntouched, makeFixture, snapshot, type Fixture } from '../../testkit/receive-fixtures.js';
import type { ReceiveResult, ReceiverPolicy } from './receiver.js';
import { closureObjects, objectBytes, runSession, type ScriptedPusher } from '../../testkit/scripted-pusher.js';

const ORDERS: ByteOrder[] = ['le', 'be'];

async function all(g: AsyncIterable<ObjectName>): Promise<ObjectName[]> {
  const out: ObjectName[] = [];
  for await (const o of g) out.push(o);
  return out;
}

/** Puts os/main at c2 with an honest push, so hostile cases start from a non-empty repository. */
async function seeded(t: TestContext): Promise<Fixture> {
  const f = await makeFixture(t);
  const objects = await closureObjects(f.src, f.c2);
  const { result } = await runSession({ repo: f.dest }, async (p) => {
    await p.info();
    await p.update({ 'os/main': { from: ZERO_CHECKSUM, to: f.c2 } });
    for (const o of objects) await p.put(o.name, objectBytes(f.src, o));
    await p.done();
  });
  assert.equal(result.outcome, 'published', result.error?.message);
  return f;
}

interface Expect {
  code: string;
  outcome: ReceiveResult['outcome'];
  /** The STATUS false text, when the receiver could answer. */
  status?: RegExp;
  /** The error's text, where its advice is what is tested. */
  message?: RegExp;
}

/** Runs a hostile script and checks the result and that nothing changed. */
async function hostile(t: TestContext, f: Fixture, script: (p: ScriptedPusher) => Promise<string | void>, expect: Expect, order: ByteOrder = 'le', policy: ReceiverPolicy = {}): Promise<void> {
  const before = snapshot(f);
  const refs = listRefs(f.dest);
  let status: string | void = undefined;
  const { result } = await runSession(
    { repo: f.dest, policy },
    async (p) => {
      status = await script(p);
    },
    order,
  );
  assert.equal(result.error?.code, expect.code, result.error?.message);
  assert.equal(result.outcome, expect.outcome);
  assert.deepEqual(result.updated, []);
  if (expect.status !== undefined) assert.match(String(status), expect.status);
  if (expect.message !== undefined) assert.match(result.error?.message ?? '', expect.message);
  assert.doesNotMatch(result.error?.message ?? '', /\n\s+at /, 'no stack trace in the message');
  await assertUntouched(t, f, before, refs, { fsck: false });
}

/** INFO, an accepted UPDATE for os/main c2 → c4, then `rest`. */
function afterUpdate(f: Fixture, rest: (p: ScriptedPusher) => Promise<string | void>): (p: ScriptedPusher) => Promise<string | void> {
  return async (p) => {
    await p.info();
    const st = await p.update({ 'os/main': { from: f.c2, to: f.c4 } });
    assert.equal(st?.result, true, st?.message);
    return rest(p);
  };
}

/**
 * Sends one PUTOBJECT and, if refused, DONE (as a v0 pusher does); returns
 * the STATUS text. After refusing a bad body the receiver has hung up, so
 * DONE may find the stream closed.
 */
async function putRefused(p: ScriptedPusher, name: string, bytes: Uint8Array): Promise<string> {
  const st = await p.put(name, bytes);
  assert.equal(st?.result, false, `${name} must be refused`);
  await p.done().catch((e: { code?: string }) => assert.equal(e.code, 'WIRE_STREAM_CLOSED'));
  return st?.message ?? '';
}

const HEX = 'ab'.repeat(32);

for (const order of ORDERS) {
  test(`hostile (${order}): object names that are not exactly <64 hex>.<push type>`, async (t) => {
    const f = await seeded(t);
    const names = [
      '../x',
      `aa/../../${HEX}.filez`,
      `/etc/${HEX}.filez`,
      `${HEX.toUpperCase()}.filez`,
      `${HEX}.exe`,
      `${HEX}.file`,
      `${HEX}.tombstone-commit`,
      `${HEX}.filez/`,
      `${HEX}`,
      `${HEX.slice(2)}/../${HEX}.dirtree`,
    ];
    for (const name of names) {
      await hostile(t, f, afterUpdate(f, (p) => putRefused(p, name, new Uint8Array([1, 2, 3]))), { code: 'PROTOCOL_BAD_MESSAGE', outcome: 'refused', status: /^PUTOBJECT: object does not match the object-name pattern/ }, order);
    }
    await assertFsckClean(t, f);
  });

  test(`hostile (${order}): ref names that could leave refs/heads`, async (t) => {
    const f = await seeded(t);
    for (const ref of ['../x', 'os/../../x', '/abs', 'a//b', '.hidden', 'os/.x', '-x', 'a b', 'refs/heads/../../../../tmp/x', '']) {
      await hostile(
        t,
        f,
        async (p) => {
          await p.info();
          const st = await p.update({ [ref]: { from: ZERO_CHECKSUM, to: f.c1 } });
          assert.equal(st?.result, false);
          await p.done();
          return st?.message;
        },
        { code: 'PROTOCOL_BAD_MESSAGE', outcome: 'refused', status: /^UPDATE: refs\/.* does not match the ref-name pattern/ },
        order,
      );
    }
    await assertFsckClean(t, f);
  });
}

test('hostile: a flipped payload byte, and an object under another object\'s name', async (t) => {
  const f = await seeded(t);
  const objects = await closureObjects(f.src, f.c4);
  const files = objects.filter((o) => o.type === 'file').sort((a, b) => objectBytes(f.src, b).length - objectBytes(f.src, a).length);
  const filez = files[0] as ObjectName & { name: string };
  const tree = objects.find((o) => o.type === 'dirtree') as ObjectName & { name: string };
  const flip = (b: Uint8Array, at: number): Uint8Array => {
    const c = Uint8Array.from(b);
    c[at] = (c[at] as number) ^ 0x01;
    return c;
  };
  const corrupt = /^object [0-9a-f]{64}\.(filez|dirtree): corrupted (file|dirtree) object [0-9a-f]{64}: (checksum expected=[0-9a-f]{64} actual=[0-9a-f]{64}|bad deflate stream)/;
  await hostile(t, f, afterUpdate(f, (p) => putRefused(p, filez.name, flip(objectBytes(f.src, filez), objectBytes(f.src, filez).length - 20))), { code: 'REPO_CORRUPT_OBJECT', outcome: 'refused', status: corrupt });
  await hostile(t, f, afterUpdate(f, (p) => putRefused(p, tree.name, flip(objectBytes(f.src, tree), 3))), { code: 'REPO_CORRUPT_OBJECT', outcome: 'refused', status: corrupt });
  const other = objects.find((o) => o.type === 'file' && o.checksum !== filez.checksum) as ObjectName & { name: string };
  await hostile(t, f, afterUpdate(f, (p) => putRefused(p, other.name, objectBytes(f.src, filez))), {
    code: 'REPO_CORRUPT_OBJECT',
    outcome: 'refused',
    status: new RegExp(`^object ${other.name}: .*checksum expected=${other.checksum} actual=${filez.checksum}`),
  });
  // Garbage as detached metadata, and as a dirtree under a real name.
  await hostile(t, f, afterUpdate(f, (p) => putRefused(p, `${f.c4}.commitmeta`, new Uint8Array([0xff, 0xfe, 0x01]))), { code: 'REPO_MALFORMED_OBJECT', outcome: 'refused', status: /^object [0-9a-f]{64}\.commitmeta: malformed commitmeta/ });
  // After a refusal the receiver publishes nothing, even if the pusher goes on:
  // an object still in flight (a pipelining pusher) is answered false, unstaged.
  await hostile(
    t,
    f,
    afterUpdate(f, async (p) => {
      const st = await p.put(filez.name, flip(objectBytes(f.src, filez), 40));
      assert.equal(st?.result, false);
      const late = await p.put(objects[0]!.name, objectBytes(f.src, objects[0]!));
      assert.equal(late?.result, false);
      assert.match(late?.message ?? '', /not taken: an earlier refusal ended this push/);
      await p.done();
    }),
    { code: 'REPO_CORRUPT_OBJECT', outcome: 'refused' },
  );
  await assertFsckClean(t, f);
});

test('hostile: a commit without its children is refused at DONE', async (t) => {
  const f = await seeded(t);
  await hostile(
    t,
    f,
    afterUpdate(f, async (p) => {
      const c = { checksum: f.c4, type: 'commit' as const };
      const st = await p.put(objectBasename(f.c4, 'commit'), objectBytes(f.src, c));
      assert.equal(st?.result, true);
      await p.done();
    }),
    { code: 'PROTOCOL_INCOMPLETE_COMMIT', outcome: 'refused' },
  );
  // Everything but one leaf file.
  const diff = await all(difference(f.src, [f.c4], [f.c2]));
  const drop = diff.findIndex((o) => o.type === 'file');
  await hostile(
    t,
    f,
    afterUpdate(f, async (p) => {
      for (const [i, o] of diff.entries()) if (i !== drop) assert.equal((await p.put(objectBasename(o.checksum, o.type), objectBytes(f.src, o)))?.result, true);
      await p.done();
    }),
    { code: 'PROTOCOL_INCOMPLETE_COMMIT', outcome: 'refused' },
  );
  await assertFsckClean(t, f);
});

test('hostile: a stale from, a non-fast-forward, and a ref moved by someone else before DONE', async (t) => {
  const f = await seeded(t);
  await hostile(
    t,
    f,
    async (p) => {
      await p.info();
      const st = await p.update({ 'os/main': { from: ZERO_CHECKSUM, to: f.c4 } });
      await p.done();
      return st?.message;
    },
    { code: 'REPO_REF_CONFLICT', outcome: 'refused', status: new RegExp(`^ref os/main is at ${f.c2}, not absent: it changed since this push began; fetch, check and push again$`) },
  );
  await hostile(
    t,
    f,
    async (p) => {
      await p.info();
      const st = await p.update({ 'os/main': { from: f.c1, to: f.c4 }, 'os/new': { from: ZERO_CHECKSUM, to: f.c2 } });
      await p.done();
      return st?.message;
    },
    { code: 'REPO_REF_CONFLICT', outcome: 'refused', status: new RegExp(`^ref os/main is at ${f.c2}, not ${f.c1}`) },
  );
  const c3objects = await closureObjects(f.src, f.c3);
  const nonFF = async (p: ScriptedPusher): Promise<void> => {
    await p.info();
    assert.equal((await p.update({ 'os/main': { from: f.c2, to: f.c3 } }))?.result, true);
    for (const o of c3objects) await p.put(o.name, objectBytes(f.src, o));
    await p.done();
  };
  // ostree has no merge: the advice is to build on the remote's commit; --force is no advice where it is not allowed.
  await hostile(t, f, nonFF, {
    code: 'PROTOCOL_NOT_FAST_FORWARD',
    outcome: 'refused',
    message: new RegExp(`^ref os/main: ${f.c3} does not descend from ${f.c2}, and this repository accepts fast-forwards only: build the new commit on ${f.c2} \\(pull it, then commit on top of it\\) and push again$`),
  });
  const forced = await runSession({ repo: f.dest, policy: { allowForce: true } }, nonFF);
  assert.equal(forced.result.outcome, 'published', forced.result.error?.message);
  assert.equal(listRefs(f.dest).get('os/main'), f.c3);

  // A concurrent writer moves the ref between UPDATE and DONE: compare-and-swap fails cleanly.
  const diff = await all(difference(f.src, [f.c2, f.c4], [f.c3]));
  const { result } = await runSession({ repo: f.dest, policy: { allowForce: true } }, async (p) => {
    await p.info();
    assert.equal((await p.update({ 'os/main': { from: f.c3, to: f.c4 } }))?.result, true);
    for (const o of diff) await p.put(objectBasename(o.checksum, o.type), objectBytes(f.src, o));
    await setRef(f.dest, 'os/main', f.c2);
    await p.done();
  });
  assert.equal(result.outcome, 'refused');
  assert.equal(result.error?.code, 'REPO_REF_CONFLICT');
  assert.equal(listRefs(f.dest).get('os/main'), f.c2);
  await assertFsckClean(t, f);
});

/** Raw bytes after INFO: header fields the MessageWriter would never produce. */
function header(order: ByteOrder, version: number, type: number, length: number): Uint8Array {
  const h = encodeHeader({ order, version: 0, type: 'DONE', length });
  h[1] = version;
  h[2] = type;
  return h;
}

test('hostile: broken framing ends the session with the wire code', async (t) => {
  const f = await seeded(t);
  const raw = (bytes: Uint8Array[], withUpdate = false) => async (p: ScriptedPusher) => {
    await p.info();
    if (withUpdate) assert.equal((await p.update({ 'os/main': { from: f.c2, to: f.c4 } }))?.result, true);
    for (const b of bytes) p.raw(b);
    p.end();
  };
  const put = (size: bigint) => encodeMessage({ type: 'PUTOBJECT', object: `${HEX}.filez`, size, extra: new Map() });
  // A lying size followed by EOF.
  await hostile(t, f, raw([put(100_000n), new Uint8Array(10)], true), { code: 'WIRE_TRUNCATED', outcome: 'aborted' });
  await hostile(t, f, raw([header('le', 0, 9, 0)]), { code: 'WIRE_UNKNOWN_TYPE', outcome: 'aborted' });
  await hostile(t, f, raw([header('be', 1, 4, 0)]), { code: 'WIRE_BAD_VERSION', outcome: 'aborted' });
  // Lying body lengths: longer than what follows, and shorter than the body.
  await hostile(t, f, raw([header('le', 0, 4, 200), new Uint8Array(10)]), { code: 'WIRE_TRUNCATED', outcome: 'aborted' });
  const upd = encodeMessage({ type: 'UPDATE', refs: new Map([['os/main', { from: f.c2, to: f.c4 }]]) });
  upd[3] = 20;
  upd[4] = 0;
  await hostile(t, f, raw([upd]), { code: 'WIRE_BAD_BODY', outcome: 'aborted' });
  // A message out of turn, and EOF right after INFO.
  await hostile(t, f, raw([put(0n)]), { code: 'PROTOCOL_UNEXPECTED_MESSAGE', outcome: 'aborted' });
  await hostile(t, f, raw([]), { code: 'PROTOCOL_PEER_CLOSED', outcome: 'aborted' });
  // Oversized announcements are refused without reading the payload; the session then ends.
  // The schema's metadata cap is a bad body; the configured content limit is the repository's.
  await hostile(
    t,
    f,
    afterUpdate(f, async (p) => {
      p.raw(encodeMessage({ type: 'PUTOBJECT', object: `${HEX}.dirtree`, size: 11n * 1024n * 1024n, extra: new Map() }));
      return (await p.status())?.message;
    }),
    { code: 'PROTOCOL_BAD_MESSAGE', outcome: 'refused', status: /^PUTOBJECT: size must be at most 10485760 \(the metadata object cap\)$/ },
  );
  await hostile(
    t,
    f,
    afterUpdate(f, async (p) => {
      p.raw(put(5000n));
      return (await p.status())?.message;
    }),
    { code: 'REPO_OBJECT_TOO_LARGE', outcome: 'refused', status: /announces 5000 bytes; the limit for a file object is 1000/ },
    'le',
    { maxObjectSize: 1000n },
  );
  await assertFsckClean(t, f);
});

/** A deterministic byte source for the garbage and cut-point cases. */
function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

test('hostile: random garbage after INFO never changes anything', async (t) => {
  const f = await seeded(t);
  for (let seed = 1; seed <= 12; seed++) {
    const rnd = prng(seed);
    const bytes = Uint8Array.from({ length: 1 + Math.floor(rnd() * 300) }, () => Math.floor(rnd() * 256));
    // Half of the runs start with a plausible header byte, to get past the first check.
    if (seed % 2 === 0) bytes[0] = 0x6c;
    const before = snapshot(f);
    const refs = listRefs(f.dest);
    const { result } = await runSession({ repo: f.dest }, async (p) => {
      await p.info();
      p.raw(bytes, true);
    });
    assert.notEqual(result.outcome, 'published', `seed ${seed}`);
    assert.match(result.error?.code ?? '', /^(WIRE|PROTOCOL|GVARIANT)_/, `seed ${seed}: ${result.error?.code} ${result.error?.message}`);
    assert.deepEqual(snapshot(f), before, `seed ${seed}`);
    assert.deepEqual(listRefs(f.dest), refs);
  }
  await assertUntouched(t, f, snapshot(f), listRefs(f.dest));
});

test('hostile: the pusher stream cut at random points publishes nothing', async (t) => {
  const f = await seeded(t);
  // The whole pusher side of an honest c2 → c4 push, as bytes (the receiver's answers are not needed to replay it).
  const sink = new PassThrough();
  const chunks: Uint8Array[] = [];
  sink.on('data', (c: Uint8Array) => chunks.push(c));
  const w = new MessageWriter(sink);
  await w.send({ type: 'UPDATE', refs: new Map([['os/main', { from: f.c2, to: f.c4 }]]) }, 'be');
  for (const o of await all(difference(f.src, [f.c4], [f.c2]))) {
    const bytes = objectBytes(f.src, o);
    await w.sendPutObject({ object: objectBasename(o.checksum, o.type), size: BigInt(bytes.length) }, (async function* () {
      yield bytes;
    })(), 'be');
  }
  await w.send({ type: 'DONE', extra: new Map() }, 'be');
  w.flush();
  const stream = Buffer.concat(chunks);
  const rnd = prng(7);
  const cuts = [0, 1, 4, 5, stream.length - 1, ...Array.from({ length: 10 }, () => Math.floor(rnd() * stream.length))];
  for (const cut of cuts) {
    const before = snapshot(f);
    const { result } = await runSession({ repo: f.dest }, async (p) => {
      await p.info();
      p.raw(stream.subarray(0, cut), true);
    });
    assert.equal(result.outcome, 'aborted', `cut at ${cut}/${stream.length}`);
    assert.match(result.error?.code ?? '', /^(WIRE_TRUNCATED|PROTOCOL_PEER_CLOSED)$/, `cut at ${cut}: ${result.error?.code}`);
    assert.deepEqual(snapshot(f), before, `cut at ${cut}`);
  }
  await assertUntouched(t, f, snapshot(f), listRefs(f.dest));
  // The uncut stream publishes: the cases above failed for the cut alone.
  const { result } = await runSession({ repo: f.dest }, async (p) => {
    await p.info();
    p.raw(stream, true);
  });
  assert.equal(result.outcome, 'published', result.error?.message);
  assert.equal(listRefs(f.dest).get('os/main'), f.c4);
});

test('deletion: a to of 64 zeros deletes with the delete capability offered, and is refused (PROTOCOL_DELETE_UNSUPPORTED) by plain version 0', async (t) => {
  const plain = await seeded(t);
  const before = snapshot(plain);
  const refs = listRefs(plain.dest);
  let status: StatusMessage | null = null;
  const refused = await runSession({ repo: plain.dest, extensions: false }, async (p) => {
    await p.info();
    status = await p.update({ 'os/main': { from: plain.c2, to: ZERO_CHECKSUM } });
    // A version-0 receiver that refused the UPDATE still waits for DONE.
    await p.done();
  });
  assert.equal(refused.result.error?.code, 'PROTOCOL_DELETE_UNSUPPORTED');
  assert.equal((status as StatusMessage | null)?.result, false);
  await assertUntouched(t, plain, before, refs, { fsck: false });

  const offered = await seeded(t);
  const deleted = await runSession({ repo: offered.dest }, async (p) => {
    await p.info();
    assert.equal((await p.update({ 'os/main': { from: offered.c2, to: ZERO_CHECKSUM } }))?.result, true);
    await p.done();
  });
  assert.equal(deleted.result.outcome, 'published', deleted.result.error?.message);
  assert.equal(listRefs(offered.dest).get('os/main'), undefined);
});
