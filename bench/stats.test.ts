import assert from 'node:assert/strict';
import { test } from 'node:test';
import { incrementEntries, osLikeEntries } from './datasets.js';
import { Prng } from './content.js';
import type { Sample } from './runners.js';
import { median, pairedRatio, rssTargets, summarize } from './stats.js';
import { readUsage } from './timed.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpDir } from '../testkit/tmp.js';

const sample = (dataset: string, runner: string, rep: number, wallMs: number, ok = true): Sample => ({
  runner,
  dataset,
  rep,
  ok,
  wallMs,
  objects: 10,
  bytes: 1e6,
  pusher: { maxRssKiB: 100_000, userMs: 10, sysMs: 5 },
  receiver: { maxRssKiB: 120_000, userMs: 20, sysMs: 5 },
  dest: '/x',
});

test('median of odd and even counts', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
  assert.ok(Number.isNaN(median([])));
});

test('ratios pair repetition i with repetition i, skipping failed runs', () => {
  const ss = [sample('d', 'a', 1, 10), sample('d', 'b', 1, 5), sample('d', 'a', 2, 30), sample('d', 'b', 2, 10), sample('d', 'a', 3, 1), sample('d', 'b', 3, 1, false)];
  const r = pairedRatio(ss, { dataset: 'd', runner: 'a' }, { dataset: 'd', runner: 'b' });
  assert.deepEqual(r, { median: 2.5, min: 2, max: 3, n: 2 });
  assert.equal(pairedRatio(ss, { dataset: 'd', runner: 'a' }, { dataset: 'd', runner: 'zz' }), null);
});

test('summaries and the RSS target (150 MB a side)', () => {
  const sums = summarize([sample('d', 'openssh', 1, 10), sample('d', 'openssh', 2, 20)]);
  assert.equal(sums.length, 1);
  assert.equal(sums[0]?.wallMs.median, 15);
  const rss = rssTargets(sums, new Set(['openssh']));
  assert.deepEqual(rss.map((x) => [x.side, x.met]), [['pusher', true], ['receiver', true]]);
  const big = rssTargets(summarize([{ ...sample('d', 'openssh', 1, 1), receiver: { maxRssKiB: 150_000, userMs: 0, sysMs: 0 } }]), new Set(['openssh']));
  assert.equal(big.find((x) => x.side === 'receiver')?.met, false, '150,000 KiB is 153.6 MB');
});

test('/usr/bin/time output is parsed, with or without the non-zero status line', (t) => {
  const dir = tmpDir(t, 'bench-test');
  writeFileSync(join(dir, 'a'), '12345 1.50 0.25 3.00\n');
  writeFileSync(join(dir, 'b'), 'Command exited with non-zero status 1\n2048 0.01 0.00 0.02\n');
  assert.deepEqual(readUsage(join(dir, 'a')), { maxRssKiB: 12345, userMs: 1500, sysMs: 250 });
  assert.deepEqual(readUsage(join(dir, 'b')), { maxRssKiB: 2048, userMs: 10, sysMs: 0 });
  assert.equal(readUsage(join(dir, 'missing')), null);
});

test('data set shapes are deterministic, sized as asked, and the increment changes 10 files and adds 5', () => {
  const spec = { seed: 't', files: 500, totalBytes: 5e6 };
  const a = osLikeEntries(spec);
  assert.deepEqual(osLikeEntries(spec), a);
  assert.equal(a.length, 500);
  const total = a.reduce((s, e) => s + e.size, 0);
  assert.ok(Math.abs(total - 5e6) < 1000, `total ${total}`);
  const sizes = a.filter((e) => e.kind !== 'symlink').map((e) => e.size).sort((x, y) => x - y);
  assert.ok((sizes[sizes.length >> 1] as number) < 20_000, 'many small files');
  const inc = incrementEntries(a, 't');
  assert.equal(inc.length, 505);
  assert.equal(inc.filter((e, i) => i < a.length && e.seed !== a[i]?.seed).length, 10);
  assert.equal(new Prng('x').next(), new Prng('x').next());
});
