import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { acquireLock, LOCK_REL, withRepoLock } from './lock.js';
import { Repo } from './repo.js';
import { readRef, updateRefs } from './refs.js';

const scratch = mkdtempSync(join(tmpdir(), 'lock-test-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
let n = 0;
const fresh = (): Repo => Repo.init(join(scratch, `r${n++}`));
const hex = (c: string): string => c.repeat(64);

/** A pid that is certainly dead: a process we started and reaped. */
async function deadPid(): Promise<number> {
  const p = spawn(process.execPath, ['-e', '0']);
  await new Promise((r) => p.on('exit', r));
  return p.pid as number;
}

test('a second acquirer waits, then times out with REPO_LOCK_TIMEOUT naming the holder', async () => {
  const repo = fresh();
  const lock = await acquireLock(repo);
  const t0 = Date.now();
  await assert.rejects(acquireLock(repo, { timeoutMs: 150 }), (e: Error & { code?: string; data?: { holderPid?: number } }) => {
    assert.equal(e.code, 'REPO_LOCK_TIMEOUT');
    assert.equal(e.data?.holderPid, process.pid);
    return true;
  });
  assert.ok(Date.now() - t0 >= 140);
  lock.release();
  assert.equal(existsSync(repo.resolve(LOCK_REL)), false);
  await withRepoLock(repo, () => assert.ok(existsSync(repo.resolve(LOCK_REL))));
});

test('a lock left by a dead process is broken; so is unreadable debris', async () => {
  const repo = fresh();
  writeFileSync(repo.resolve(LOCK_REL), JSON.stringify({ pid: await deadPid(), bootId: '', startTicks: -1, nonce: 'x' }));
  const lock = await acquireLock(repo, { timeoutMs: 500 });
  lock.release();
  writeFileSync(repo.resolve(LOCK_REL), 'garbage');
  (await acquireLock(repo, { timeoutMs: 500 })).release();
  // Same pid as a live process but another start time: a reused pid, hence stale.
  writeFileSync(repo.resolve(LOCK_REL), JSON.stringify({ pid: process.pid, bootId: '', startTicks: 1, nonce: 'x' }));
  (await acquireLock(repo, { timeoutMs: 500 })).release();
});

class Writer {
  readonly proc: ChildProcessWithoutNullStreams;
  private readonly lines: Interface;
  private readonly waiting: ((line: string) => void)[] = [];
  constructor() {
    this.proc = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'lock-race.child.ts')], { stdio: 'pipe' });
    this.lines = createInterface({ input: this.proc.stdout });
    this.lines.on('line', (l) => this.waiting.shift()?.(l));
  }
  request(req: object): Promise<{ ok?: boolean; code?: string }> {
    return new Promise((resolve) => {
      this.waiting.push((l) => resolve(JSON.parse(l) as { ok?: boolean; code?: string }));
      this.proc.stdin.write(JSON.stringify(req) + '\n');
    });
  }
  close(): void {
    this.proc.stdin.end();
  }
}

test('two processes racing a CAS from the same base: exactly one wins, 20 rounds', async () => {
  const repo = fresh();
  const w1 = new Writer();
  const w2 = new Writer();
  try {
    for (let round = 0; round < 20; round++) {
      const name = `race/r${round % 5}`;
      const base = readRef(repo, name);
      const [to1, to2] = [hex('1'), hex('2')].map((h) => h.slice(0, 60) + String(round).padStart(4, '0'));
      const [r1, r2] = await Promise.all([
        w1.request({ repo: repo.path, name, from: base, to: to1 }),
        w2.request({ repo: repo.path, name, from: base, to: to2 }),
      ]);
      const winners = [r1, r2].filter((r) => r.ok === true);
      const losers = [r1, r2].filter((r) => r.ok !== true);
      assert.equal(winners.length, 1, `round ${round}: ${JSON.stringify([r1, r2])}`);
      assert.equal(losers[0]?.code, 'REPO_REF_CONFLICT', `round ${round}: ${JSON.stringify([r1, r2])}`);
      assert.equal(readRef(repo, name), r1.ok === true ? to1 : to2);
    }
  } finally {
    w1.close();
    w2.close();
  }
  assert.equal(existsSync(repo.resolve(LOCK_REL)), false);
  await updateRefs(repo, [{ name: 'after', from: null, to: hex('a') }]);
});
