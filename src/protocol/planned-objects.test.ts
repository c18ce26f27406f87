import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { RepoError } from '../errors.js';
import { PlannedObjects } from './planned-objects.js';
import type { ObjectType } from '../repo/object-names.js';

const sum = (i: number): string => createHash('sha256').update(String(i)).digest('hex');
const isCode = (code: string) => (e: unknown) => e instanceof RepoError && e.code === code;
const TYPES: ObjectType[] = ['file', 'dirtree', 'dirmeta', 'commit'];

test('planned objects come back in the order pushed, with checksum, type, size and file name', () => {
  const list = new PlannedObjects();
  // Past one chunk (65,536) and across the first chunk's growth.
  const n = 70_000;
  for (let i = 0; i < n; i++) list.push(sum(i), TYPES[i % 4] as ObjectType, i * 4097);
  assert.equal(list.length, n);
  for (const i of [0, 1, 63, 64, 65_535, 65_536, n - 1]) {
    const o = list.at(i);
    assert.ok(o !== undefined);
    assert.equal(o.checksum, sum(i));
    assert.equal(o.type, TYPES[i % 4]);
    assert.equal(o.size, i * 4097);
    assert.equal(o.name, `${sum(i)}.${['filez', 'dirtree', 'dirmeta', 'commit'][i % 4]}`);
  }
  assert.equal(list.at(n), undefined);
  assert.equal(list.at(-1), undefined);
  assert.equal([...list].length, n);
  assert.equal(list.bytes, (4097 * n * (n - 1)) / 2);
});

test('filter keeps the order and the figures of what it keeps', () => {
  const list = PlannedObjects.of([0, 1, 2, 3, 4].map((i) => ({ checksum: sum(i), type: 'file' as const, size: i })));
  const odd = list.filter((o) => o.size % 2 === 1);
  assert.deepEqual(odd.map((o) => o.checksum), [sum(1), sum(3)]);
  assert.equal(odd.bytes, 4);
  assert.equal(list.length, 5);
});

test('a name that is not an object name is refused on the way in', () => {
  const list = new PlannedObjects();
  assert.throws(() => list.push('xyz', 'file', 1), isCode('REPO_BAD_OBJECT_NAME'));
  assert.throws(() => list.push(sum(1), 'nope' as ObjectType, 1), isCode('REPO_BAD_OBJECT_NAME'));
  assert.equal(list.length, 0);
});
