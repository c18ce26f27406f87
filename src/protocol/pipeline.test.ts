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
import { DEFAULT_WINDOW } from './push-pipeline.js';

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
