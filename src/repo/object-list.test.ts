import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { RepoError } from '../errors.js';
import { ObjectList } from './object-list.js';
import type { ObjectType } from './object-names.js';

const isCode = (code: string) => (e: unknown) => e instanceof RepoError && e.code === code;
const sum = (i: number): string => createHash('sha256').update(String(i)).digest('hex');
const TYPES: ObjectType[] = ['file', 'dirtree', 'dirmeta', 'commit', 'commitmeta'];

test('names come back in the order added, across chunks', () => {
  const list = new ObjectList();
  const n = 70_000;
  for (let i = 0; i < n; i++) list.push(sum(i), TYPES[i % 5] as ObjectType);
  assert.equal(list.length, n);
  for (const i of [0, 63, 64, 65_535, 65_536, n - 1]) assert.deepEqual(list.at(i), { checksum: sum(i), type: TYPES[i % 5] });
  assert.equal(list.at(n), undefined);
  let i = 0;
  for (const o of list) assert.deepEqual(o, { checksum: sum(i), type: TYPES[i++ % 5] });
  assert.equal(i, n);
  assert.deepEqual([...ObjectList.of([{ checksum: sum(1), type: 'dirmeta' }])], [{ checksum: sum(1), type: 'dirmeta' }]);
});

test('a name that is not an object name is refused on the way in', () => {
  const list = new ObjectList();
  assert.throws(() => list.push(sum(1).toUpperCase(), 'file'), isCode('REPO_BAD_OBJECT_NAME'));
  assert.throws(() => list.push(sum(1), 'file.x' as ObjectType), isCode('REPO_BAD_OBJECT_NAME'));
  assert.equal(list.length, 0);
});
