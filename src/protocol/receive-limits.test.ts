/**
 * The receiver's bounds (receive-limits.ts): each refusal has its code, a
 * STATUS false where the protocol allows one, and leaves the destination
 * exactly as it was (refs, files, no staging, no slot, fsck clean); a silent
 * or trickling pusher is ended by the idle timeout or the session deadline;
 * a deflate bomb costs the receiver its declared size, not its gigabyte.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { deflateRawSync } from 'node:zlib';
import { encodeFilezHeader } from '../repo/filez.js';
import { takeReceiverSlot } from '../repo/receiver-slots.js';
import { listRefs, ZERO_CHECKSUM } from '../repo/refs.js';
import { assertUntouched, makeFixture, snapshot, type Fixture } from '../../testkit/receive-fixtures.js';
import { assertFreeSpace, PushBudget } from './receive-limits.js';
import type { ReceiverPolicy, ReceiveResult } from './receiver.js';
import { closureObjects, objectBytes, runSession, type ScriptedPusher } from '../../testkit/scripted-pusher.js';

/** Runs `script` against the destination with `policy`; checks the code and that nothing changed. */
async function refusedWith(t: TestContext, f: Fixture, policy: ReceiverPolicy, script: (p: ScriptedPusher) => Promise<void>, code: string, outcome: ReceiveResult['outcome'] = 'refused'): Promise<ReceiveResult> {
  const before = snapshot(f);
  const refs = listRefs(f.dest);
  const { result } = await runSession({ repo: f.dest, policy }, script);
  assert.equal(result.error?.code, code, result.error?.message);
  assert.equal(result.outcome, outcome);
  assert.doesNotMatch(result.error?.message ?? '', /\n/, 'one line');
  await assertUntouched(t, f, before, refs, { fsck: false });
  return result;
}

/** INFO, UPDATE os/main → c1, then every object of c1 while the answers are true; the first false STATUS is kept. */
function pushC1(f: Fixture, seen: { status?: string | undefined; answered?: number }) {
  return async (p: ScriptedPusher): Promise<void> => {
    await p.info();
    const st = await p.update({ 'os/main': { from: ZERO_CHECKSUM, to: f.c1 } });
    if (st?.result !== true) {
      seen.status = st?.message;
      await p.done();
      return;
    }
    seen.answered = 0;
    for (const o of await closureObjects(f.src, f.c1)) {
      const s = await p.put(o.name, objectBytes(f.src, o));
      if (s?.result !== true) {
        seen.status = s?.message ?? '(hung up)';
        return;
      }
      seen.answered++;
    }
    await p.done();
  };
}

test('limits: a silent pusher is gone at the idle timeout (200 ms), nothing left', { timeout: 30_000 }, async (t) => {
  const f = await makeFixture(t);
  await refusedWith(t, f, { idleTimeoutMs: 200 }, async (p) => void (await p.info()), 'PROTOCOL_IDLE_TIMEOUT', 'aborted');
});

test('limits: a pusher trickling one byte at a time, never idle, is ended by the session deadline', { timeout: 30_000 }, async (t) => {
  const f = await makeFixture(t);
  let stop = false;
  const result = await refusedWith(
    t,
    f,
    { idleTimeoutMs: 200, sessionTimeoutMs: 600 },
    async (p) => {
      await p.info();
      assert.equal((await p.update({ 'os/main': { from: ZERO_CHECKSUM, to: f.c1 } }))?.result, true);
      // A dirtree of a megabyte, one byte every 20 ms: never idle for 200 ms.
      async function* trickle(): AsyncGenerator<Uint8Array> {
        // At most 1000 bytes (20 s): without a deadline the test fails by its timeout rather than hang.
        for (let i = 0; i < 1000 && !stop && !p.toReceiver.destroyed; i++) {
          yield new Uint8Array(1);
          await sleep(20);
        }
      }
      // Cut short when the receiver gives up: that the writer complains of a short payload is expected.
      await p.writer.sendPutObject({ object: `${'ab'.repeat(32)}.dirtree`, size: 1_000_000n }, trickle()).catch(() => undefined);
    },
    'PROTOCOL_SESSION_TIMEOUT',
    'aborted',
  ).finally(() => (stop = true));
  assert.equal(result.updated.length, 0);
});

test('limits: a push over max_push_objects or max_push_bytes is refused with STATUS false, nothing left', { timeout: 30_000 }, async (t) => {
  const f = await makeFixture(t);
  const objects = await closureObjects(f.src, f.c1);
  for (const policy of [{ maxPushObjects: 3 }, { maxPushBytes: 100n }]) {
    const seen: { status?: string | undefined; answered?: number } = {};
    await refusedWith(t, f, policy, pushC1(f, seen), 'PROTOCOL_PUSH_TOO_LARGE');
    assert.match(seen.status ?? '', /max_push_(objects|bytes)/);
    assert.ok((seen.answered ?? 0) < objects.length);
  }
  // Within the limits the same push goes through.
  const seen: { status?: string | undefined } = {};
  const { result } = await runSession({ repo: f.dest, policy: { maxPushObjects: objects.length, maxPushBytes: 1n << 30n } }, pushC1(f, seen));
  assert.equal(result.outcome, 'published', result.error?.message ?? seen.status);
});

test('limits: below the free-space floor the UPDATE is refused with STATUS false, nothing left', { timeout: 30_000 }, async (t) => {
  const f = await makeFixture(t);
  const seen: { status?: string | undefined } = {};
  await refusedWith(t, f, { minFreeBytes: 1n << 62n }, pushC1(f, seen), 'REPO_LOW_SPACE');
  assert.match(seen.status ?? '', /min_free_space/);
});

test('limits: assertFreeSpace counts the announced bytes; 0 is no floor', { timeout: 30_000 }, async (t) => {
  const f = await makeFixture(t);
  const free = async () => 1000n;
  await assertFreeSpace(f.dest, 900n, 100n, free);
  await assert.rejects(assertFreeSpace(f.dest, 900n, 101n, free), (e: { code?: string }) => e.code === 'REPO_LOW_SPACE');
  await assertFreeSpace(f.dest, 0n, 1n << 62n, free);
  const b = new PushBudget({ maxPushBytes: 0n, maxPushObjects: 0 });
  for (let i = 0; i < 5; i++) b.charge('x', 1n << 40n);
  assert.equal(b.objects, 5);
});

test('limits: with max_receivers running, another is refused before INFO (REPO_BUSY), nothing sent or left', { timeout: 30_000 }, async (t) => {
  const f = await makeFixture(t);
  const held = takeReceiverSlot(f.dest, 1);
  t.after(() => held.release());
  const before = snapshot(f);
  let sent = 0;
  const { result } = await runSession({ repo: f.dest, policy: { maxReceivers: 1 } }, async (p) => {
    for await (const c of p.fromReceiver) sent += (c as Buffer).length;
  });
  assert.equal(result.error?.code, 'REPO_BUSY');
  assert.equal(result.outcome, 'refused');
  assert.equal(sent, 0, 'not even INFO');
  assert.deepEqual(snapshot(f), before);
  held.release();
  // Free again: the next session runs.
  const seen: { status?: string | undefined } = {};
  assert.equal((await runSession({ repo: f.dest, policy: { maxReceivers: 1 } }, pushC1(f, seen))).result.outcome, 'published');
});

test('limits: a deflate bomb through the receiver costs its declared size, then STATUS false', { timeout: 30_000 }, async (t) => {
  const f = await makeFixture(t);
  const declared = 16;
  // 16 bytes declared, 32 MiB of zeros deflated (about 32 KiB sent).
  const header = Buffer.from(encodeFilezHeader({ uid: 0, gid: 0, mode: 0o100644, symlinkTarget: '', xattrs: [], size: BigInt(declared) }));
  const bytes = Buffer.concat([header, deflateRawSync(Buffer.alloc(32 << 20), { level: 9 })]);
  let status: string | undefined;
  const result = await refusedWith(
    t,
    f,
    {},
    async (p) => {
      await p.info();
      assert.equal((await p.update({ 'os/main': { from: ZERO_CHECKSUM, to: f.c1 } }))?.result, true);
      const st = await p.put(`${'ab'.repeat(32)}.filez`, bytes);
      status = st?.message;
      await p.done();
    },
    'REPO_CORRUPT_OBJECT',
  );
  assert.match(status ?? '', /more than the 16 bytes its header declares/);
  assert.ok(Number(result.error?.data['inflated']) <= 2 * declared + 64, `inflated ${String(result.error?.data['inflated'])} bytes`);
});
