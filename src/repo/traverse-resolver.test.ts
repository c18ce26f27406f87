import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { tmpDir } from '../../testkit/tmp.js';
import { commitTree, initArchiveRepo } from './builder.js';
import { objectRelPath, type ObjectType } from './object-names.js';
import { closure, objectKey, parentChain } from './traverse.js';

test('traverse: an objectPath resolver lets the walk see objects kept outside objects/', async (t) => {
  const dir = tmpDir(t, 'traverse-resolver');
  const repo = initArchiveRepo(join(dir, 'repo'));
  const c1 = await commitTree(repo, { tree: { type: 'dir', children: { a: { type: 'file', content: 'one' } } }, timestamp: 1 });
  const c2 = await commitTree(repo, {
    tree: { type: 'dir', children: { sub: { type: 'dir', children: { b: { type: 'file', content: 'two' } } } } },
    parent: c1.commit,
    timestamp: 2,
  });
  // Move c2's commit and root dirtree aside, as if they were only staged.
  const aside = join(dir, 'aside');
  const moved = new Set<string>();
  for (const [checksum, type] of [
    [c2.commit, 'commit'],
    [c2.dirtree, 'dirtree'],
  ] as [string, ObjectType][]) {
    const rel = objectRelPath(checksum, type);
    mkdirSync(join(aside, rel, '..'), { recursive: true });
    renameSync(join(repo.path, rel), join(aside, rel));
    moved.add(objectKey(checksum, type));
  }
  await assert.rejects(async () => {
    for await (const _ of closure(repo, c2.commit));
  }, { code: 'REPO_OBJECT_MISSING' });

  const view = {
    path: repo.path,
    objectPath: (checksum: string, type: ObjectType) => join(moved.has(objectKey(checksum, type)) ? aside : repo.path, objectRelPath(checksum, type)),
  };
  const seen: string[] = [];
  for await (const o of closure(view, c2.commit)) seen.push(objectKey(o.checksum, o.type));
  assert.equal(seen.at(-1), objectKey(c2.commit, 'commit'));
  assert.ok(seen.includes(objectKey(c2.dirtree, 'dirtree')));
  const chain = await parentChain(view, c2.commit);
  assert.deepEqual(chain.map((c) => c.checksum), [c2.commit, c1.commit]);
});
