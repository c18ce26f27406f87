import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { ObjectSet } from './object-set.js';
import type { ObjectType } from './object-names.js';

const sum = (i: number): string => createHash('sha256').update(String(i)).digest('hex');
const TYPES: ObjectType[] = ['file', 'dirtree', 'dirmeta', 'commit', 'commitmeta'];

test('ObjectSet: add, has and size, a checksum under several types apart (a commit and its commitmeta)', () => {
  const s = new ObjectSet();
  assert.equal(s.add(sum(1), 'commit'), true);
  assert.equal(s.add(sum(1), 'commit'), false);
  assert.equal(s.has(sum(1), 'commit'), true);
  assert.equal(s.has(sum(1), 'commitmeta'), false);
  s.add(sum(1), 'commitmeta');
  assert.equal(s.size, 2);
  assert.equal(s.has(sum(2), 'commit'), false);
});

test('ObjectSet: agrees with a Set of names through growth and deletions (every iterated name is a member)', () => {
  const s = new ObjectSet(4);
  const ref = new Set<string>();
  for (let i = 0; i < 5000; i++) {
    const c = sum(i % 3000);
    const t = TYPES[i % TYPES.length] as ObjectType;
    assert.equal(s.add(c, t), !ref.has(`${c}.${t}`));
    ref.add(`${c}.${t}`);
    if (i % 7 === 0) {
      const d = sum((i * 31) % 3000);
      const dt = TYPES[(i * 3) % TYPES.length] as ObjectType;
      assert.equal(s.delete(d, dt), ref.delete(`${d}.${dt}`));
    }
  }
  assert.equal(s.size, ref.size);
  for (let i = 0; i < 3000; i++) for (const t of TYPES) assert.equal(s.has(sum(i), t), ref.has(`${sum(i)}.${t}`));
  const listed = [...s].map((o) => `${o.checksum}.${o.type}`);
  assert.deepEqual(listed.sort(), [...ref].sort());
});

test('ObjectSet: a name that is not 64 lowercase hex digits is REPO_BAD_OBJECT_NAME', () => {
  const s = new ObjectSet();
  for (const bad of ['', 'ab', sum(1).toUpperCase(), `${sum(1).slice(0, 63)}g`, `${sum(1)}0`]) {
    assert.throws(() => s.add(bad, 'file'), { code: 'REPO_BAD_OBJECT_NAME' });
    assert.throws(() => s.has(bad, 'file'), { code: 'REPO_BAD_OBJECT_NAME' });
  }
});

test('ObjectSet: under 80 bytes an object at 100,000 objects, where a Set of names costs more than 100', () => {
  const s = new ObjectSet();
  for (let i = 0; i < 100_000; i++) s.add(sum(i), 'file');
  assert.ok(s.byteLength / s.size < 80, `${(s.byteLength / s.size).toFixed(1)} bytes an object`);
});
