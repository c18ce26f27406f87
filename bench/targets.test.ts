import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpDir } from '../testkit/tmp.js';
import { dataset } from './datasets.js';
import { prepareDestination, type Sample } from './runners.js';
import { judgeTargets, targetLines, TARGETS, type Target } from './targets.js';

const sample = (dataset: string, runner: string, rep: number, wallMs: number, rssKiB = 50_000, ok = true): Sample => ({
  runner,
  dataset,
  rep,
  ok,
  wallMs,
  objects: 1,
  bytes: 1,
  pusher: { maxRssKiB: rssKiB, userMs: 0, sysMs: 0 },
  receiver: { maxRssKiB: 1000, userMs: 0, sysMs: 0 },
  dest: '/x',
});

const byId = (id: string): Target => {
  const t = TARGETS.find((x) => x.id === id);
  assert.ok(t !== undefined, id);
  return t;
};

test('every target is judged: met, missed, or not measured with the options that would measure it', () => {
  const ss = [
    sample('os-like', 'openssh', 1, 14),
    sample('os-like', 'rsync', 1, 10),
    sample('os-like', 'pull-local', 1, 20),
    sample('os-like', 'openssh', 2, 16),
    sample('os-like', 'rsync', 2, 10),
    sample('os-like', 'pull-local', 2, 10),
  ];
  const rs = judgeTargets(ss);
  assert.equal(rs.length, TARGETS.length, 'no target drops out of the report');
  const got = (id: string) => rs.find((r) => r.target.id === id);
  assert.equal(got('full-vs-rsync')?.status, 'met', '1.4 and 1.6: median 1.5 ≤ 1.5');
  assert.equal(got('full-vs-rsync')?.value?.median, 1.5);
  assert.equal(got('full-vs-pull-local')?.status, 'missed', '0.7 and 1.6: median 1.15 > 1.0');
  assert.equal(got('rtt-small')?.status, 'not measured');
  assert.equal(got('rtt-small')?.how, '--dataset=small --only=openssh@20ms,openssh');
  const lines = targetLines(rs);
  assert.ok(lines.some((l) => l.startsWith('MISSED') && l.includes('full-vs-pull-local') && l.includes('1.150×')));
  assert.ok(lines.some((l) => l.startsWith('not measured') && l.includes('run with --dataset=small')));
});

test('the fixed-cost target judges the paired excess in milliseconds', () => {
  const t = byId('fixed-cost');
  const a = t.a;
  assert.ok(t.kind === 'excess');
  const b = t.b;
  const ok = judgeTargets([sample(a.dataset, a.runner, 1, 600), sample(b.dataset, b.runner, 1, 550)], [t]);
  assert.deepEqual([ok[0]?.status, ok[0]?.value?.median], ['met', 50]);
  const over = judgeTargets([sample(a.dataset, a.runner, 1, 800), sample(b.dataset, b.runner, 1, 550)], [t]);
  assert.equal(over[0]?.status, 'missed');
});

test('an RSS target takes the larger side of every repetition, and a failed run does not count', () => {
  const t = byId('rss-100k');
  assert.ok(t.kind === 'rss');
  const { dataset, runner } = t.a;
  const under = judgeTargets([sample(dataset, runner, 1, 1, 90_000), sample(dataset, runner, 2, 1, 500_000, false)], [t]);
  assert.equal(under[0]?.status, 'met');
  const over = judgeTargets([sample(dataset, runner, 1, 1, 90_000), sample(dataset, runner, 2, 1, 100_000)], [t]);
  assert.equal(over[0]?.status, 'missed', '100,000 KiB is 102.4 MB');
});

test('an up-to-date data set pushes nothing: its destination already holds the commit', async (t) => {
  const root = tmpDir(t, 'bench-same');
  const shapes = { small: { seed: 's', files: 20, totalBytes: 20_000 } };
  const base = await dataset('small', { root, shapes });
  const same = await dataset('small+same', { root, shapes });
  assert.equal(same.commit, base.commit);
  assert.deepEqual(same.base, { commit: base.commit, repo: base.repo });
  assert.equal(same.objects, 0);
  assert.equal(readFileSync(same.objectList, 'utf8'), '');
  const dest = join(root, 'dest');
  await prepareDestination(same, dest);
  assert.equal(readFileSync(join(dest, 'refs', 'heads', ...same.ref.split('/')), 'utf8').trim(), base.commit);
});
