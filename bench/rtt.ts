/**
 * Latency figures for pipelining (spec/protocol.md section 12.2): one push
 * of N small objects (default 2,000) over the simulator's in-memory link
 * (sim/link.ts) at 0 ms and at a round trip of R ms (default 20: 10 ms each
 * way), with the adaptive window (`auto`, the default), a fixed window of 64
 * (the default before it adapted) and window 1 (version 0's stop-and-wait).
 * Prints one line per run and the ratios.
 *
 *   npx tsx bench/rtt.ts [--objects 2000] [--rtt 20] [--windows auto,64,1]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { commitTree, initArchiveRepo, type DirNode, type Repo } from '../src/repo/index.js';
import { push, DEFAULT_WINDOW, receive } from '../src/protocol/index.js';
import { createLink, FAST_LINK } from '../sim/link.js';

const { values } = parseArgs({
  options: { objects: { type: 'string', default: '2000' }, rtt: { type: 'string', default: '20' }, windows: { type: 'string', default: `auto,${DEFAULT_WINDOW},1` } },
});
const n = Number(values.objects);
const rtt = Number(values.rtt);
const windows = values.windows.split(',').map((w) => (w === 'auto' ? undefined : Number(w)));

const tree: DirNode = {
  type: 'dir',
  children: Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${i}`, { type: 'file' as const, content: `file ${i}\n` }])),
};

async function run(src: Repo, dir: string, latencyMs: number, window: number | undefined): Promise<{ ms: number; sent: number; maxInFlight: number }> {
  const dest = initArchiveRepo(join(dir, `d-${latencyMs}-${window ?? 'auto'}`));
  const link = createLink({ ...FAST_LINK, latencyMs });
  const receiving = receive({ repo: dest, input: link.receiver.input, output: link.receiver.output }).then((r) => {
    link.receiver.output.end();
    return r;
  });
  const t0 = performance.now();
  const r = await push({ repo: src, input: link.pusher.input, output: link.pusher.output, ...(window === undefined ? {} : { window }), remoteExit: receiving.then((x) => (x.outcome === 'published' ? 0 : 1)) });
  await receiving;
  if (!r.ok) throw new Error(`push failed: ${r.error?.message ?? '?'}`);
  return { ms: performance.now() - t0, sent: r.objectsSent, maxInFlight: r.maxInFlight };
}

const dir = mkdtempSync(join(tmpdir(), 'rtt-'));
try {
  const src = initArchiveRepo(join(dir, 'src'));
  await commitTree(src, { tree, timestamp: 1, branch: 'main' });
  const base = new Map<number | undefined, number>();
  for (const window of windows) {
    for (const latency of [0, rtt / 2]) {
      const r = await run(src, dir, latency, window);
      if (latency === 0) base.set(window, r.ms);
      const ratio = latency === 0 ? '' : ` ratio ${(r.ms / (base.get(window) ?? r.ms)).toFixed(2)} vs 0 ms`;
      console.log(`window ${String(window ?? 'auto').padStart(4)}  rtt ${String(latency * 2).padStart(3)} ms  ${r.sent} objects  ${r.ms.toFixed(0).padStart(6)} ms  max in flight ${r.maxInFlight}${ratio}`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
