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
 * nothing. State, all in typed arrays (a publication holds it for its whole
 * length, and V8 lets the heap grow to a multiple of what is live before it
 * collects): the names with their positions (name-list.ts, 41–66 bytes an
 * object), a counter per object, the parents of each object as one array
 * indexed by child (4 bytes an edge), and the queue of objects made ready.
 * The dirtrees and commits are read once, for their children.
 */
import { RepoError } from '../errors.js';
import type { ObjectName, ObjectType } from '../repo/object-names.js';
import { publicationChildren } from '../repo/publish-levels.js';
import { NameList } from './name-list.js';

const keyOf = (o: ObjectName): string => `${o.checksum}.${o.type}`;

/** A growable array of int32. */
class Int32s {
  a = new Int32Array(1024);
  n = 0;
  push(v: number): void {
    if (this.n === this.a.length) {
      const b = new Int32Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = v;
  }
}

/**
 * Runs `put` over `ordered` (child first: every child in it comes before its
 * parent, else REPO_STAGING), at most `limit` at once, each starting only
 * once its children's have completed. The first failure stops new starts and
 * is thrown once the PUTs in flight have ended.
 */
export function putChildFirst(ordered: readonly ObjectName[] | NameList, read: (o: ObjectName) => Uint8Array, limit: number, put: (o: ObjectName) => Promise<void>): Promise<void> {
  const names = ordered instanceof NameList ? ordered : NameList.from(ordered);
  const n = names.length;
  // waiting[i]: children of i not yet written. Edges (child j, parent i), then grouped by child:
  // the parents of j are parentOf[firstParent[j] .. firstParent[j + 1]).
  const waiting = new Int32Array(n);
  const edgeChild = new Int32s();
  const edgeParent = new Int32s();
  for (let i = 0; i < n; i++) {
    const o = names.at(i);
    if (o.type !== 'dirtree' && o.type !== 'commit') continue;
    for (const c of publicationChildren(o, read)) {
      const dot = c.indexOf('.');
      const j = names.indexOf(c.slice(0, dot), c.slice(dot + 1) as ObjectType);
      if (j < 0) continue;
      if (j > i) throw new RepoError('REPO_STAGING', `publication order is not child-first: ${c} comes after ${keyOf(o)}`, { child: c, parent: keyOf(o) });
      waiting[i] = (waiting[i] as number) + 1;
      edgeChild.push(j);
      edgeParent.push(i);
    }
  }
  const firstParent = new Int32Array(n + 1);
  for (let e = 0; e < edgeChild.n; e++) {
    const j = (edgeChild.a[e] as number) + 1;
    firstParent[j] = (firstParent[j] as number) + 1;
  }
  for (let j = 0; j < n; j++) firstParent[j + 1] = (firstParent[j + 1] as number) + (firstParent[j] as number);
  const parentOf = new Int32Array(edgeChild.n);
  const fill = firstParent.slice(0, n);
  for (let e = 0; e < edgeChild.n; e++) {
    const j = edgeChild.a[e] as number;
    parentOf[fill[j] as number] = edgeParent.a[e] as number;
    fill[j] = (fill[j] as number) + 1;
  }
  return new Promise<void>((resolve, reject) => {
    // Objects before `scan` were started, or skipped as waiting: those go to `ready` when their last child is written.
    let scan = 0;
    // Each object is made ready at most once.
    const ready = new Int32Array(n);
    let readyHead = 0;
    let readyTail = 0;
    let active = 0;
    let written = 0;
    let failure: { e: unknown } | undefined;
    const next = (): number | undefined => {
      if (readyHead < readyTail) return ready[readyHead++];
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
          .then(() => put(names.at(i)))
          .then(
            () => {
              active--;
              written++;
              for (let e = firstParent[i] as number; e < (firstParent[i + 1] as number); e++) {
                const p = parentOf[e] as number;
                waiting[p] = (waiting[p] as number) - 1;
                if (waiting[p] === 0 && p < scan) ready[readyTail++] = p;
              }
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
