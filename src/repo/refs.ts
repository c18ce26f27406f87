/**
 * Listing, resolving and compare-and-swap updating of refs (spec/ostree-format.md §1.4).
 *
 *   refs/heads/NAME               local refs: read and written here
 *   refs/remotes/REMOTE/NAME      read only
 *   refs/mirrors/COLLECTION/NAME  read only
 *
 * `updateRefs` is the receiver's UPDATE made safe: under the repository lock it
 * checks every expected value first (REPO_REF_CONFLICT, REPO_REF_BLOCKED, with
 * nothing written), then writes the whole set through the roll-forward journal
 * of ref-journal.ts, so a crash leaves either the old set or, after the next
 * lock, the new one.
 */
import { lstatSync, readFileSync, readdirSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { RepoError } from '../errors.js';
import { acquireLock, type LockOptions, type RepoLock } from './lock.js';
import { applyRefWrite, removeJournal, writeJournal, type RefWrite } from './ref-journal.js';
import { assertRefName, isValidRefName, parseRefFile, ZERO_CHECKSUM } from './ref-names.js';
import type { Repo } from './repo.js';

export { ZERO_CHECKSUM, isValidRefName } from './ref-names.js';

export type RefNamespace = 'heads' | 'remotes' | 'mirrors';

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw e;
  }
}

function readRefAt(path: string, name: string): string {
  const st = lstatSync(path);
  if (!st.isFile()) throw new RepoError('REPO_BAD_REF', `ref ${name} is not a regular file`, { name });
  if (st.size > 65) throw new RepoError('REPO_BAD_REF', `ref ${name} does not hold a checksum`, { name, length: st.size });
  return parseRefFile(readFileSync(path), name);
}

/**
 * All refs under refs/NAMESPACE, name → checksum, sorted by name. Entries
 * whose names are not valid ref names (our temp files start with '.') are
 * skipped; a ref file with bad contents is REPO_BAD_REF. For remotes and
 * mirrors the name is `REMOTE/NAME`.
 */
export function listRefs(repo: Repo, namespace: RefNamespace = 'heads'): Map<string, string> {
  const out: [string, string][] = [];
  const walk = (dir: string, prefix: string): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    for (const d of entries) {
      const name = prefix + d.name;
      if (!isValidRefName(name)) continue;
      if (d.isDirectory()) walk(join(dir, d.name), `${name}/`);
      else if (d.isFile()) out.push([name, readRefAt(join(dir, d.name), name)]);
      // symlinks and other kinds are not refs
    }
  };
  walk(repo.resolve('refs', namespace), '');
  out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return new Map(out);
}

/** The checksum of refs/NAMESPACE/NAME, or null when absent. */
export function readRef(repo: Repo, name: string, namespace: RefNamespace = 'heads'): string | null {
  assertRefName(name);
  const path = repo.resolve('refs', namespace, name);
  const st = lstatOrNull(path);
  if (st === null || st.isDirectory()) return null;
  return readRefAt(path, name);
}

/** Like readRef, but REPO_REF_NOT_FOUND when absent. */
export function resolveRef(repo: Repo, name: string, namespace: RefNamespace = 'heads'): string {
  const c = readRef(repo, name, namespace);
  if (c === null) throw new RepoError('REPO_REF_NOT_FOUND', `no such ref ${namespace === 'heads' ? '' : `${namespace}/`}${name}`, { name, namespace });
  return c;
}

export interface RefUpdate {
  name: string;
  /** Expected current value; null or 64 zeros: the ref must not exist. */
  from: string | null;
  /** New value; null or 64 zeros deletes the ref. */
  to: string | null;
}

function normalise(c: string | null, what: string, name: string): string | null {
  if (c === null || c === ZERO_CHECKSUM) return null;
  if (typeof c !== 'string' || !/^[0-9a-f]{64}$/.test(c)) {
    throw new RepoError('REPO_BAD_OBJECT_NAME', `ref ${name}: ${what} is not 64 lowercase hex digits`, { name, value: String(c).slice(0, 100) });
  }
  return c;
}

/** The check phase: refuse blocked names and stale expectations before anything is written. */
function checkUpdates(repo: Repo, updates: readonly { name: string; from: string | null; to: string | null }[]): void {
  const names = new Set(updates.map((u) => u.name));
  for (const u of updates) {
    // Within the set: 'a' and 'a/b' cannot both exist afterwards.
    const parts = u.name.split('/');
    for (let i = 1; i < parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      const other = updates.find((o) => o.name === prefix);
      if (names.has(prefix) && other !== undefined && other.to !== null && u.to !== null) {
        throw new RepoError('REPO_REF_BLOCKED', `refs ${prefix} and ${u.name} cannot both exist`, { name: u.name, blocker: prefix });
      }
    }
    // On disk: every parent must be a directory (or absent), the ref itself not a directory.
    for (let i = 1; i < parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      const st = lstatOrNull(repo.resolve('refs', 'heads', prefix));
      if (st === null) break;
      const goingAway = updates.some((o) => o.name === prefix && o.to === null);
      if (!st.isDirectory() && !(st.isFile() && goingAway)) {
        throw new RepoError('REPO_REF_BLOCKED', `ref ${u.name} is blocked by ref ${prefix}`, { name: u.name, blocker: prefix });
      }
      if (st.isFile() && goingAway) break;
    }
    const st = lstatOrNull(repo.resolve('refs', 'heads', u.name));
    if (st !== null && st.isDirectory()) {
      if (u.to !== null) throw new RepoError('REPO_REF_BLOCKED', `ref ${u.name} is blocked by refs under ${u.name}/`, { name: u.name, blocker: `${u.name}/` });
    }
    const current = st !== null && !st.isDirectory() ? readRefAt(repo.resolve('refs', 'heads', u.name), u.name) : null;
    if (current !== u.from) {
      throw new RepoError('REPO_REF_CONFLICT', `ref ${u.name} is at ${current ?? 'nothing'}, expected ${u.from ?? 'nothing'}`, {
        name: u.name,
        expected: u.from ?? ZERO_CHECKSUM,
        actual: current ?? ZERO_CHECKSUM,
      });
    }
  }
}

export interface UpdateRefsOptions extends LockOptions {
  /** A lock the caller already holds (e.g. across publish and ref update); else one is taken here. */
  lock?: RepoLock;
  /** Test hook: called after the journal is written and after each ref write. */
  onStep?: (step: 'journal' | 'ref', index: number) => void;
}

/**
 * Compare-and-swap over a set of local refs: all of them change or none.
 * Throws REPO_BAD_REF_NAME, REPO_REF_CONFLICT or REPO_REF_BLOCKED before writing anything.
 */
export async function updateRefs(repo: Repo, updates: readonly RefUpdate[], options: UpdateRefsOptions = {}): Promise<void> {
  const norm = updates.map((u) => {
    assertRefName(u.name);
    return { name: u.name, from: normalise(u.from, 'from', u.name), to: normalise(u.to, 'to', u.name) };
  });
  const seen = new Set<string>();
  for (const u of norm) {
    if (seen.has(u.name)) throw new RepoError('REPO_BAD_REF_NAME', `ref ${u.name} appears twice in one update`, { name: u.name });
    seen.add(u.name);
  }
  if (norm.length === 0) return;
  if (options.lock !== undefined && (!options.lock.held || options.lock.repo.path !== repo.path)) {
    throw new RepoError('INTERNAL', 'updateRefs given a lock that is not held on this repository');
  }
  const lock = options.lock ?? (await acquireLock(repo, options));
  try {
    checkUpdates(repo, norm);
    // Deletions first, so that 'a' can be replaced by 'a/b' in one set.
    const writes: RefWrite[] = [...norm.filter((u) => u.to === null), ...norm.filter((u) => u.to !== null)].map((u) => ({ name: u.name, to: u.to }));
    writeJournal(repo, writes);
    options.onStep?.('journal', 0);
    writes.forEach((w, i) => {
      applyRefWrite(repo, w);
      options.onStep?.('ref', i);
    });
    removeJournal(repo);
  } finally {
    if (options.lock === undefined) lock.release();
  }
}
