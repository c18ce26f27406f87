/**
 * Writing ref files, and the roll-forward journal that makes a set of ref
 * writes all-or-nothing across a crash.
 *
 * A ref file is `refs/heads/NAME` holding 64 hex digits and '\n'. Each write
 * is temp file + fsync + rename + fsync of the directory. Before the first
 * write of a set, the whole intended set is written to `tmp/ostree-push-refs.journal`
 * (itself via temp + rename, so it is either complete or absent); after the
 * last write the journal is removed. Whoever next takes the repository lock
 * finds a leftover journal and finishes it (every entry is an absolute
 * assignment, so applying it twice is harmless). The journal is only ever
 * read or written under the lock.
 */
import { lstatSync, mkdirSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { RepoError } from '../errors.js';
import { fsyncDir, replaceFileDurableSync } from './fsutil.js';
import { assertRefName } from './ref-names.js';
import type { Repo } from './repo.js';

export const JOURNAL_REL = 'tmp/ostree-push-refs.journal';

/** `to` null deletes the ref. */
export interface RefWrite {
  name: string;
  to: string | null;
}

/** Ensures refs/heads/a/b exists as directories (never following a symlink), fsyncing each new one's parent. */
function ensureRefDirs(repo: Repo, name: string): void {
  const parts = name.split('/').slice(0, -1);
  let dir = repo.resolve('refs', 'heads');
  for (const p of parts) {
    const next = join(dir, p);
    try {
      mkdirSync(next, { mode: 0o755 });
      fsyncDir(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (!lstatSync(next).isDirectory()) {
        throw new RepoError('REPO_REF_BLOCKED', `ref ${name}: ${p} is a ref, not a directory of refs`, { name });
      }
    }
    dir = next;
  }
}

export function applyRefWrite(repo: Repo, w: RefWrite): void {
  assertRefName(w.name);
  const file = repo.resolve('refs', 'heads', w.name);
  if (w.to === null) {
    try {
      // On replay the name may already be a directory of newer refs: leave it.
      if (lstatSync(file).isDirectory()) return;
      unlinkSync(file);
      fsyncDir(dirname(file));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    return;
  }
  ensureRefDirs(repo, w.name);
  replaceFileDurableSync(file, `${w.to}\n`);
}

export function writeJournal(repo: Repo, writes: readonly RefWrite[]): void {
  replaceFileDurableSync(repo.resolve(JOURNAL_REL), JSON.stringify({ version: 1, writes }) + '\n');
}

export function removeJournal(repo: Repo): void {
  rmSync(repo.resolve(JOURNAL_REL), { force: true });
  fsyncDir(repo.resolve('tmp'));
}

function badJournal(repo: Repo, why: string): RepoError {
  return new RepoError('REPO_BAD_JOURNAL', `${repo.resolve(JOURNAL_REL)}: ${why}; remove it after checking the refs by hand`, { path: repo.resolve(JOURNAL_REL) });
}

/** Completes a journal left by an interrupted update. Call with the lock held. Returns the writes replayed. */
export function recoverRefJournal(repo: Repo): RefWrite[] {
  let text: string;
  try {
    text = readFileSync(repo.resolve(JOURNAL_REL), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  let writes: RefWrite[];
  try {
    const v = JSON.parse(text) as { version?: unknown; writes?: unknown };
    if (v.version !== 1 || !Array.isArray(v.writes)) throw new Error('shape');
    writes = v.writes.map((w: { name?: unknown; to?: unknown }) => {
      if (typeof w.name !== 'string' || !(w.to === null || (typeof w.to === 'string' && /^[0-9a-f]{64}$/.test(w.to)))) throw new Error('entry');
      return { name: w.name, to: w.to };
    });
  } catch {
    throw badJournal(repo, 'unreadable ref journal');
  }
  for (const w of writes) applyRefWrite(repo, w);
  removeJournal(repo);
  return writes;
}
