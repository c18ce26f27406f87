/**
 * Pipelining over a link with latency (spec/protocol.md section 12.2): with
 * the default window, 2,000 small objects over a 20 ms round trip take about
 * as long as over none, where stop-and-wait would need 2,000 × 20 ms = 40 s.
 * The figures for window 1 come from `npx tsx sim/bench/rtt.ts`, not from
 * here. The assertions that matter are structural (the window fills); the
 * time bound is generous.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { commitTree, initArchiveRepo, type DirNode } from '../repo/builder.js';
import type { Repo } from '../repo/repo.js';
import { delayedPipe } from '../testkit/delay-link.js';
import { tmpDir } from '../testkit/tmp.js';
import { push, type PushOptions, type PushResult } from './pusher.js';
import { receive } from './receiver.js';
import { DEFAULT_WINDOW, MAX_WINDOW, sendPipelined } from './push-pipeline.js';
import { PassThrough } from 'node:stream';
import { PUSHER } from '../../spec/machine.js';
import { ZERO_CHECKSUM } from '../wire/constants.js';
import { MessageReader } from '../wire/reader.js';
import { MessageWriter } from '../wire/writer.js';
import { Endpoint } from './endpoint.js';
import type { PlannedObject } from './push-plan.js';

const files = (n: number): DirNode => ({
  type: 'dir',
  children: Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${i}`, { type: 'file' as const, content: `file ${i}\n` }])),
});

/** One push over a link whose round trip is `rttMs`; returns the result and the wall time. */
export async function timedPush(src: Repo, dest: Repo, rttMs: number, opts: Partial<PushOptions> = {}): Promise<{ pushed: PushResult; ms: number }> {
  const up = delayedPipe(rttMs / 2);
  const down = delayedPipe(rttMs / 2);
  const receiving = receive({ repo: dest, input: up.output, output: down.input }).then((r) => {
    down.input.end();
    return r;
  });
  const t0 = performance.now();
  const pushed = await push({ repo: src, input: down.output, output: up.input, remoteExit: receiving.then((r) => (r.outcome === 'published' ? 0 : 1)), ...opts });
  await receiving;
  return { pushed, ms: performance.now() - t0 };
}

test('2,000 small objects: 20 ms round trip with the default window ≈ 0 ms', async (t) => {
  const dir = tmpDir(t, 'rtt');
  const src = initArchiveRepo(`${dir}/src`);
  await commitTree(src, { tree: files(2000), timestamp: 1, branch: 'main' });
  const fast = await timedPush(src, initArchiveRepo(`${dir}/d0`), 0);
  const slow = await timedPush(src, initArchiveRepo(`${dir}/d20`), 20);
  assert.equal(slow.pushed.ok, true, slow.pushed.error?.message);
  assert.ok(slow.pushed.objectsSent >= 2000);
  // Stop-and-wait keeps 1 in flight; here the pusher keeps a round trip's worth
  // (up to the window, less when opening files is the bottleneck).
  assert.ok(slow.pushed.maxInFlight >= 8 && slow.pushed.maxInFlight <= DEFAULT_WINDOW, `max in flight ${slow.pushed.maxInFlight}`);
  t.diagnostic(`0 ms: ${fast.ms.toFixed(0)} ms; 20 ms RTT: ${slow.ms.toFixed(0)} ms; ratio ${(slow.ms / fast.ms).toFixed(2)}`);
  // Stop-and-wait would take 40 s; the bound leaves room for a busy machine.
  assert.ok(slow.ms <= fast.ms * 1.3 + 1500, `${slow.ms.toFixed(0)} ms at 20 ms RTT vs ${fast.ms.toFixed(0)} ms at 0`);
});

test('window 1 is stop-and-wait: one object in flight, one round trip each', async (t) => {
  const dir = tmpDir(t, 'rtt1');
  const src = initArchiveRepo(`${dir}/src`);
  await commitTree(src, { tree: files(20), timestamp: 1, branch: 'main' });
  const r = await timedPush(src, initArchiveRepo(`${dir}/d`), 20, { window: 1 });
  assert.equal(r.pushed.ok, true);
  assert.equal(r.pushed.maxInFlight, 1);
  const objects = r.pushed.objectsSent;
  // INFO + UPDATE/STATUS + one round trip per object + DONE/REPORT.
  assert.ok(r.ms >= objects * 20, `${r.ms.toFixed(0)} ms for ${objects} objects`);
});

test('a window above the machine bound is clamped to it: MAX_WINDOW is the pusher machine\'s inFlight max', async () => {
  // PUSHER reads the JSON at run time; MAX_WINDOW comes from the generated names.
  const bound = PUSHER.context?.inFlight.max ?? 0;
  assert.equal(MAX_WINDOW, bound);
  const toReceiver = new PassThrough();
  const toPusher = new PassThrough();
  const ep = new Endpoint(PUSHER, new MessageReader(toPusher), new MessageWriter(toReceiver));
  const peerIn = new MessageReader(toReceiver);
  const peerOut = new MessageWriter(toPusher);
  const STATUS_OK = { type: 'STATUS', result: true, message: '', extra: new Map() } as const;
  await peerOut.send({ type: 'INFO', mode: 1, refs: new Map(), extra: new Map() }, 'le');
  await ep.receive();
  await ep.send({ type: 'UPDATE', refs: new Map([['main', { from: ZERO_CHECKSUM, to: 'a'.repeat(64) }]]) }, { hasUpdates: true });
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
  const result = await sendPipelined(ep, objects, {
    window: bound * 10,
    windowBytes: Number.MAX_SAFE_INTEGER,
    openRead: () => Object.assign((async function* () { yield new Uint8Array([0]); })(), { close: () => undefined }),
    closed: async (what) => new Error(`closed ${what}`),
    abort: () => undefined,
  });
  await peer;
  assert.equal(result.sent, n);
  assert.equal(result.maxInFlight, bound);
});
