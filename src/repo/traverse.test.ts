import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { RepoError } from '../errors.js';
import { needTools } from '../../testkit/tools.js';
import { listObjects, materialize, treeArb } from '../../testkit/ostree-trees.js';
import { ostree } from '../../testkit/ostree.js';
import { commitTree, initArchiveRepo, type DirNode, type TreeNode } from './builder.js';
import { decodeCommit, decodeDirtree, readMetadataFile } from './metadata.js';
import { objectBasename, objectRelPath, type ObjectName } from './object-names.js';
import { closure, difference, objectKey, parentChain } from './traverse.js';

async function all(g: AsyncIterable<ObjectName>): Promise<ObjectName[]> {
  const out: ObjectName[] = [];
  for await (const o of g) out.push(o);
  return out;
}

/** Asserts every object comes after all of its children, and nothing repeats. */
async function assertChildFirst(repo: string, objs: ObjectName[]): Promise<void> {
  const pos = new Map<string, number>();
  objs.forEach((o, i) => {
    const k = objectKey(o.checksum, o.type);
    assert.ok(!pos.has(k), `duplicate ${k}`);
    pos.set(k, i);
  });
  const before = (child: string, parent: string): void => {
    const [c, p] = [pos.get(child), pos.get(parent)];
    assert.ok(c !== undefined && p !== undefined && c < p, `${child} must precede ${parent}`);
  };
  for (const o of objs) {
    const me = objectKey(o.checksum, o.type);
    if (o.type === 'dirtree') {
      const t = decodeDirtree(await readMetadataFile(join(repo, objectRelPath(o.checksum, 'dirtree'))));
      for (const f of t.files) before(objectKey(f.checksum, 'file'), me);
      for (const d of t.dirs) {
        before(objectKey(d.dirtree, 'dirtree'), me);
        before(objectKey(d.dirmeta, 'dirmeta'), me);
      }
    } else if (o.type === 'commit') {
      const c = decodeCommit(await readMetadataFile(join(repo, objectRelPath(o.checksum, 'commit'))));
      before(objectKey(c.rootDirtree, 'dirtree'), me);
      before(objectKey(c.rootDirmeta, 'dirmeta'), me);
      assert.equal(pos.get(me), objs.length - 1, 'commit last');
    }
  }
}

let dir = '';
test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'traverse-'));
});
test.after(() => rm(dir, { recursive: true, force: true }));

test('closure: shared subtrees once, child first, commitmeta right before the commit', async () => {
  const repo = join(dir, 'shared');
  initArchiveRepo(repo);
  const leaf: DirNode = { type: 'dir', children: { x: { type: 'file', content: 'same' }, y: { type: 'file', content: 'same' } } };
  const c = await commitTree(repo, {
    tree: { type: 'dir', children: { a: leaf, b: leaf, c: { type: 'dir', children: { d: leaf } }, e: { type: 'dir', children: {} } } },
    timestamp: 0,
    fsync: false,
    detachedMetadata: new Map(),
  });
  const objs = await all(closure(repo, c.commit));
  await assertChildFirst(repo, objs);
  assert.deepEqual(objs.map((o) => objectBasename(o.checksum, o.type)).sort(), (await listObjects(repo)).sort());
  assert.deepEqual(objs.at(-2), { checksum: c.commit, type: 'commitmeta' });
});

test('closure: deep trees walk without recursion limits', async () => {
  const repo = join(dir, 'deep');
  initArchiveRepo(repo);
  let node: DirNode = { type: 'dir', children: {} };
  const depth = 700;
  for (let i = 0; i < depth; i++) node = { type: 'dir', children: { d: node, [`f${i % 3}`]: { type: 'file', content: String(i) } } };
  const c = await commitTree(repo, { tree: node, timestamp: 0, fsync: false });
  const objs = await all(closure(repo, c.commit));
  assert.equal(objs.filter((o) => o.type === 'dirtree').length, depth + 1);
  await assertChildFirst(repo, objs);
});

test('missing objects are REPO_OBJECT_MISSING with checksum and type', async () => {
  const repo = join(dir, 'missing');
  initArchiveRepo(repo);
  const c = await commitTree(repo, { tree: { type: 'dir', children: { s: { type: 'dir', children: { f: { type: 'file', content: 'gone' } } } } }, timestamp: 0, fsync: false });
  const objs = await all(closure(repo, c.commit));
  const file = objs.find((o) => o.type === 'file') as ObjectName;
  await unlink(join(repo, objectRelPath(file.checksum, 'file')));
  await assert.rejects(all(closure(repo, c.commit)), (e: unknown) => e instanceof RepoError && e.code === 'REPO_OBJECT_MISSING' && e.data.checksum === file.checksum && e.data.type === 'file');
  const sub = objs.find((o) => o.type === 'dirtree') as ObjectName;
  await unlink(join(repo, objectRelPath(sub.checksum, 'dirtree')));
  await assert.rejects(all(closure(repo, c.commit)), (e: unknown) => e instanceof RepoError && e.code === 'REPO_OBJECT_MISSING' && e.data.type === 'dirtree');
  await assert.rejects(all(closure(repo, 'ab'.repeat(32))), (e: unknown) => e instanceof RepoError && e.code === 'REPO_OBJECT_MISSING' && e.data.type === 'commit');
});

test('difference and parentChain', async () => {
  const repo = join(dir, 'diff');
  initArchiveRepo(repo);
  const base: Record<string, TreeNode> = { keep: { type: 'dir', children: { k: { type: 'file', content: 'k' } } }, m: { type: 'file', content: '1' } };
  const a = await commitTree(repo, { tree: { type: 'dir', children: base }, timestamp: 1, fsync: false });
  const b = await commitTree(repo, { tree: { type: 'dir', children: { ...base, m: { type: 'file', content: '2' } } }, timestamp: 2, parent: a.commit, fsync: false });
  const ca = new Set((await all(closure(repo, a.commit))).map((o) => objectKey(o.checksum, o.type)));
  const cb = await all(closure(repo, b.commit));
  const d = await all(difference(repo, [b.commit], [a.commit, 'cd'.repeat(32)]));
  assert.deepEqual(d.map((o) => objectKey(o.checksum, o.type)), cb.map((o) => objectKey(o.checksum, o.type)).filter((k) => !ca.has(k)));
  // New file, new root dirtree, commit; the root dirmeta and `keep/` are shared.
  assert.deepEqual(d.map((o) => o.type), ['file', 'dirtree', 'commit']);
  assert.deepEqual(await all(difference(repo, [b.commit], [b.commit])), []);
  assert.deepEqual((await parentChain(repo, b.commit)).map((p) => p.checksum), [b.commit, a.commit]);
  assert.deepEqual((await parentChain(repo, b.commit, 1)).map((p) => p.checksum), [b.commit]);
  await unlink(join(repo, objectRelPath(a.commit, 'commit')));
  assert.deepEqual((await parentChain(repo, b.commit)).map((p) => p.checksum), [b.commit]);
});

test('oracle: closure equals what ostree pull-local copies', async (t) => {
  if (!needTools(t, 'ostree')) return;
  let n = 0;
  await fc.assert(
    fc.asyncProperty(treeArb(false), async (tree) => {
      const tag = String(n++);
      const src = join(dir, `tree-${tag}`);
      await mkdir(src);
      await materialize(tree, src);
      const repo = join(dir, `src-${tag}`);
      await ostree(['init', `--repo=${repo}`, '--mode=archive']);
      const c = (await ostree(['commit', `--repo=${repo}`, '--fsync=false', '--branch=main', '--timestamp=@0', '--add-detached-metadata-string=k=v', src])).trim();
      const copy = join(dir, `copy-${tag}`);
      await ostree(['init', `--repo=${copy}`, '--mode=archive']);
      await ostree(['pull-local', `--repo=${copy}`, repo, c]);
      const objs = await all(closure(repo, c));
      assert.deepEqual(objs.map((o) => objectBasename(o.checksum, o.type)).sort(), await listObjects(copy));
      await assertChildFirst(repo, objs);
    }),
    { numRuns: 5 },
  );
});

test('trustStoreSubtrees: a dirtree in the store stands for its subtree; staged ones are walked', async () => {
  const repo = join(dir, 'trust');
  initArchiveRepo(repo);
  const old: DirNode = { type: 'dir', children: { deep: { type: 'dir', children: { f: { type: 'file', content: 'old' } } } } };
  const c = await commitTree(repo, { tree: { type: 'dir', children: { old, n: { type: 'file', content: 'new' } } }, timestamp: 0, fsync: false });
  const full = await all(closure(repo, c.commit));
  const root = decodeDirtree(await readMetadataFile(join(repo, objectRelPath(c.dirtree, 'dirtree'))));
  const oldTree = root.dirs.find((d) => d.name === 'old')?.dirtree as string;
  const newFile = root.files[0]?.checksum as string;
  // "Staged": the commit, the root dirtree and the new file; everything else is in the store.
  const stagedSet = new Set([objectKey(c.commit, 'commit'), objectKey(c.dirtree, 'dirtree'), objectKey(newFile, 'file')]);
  const view = { path: repo, staged: (s: string, t: ObjectName['type']) => stagedSet.has(objectKey(s, t)) };
  const trusted = await all(closure(view, c.commit, { trustStoreSubtrees: true }));
  const keys = trusted.map((o) => objectKey(o.checksum, o.type));
  assert.ok(!keys.includes(objectKey(oldTree, 'dirtree')), 'the stored subtree is not yielded');
  assert.ok(trusted.length < full.length);
  for (const k of stagedSet) assert.ok(keys.includes(k), `${k} yielded`);
  // The stored subtree's inner objects may be gone: trusted, not read (fsck is the check for that).
  const inner = full.find((o) => o.type === 'file' && o.checksum !== newFile) as ObjectName;
  await unlink(join(repo, objectRelPath(inner.checksum, 'file')));
  assert.deepEqual(await all(closure(view, c.commit, { trustStoreSubtrees: true })), trusted);
  await assert.rejects(all(closure(view, c.commit)), { code: 'REPO_OBJECT_MISSING' });
  // A dirtree neither staged nor stored is missing.
  await unlink(join(repo, objectRelPath(oldTree, 'dirtree')));
  await assert.rejects(all(closure(view, c.commit, { trustStoreSubtrees: true })), (e: unknown) => e instanceof RepoError && e.data.type === 'dirtree');
});
