/**
 * Pushing from a bare-family source with one large file: time and peak RSS.
 *
 *   npx tsx tools/bare-push-bench.ts [size-MiB] [mode]     (default 100, bare-user)
 *
 * Builds the test tree of testkit/bare-sources.ts with a large file of
 * `size` MiB (half random, half text) into a `mode` repository with `ostree
 * commit`, pushes it into a fresh archive repository through
 * bench/push-driver.ts (the pusher alone in its process, with the
 * commands' node flags; the receiver spawned under /usr/bin/time), compares
 * the pusher's peak RSS with the bench's target (bench/stats.ts), checks
 * the destination with `ostree fsck` and against `ostree pull-local` of the
 * same commit, then pushes the pull-local copy (an archive source) the same
 * way for comparison. Run `npm run build:bench` first to measure the compiled
 * driver (tsx's own memory left out); without it the driver runs under tsx.
 * KEEP_TMP=1 keeps the repositories.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NODE_RUNTIME_FLAGS } from '../src/runtime-flags.js';
import { RSS_TARGET_MB } from '../bench/stats.js';
import { commitSource, writeSourceTree, type BareSourceMode } from '../testkit/bare-sources.js';
import { ostree, ostreeFsck, ostreeInit } from '../testkit/ostree.js';
import { listObjects } from '../testkit/ostree-trees.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface Measured {
  ok: boolean;
  error?: string;
  objectsSent: number;
  bytesSent: number;
  pushMs: number;
  pusher: { maxRssKiB: number; userMs: number; sysMs: number };
  receiver: { maxRssKiB: number } | null;
}

function drive(repo: string, dest: string, dir: string, name: string): Measured {
  const compiled = join(ROOT, 'dist/bench/push-driver.js');
  const argv = existsSync(compiled) ? [compiled] : ['--import', 'tsx', join(ROOT, 'bench/push-driver.ts')];
  const config = { repo, ref: 'main', dest, link: 'local', receiverUsageFile: join(dir, `${name}.receiver`), sshUsageFile: join(dir, `${name}.ssh`) };
  // With the runtime flags the commands' #! lines give node, as the bench's runners do.
  const out = execFileSync(process.execPath, [...NODE_RUNTIME_FLAGS, ...argv, JSON.stringify(config)], { encoding: 'utf8', maxBuffer: 1 << 24 });
  return JSON.parse(out.trim().split('\n').pop() as string) as Measured;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

async function main(): Promise<void> {
  const mib = Number(process.argv[2] ?? '100');
  const mode = (process.argv[3] ?? 'bare-user') as BareSourceMode;
  const dir = mkdtempSync(join(tmpdir(), 'ostree-push-bare-bench-'));
  try {
    const size = Math.round(mib * 1024 * 1024);
    const random = async function* (): AsyncIterable<Uint8Array> {
      for (let left = Math.floor(size / 2); left > 0; left -= Math.min(left, 1 << 20)) yield randomBytes(Math.min(left, 1 << 20));
    };
    const tree = await writeSourceTree(dir, { bigSize: size, big: random });
    const src = join(dir, 'src');
    let t = performance.now();
    const commit = await commitSource(src, mode, tree);
    console.log(`ostree commit into ${mode}: ${seconds(performance.now() - t)} (${mib} MiB file, commit ${commit.slice(0, 12)})`);

    const dest = join(dir, 'dest');
    await ostreeInit(dest, 'archive');
    const r = drive(src, dest, dir, 'bare');
    if (!r.ok) throw new Error(`push failed: ${r.error}`);
    const mb = (r.pusher.maxRssKiB * 1024) / 1e6;
    console.log(`push from ${mode}: ${seconds(r.pushMs)}, ${r.objectsSent} objects, ${r.bytesSent} bytes; pusher peak RSS ${mb.toFixed(0)} MB (cpu ${seconds(r.pusher.userMs + r.pusher.sysMs)}), receiver ${r.receiver === null ? '?' : `${((r.receiver.maxRssKiB * 1024) / 1e6).toFixed(0)} MB`}`);
    console.log(`pusher peak RSS ≤ ${RSS_TARGET_MB} MB (the bench's target): ${mb <= RSS_TARGET_MB ? 'met' : 'NOT met'}`);

    const fsck = await ostreeFsck(dest);
    if (!fsck.ok) throw new Error(`ostree fsck of the destination failed:\n${fsck.stderr}`);
    const oracle = join(dir, 'oracle');
    await ostreeInit(oracle, 'archive');
    t = performance.now();
    await ostree(['pull-local', `--repo=${oracle}`, src, 'main'], { timeout: 600_000 });
    console.log(`ostree pull-local of the same commit into archive: ${seconds(performance.now() - t)}`);
    const same = JSON.stringify(await listObjects(dest)) === JSON.stringify(await listObjects(oracle));
    if (!same) throw new Error('the destination holds other objects than ostree pull-local wrote');
    console.log('destination: ostree fsck clean; object set equal to pull-local');

    const dest2 = join(dir, 'dest2');
    await ostreeInit(dest2, 'archive');
    const a = drive(oracle, dest2, dir, 'archive');
    if (!a.ok) throw new Error(`push from the archive copy failed: ${a.error}`);
    console.log(`push from the archive copy (for comparison): ${seconds(a.pushMs)}, ${a.bytesSent} bytes; pusher peak RSS ${((a.pusher.maxRssKiB * 1024) / 1e6).toFixed(0)} MB`);
    const big = statSync(join(tree.dir, 'data/big.bin')).size;
    console.log(JSON.stringify({ mode, fileBytes: big, bare: r, archive: a }));
  } finally {
    if (process.env.KEEP_TMP === '1') console.log(`KEEP_TMP=1: kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

await main();
