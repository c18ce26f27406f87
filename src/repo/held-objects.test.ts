import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { tmpDir } from '../../testkit/tmp.js';
import { commitTree, initArchiveRepo } from './builder.js';
import type { HeldObjects } from './held-objects.js';
import type { ObjectType } from './object-names.js';
import { closure, parentChain } from './traverse.js';

test('held objects: a walk over a root with no objects reads dirtrees and commits through them', async (t) => {
  const dir = tmpDir(t, 'held');
  const src = initArchiveRepo(join(dir, 'src'));
  const tree = { type: 'dir' as const, children: { a: { type: 'file' as const, content: 'a\n' }, d: { type: 'dir' as const, children: { b: { type: 'file' as const, content: 'b\n' } } } } };
  const c1 = (await commitTree(src, { tree, timestamp: 1_700_000_001, subject: 'one', bindings: false })).commit;
  const c2 = (await commitTree(src, { tree, timestamp: 1_700_000_002, subject: 'two', parent: c1, bindings: false })).commit;
  const empty = initArchiveRepo(join(dir, 'empty'));
  const read: string[] = [];
  const held: HeldObjects = {
    has: (c: string, ty: ObjectType) => src.held.has(c, ty),
    read: async (c: string, ty: ObjectType) => {
      read.push(ty);
      return src.held.read(c, ty);
    },
    sessionLookup: () => (o) => src.held.has(o.checksum, o.type),
  };
  const view = { path: empty.path, held };
  const walked = [];
  for await (const o of closure(view, c2)) walked.push(o);
  const expected = [];
  for await (const o of closure(src, c2)) expected.push(o);
  assert.deepEqual(walked, expected);
  assert.deepEqual([...new Set(read)].sort(), ['commit', 'dirtree']);
  assert.deepEqual((await parentChain(view, c2)).map((e) => e.checksum), [c2, c1]);
});
