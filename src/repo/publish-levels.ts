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
import type { ObjectName } from './object-names.js';

const key = (checksum: string, type: string): string => `${checksum}.${type}`;

/**
 * Groups `ordered` (child first) into levels; each level keeps the given
 * order. `read` returns the bytes of a staged dirtree or commit.
 * `dirtreeLevels` (checksum → level) are levels the caller already knows
 * from its own walk of these dirtrees (receive-publish.ts): such a dirtree
 * is not read again, and its order is the caller's to have made child-first.
 */
export function publicationLevels(ordered: readonly ObjectName[], read: (o: ObjectName) => Uint8Array, dirtreeLevels?: ReadonlyMap<string, number>): ObjectName[][] {
  const all = new Set(ordered.map((o) => key(o.checksum, o.type)));
  const level = new Map<string, number>();
  const levels: ObjectName[][] = [];
  for (const o of ordered) {
    const known = o.type === 'dirtree' ? dirtreeLevels?.get(o.checksum) : undefined;
    if (known !== undefined) {
      level.set(key(o.checksum, o.type), known);
      const bucket = levels[known] ?? [];
      levels[known] = bucket;
      bucket.push(o);
      continue;
    }
    let children: string[] = [];
    if (o.type === 'dirtree') {
      const t = decodeDirtree(read(o));
      children = [...t.files.map((f) => key(f.checksum, 'file')), ...t.dirs.flatMap((d) => [key(d.dirtree, 'dirtree'), key(d.dirmeta, 'dirmeta')])];
    } else if (o.type === 'commit') {
      const c = decodeCommit(read(o));
      children = [key(c.rootDirtree, 'dirtree'), key(c.rootDirmeta, 'dirmeta'), key(o.checksum, 'commitmeta')];
    }
    let l = 0;
    for (const c of children) {
      const lc = level.get(c);
      if (lc !== undefined) l = Math.max(l, lc + 1);
      else if (all.has(c)) throw new RepoError('REPO_STAGING', `publication order is not child-first: ${c} comes after ${key(o.checksum, o.type)}`, { child: c, parent: key(o.checksum, o.type) });
    }
    level.set(key(o.checksum, o.type), l);
    const bucket = levels[l] ?? [];
    levels[l] = bucket;
    bucket.push(o);
  }
  return levels.filter((x) => x !== undefined);
}
