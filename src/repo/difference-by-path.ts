/**
 * `differenceByPath`: traverse.ts's `difference` (what a push must send) found
 * faster, by walking the old and the new trees side by side, path by path,
 * instead of reading the whole old tree first. The push plan uses this one;
 * `difference` stays the exact reference its tests compare against.
 *
 * `difference` (traverse.ts) is exact: it reads every dirtree of every `have`
 * commit to learn what the remote holds, which for an incremental push of a
 * few objects into a large tree costs more than everything else. Here, at
 * each path, the `want` and `have` dirtrees found there are compared:
 *   - a dirtree on both sides stands for its whole subtree, on both sides: it
 *     is marked known and neither side descends into it;
 *   - every other dirtree of either side is read; the `have` side's files,
 *     dirmetas and (once its subtree is done) the dirtree itself are marked
 *     known, and the walk goes on by subdirectory name.
 * Then `closure` walks each `want` commit, skipping what is known.
 *
 * `far` commits (the remote's other branches, for a ref it lacks) count
 * as `have` only where the `want` trees have the same path: a subtree of
 * theirs at a path no `want` tree has is not read. Their reads then scale
 * with the pushed tree's, not with the size of every branch the remote holds.
 *
 * The result is child first and a superset of `difference`: an object is left
 * out only when it is in a `have` commit. It can hold a few more: an object
 * of a new path whose twin sits, unread, in an unchanged subtree elsewhere
 * (a copied file or directory). Those cost a QUERY entry or a resend of an
 * object the receiver already has and skips; never a missing object.
 * Missing `have` objects are ignored, as in `difference`.
 */
import { RepoError } from '../errors.js';
import type { Dirtree } from './metadata.js';
import type { ObjectName } from './object-names.js';
import { ObjectSet } from './object-set.js';
import { closure, readCommitIfPresent, readDirtreeIfPresent, type RepoLike, type TraverseOptions } from './traverse.js';

export async function* differenceByPath(
  repo: RepoLike,
  want: readonly string[],
  have: readonly string[],
  options: Pick<TraverseOptions, 'checkLeaves'> & { far?: readonly string[] } = {},
): AsyncGenerator<ObjectName> {
  const seen = new ObjectSet();
  const wantRoots = new Set<string>();
  const haveRoots = new Set<string>();
  const farRoots = new Set<string>();
  for (const w of want) {
    const c = await readCommitIfPresent(repo, w);
    // A missing want commit is closure's to report.
    if (c !== null) wantRoots.add(c.rootDirtree);
  }
  for (const [roots, commits] of [[haveRoots, have], [farRoots, options.far ?? []]] as const) {
    for (const h of commits) {
      const c = await readCommitIfPresent(repo, h);
      if (c === null) continue;
      seen.add(h, 'commit');
      seen.add(h, 'commitmeta');
      seen.add(c.rootDirmeta, 'dirmeta');
      roots.add(c.rootDirtree);
    }
  }
  await compare(repo, { want: wantRoots, have: haveRoots, far: farRoots }, seen, { want: new Set(), have: new Set() });
  const walk = options.checkLeaves === undefined ? {} : { checkLeaves: options.checkLeaves };
  for (const w of want) yield* closure(repo, w, { seen, ...walk });
}

/** Dirtrees above this path, per side (one side's tree may sit below its twin on the other: a moved directory). */
interface Above {
  want: Set<string>;
  have: Set<string>;
}

/** The dirtrees found at one path, by side: `far` ones are `have` ones followed only where `want` goes. */
interface AtPath {
  want: Set<string>;
  have: Set<string>;
  far: Set<string>;
}

/** One path: the dirtrees `want`, `have` and `far` commits hold there. */
async function compare(repo: RepoLike, at: AtPath, seen: ObjectSet, above: Above): Promise<void> {
  const { want: wantTrees } = at;
  const haveTrees = new Set([...at.have, ...at.far]);
  const children = new Map<string, AtPath>();
  const child = (name: string): AtPath => {
    let c = children.get(name);
    if (c === undefined) {
      c = { want: new Set(), have: new Set(), far: new Set() };
      children.set(name, c);
    }
    return c;
  };
  const read = async (checksum: string, onPath: Set<string>): Promise<Dirtree | null> => {
    // Only possible with objects whose names were never verified.
    if (onPath.has(checksum)) throw new RepoError('REPO_CORRUPT_OBJECT', `dirtree ${checksum} contains itself`, { checksum, type: 'dirtree' });
    return readDirtreeIfPresent(repo, checksum);
  };
  const haveRead: string[] = [];
  for (const h of haveTrees) {
    if (seen.has(h, 'dirtree')) continue;
    if (wantTrees.has(h)) {
      seen.add(h, 'dirtree');
      continue;
    }
    const t = await read(h, above.have);
    if (t === null) continue;
    for (const f of t.files) seen.add(f.checksum, 'file');
    const side = at.have.has(h) ? 'have' : 'far';
    for (const d of t.dirs) {
      seen.add(d.dirmeta, 'dirmeta');
      child(d.name)[side].add(d.dirtree);
    }
    haveRead.push(h);
  }
  // Below a path the `have` side does not reach, there is nothing to learn:
  // `closure` reads those `want` dirtrees anyway, so they are not read twice
  // (a full push reads each dirtree once).
  if (children.size > 0) {
    for (const w of wantTrees) {
      if (seen.has(w, 'dirtree')) continue;
      const t = await read(w, above.want);
      if (t === null) continue;
      for (const d of t.dirs) children.get(d.name)?.want.add(d.dirtree);
    }
  }
  const below: Above = { want: new Set([...above.want, ...wantTrees]), have: new Set([...above.have, ...haveTrees]) };
  for (const c of children.values()) {
    // Where no `want` tree goes, a `far` tree teaches nothing the walk needs.
    if (c.want.size === 0) c.far.clear();
    if (c.have.size > 0 || c.far.size > 0) await compare(repo, c, seen, below);
  }
  // Every child of these is now known (shared, read, or missing and so ignored).
  for (const h of haveRead) seen.add(h, 'dirtree');
}
