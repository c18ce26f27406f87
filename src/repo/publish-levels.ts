/**
 * Publication in levels: the fewest durability barriers that keep child-first
 * true after a power cut, not only after a kill (spec/ostree-format.md §5.1).
 *
 *   level(o) = 0                                  o has no child in this publication
 *              1 + max(level(c) for its children  otherwise (files, dirmetas and
 *                  c in this publication)         commitmetas are always 0)
 *
 * Children of a dirtree: its files, each subdirectory's dirtree and dirmeta;
 * of a commit: its root dirtree and dirmeta and its commitmeta. A child not in
 * the publication is already in the store, where it was made durable by the
 * writer that put it there. Objects of one level never refer to each other,
 * so they can all be linked before one barrier (an fsync of every directory
 * that gained a name); the next level starts after it. The number of barriers
 * is the depth of the deepest new directory plus two, not the object count.
 */
import { RepoError } from '../errors.js';
import { decodeCommit, decodeDirtree } from './metadata.js';
import { ObjectList, type ObjectNames } from './object-list.js';
import type { ObjectName, ObjectType } from './object-names.js';
import { ObjectSet } from './object-set.js';

const key = (checksum: string, type: string): string => `${checksum}.${type}`;

/** Objects with no children: always level 0. */
const isLeaf = (type: ObjectType): boolean => type !== 'dirtree' && type !== 'commit';

/**
 * The children of an object as `checksum.type` keys: of a dirtree, its files
 * and each subdirectory's dirtree and dirmeta; of a commit, its root dirtree
 * and dirmeta and its commitmeta; none for the others. `read` returns the
 * bytes of a dirtree or commit.
 */
export function publicationChildren(o: ObjectName, read: (o: ObjectName) => Uint8Array): string[] {
  if (o.type === 'dirtree') {
    const t = decodeDirtree(read(o));
    return [...t.files.map((f) => key(f.checksum, 'file')), ...t.dirs.flatMap((d) => [key(d.dirtree, 'dirtree'), key(d.dirmeta, 'dirmeta')])];
  }
  if (o.type === 'commit') {
    const c = decodeCommit(read(o));
    return [key(c.rootDirtree, 'dirtree'), key(c.rootDirmeta, 'dirmeta'), key(o.checksum, 'commitmeta')];
  }
  return [];
}

/**
 * Groups `ordered` (child first) into levels; each level keeps the given
 * order. `read` returns the bytes of a staged dirtree or commit.
 * `dirtreeLevels` (checksum → level) are levels the caller already knows
 * from its own walk of these dirtrees (receive-publish.ts): such a dirtree
 * is not read again, and its order is the caller's to have made child-first.
 * Per object it holds 33-byte entries (object-set.ts, object-list.ts), and
 * a level by name for parents only (dirtrees and commits, about one object
 * in ten).
 */
export function publicationLevels(ordered: ObjectNames, read: (o: ObjectName) => Uint8Array, dirtreeLevels?: ReadonlyMap<string, number>): ObjectList[] {
  const all = new ObjectSet(ordered.length * 1.4);
  for (const o of ordered) all.add(o.checksum, o.type);
  /** Leaves already placed (level 0), and each placed parent's level. */
  const leaves = new ObjectSet(ordered.length * 1.4);
  const level = new Map<string, number>();
  const levelOf = (checksum: string, type: ObjectType): number | undefined => (isLeaf(type) ? (leaves.has(checksum, type) ? 0 : undefined) : level.get(key(checksum, type)));
  const levels: ObjectList[] = [];
  const place = (o: ObjectName, l: number): void => {
    if (isLeaf(o.type)) leaves.add(o.checksum, o.type);
    else level.set(key(o.checksum, o.type), l);
    const bucket = levels[l] ?? new ObjectList();
    levels[l] = bucket;
    bucket.push(o.checksum, o.type);
  };
  for (const o of ordered) {
    const known = o.type === 'dirtree' ? dirtreeLevels?.get(o.checksum) : undefined;
    if (known !== undefined) {
      place(o, known);
      continue;
    }
    let children: ObjectName[] = [];
    if (o.type === 'dirtree') {
      const t = decodeDirtree(read(o));
      children = [...t.files.map((f): ObjectName => ({ checksum: f.checksum, type: 'file' })), ...t.dirs.flatMap((d): ObjectName[] => [{ checksum: d.dirtree, type: 'dirtree' }, { checksum: d.dirmeta, type: 'dirmeta' }])];
    } else if (o.type === 'commit') {
      const c = decodeCommit(read(o));
      children = [{ checksum: c.rootDirtree, type: 'dirtree' }, { checksum: c.rootDirmeta, type: 'dirmeta' }, { checksum: o.checksum, type: 'commitmeta' }];
    }
    let l = 0;
    for (const c of children) {
      const lc = levelOf(c.checksum, c.type);
      if (lc !== undefined) l = Math.max(l, lc + 1);
      else if (all.has(c.checksum, c.type)) {
        const child = key(c.checksum, c.type);
        throw new RepoError('REPO_STAGING', `publication order is not child-first: ${child} comes after ${key(o.checksum, o.type)}`, { child, parent: key(o.checksum, o.type) });
      }
    }
    place(o, l);
  }
  return levels.filter((x) => x !== undefined);
}
