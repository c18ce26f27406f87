/**
 * The pusher's idle timeout: a receiver that stops answering (a stalled
 * link, a hung process) ends the push with TRANSPORT_IDLE_TIMEOUT (exit 3)
 * instead of hanging it; a receiver that is still taking our bytes (one
 * large object, read slowly) is alive however long its STATUS takes.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { OstreePushError } from '../errors.js';
import { Variant } from '../gvariant/index.js';
import { commitTree, initArchiveRepo } from '../repo/builder.js';
import { tmpDir } from '../../testkit/tmp.js';
import { MessageReader } from '../wire/reader.js';
import { MessageWriter } from '../wire/writer.js';
import { push } from './pusher.js';

async function repoWith(t: Parameters<typeof tmpDir>[0], content: string | Buffer) {
  const repo = initArchiveRepo(`${tmpDir(t, 'push-idle')}/repo`);
  await commitTree(repo, { tree: { type: 'dir', children: { big: { type: 'file', content } } }, subject: 'one', timestamp: 1, branch: 'main' });
  return repo;
}

test('a receiver that sends INFO and then nothing: TRANSPORT_IDLE_TIMEOUT (exit 3), not a hang', { timeout: 30_000 }, async (t) => {
  const repo = await repoWith(t, 'small\n');
  const toReceiver = new PassThrough();
  const toPusher = new PassThrough();
  await new MessageWriter(toPusher).send({ type: 'INFO', mode: 1, refs: new Map(), extra: new Map() });
  // It reads what comes (the UPDATE) and never answers, never closes.
  toReceiver.resume();
  await assert.rejects(push({ repo, input: toPusher, output: toReceiver, idleTimeoutMs: 200 }), (e: OstreePushError) => {
    assert.equal(e.code, 'TRANSPORT_IDLE_TIMEOUT');
    assert.equal(e.exitCode, 3);
    return true;
  });
  toPusher.destroy();
});

test('a receiver silent before INFO: TRANSPORT_IDLE_TIMEOUT', { timeout: 30_000 }, async (t) => {
  const repo = await repoWith(t, 'small\n');
  const toPusher = new PassThrough();
  await assert.rejects(push({ repo, input: toPusher, output: new PassThrough(), idleTimeoutMs: 200 }), (e: OstreePushError) => e.code === 'TRANSPORT_IDLE_TIMEOUT');
  toPusher.destroy();
});

test('a receiver slowly reading one large object is alive: no timeout although its STATUS comes after several idle periods', { timeout: 60_000 }, async (t) => {
  const repo = await repoWith(t, randomBytes(4 << 20));
  const toReceiver = new PassThrough({ highWaterMark: 16 * 1024 });
  const toPusher = new PassThrough();
  const idleTimeoutMs = 300;
  let slowest = 0;
  const receiver = (async () => {
    const writer = new MessageWriter(toPusher);
    await writer.send({ type: 'INFO', mode: 1, refs: new Map(), extra: new Map() });
    const reader = new MessageReader(toReceiver);
    for (;;) {
      const r = await reader.next();
      if (r === null || r.message.type === 'DONE') break;
      if (r.message.type === 'PUTOBJECT') {
        const started = Date.now();
        // 100 ms per chunk taken (a third of the idle time): the big file's STATUS comes seconds after its PUTOBJECT.
        for await (const _ of r.payload!) await sleep(100);
        slowest = Math.max(slowest, Date.now() - started);
      }
      await writer.send({ type: 'STATUS', result: true, message: '', extra: new Map() }, r.order);
    }
    toPusher.end();
  })();
  const result = await push({ repo, input: toPusher, output: toReceiver, idleTimeoutMs, window: 1 });
  await receiver;
  assert.equal(result.ok, true, result.error?.message);
  assert.ok(slowest > 2 * idleTimeoutMs, `the slow read took ${slowest} ms: the case did not exercise the timeout`);
});

/** A receiver offering `report` that answers every request, then sends its REPORT after `delay` ms (never, with null). */
function reportingReceiver(delay: number | null) {
  const toReceiver = new PassThrough();
  const toPusher = new PassThrough();
  const done = (async () => {
    const writer = new MessageWriter(toPusher);
    await writer.send({ type: 'INFO', mode: 1, refs: new Map(), extra: new Map([['capabilities', new Variant('as', ['report'])]]) });
    const reader = new MessageReader(toReceiver);
    const refs: string[] = [];
    for (;;) {
      const r = await reader.next();
      if (r === null) return;
      if (r.message.type === 'UPDATE') refs.push(...r.message.refs.keys());
      if (r.message.type === 'PUTOBJECT') for await (const _ of r.payload!);
      if (r.message.type === 'DONE') break;
      await writer.send({ type: 'STATUS', result: true, message: '', extra: new Map() }, r.order);
    }
    // Publishing, then an update hook: nothing is said meanwhile.
    if (delay === null) return;
    await sleep(delay);
    await writer.send({ type: 'REPORT', moved: refs, refused: new Map(), extra: new Map() });
    toPusher.end();
  })();
  return { toReceiver, toPusher, done };
}

test('after DONE the REPORT may take longer than the idle timeout (publication, the update hook); it has its own limit', { timeout: 30_000 }, async (t) => {
  const repo = await repoWith(t, 'small\n');
  const slow = reportingReceiver(800);
  const result = await push({ repo, input: slow.toPusher, output: slow.toReceiver, idleTimeoutMs: 200 });
  await slow.done;
  assert.equal(result.ok, true, result.error?.message);
  assert.equal(result.reported, true);
  // A REPORT that never comes ends the push at the report limit.
  const silent = reportingReceiver(null);
  await assert.rejects(push({ repo, input: silent.toPusher, output: silent.toReceiver, idleTimeoutMs: 200, reportTimeoutMs: 300 }), (e: OstreePushError) => e.code === 'TRANSPORT_IDLE_TIMEOUT');
  silent.toPusher.destroy();
});
