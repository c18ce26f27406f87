/** Sweeping what dead processes left: staging, temp debris, ref temp files; never a live owner's. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openRepoForWriting } from './open-for-writing.js';
import { Repo } from './repo.js';
import { sweepStaleDebris } from './stale-debris.js';
import { Staging } from './staging.js';

const scratch = mkdtempSync(join(tmpdir(), 'stale-debris-test-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
let n = 0;
const fresh = (): Repo => Repo.init(join(scratch, `r${n++}`));

test('sweepStaleDebris removes dead owners only', async () => {
  const repo = fresh();
  const live = Staging.create(repo);
  const p = spawn(process.execPath, ['-e', '0']);
  await new Promise((r) => p.on('exit', r));
  const dead = p.pid as number;
  const tmp = repo.resolve('tmp');
  mkdirSync(join(tmp, `push-staging-${dead}-abc123`));
  mkdirSync(join(tmp, `push-staging-${process.pid}-def456`));
  writeFileSync(join(tmp, `push-staging-${process.pid}-def456`, 'owner.json'), JSON.stringify({ pid: dead, bootId: '', startTicks: -1 }));
  writeFileSync(join(tmp, `ostree-push.lock.${dead}-0a0b`), '');
  writeFileSync(join(tmp, 'unrelated'), '');
  const removed = sweepStaleDebris(repo).sort();
  assert.deepEqual(removed, [`ostree-push.lock.${dead}-0a0b`, `push-staging-${dead}-abc123`, `push-staging-${process.pid}-def456`].sort());
  assert.ok(existsSync(live.dir));
  assert.deepEqual(readdirSync(tmp).sort(), ['cache', live.dir.split('/').pop(), 'unrelated'].sort());
  openRepoForWriting(repo.path);
  assert.ok(existsSync(live.dir));
  live.dispose();
});

test('sweepStaleDebris removes ref temp files of dead writers, in refs/ at any depth', async () => {
  const repo = fresh();
  const p = spawn(process.execPath, ['-e', '0']);
  await new Promise((r) => p.on('exit', r));
  const dead = p.pid as number;
  mkdirSync(repo.resolve('refs', 'heads', 'team'), { recursive: true });
  writeFileSync(repo.resolve('refs', 'heads', `.tmp-${dead}-0a1b2c`), 'x');
  writeFileSync(repo.resolve('refs', 'heads', 'team', `.tmp-${dead}-3d4e5f`), 'x');
  writeFileSync(repo.resolve('refs', 'heads', `.tmp-${process.pid}-aaaaaa`), 'live');
  writeFileSync(repo.resolve('refs', 'heads', 'main'), `${'a'.repeat(64)}\n`);
  const removed = sweepStaleDebris(repo).sort();
  assert.deepEqual(removed, [`refs/heads/.tmp-${dead}-0a1b2c`, `refs/heads/team/.tmp-${dead}-3d4e5f`]);
  assert.deepEqual(readdirSync(repo.resolve('refs', 'heads')).sort(), [`.tmp-${process.pid}-aaaaaa`, 'main', 'team']);
  assert.deepEqual(readdirSync(repo.resolve('refs', 'heads', 'team')), []);
});
