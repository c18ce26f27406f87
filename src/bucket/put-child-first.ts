/**
 * Child-first PUTs without level barriers.
 *
 * In a bucket an object is visible once its PUT has completed, so "every
 * object in the bucket has all its children there" holds when an object's
 * PUT starts only after the PUTs of all its children in the publication have
 * completed (children not in it are already in the bucket). Levels
 * (repo/publish-levels.ts) give that with a barrier per level: no dirtree
 * starts before the last file has been written, and each level waits for its
 * slowest PUT (a retry's backoff, a large file) with the pool idle. Here each
 * object waits for its own children only: a dirtree starts as soon as its
 * last child is written, while other files are still going up.
 *
 * Scheduling: `limit` PUTs at once; the next one is an object whose children
 * have all just completed (parents first, so directories and the commit follow
 * their contents closely), else the next object of `ordered` that waits for
 * nothing. State: one counter and the list of parents per object (the
 * dirtrees and commits are read once, for their children).
 */
import { RepoError } from '../errors.js';
import type { ObjectName } from '../repo/object-names.js';
import { publicationChildren } from '../repo/publish-levels.js';

const keyOf = (o: ObjectName): string => `${o.checksum}.${o.type}`;

/**
 * Runs `put` over `ordered` (child first: every child in it comes before its
 * parent, else REPO_STAGING), at most `limit` at once, each starting only
 * once its children's have completed. The first failure stops new starts and
 * is thrown once the PUTs in flight have ended.
 */
export function putChildFirst(ordered: readonly ObjectName[], read: (o: ObjectName) => Uint8Array, limit: number, put: (o: ObjectName) => Promise<void>): Promise<void> {
  const n = ordered.length;
  const index = new Map<string, number>();
  ordered.forEach((o, i) => {
    index.set(keyOf(o), i);
  });
  // waiting[i]: children of i not yet written; parents.get(j): the objects waiting for j.
  const waiting = new Int32Array(n);
  const parents = new Map<number, number[]>();
  ordered.forEach((o, i) => {
    for (const c of publicationChildren(o, read)) {
      const j = index.get(c);
      if (j === undefined) continue;
      if (j > i) throw new RepoError('REPO_STAGING', `publication order is not child-first: ${c} comes after ${keyOf(o)}`, { child: c, parent: keyOf(o) });
      waiting[i] = (waiting[i] as number) + 1;
      const ps = parents.get(j);
      if (ps === undefined) parents.set(j, [i]);
      else ps.push(i);
    }
  });
  return new Promise<void>((resolve, reject) => {
    // Objects before `scan` were started, or skipped as waiting: those go to `ready` when their last child is written.
    let scan = 0;
    const ready: number[] = [];
    let readyHead = 0;
    let active = 0;
    let written = 0;
    let failure: { e: unknown } | undefined;
    const next = (): number | undefined => {
      if (readyHead < ready.length) return ready[readyHead++];
      while (scan < n) {
        const i = scan++;
        if (waiting[i] === 0) return i;
      }
      return undefined;
    };
    const pump = (): void => {
      while (failure === undefined && active < limit) {
        const i = next();
        if (i === undefined) break;
        active++;
        Promise.resolve()
          .then(() => put(ordered[i] as ObjectName))
          .then(
            () => {
              active--;
              written++;
              for (const p of parents.get(i) ?? []) {
                waiting[p] = (waiting[p] as number) - 1;
                if (waiting[p] === 0 && p < scan) ready.push(p);
              }
              parents.delete(i);
              pump();
            },
            (e: unknown) => {
              active--;
              failure ??= { e };
              pump();
            },
          );
      }
      if (active > 0) return;
      if (failure !== undefined) reject(failure.e);
      else if (written === n) resolve();
      // Otherwise some object waits for a child that was never written: impossible, as every child comes first.
      else reject(new RepoError('REPO_STAGING', `publication stopped with ${n - written} objects waiting for children`, {}));
    };
    pump();
  });
}
