/**
 * ostree's repository lock (ostree-lock.ts) against the real ostree command:
 * the facts it rests on (which call and which mode each command uses, seen
 * with strace), that our shared lock keeps `ostree prune` out and lets
 * `ostree summary -u` in, and that a SIGKILLed holder releases it.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { isOstreePushError } from '../errors.js';
import { ostree, runOstree } from '../../testkit/ostree.js';
import { tmpDir } from '../../testkit/tmp.js';
import { needTools } from '../../testkit/tools.js';
import { acquireOstreeLock } from './ostree-lock.js';
import { Repo } from './repo.js';

const CHILD = join(import.meta.dirname, 'ostree-lock.child.ts');

/** An archive repository with one commit on `main`, and `lock-timeout-secs` as given (0: fail at once when locked). */
async function repoWithCommit(dir: string, lockTimeoutSecs?: number): Promise<{ path: string; commit: string }> {
  const path = join(dir, 'repo');
  await ostree(['init', `--repo=${path}`, '--mode=archive']);
  mkdirSync(join(dir, 'tree'));
  writeFileSync(join(dir, 'tree', 'f'), 'content\n');
  const commit = (await ostree(['commit', `--repo=${path}`, '--branch=main', '-s', 'one', join(dir, 'tree')])).trim();
  if (lockTimeoutSecs !== undefined) appendFileSync(join(path, 'config'), `lock-timeout-secs=${lockTimeoutSecs}\n`);
  return { path, commit };
}

function strace(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('strace', ['-f', '-e', 'trace=flock,fcntl,openat', 'ostree', ...args], { encoding: 'utf8' }, (err, _out, stderr) => (err ? reject(new Error(stderr)) : resolve(stderr)));
  });
}

/** The lock calls on `.lock` in an strace log: "F_OFD_SETLK F_WRLCK" and the like. */
function lockCalls(log: string): string[] {
  const fd = /openat\(\d+, "\.lock", [^)]*\) = (\d+)/.exec(log)?.[1];
  if (fd === undefined) return [];
  const out: string[] = [];
  for (const m of log.matchAll(/(?:fcntl\((\d+), (F_OFD_SETLKW?|F_SETLKW?), \{l_type=(F_\w+)|flock\((\d+), (LOCK_\w+))/g)) {
    if (m[1] === fd) out.push(`${m[2]} ${m[3]}`);
    else if (m[4] === fd) out.push(`flock ${m[5]}`);
  }
  return out;
}

test('the ostree command locks .lock with OFD locks: prune exclusive; summary -u and pull-local shared; refs --delete not at all', async (t) => {
  if (!needTools(t, 'ostree', 'strace')) return;
  const dir = tmpDir(t, 'ostree-lock-facts');
  const { path } = await repoWithCommit(dir);
  const other = join(dir, 'other');
  await ostree(['init', `--repo=${other}`, '--mode=archive']);
  writeFileSync(join(dir, 'tree', 'g'), 'more\n');
  await ostree(['commit', `--repo=${other}`, '--branch=side', '-s', 'side', join(dir, 'tree')]);
  await ostree(['refs', `--repo=${path}`, '--create=gone', 'main']);

  assert.deepEqual(lockCalls(await strace(['prune', `--repo=${path}`, '--refs-only', '--depth=0'])), ['F_OFD_SETLK F_WRLCK', 'F_OFD_SETLK F_UNLCK']);
  assert.deepEqual(lockCalls(await strace(['summary', `--repo=${path}`, '-u'])), ['F_OFD_SETLK F_RDLCK', 'F_OFD_SETLK F_UNLCK']);
  assert.deepEqual(lockCalls(await strace(['pull-local', `--repo=${path}`, other, 'side'])), ['F_OFD_SETLK F_RDLCK', 'F_OFD_SETLK F_UNLCK']);
  assert.deepEqual(lockCalls(await strace(['refs', `--repo=${path}`, '--delete', 'gone'])), []);
});

test('a shared lock keeps ostree prune out and lets ostree summary -u in; released, prune runs', async (t) => {
  if (!needTools(t, 'ostree', 'perl')) return;
  const dir = tmpDir(t, 'ostree-lock');
  const { path } = await repoWithCommit(dir, 0);
  const lock = await acquireOstreeLock(Repo.open(path), 'shared');
  assert.equal(lock.held, true);
  assert.equal(lock.how, 'ofd');
  try {
    const prune = await runOstree(['prune', `--repo=${path}`, '--refs-only', '--depth=0']);
    assert.equal(prune.ok, false, 'prune ran while our shared lock was held');
    assert.match(prune.stderr, /Locking repo exclusive failed/);
    const summary = await runOstree(['summary', `--repo=${path}`, '-u']);
    assert.ok(summary.ok, summary.stderr);
  } finally {
    await lock.release();
  }
  const prune = await runOstree(['prune', `--repo=${path}`, '--refs-only', '--depth=0']);
  assert.ok(prune.ok, prune.stderr);
});

test('an exclusive holder makes acquiring wait, then REPO_LOCK_TIMEOUT', async (t) => {
  if (!needTools(t, 'ostree', 'perl')) return;
  const dir = tmpDir(t, 'ostree-lock-timeout');
  const { path } = await repoWithCommit(dir);
  const repo = Repo.open(path);
  const holder = await acquireOstreeLock(repo, 'exclusive');
  try {
    await assert.rejects(acquireOstreeLock(repo, 'shared', { timeoutMs: 200 }), (e: unknown) => isOstreePushError(e) && e.code === 'REPO_LOCK_TIMEOUT');
  } finally {
    await holder.release();
  }
  const again = await acquireOstreeLock(repo, 'shared', { timeoutMs: 5000 });
  assert.equal(again.held, true);
  await again.release();
});

test('without perl the lock is reported unavailable, not taken', async (t) => {
  const dir = tmpDir(t, 'ostree-lock-noperl');
  mkdirSync(join(dir, 'repo'));
  const lock = await acquireOstreeLock({ resolve: (...p: string[]) => join(dir, 'repo', ...p), path: join(dir, 'repo') } as unknown as Repo, 'shared', {
    perl: join(dir, 'no-such-perl'),
  });
  assert.equal(lock.held, false);
  assert.match(lock.unavailable ?? '', /perl/);
  await lock.release();
});

test('a holder killed with SIGKILL releases the lock: a blocking ostree prune then runs', { timeout: 60_000 }, async (t) => {
  if (!needTools(t, 'ostree', 'perl')) return;
  const dir = tmpDir(t, 'ostree-lock-kill');
  // -1: ostree blocks in F_OFD_SETLKW until the lock is free (no polling, no timeout of its own).
  const { path } = await repoWithCommit(dir, -1);
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((res) => child.once('exit', res));
  const line = await new Promise<string>((res) => child.stdout.once('data', (d: Buffer) => res(d.toString().trim())));
  assert.match(line, /^locked \d+$/);
  // Held: an exclusive taker times out.
  await assert.rejects(acquireOstreeLock(Repo.open(path), 'exclusive', { timeoutMs: 300 }), (e: unknown) => isOstreePushError(e) && e.code === 'REPO_LOCK_TIMEOUT');
  child.kill('SIGKILL');
  await exited;
  const prune = await runOstree(['prune', `--repo=${path}`, '--refs-only', '--depth=0'], { timeout: 20_000 });
  assert.ok(prune.ok, `prune did not get the lock after the holder was killed: ${prune.stderr}`);
});
