import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commitTree, initArchiveRepo, type DirNode } from '../repo/builder.js';
import { objectRelPath, type ObjectName } from '../repo/object-names.js';
import type { Repo } from '../repo/repo.js';
import { closure, objectKey } from '../repo/traverse.js';
import { planPush } from './push-plan.js';

let root = '';
test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'push-plan-'));
});
test.after(() => rm(root, { recursive: true, force: true }));

/** A tree of `n` directories, each with one file, the contents tagged by `tag`. */
function wide(tag: string, n: number): DirNode {
  const children: DirNode['children'] = {};
  for (let i = 0; i < n; i++) children[`d${i}`] = { type: 'dir', children: { f: { type: 'file', content: `${tag} ${i}` } } };
  return { type: 'dir', children };
}

/** `repo` whose dirtree reads are counted in `reads` (the walk's metadata reads go through objectPath). */
function counting(repo: Repo, reads: Set<string>): Repo {
  const r = Object.create(repo) as Repo & { objectPath: (checksum: string, type: ObjectName['type']) => string };
  r.objectPath = (checksum, type) => {
    if (type === 'dirtree') reads.add(checksum);
    return join(repo.path, objectRelPath(checksum, type));
  };
  // The walks read a repository's held objects when it has them: files through objectPath here, so they are counted.
  Object.defineProperty(r, 'held', { value: undefined });
  return r;
}

async function dirtrees(repo: Repo, commit: string): Promise<Set<string>> {
  const out = new Set<string>();
  for await (const o of closure(repo.path, commit)) if (o.type === 'dirtree') out.add(o.checksum);
  return out;
}

test('planPush: an update of a ref the remote has reads no dirtree of the remote\'s other refs', async () => {
  const path = join(root, 'other-refs');
  const repo = initArchiveRepo(path);
  const other = await commitTree(repo, { tree: wide('other', 40), timestamp: 1, fsync: false });
  const old = await commitTree(repo, { tree: { type: 'dir', children: { a: { type: 'dir', children: { x: { type: 'file', content: '1' } } } } }, timestamp: 2, fsync: false });
  const next = await commitTree(repo, {
    tree: { type: 'dir', children: { a: { type: 'dir', children: { x: { type: 'file', content: '2' } } } } },
    timestamp: 3,
    parent: old.commit,
    fsync: false,
  });
  // The pusher holds both refs; other is up to date on the remote when listed, so main alone is pushed.
  const local = new Map([['main', next.commit]]);
  const plans = [];
  const readsPer = [];
  for (const remote of [new Map([['main', old.commit]]), new Map([['main', old.commit], ['other', other.commit]])]) {
    const reads = new Set<string>();
    plans.push(await planPush(counting(repo, reads), local, remote));
    readsPer.push(reads);
  }
  const [alone, withOther] = readsPer as [Set<string>, Set<string>];
  const otherTrees = await dirtrees(repo, other.commit);
  assert.deepEqual([...withOther].filter((c) => otherTrees.has(c)), [], 'no dirtree of the remote\'s other ref is read');
  assert.equal(withOther.size, alone.size);
  // Same objects either way: the new commit, its root and a/, and the changed file.
  const names = plans.map((p) => p.objects.filter((o) => o.type !== 'commit' || o.checksum === next.commit).map((o) => objectKey(o.checksum, o.type)).sort());
  assert.deepEqual(names[1], names[0]);
  assert.deepEqual(plans[1]?.objects.map((o) => o.type).sort(), ['commit', 'dirtree', 'dirtree', 'file']);
});

test('planPush: what the new commit shares only with another remote ref is planned, for QUERY to drop', async () => {
  const path = join(root, 'merge');
  const repo = initArchiveRepo(path);
  const shared: DirNode = { type: 'dir', children: { s: { type: 'file', content: 'only on other' } } };
  const other = await commitTree(repo, { tree: { type: 'dir', children: { shared } }, timestamp: 1, fsync: false });
  const old = await commitTree(repo, { tree: { type: 'dir', children: { m: { type: 'file', content: 'm' } } }, timestamp: 2, fsync: false });
  const next = await commitTree(repo, { tree: { type: 'dir', children: { m: { type: 'file', content: 'm' }, shared } }, timestamp: 3, parent: old.commit, fsync: false });
  const plan = await planPush(repo, new Map([['main', next.commit]]), new Map([['main', old.commit], ['other', other.commit]]));
  const planned = new Set(plan.objects.map((o) => objectKey(o.checksum, o.type)));
  // Every object of the new closure that the old commit of main lacks.
  const oldSet = new Set<string>();
  for await (const o of closure(path, old.commit)) oldSet.add(objectKey(o.checksum, o.type));
  for await (const o of closure(path, next.commit)) {
    const k = objectKey(o.checksum, o.type);
    if (!oldSet.has(k)) assert.ok(planned.has(k), `${k} planned`);
  }
});

test('planPush: a new ref is planned against every remote commit held locally (a branch off another is not sent whole)', async () => {
  const path = join(root, 'new-ref');
  const repo = initArchiveRepo(path);
  const base = await commitTree(repo, { tree: wide('base', 10), timestamp: 1, fsync: false });
  const tree = wide('base', 10);
  tree.children.extra = { type: 'file', content: 'new' };
  const branch = await commitTree(repo, { tree, timestamp: 2, parent: base.commit, fsync: false });
  const plan = await planPush(repo, new Map([['feature', branch.commit]]), new Map([['main', base.commit]]));
  assert.deepEqual(plan.objects.map((o) => o.type).sort(), ['commit', 'dirtree', 'file']);
});

test('planPush: a new ref reads, of the remote\'s other branches, only the directories its own tree has too', async () => {
  const path = join(root, 'new-ref-far');
  const repo = initArchiveRepo(path);
  const base = await commitTree(repo, { tree: wide('base', 10), timestamp: 1, fsync: false });
  // Another branch on the remote: 40 directories of other names, nothing the new ref has at its paths.
  const unrelated: DirNode = { type: 'dir', children: { elsewhere: wide('unrelated', 40), d0: { type: 'dir', children: { g: { type: 'file', content: 'g' } } } } };
  const other = await commitTree(repo, { tree: unrelated, timestamp: 2, fsync: false });
  const tree = wide('base', 10);
  tree.children.extra = { type: 'file', content: 'new' };
  const branch = await commitTree(repo, { tree, timestamp: 3, parent: base.commit, fsync: false });
  const reads = new Set<string>();
  const plan = await planPush(counting(repo, reads), new Map([['feature', branch.commit]]), new Map([['main', base.commit], ['other', other.commit]]));
  assert.deepEqual(plan.objects.map((o) => o.type).sort(), ['commit', 'dirtree', 'file']);
  // Of the other branch: its root, and d0 (a path the new tree has too); nothing below 'elsewhere'.
  const otherTrees = await dirtrees(repo, other.commit);
  const readOfOther = [...reads].filter((c) => otherTrees.has(c));
  assert.equal(readOfOther.length, 2, `${readOfOther.length} of the other branch's ${otherTrees.size} dirtrees read`);
});
