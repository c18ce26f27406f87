/**
 * The repository lock for writers of this implementation.
 *
 * Node has no flock/fcntl, so the lock is a file, `tmp/ostree-push.lock`,
 * created atomically: the holder's identity (pid, boot id, process start
 * time, random nonce) is written to a temp file which is then hard-linked to
 * the lock name; link() fails with EEXIST when the lock exists, so exactly one
 * process wins and the lock file is never seen half-written.
 *
 * A lock whose holder is dead (pid gone, other boot, pid reused by a process
 * that started later) is stale and is broken. Breaking is serialised by a
 * second lock file, `tmp/ostree-push.lock.break`, taken the same way: under
 * it the breaker re-reads the lock and removes it only if it still holds the
 * very identity judged dead, so two breakers cannot remove a fresh lock. (A
 * breaker that dies within its few-microsecond critical section leaves a dead
 * `.break`, removed by the next one after the same liveness check.)
 * Waiting is bounded: REPO_LOCK_TIMEOUT names the holder.
 *
 * What it excludes: other processes of this implementation (ostree-receive,
 * the tests' writers) on the same machine. The ostree command does not know
 * it: publication also takes ostree's own `.lock` (ostree-lock.ts), always
 * after this one. Not excluded: writers on other machines sharing the
 * repository over NFS. Taking the lock completes any ref journal a crashed
 * holder left.
 */
import { unlinkSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { RepoError } from '../errors.js';
import { parseOwner } from './process-identity.js';
import { breakDead, holderDead, ownerContent, readOrNull, tryCreate } from './owner-file.js';
import { recoverRefJournal } from './ref-journal.js';
import type { Repo } from './repo.js';

export const LOCK_REL = 'tmp/ostree-push.lock';

export interface LockOptions {
  /** How long to wait for a live holder; default 30 s. */
  timeoutMs?: number;
  /** First poll interval; doubles up to 200 ms. Default 5 ms. */
  pollMs?: number;
}

export class RepoLock {
  private released = false;
  constructor(
    readonly repo: Repo,
    private readonly path: string,
    private readonly content: string,
  ) {}

  get held(): boolean {
    return !this.released;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    // Remove it only if it is still ours (it would not be if we were judged dead).
    if (readOrNull(this.path) === this.content) unlinkSync(this.path);
  }
}

export async function acquireLock(repo: Repo, options: LockOptions = {}): Promise<RepoLock> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  let pollMs = options.pollMs ?? 5;
  const path = repo.resolve(LOCK_REL);
  const content = ownerContent();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (tryCreate(path, content)) {
      const lock = new RepoLock(repo, path, content);
      try {
        recoverRefJournal(repo);
      } catch (e) {
        lock.release();
        throw e;
      }
      return lock;
    }
    const seen = readOrNull(path);
    if (seen !== null && holderDead(seen) && breakDead(path, seen, content)) continue;
    if (Date.now() >= deadline) {
      const holder = seen === null ? undefined : parseOwner(seen);
      throw new RepoError('REPO_LOCK_TIMEOUT', `${repo.path}: repository locked by process ${holder?.pid ?? '?'} for more than ${timeoutMs} ms`, {
        path: repo.path,
        holderPid: holder?.pid ?? null,
        timeoutMs,
      });
    }
    await sleep(Math.min(pollMs, Math.max(1, deadline - Date.now())));
    pollMs = Math.min(pollMs * 2, 200);
  }
}

export async function withRepoLock<T>(repo: Repo, fn: (lock: RepoLock) => Promise<T> | T, options: LockOptions = {}): Promise<T> {
  const lock = await acquireLock(repo, options);
  try {
    return await fn(lock);
  } finally {
    lock.release();
  }
}
