/**
 * The adaptive window (push-window.ts), driven through the pipeline's guards
 * and handlers by a simulated link on a simulated clock: objects reach the
 * receiver half a round trip after their PUTOBJECT, the receiver takes a
 * fixed service time per object in order, and each STATUS reaches the
 * pusher half a round trip later. Nothing here reads a real clock, so every
 * figure is exact and repeatable. The same over a real (in-memory) link is
 * in pipeline.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_WINDOW, DEFAULT_WINDOW_BYTES, MAX_WINDOW, Pipeline } from './push-pipeline.js';
import type { PlannedObject } from './push-plan.js';
import { MAX_WINDOW_BYTES } from './push-window.js';

interface Sim {
  /** Simulated ms from the first PUTOBJECT to the last STATUS. */
  ms: number;
  maxInFlight: number;
  maxBytesInFlight: number;
  /** The window (objects) at its largest and at the end. */
  peak: number;
  last: number;
  /** Replies after which the window was closed though it was open before (the sender's decision undone). */
  closedByReply: number;
}

const OK = { type: 'STATUS', result: true, message: '', extra: new Map() } as const;

function objects(n: number, size: number): PlannedObject[] {
  return Array.from({ length: n }, (_, i) => ({ checksum: i.toString(16).padStart(64, '0'), type: 'file', name: `${i.toString(16).padStart(64, '0')}.filez`, size }));
}

/**
 * Pushes `objs` over a path of round trip `rttMs` to a receiver that takes
 * `serviceMs(i)` for object i; the pusher sends whenever the machine's
 * `windowOpen` allows (sending itself takes no time).
 */
function simulate(objs: PlannedObject[], rttMs: number, serviceMs: (i: number) => number, fixed: { window?: number; windowBytes?: number } = {}, leaveRoom = false): Sim {
  let clock = 0;
  const p = new Pipeline({
    ...fixed,
    now: () => clock,
    openRead: () => Object.assign((async function* () {})(), { close: () => undefined }),
    closed: async (what) => new Error(what),
    abort: () => undefined,
  });
  p.load(objs);
  /** When each object's STATUS reaches the pusher, in order. */
  const replies: number[] = [];
  let receiverFree = 0;
  let sent = 0;
  let bytesInFlight = 0;
  let maxBytesInFlight = 0;
  let peak = 0;
  let closedByReply = 0;
  for (let answered = 0; answered < objs.length; ) {
    // leaveRoom: the sender stops one object short of a full window, as if it were still reading the next object's file.
    while (p.moreObjects() && p.windowOpen() && !(leaveRoom && sent - answered + 2 >= p.window.objects)) {
      p.countSent();
      bytesInFlight += (objs[sent] as PlannedObject).size;
      maxBytesInFlight = Math.max(maxBytesInFlight, bytesInFlight);
      const done = Math.max(clock + rttMs / 2, receiverFree) + serviceMs(sent);
      receiverFree = done;
      replies.push(done + rttMs / 2);
      sent++;
    }
    clock = replies[answered] as number;
    const open = p.moreObjects() && p.windowOpen();
    p.countAnswered(OK);
    if (open && !p.windowOpen()) closedByReply++;
    bytesInFlight -= (objs[answered] as PlannedObject).size;
    answered++;
    peak = Math.max(peak, p.window.objects);
  }
  return { ms: clock, maxInFlight: p.maxInFlight, maxBytesInFlight, peak, last: p.window.objects, closedByReply };
}

describe('the adaptive window', () => {
  // os-like's shape: 8 KiB objects, a receiver taking 0.25 ms each (4,000 objects/s).
  const n = 10_000;
  const service = (): number => 0.25;
  const alone = n * 0.25;

  it('grows under delay until the receiver is the bottleneck: at 20 ms the push takes within 1.15x of the receiver\'s own time', () => {
    const at0 = simulate(objects(n, 8192), 0, service);
    const at20 = simulate(objects(n, 8192), 20, service);
    // The bandwidth-delay product is 20 ms x 4 objects/ms = 80 objects: more than the initial window.
    assert.ok(at20.maxInFlight > 80, `in flight at most ${at20.maxInFlight}`);
    assert.ok(at20.maxInFlight <= MAX_WINDOW);
    assert.ok(at20.ms <= 1.15 * at0.ms, `${at20.ms} ms at 20 ms RTT against ${at0.ms} ms at 0 ms`);
    assert.ok(at0.ms <= alone * 1.01);
  });

  it('a fixed window of 64 does not: the same push is window-bound at 20 ms', () => {
    const at0 = simulate(objects(n, 8192), 0, service, { window: DEFAULT_WINDOW });
    const at20 = simulate(objects(n, 8192), 20, service, { window: DEFAULT_WINDOW });
    assert.equal(at20.maxInFlight, DEFAULT_WINDOW);
    assert.ok(at20.ms > 1.2 * at0.ms, `${at20.ms} against ${at0.ms}`);
  });

  it('stays at its initial size without delay: nothing is gained by more in flight', () => {
    const r = simulate(objects(n, 8192), 0, service);
    assert.equal(r.peak, DEFAULT_WINDOW);
    assert.equal(r.maxInFlight, DEFAULT_WINDOW);
  });

  it('never exceeds the machine\'s inFlight bound, however large the bandwidth-delay product', () => {
    // 1 s round trip, 100,000 objects/s: a product of 100,000 objects.
    const r = simulate(objects(30_000, 100), 1000, () => 0.01);
    assert.equal(r.peak, MAX_WINDOW);
    assert.equal(r.maxInFlight, MAX_WINDOW);
  });

  it('bounds the bytes in flight by the byte window: large objects stop at MAX_WINDOW_BYTES', () => {
    // 1 MiB objects at 10 GB/s over 100 ms: a product of about 1 GB.
    const r = simulate(objects(2000, 1 << 20), 100, () => 0.1);
    assert.ok(r.maxBytesInFlight > DEFAULT_WINDOW_BYTES, `${r.maxBytesInFlight} bytes in flight at most`);
    assert.ok(r.maxBytesInFlight <= MAX_WINDOW_BYTES, `${r.maxBytesInFlight} bytes in flight at most`);
    assert.ok(r.maxInFlight <= MAX_WINDOW_BYTES / (1 << 20));
  });

  it('shrinks when the receiver slows down: the old rate ages out', () => {
    // Fast for the first 5,000 objects, ten times slower afterwards.
    const r = simulate(objects(20_000, 8192), 20, (i) => (i < 5000 ? 0.05 : 0.5));
    assert.ok(r.peak > 2 * DEFAULT_WINDOW, `peak ${r.peak}`);
    assert.ok(r.last < r.peak / 2, `window ${r.last} at the end, ${r.peak} at its largest`);
    assert.ok(r.last >= DEFAULT_WINDOW);
  });

  it('a reply never closes a window that was open: a new size waits for the next send (the machine judges windowOpen after the decision)', () => {
    // Growing, then shrinking as the receiver slows down, with the sender often short of a full window.
    const r = simulate(objects(20_000, 8192), 20, (i) => (i < 5000 ? 0.05 : 0.5), {}, true);
    assert.ok(r.peak > 2 * DEFAULT_WINDOW && r.last < r.peak / 2, `peak ${r.peak}, last ${r.last}`);
    assert.equal(r.closedByReply, 0);
  });

  it('a fixed window is exactly that: stop-and-wait stays at one object', () => {
    const r = simulate(objects(500, 8192), 20, service, { window: 1 });
    assert.deepEqual([r.peak, r.maxInFlight], [1, 1]);
  });
});
