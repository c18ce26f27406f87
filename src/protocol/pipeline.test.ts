/**
 * Pipelining (spec/protocol.md section 12.2), checked by structure, not by
 * the clock: the receiver's STATUS replies are held back (a pause point in
 * the reply direction) until it has answered K objects, so the pusher must
 * keep sending unanswered objects up to its window, and stop there. The
 * timing claim (2,000 small objects over a 20 ms round trip take about as
 * long as over none with the default window; window 1 needs a round trip per
 * object) is a bench figure: `npx tsx bench/rtt.ts`.
 */
import assert from 'node:assert/strict';
import { PassThrough, Transform } from 'node:stream';
import { test } from 'node:test';
import { PUSHER } from '../../spec/machine.js';
import { commitTree, initArchiveRepo, type DirNode } from '../repo/builder.js';
import type { Repo } from '../repo/repo.js';
import { tmpDir } from '../../testkit/tmp.js';
import { HEADER_SIZE, MESSAGE_TYPES, ZERO_CHECKSUM } from '../wire/constants.js';
import { MessageReader } from '../wire/reader.js';
import { MessageWriter } from '../wire/writer.js';
import type { PusherNames } from '../../spec/machines.generated.js';
import type { ActionHandlers, GuardTable } from './actor.js';
import { Endpoint } from './endpoint.js';
import { DEFAULT_WINDOW, MAX_WINDOW, PIPELINE_GUARDS, PIPELINE_HANDLERS, Pipeline, type Sending } from './push-pipeline.js';
import type { PlannedObject } from './push-plan.js';
import { push, type PushOptions, type PushResult } from './pusher.js';
import { receive } from './receiver.js';
import { createLink, FAST_LINK } from '../../sim/link.js';

const files = (n: number): DirNode => ({
  type: 'dir',
  children: Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${i}`, { type: 'file' as const, content: `file ${i}\n` }])),
});

/**
 * The receiver→pusher direction, holding every byte after the first STATUS
 * (the UPDATE's) until the receiver has written `k` more STATUS messages
 * (one per object it read), then passing everything through.
 */
function holdReplies(k: number): Transform {
  let pending = Buffer.alloc(0);
  let statuses = 0;
  let held: Buffer[] = [];
  let open = false;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (open) return cb(null, chunk);
      pending = Buffer.concat([pending, chunk]);
      // Frames: 5-byte header (order, version, type, u16 body length), then the body.
      while (pending.length >= HEADER_SIZE) {
        const len = pending[0] === 0x6c ? pending.readUInt16LE(3) : pending.readUInt16BE(3);
        if (pending.length < HEADER_SIZE + len) break;
        const frame = pending.subarray(0, HEADER_SIZE + len);
        pending = pending.subarray(HEADER_SIZE + len);
        const isStatus = frame[2] === MESSAGE_TYPES.STATUS;
        if (isStatus) statuses++;
        if (statuses <= 1) this.push(frame);
        else held.push(frame);
        if (statuses === k + 1) {
          open = true;
          for (const f of held) this.push(f);
          held = [];
          if (pending.length > 0) this.push(pending);
          break;
        }
      }
      cb();
    },
  });
}

/** One push whose replies are held until the receiver answered `k` objects. */
async function heldPush(signal: AbortSignal, src: Repo, dest: Repo, k: number, opts: Partial<PushOptions> = {}): Promise<PushResult> {
  const up = new PassThrough();
  const down = holdReplies(k);
  // A pusher that never fills the window waits forever: at the test's timeout, break the link.
  signal.addEventListener('abort', () => {
    up.destroy();
    down.destroy();
  });
  const receiving = receive({ repo: dest, input: up, output: down }).then((r) => {
    down.end();
    return r;
  });
  const pushed = await push({ repo: src, input: down, output: up, remoteExit: receiving.then((r) => (r.outcome === 'published' ? 0 : 1)), ...opts });
  await receiving;
  return pushed;
}

test('the initial window fills: with no reply yet, the pusher keeps the whole window in flight', { timeout: 60_000 }, async (t) => {
  const dir = tmpDir(t, 'window');
  const src = initArchiveRepo(`${dir}/src`);
  await commitTree(src, { tree: files(3 * DEFAULT_WINDOW), timestamp: 1, branch: 'main' });
  const pushed = await heldPush(t.signal, src, initArchiveRepo(`${dir}/d`), DEFAULT_WINDOW);
  assert.equal(pushed.ok, true, pushed.error?.message);
  assert.ok(pushed.objectsSent > 3 * DEFAULT_WINDOW);
  // Stop-and-wait, or a smaller window, would never get a reply (the receiver
  // answers nothing until it read a window's worth): the timeout ends that
  // hang. A pusher ignoring its window would exceed it only as far as it ran
  // ahead of the receiver; the machine's inFlight bound is the hard limit
  // (the MAX_WINDOW test below). Once the held replies come, the adaptive
  // window may grow (they came late, as over a long round trip).
  assert.ok(pushed.maxInFlight >= DEFAULT_WINDOW && pushed.maxInFlight <= MAX_WINDOW, `${pushed.maxInFlight}`);
});

/** A push of `src`'s main over the in-memory link with `rttMs` round trip (half each way). */
async function linkPush(src: Repo, dest: Repo, rttMs: number, opts: Partial<PushOptions> = {}): Promise<PushResult> {
  const link = createLink({ ...FAST_LINK, latencyMs: rttMs / 2 });
  const receiving = receive({ repo: dest, input: link.receiver.input, output: link.receiver.output }).then((r) => {
    link.receiver.output.end();
    return r;
  });
  const pushed = await push({ repo: src, input: link.pusher.input, output: link.pusher.output, remoteExit: receiving.then((r) => (r.outcome === 'published' ? 0 : 1)), ...opts });
  await receiving;
  return pushed;
}

test('over a long round trip the window grows past its initial size, and a fixed window stays where it is put', { timeout: 120_000 }, async (t) => {
  // 400 ms round trip: the window grows unless the receiver takes over 3 ms
  // per tiny object (then the round trip is not what limits the push). In
  // flight at most: counted by the pipeline, no clock is read by the test.
  const dir = tmpDir(t, 'window-grows');
  const src = initArchiveRepo(`${dir}/src`);
  await commitTree(src, { tree: files(3 * DEFAULT_WINDOW), timestamp: 1, branch: 'main' });
  const grown = await linkPush(src, initArchiveRepo(`${dir}/d1`), 400);
  assert.equal(grown.ok, true, grown.error?.message);
  assert.ok(grown.maxInFlight > DEFAULT_WINDOW, `at most ${grown.maxInFlight} in flight`);
  assert.ok(grown.maxInFlight <= MAX_WINDOW);
  const fixed = await linkPush(src, initArchiveRepo(`${dir}/d2`), 400, { window: 100 });
  assert.equal(fixed.ok, true, fixed.error?.message);
  assert.equal(fixed.maxInFlight, 100);
});

test('window 1 is stop-and-wait: one object in flight at a time', { timeout: 60_000 }, async (t) => {
  const dir = tmpDir(t, 'window1');
  const src = initArchiveRepo(`${dir}/src`);
  await commitTree(src, { tree: files(20), timestamp: 1, branch: 'main' });
  const pushed = await heldPush(t.signal, src, initArchiveRepo(`${dir}/d`), 1, { window: 1 });
  assert.equal(pushed.ok, true, pushed.error?.message);
  assert.equal(pushed.maxInFlight, 1);
});

test('a window above the machine bound is clamped to it: MAX_WINDOW is the pusher machine\'s inFlight max', async () => {
  // PUSHER reads the JSON at run time; MAX_WINDOW comes from the generated names.
  const bound = PUSHER.context?.inFlight.max ?? 0;
  assert.equal(MAX_WINDOW, bound);
  const toReceiver = new PassThrough();
  const toPusher = new PassThrough();
  // A pusher session reduced to its pipeline: the pipeline's guards and handlers, the rest idle.
  const session = {} as { pipeline: Pipeline; ep: Endpoint<PusherNames, Sending> };
  const handlers: ActionHandlers<PusherNames, Sending> = {
    enableQuery: () => undefined,
    enableReport: () => undefined,
    plan: () => undefined,
    learn: () => undefined,
    reportResult: () => undefined,
    ...PIPELINE_HANDLERS,
  };
  const guards: GuardTable<PusherNames, Sending> = { wantsToAsk: () => false, hasUpdates: () => true, ...PIPELINE_GUARDS };
  const ep = new Endpoint(PUSHER, { reader: new MessageReader(toPusher), writer: new MessageWriter(toReceiver) }, { data: session as Sending, handlers, guards });
  session.ep = ep;
  session.pipeline = new Pipeline({
    window: bound * 10,
    windowBytes: Number.MAX_SAFE_INTEGER,
    openRead: () => Object.assign((async function* () { yield new Uint8Array([0]); })(), { close: () => undefined }),
    closed: async (what) => new Error(`closed ${what}`),
    abort: () => undefined,
  });
  const peerIn = new MessageReader(toReceiver);
  const peerOut = new MessageWriter(toPusher);
  const STATUS_OK = { type: 'STATUS', result: true, message: '', extra: new Map() } as const;
  await peerOut.send({ type: 'INFO', mode: 1, refs: new Map(), extra: new Map() }, 'le');
  await ep.receive();
  await ep.send({ type: 'UPDATE', refs: new Map([['main', { from: ZERO_CHECKSUM, to: 'a'.repeat(64) }]]) });
  assert.equal((await peerIn.next())?.message.type, 'UPDATE');
  await peerOut.send(STATUS_OK, 'le');
  await ep.receive();
  assert.equal(ep.state, 'sending');

  const n = bound + 10;
  const objects: PlannedObject[] = Array.from({ length: n }, (_, i) => ({ checksum: i.toString(16).padStart(64, '0'), type: 'file', name: `${i.toString(16).padStart(64, '0')}.filez`, size: 1 }));
  // The peer answers nothing until `bound` objects are in flight, so an
  // unclamped window would send one more and the machine would refuse it.
  const peer = (async (): Promise<void> => {
    let unanswered = 0;
    for (let read = 0; read < n; read++) {
      const r = await peerIn.next();
      await r?.payload?.skip();
      unanswered++;
      if (read + 1 >= bound) {
        for (; unanswered > 0; unanswered--) await peerOut.send(STATUS_OK, 'le');
      }
    }
  })();
  const result = await session.pipeline.run(ep, objects);
  await peer;
  assert.equal(result.sent, n);
  assert.equal(result.maxInFlight, bound);
});

test('the pipeline computes the machine guards moreObjects and windowOpen from what is in flight', () => {
  const obj = (i: number, size: number): PlannedObject => ({ checksum: i.toString(16).padStart(64, '0'), type: 'file', name: `${i.toString(16).padStart(64, '0')}.filez`, size });
  const p = new Pipeline({
    window: 2,
    windowBytes: 100,
    openRead: () => Object.assign((async function* () {})(), { close: () => undefined }),
    closed: async (what) => new Error(what),
    abort: () => undefined,
  });
  // The handlers countSent and countAnswered move the data the guards read; no endpoint is needed for that.
  p.load([obj(1, 500), obj(2, 10), obj(3, 10), obj(4, 95)]);
  const ok = { type: 'STATUS', result: true, message: '', extra: new Map() } as const;
  assert.deepEqual([p.moreObjects(), p.windowOpen()], [true, true], 'nothing in flight: open, however large the next object');
  p.countSent();
  assert.equal(p.windowOpen(), false, '500 bytes in flight: the next 10 would exceed 100');
  p.countAnswered(ok);
  p.countSent();
  assert.equal(p.windowOpen(), true, '10 in flight, 10 more fit');
  p.countSent();
  assert.equal(p.windowOpen(), false, 'two in flight: the window of 2 is full');
  p.countAnswered(ok);
  assert.equal(p.windowOpen(), false, '10 in flight: the next 95 would exceed 100');
  p.countAnswered(ok);
  p.countSent();
  assert.deepEqual([p.moreObjects(), p.sent, p.maxInFlight], [false, 3, 2]);
});
