/**
 * Owner files: a file that names the process holding it (process-identity.ts: pid,
 * boot id, process start time), created atomically, so that at most one
 * process holds it, and taken over once its holder is dead. The repository
 * lock (lock.ts) is one, each receiver slot (receiver-slots.ts) another.
 *
 * Creating: the content goes to a temp file first, then link() puts it at
 * the name (EEXIST when taken), so a reader never sees a half-written file.
 * Breaking a dead holder's file is serialised by `<path>.break`, itself an
 * owner file: under it the file is removed only if it still holds what was
 * judged dead, so two breakers cannot both take it, nor remove a fresh one.
 */
import { linkSync, readFileSync, unlinkSync } from 'node:fs';
import { randomSuffix, writeNewFileSync } from './fsutil.js';
import { currentOwner, ownerAlive, parseOwner } from './process-identity.js';

/** Where the temp file of a new owner file goes (its name must be one stale-debris sweeping knows). */
export type TempNamer = (path: string) => string;

/** `<path>.<pid>-<hex>`, beside the file itself. */
export const besideTemp: TempNamer = (path) => `${path}.${process.pid}-${randomSuffix()}`;

/** The content of a new owner file: this process, and a nonce so two holders in one process differ. */
export function ownerContent(): string {
  return JSON.stringify({ ...currentOwner(), nonce: randomSuffix() });
}

export function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

export function unlinkIfThere(path: string): void {
  try {
    unlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

/** Creates `path` holding `content` atomically; false if it exists. */
export function tryCreate(path: string, content: string, tempOf: TempNamer = besideTemp): boolean {
  const tmp = tempOf(path);
  writeNewFileSync(tmp, content);
  try {
    linkSync(tmp, path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    unlinkIfThere(tmp);
  }
}

/** Whether the content names a dead holder; content tryCreate cannot have written is debris, dead too. */
export function holderDead(content: string | null): boolean {
  if (content === null) return false;
  const owner = parseOwner(content);
  return owner === undefined || !ownerAlive(owner);
}

/** Removes the owner file at `path` if it still holds `seen`, under `<path>.break`; false if another breaker is at it. */
export function breakDead(path: string, seen: string, mine: string, tempOf: TempNamer = besideTemp): boolean {
  const breaker = `${path}.break`;
  if (!tryCreate(breaker, mine, tempOf)) {
    const b = readOrNull(breaker);
    if (b !== null && holderDead(b) && readOrNull(breaker) === b) unlinkIfThere(breaker);
    return false;
  }
  try {
    if (readOrNull(path) === seen) unlinkIfThere(path);
  } finally {
    unlinkIfThere(breaker);
  }
  return true;
}
