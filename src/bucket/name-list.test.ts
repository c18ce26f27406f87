import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { OBJECT_TYPES, type ObjectName } from '../repo/object-names.js';
import { NameList } from './name-list.js';

const sum = (i: number): string => createHash('sha256').update(String(i)).digest('hex');

test('names keep their order and positions through growth; a name added again keeps its first position', () => {
  const list = new NameList(4);
  const names: ObjectName[] = [];
  for (let i = 0; i < 5000; i++) names.push({ checksum: sum(i), type: OBJECT_TYPES[i % OBJECT_TYPES.length] as ObjectName['type'] });
  for (const [i, o] of names.entries()) assert.equal(list.push(o.checksum, o.type), i);
  assert.equal(list.length, names.length);
  for (const [i, o] of names.entries()) {
    assert.equal(list.indexOf(o.checksum, o.type), i);
    assert.deepEqual(list.at(i), o);
  }
  const tenth = names[10] as ObjectName;
  assert.equal(list.push(tenth.checksum, tenth.type), 10);
  assert.equal(list.length, names.length);
  assert.deepEqual([...list], names);
  // The same checksum with another type is another name.
  const first = names[0] as ObjectName;
  const other = OBJECT_TYPES.find((t) => t !== first.type) as ObjectName['type'];
  assert.equal(list.indexOf(first.checksum, other), -1);
  assert.equal(list.indexOf(sum(-1), 'file'), -1);
});

test('memory by the object in typed arrays: at most 70 bytes a name at 100,000 names', () => {
  const list = new NameList();
  for (let i = 0; i < 100_000; i++) list.push(sum(i), 'file');
  assert.ok(list.byteLength / list.length <= 70, `${list.byteLength / list.length} bytes a name`);
});

test('a malformed name is refused (REPO_BAD_OBJECT_NAME)', () => {
  const list = new NameList();
  assert.throws(() => list.push('ABC', 'file'), { code: 'REPO_BAD_OBJECT_NAME' });
  assert.throws(() => list.push(sum(1).toUpperCase(), 'file'), { code: 'REPO_BAD_OBJECT_NAME' });
  assert.throws(() => list.indexOf(sum(1), 'nope' as ObjectName['type']), { code: 'REPO_BAD_OBJECT_NAME' });
  assert.equal(list.length, 0);
});
