/**
 * Source repositories for the simulator, built once per shape and cached:
 * each ref rN has an old commit (v1) and a new one (v2, whose parent is v1),
 * so a destination can be pre-populated with v1 for an incremental push. The
 * racing pusher's repository has the same v1s and a different v2 on the same
 * refs. Content is derived from the shape number, so a seed replays exactly.
 */
import { copyFileSync, mkdirSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { commitTree, initArchiveRepo, setRef, type DirNode, type TreeNode, objectRelPath, Repo, closure } from '../src/repo/index.js';
import { prng } from './link.js';

export const SHAPE_COUNT = 6;

export interface Source {
  shape: number;
  path: string;
  race: string;
  /** ref → v1 (old) commit. */
  old: Map<string, string>;
  /** ref → v2 in `path`, and in `race`. */
  next: Map<string, string>;
  raceNext: Map<string, string>;
}

function tree(shape: number, variant: string, ref: number): DirNode {
  const r = prng(shape * 7919 + ref);
  const files = 1 + Math.floor(r() * (2 + shape * 2));
  const depth = shape % 3;
  const root: DirNode = { type: 'dir', children: {} };
  for (let i = 0; i < files; i++) {
    let dir = root;
    for (let d = 0; d < Math.floor(r() * (depth + 1)); d++) {
      const name = `d${Math.floor(r() * 3)}`;
      dir.children[name] ??= { type: 'dir', children: {} };
      const next = dir.children[name] as TreeNode;
      if (next.type !== 'dir') break;
      dir = next;
    }
    const size = Math.floor(r() ** 3 * (shape === 5 ? 200_000 : 6000));
    const byte = Math.floor(r() * 256);
    dir.children[`f${i}`] = { type: 'file', content: new Uint8Array(size).fill(byte).map((b, k) => (k % 97 === 0 ? k & 0xff : b)), mode: r() < 0.2 ? 0o755 : 0o644 };
  }
  if (shape % 2 === 1) root.children['link'] = { type: 'symlink', target: 'f0' };
  root.children[`ref-${ref}`] = { type: 'file', content: `${variant}\n` };
  return root;
}

const cache = new Map<number, Source>();

/** Builds (or returns) the source repositories of a shape under `base`. */
export async function source(base: string, shape: number): Promise<Source> {
  const hit = cache.get(shape);
  if (hit !== undefined && existsSync(hit.path)) return hit;
  const path = join(base, `shape-${shape}`);
  const race = join(base, `shape-${shape}-race`);
  initArchiveRepo(path);
  initArchiveRepo(race);
  const refs = 1 + (shape % 3);
  const old = new Map<string, string>();
  const next = new Map<string, string>();
  const raceNext = new Map<string, string>();
  for (let i = 0; i < refs; i++) {
    const ref = i === 2 ? `team/r${i}` : `r${i}`;
    for (const [repo, variant, out] of [
      [path, 'v2', next],
      [race, 'v2-race', raceNext],
    ] as const) {
      const v1 = await commitTree(repo, { tree: tree(shape, 'v1', i), timestamp: 1000, subject: 'v1', fsync: false });
      const v2 = await commitTree(repo, { tree: tree(shape, variant, i), timestamp: 2000, subject: variant, parent: v1.commit, fsync: false, ...(shape % 2 === 0 ? { detachedMetadata: new Map() } : {}) });
      await setRef(repo, ref, v2.commit);
      old.set(ref, v1.commit);
      out.set(ref, v2.commit);
    }
  }
  const s: Source = { shape, path, race, old, next, raceNext };
  cache.set(shape, s);
  return s;
}

/** Copies the v1 closures into `dst` and points its refs at them (an earlier push). */
export async function prepopulate(src: Source, dst: string): Promise<void> {
  for (const [ref, commit] of src.old) {
    for await (const o of closure(src.path, commit)) {
      const to = join(dst, objectRelPath(o.checksum, o.type));
      if (existsSync(to)) continue;
      mkdirSync(dirname(to), { recursive: true });
      copyFileSync(join(src.path, objectRelPath(o.checksum, o.type)), to);
    }
    await setRef(Repo.open(dst), ref, commit);
  }
}
