import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { commitTree, initArchiveRepo, type DirNode, type TreeNode } from './builder.js';
import { decodeDirtree, readMetadataFile } from './metadata.js';
import { objectRelPath, type ObjectName } from './object-names.js';
import { differenceByPath } from './difference-by-path.js';
import { closure, difference, objectKey } from './traverse.js';

async function keys(g: AsyncIterable<ObjectName>): Promise<string[]> {
  const out: string[] = [];
  for await (const o of g) out.push(objectKey(o.checksum, o.type));
  return out;
}

/** Every dirtree after its files and subdirectories; no repeats. */
async function assertChildFirst(repo: string, ks: string[]): Promise<void> {
  const pos = new Map(ks.map((k, i) => [k, i] as const));
  assert.equal(pos.size, ks.length, 'no duplicates');
  for (const k of ks) {
    if (!k.endsWith('.dirtree')) continue;
    const t = decodeDirtree(await readMetadataFile(join(repo, objectRelPath(k.slice(0, 64), 'dirtree'))));
    const me = pos.get(k) as number;
    for (const c of [...t.files.map((f) => objectKey(f.checksum, 'file')), ...t.dirs.map((d) => objectKey(d.dirtree, 'dirtree'))]) {
      const p = pos.get(c);
      if (p !== undefined) assert.ok(p < me, `${c} before ${k}`);
    }
  }
}

// Few names and contents, so that subtrees and files recur across paths and commits.
const name = fc.constantFrom('a', 'b', 'c');
const file = fc.constantFrom('x', 'y', 'z').map((content): TreeNode => ({ type: 'file', content }));
const { dir } = fc.letrec<{ dir: DirNode }>((tie) => ({
  dir: fc
    .dictionary(name, fc.oneof({ depthSize: 'small', withCrossShrink: true }, file, tie('dir')), { maxKeys: 3 })
    .map((children): DirNode => ({ type: 'dir', children })),
}));

let root = '';
test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'path-diff-'));
});
test.after(() => rm(root, { recursive: true, force: true }));

test('differenceByPath: child first, within the new closure, never less than difference', async () => {
  let n = 0;
  await fc.assert(
    fc.asyncProperty(dir, dir, dir, async (t1, t2, t3) => {
      const repo = join(root, `r${n++}`);
      initArchiveRepo(repo);
      const a = await commitTree(repo, { tree: t1, timestamp: 1, fsync: false });
      // The new tree keeps the old one under one name and moves it under another, as updates do.
      const b = await commitTree(repo, { tree: { type: 'dir', children: { old: t1, new: t2, mix: t3 } }, timestamp: 2, parent: a.commit, fsync: false });
      for (const [want, have] of [[b.commit, a.commit], [a.commit, b.commit], [b.commit, b.commit]] as const) {
        const exact = await keys(difference(repo, [want], [have]));
        const got = await keys(differenceByPath(repo, [want], [have, 'cd'.repeat(32)]));
        const all = new Set(await keys(closure(repo, want)));
        for (const k of exact) assert.ok(got.includes(k), `${k} missing`);
        for (const k of got) assert.ok(all.has(k), `${k} not in the wanted closure`);
        await assertChildFirst(repo, got);
        if (want === have) assert.deepEqual(got, []);
        // The same with `have` as a far commit (the remote's other branch): still never less, never outside.
        const viaFar = await keys(differenceByPath(repo, [want], [], { far: [have] }));
        for (const k of exact) assert.ok(viaFar.includes(k), `${k} missing (far)`);
        for (const k of viaFar) assert.ok(all.has(k), `${k} not in the wanted closure (far)`);
        await assertChildFirst(repo, viaFar);
      }
    }),
    { numRuns: 40, interruptAfterTimeLimit: 8000 },
  );
});

test('differenceByPath: an unchanged subtree is not read on either side', async () => {
  const repo = join(root, 'skip');
  initArchiveRepo(repo);
  const big: DirNode = { type: 'dir', children: { d: { type: 'dir', children: { f: { type: 'file', content: 'same' } } } } };
  const a = await commitTree(repo, { tree: { type: 'dir', children: { big, m: { type: 'file', content: '1' } } }, timestamp: 1, fsync: false });
  const b = await commitTree(repo, { tree: { type: 'dir', children: { big, m: { type: 'file', content: '2' } } }, timestamp: 2, parent: a.commit, fsync: false });
  // Garble the shared subtree's inner dirtree: a walk that read it would fail to decode it.
  const inner = decodeDirtree(await readMetadataFile(join(repo, objectRelPath(decodeDirtree(await readMetadataFile(join(repo, objectRelPath(a.dirtree, 'dirtree')))).dirs[0]!.dirtree, 'dirtree')))).dirs[0]!.dirtree;
  await writeFile(join(repo, objectRelPath(inner, 'dirtree')), 'not a dirtree');
  await assert.rejects(keys(difference(repo, [b.commit], [a.commit])));
  const got = await keys(differenceByPath(repo, [b.commit], [a.commit]));
  assert.deepEqual(got.map((k) => k.split('.')[1]), ['file', 'dirtree', 'commit']);
});

test('differenceByPath: each wanted dirtree is read once, with no have and below a path the have side lacks', async () => {
  const repo = join(root, 'once');
  initArchiveRepo(repo);
  const deep: DirNode = { type: 'dir', children: { e: { type: 'dir', children: { f: { type: 'file', content: 'deep' } } }, g: { type: 'file', content: 'g' } } };
  const a = await commitTree(repo, { tree: { type: 'dir', children: { m: { type: 'file', content: '1' } } }, timestamp: 1, fsync: false });
  const b = await commitTree(repo, { tree: { type: 'dir', children: { m: { type: 'file', content: '2' }, deep } }, timestamp: 2, parent: a.commit, fsync: false });
  for (const have of [[], [a.commit]]) {
    const reads = new Map<string, number>();
    const counted = {
      path: repo,
      objectPath: (checksum: string, type: ObjectName['type']): string => {
        if (type === 'dirtree') reads.set(checksum, (reads.get(checksum) ?? 0) + 1);
        return join(repo, objectRelPath(checksum, type));
      },
    };
    const got = await keys(differenceByPath(counted, [b.commit], have));
    assert.deepEqual(got, await keys(difference(repo, [b.commit], have)));
    // b's root, deep and deep/e: 3 dirtrees; a's root too when it is the have side.
    assert.equal(reads.size, have.length === 0 ? 3 : 4);
    for (const [c, n] of reads) assert.equal(n, 1, `dirtree ${c} read ${n} times`);
  }
});
