/**
 * The closure of a commit, child first (spec/ostree-format.md §5.1).
 *
 *   commit → (optional) commitmeta → root dirtree + root dirmeta → per dirtree:
 *   each file (content object) and each (subdir, dirtree, dirmeta), recursively.
 *   The parent commit is not part of the closure.
 *
 * Order: every object comes after all of its children, so an object can be
 * published the moment it arrives without ever exposing a dangling reference.
 * Per directory: its files, then each subdirectory's dirmeta followed by that
 * subtree, then the dirtree itself. The root dirmeta and root dirtree come
 * last but two; the commitmeta (no children, not covered by the commit's
 * checksum) comes right BEFORE its commit, and the commit is last.
 *
 * The walk is iterative (an explicit stack, so depth is not bounded by the JS
 * call stack) and streams: it holds the decoded dirtrees on the current path
 * and the set of objects already yielded, nothing else.
 *
 * `trustStoreSubtrees` relies on the store invariant that publication keeps
 * (staging.ts): every object in `objects/` has all its children there. A
 * dirtree found in the store (not staged) therefore implies its whole
 * subtree, and the walk neither descends into it nor yields it: an
 * incremental push's check reads only the new directories, not the whole
 * tree. A store written by other means (rsync of objects/, a copy killed
 * midway, a disk that lost data) can break the invariant; `ostree fsck`
 * remains the check for that, and the walk without the option the thorough one.
 */
import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { RepoError, isOstreePushError } from '../errors.js';
import type { HeldObjects } from './held-objects.js';
import { decodeCommit, decodeDirtree, type Commit, type Dirtree } from './metadata.js';
import { readMetadataSync } from './metadata-file.js';
import { objectRelPath, type ObjectName, type ObjectType } from './object-names.js';
import { ObjectSet } from './object-set.js';

/** Where an object's file is: a repository's objects/, or a view over several places. */
export type ObjectPathFn = (checksum: string, type: ObjectType) => string;

/**
 * A repository root, or a repository with `objectPath` resolving names to
 * files (the receiver walks staged ∪ stored objects this way: staging first).
 */
export type RepoLike =
  | string
  | {
      path: string;
      objectPath?: ObjectPathFn;
      /** Objects known present without a look at the disk (staged ones); they are not "in the store". */
      staged?: (checksum: string, type: ObjectType) => boolean;
      /** The store, when its objects are not the files `objectPath` names (held-objects.ts): asked of every object not `staged`. */
      held?: HeldObjects;
    };

export interface TraverseOptions {
  /**
   * Objects already known. The walk skips them and, for a dirtree, its whole
   * subtree; objects it yields are added. Share one set across walks to
   * deduplicate them. Binary (object-set.ts): a walk of a million objects
   * holds no string per object.
   */
  seen?: ObjectSet;
  /** Check that leaf objects (files, dirmetas) exist; default true. */
  checkLeaves?: boolean;
  /** Skip missing objects instead of failing (used for the `have` side of difference). */
  ignoreMissing?: boolean;
  /**
   * A dirtree in the store (present and not `staged`) stands for its whole
   * subtree: not descended into, not yielded (see the module comment).
   */
  trustStoreSubtrees?: boolean;
  /** Called with each dirtree the walk read, once its subtree is done, just before it is yielded. */
  onDirtree?: (checksum: string, tree: Dirtree) => void;
}

export function objectKey(checksum: string, type: ObjectType): string {
  return `${checksum}.${type}`;
}

/** Where a walk finds objects: files, and for a store held elsewhere, its held objects for what is not staged. */
interface Locator {
  at: ObjectPathFn;
  held?: { objects: HeldObjects; staged: (checksum: string, type: ObjectType) => boolean };
}

function locator(repo: RepoLike): Locator {
  const root = typeof repo === 'string' ? repo : repo.path;
  const at = typeof repo !== 'string' && repo.objectPath !== undefined ? repo.objectPath : (checksum: string, type: ObjectType) => join(root, objectRelPath(checksum, type));
  if (typeof repo === 'string' || repo.held === undefined) return { at };
  return { at, held: { objects: repo.held, staged: repo.staged ?? (() => false) } };
}

/** Whether the object comes from the held objects rather than from a file. */
function fromHeld(l: Locator, checksum: string, type: ObjectType): HeldObjects | undefined {
  return l.held !== undefined && !l.held.staged(checksum, type) ? l.held.objects : undefined;
}

function missing(checksum: string, type: ObjectType): RepoError {
  return new RepoError('REPO_OBJECT_MISSING', `object ${checksum}.${type} is not in the repository`, { checksum, type });
}

/*
 * The walk's file calls are synchronous on purpose: each is one small
 * metadata read or one lstat, and a walk makes thousands of them; a hop
 * through libuv's thread pool per call cost more than the calls themselves
 * (an incremental push's `have` walk reads every dirtree of the old commit).
 */

async function exists(l: Locator, checksum: string, type: ObjectType): Promise<boolean> {
  const held = fromHeld(l, checksum, type);
  if (held !== undefined) return held.has(checksum, type);
  try {
    return lstatSync(l.at(checksum, type)).isFile();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return false;
    throw e;
  }
}

/** Reads and decodes a metadata object; null when absent. Decoding errors name the object. */
async function load<T>(l: Locator, checksum: string, type: ObjectType, decodeFn: (b: Uint8Array) => T): Promise<T | null> {
  let bytes: Uint8Array;
  const held = fromHeld(l, checksum, type);
  try {
    if (held !== undefined) {
      const got = await held.read(checksum, type);
      if (got === null) return null;
      bytes = got;
    } else bytes = readMetadataSync(l.at(checksum, type));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
    throw e;
  }
  try {
    return decodeFn(bytes);
  } catch (e) {
    if (isOstreePushError(e)) Object.assign(e.data, { checksum, type });
    throw e;
  }
}

export async function readCommit(repo: RepoLike, checksum: string): Promise<Commit> {
  const c = await load(locator(repo), checksum, 'commit', decodeCommit);
  if (c === null) throw missing(checksum, 'commit');
  return c;
}

export async function readCommitIfPresent(repo: RepoLike, checksum: string): Promise<Commit | null> {
  return load(locator(repo), checksum, 'commit', decodeCommit);
}

/** A dirtree, decoded; null when absent. */
export async function readDirtreeIfPresent(repo: RepoLike, checksum: string): Promise<Dirtree | null> {
  return load(locator(repo), checksum, 'dirtree', decodeDirtree);
}

interface Frame {
  checksum: string;
  tree: Dirtree;
  /** Next subdirectory to descend into. */
  next: number;
}

/** Objects reachable from `commit`, child first, each once. */
export async function* closure(repo: RepoLike, commit: string, options: TraverseOptions = {}): AsyncGenerator<ObjectName> {
  const root = locator(repo);
  const seen = options.seen ?? new ObjectSet();
  const checkLeaves = options.checkLeaves ?? true;
  const lenient = options.ignoreMissing ?? false;
  const trust = options.trustStoreSubtrees ?? false;
  const staged = typeof repo !== 'string' && repo.staged !== undefined ? repo.staged : () => false;
  if (seen.has(commit, 'commit')) return;

  const c = await load(root, commit, 'commit', decodeCommit);
  if (c === null) {
    if (lenient) return;
    throw missing(commit, 'commit');
  }

  /** Leaf objects: yielded when first met (they have no children). */
  async function* leaf(checksum: string, type: ObjectType): AsyncGenerator<ObjectName> {
    if (seen.has(checksum, type)) return;
    if (checkLeaves && !staged(checksum, type) && !(await exists(root, checksum, type))) {
      if (lenient) return;
      throw missing(checksum, type);
    }
    seen.add(checksum, type);
    yield { checksum, type };
  }

  const stack: Frame[] = [];
  const onStack = new Set<string>();

  /** Enters a dirtree (yielding its files) unless it was seen; false when skipped. */
  async function* enter(checksum: string): AsyncGenerator<ObjectName, boolean> {
    if (seen.has(checksum, 'dirtree')) return false;
    if (onStack.has(checksum)) {
      // Only possible with objects whose names were never verified.
      throw new RepoError('REPO_CORRUPT_OBJECT', `dirtree ${checksum} contains itself`, { checksum, type: 'dirtree' });
    }
    if (trust && !staged(checksum, 'dirtree')) {
      if (await exists(root, checksum, 'dirtree')) {
        seen.add(checksum, 'dirtree');
        return false;
      }
      if (lenient) return false;
      throw missing(checksum, 'dirtree');
    }
    const tree = await load(root, checksum, 'dirtree', decodeDirtree);
    if (tree === null) {
      if (lenient) return false;
      throw missing(checksum, 'dirtree');
    }
    for (const f of tree.files) yield* leaf(f.checksum, 'file');
    stack.push({ checksum, tree, next: 0 });
    onStack.add(checksum);
    return true;
  }

  yield* leaf(c.rootDirmeta, 'dirmeta');
  yield* enter(c.rootDirtree);
  while (stack.length > 0) {
    const top = stack[stack.length - 1] as Frame;
    const d = top.tree.dirs[top.next++];
    if (d !== undefined) {
      yield* leaf(d.dirmeta, 'dirmeta');
      yield* enter(d.dirtree);
      continue;
    }
    stack.pop();
    onStack.delete(top.checksum);
    seen.add(top.checksum, 'dirtree');
    options.onDirtree?.(top.checksum, top.tree);
    yield { checksum: top.checksum, type: 'dirtree' };
  }

  if (!seen.has(commit, 'commitmeta') && (staged(commit, 'commitmeta') || (await exists(root, commit, 'commitmeta')))) {
    seen.add(commit, 'commitmeta');
    yield { checksum: commit, type: 'commitmeta' };
  }
  seen.add(commit, 'commit');
  yield { checksum: commit, type: 'commit' };
}

/**
 * Objects reachable from any of `want` and from none of `have`, child first.
 * `have` commits (and objects of theirs) missing locally are ignored: they
 * only shrink what is sent. Missing objects of `want` are REPO_OBJECT_MISSING
 * (leaves only when `checkLeaves`, the default: a caller that stats every
 * object it gets anyway passes false and saves one lstat per object).
 * Exact, and reads every dirtree of every `have` commit: the push plan uses
 * `differenceByPath` (difference-by-path.ts), a superset that reads less.
 */
export async function* difference(
  repo: RepoLike,
  want: readonly string[],
  have: readonly string[],
  options: Pick<TraverseOptions, 'checkLeaves'> = {},
): AsyncGenerator<ObjectName> {
  const seen = new ObjectSet();
  for (const h of have) {
    for await (const _ of closure(repo, h, { seen, checkLeaves: false, ignoreMissing: true })) {
      /* only filling `seen` */
    }
  }
  for (const w of want) yield* closure(repo, w, { seen, ...options });
}

/**
 * `commit`, then its parent, grandparent…: stops at a root commit, at a
 * parent that is not in the repository (a shallow history, as a depth-0
 * pull leaves), or after `maxLength` entries. A missing first commit is
 * REPO_OBJECT_MISSING.
 */
export async function parentChain(repo: RepoLike, commit: string, maxLength = Number.POSITIVE_INFINITY): Promise<Array<{ checksum: string; commit: Commit }>> {
  const out: Array<{ checksum: string; commit: Commit }> = [];
  let next: string | null = commit;
  const visited = new Set<string>();
  while (next !== null && out.length < maxLength && !visited.has(next)) {
    visited.add(next);
    const c: Commit | null = out.length === 0 ? await readCommit(repo, next) : await readCommitIfPresent(repo, next);
    if (c === null) break;
    out.push({ checksum: next, commit: c });
    next = c.parent;
  }
  return out;
}
