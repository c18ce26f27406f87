import assert from 'node:assert/strict';
import { cpSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { test } from 'node:test';
import { objectRelPath, type ObjectName } from '../repo/object-names.js';
import { closure } from '../repo/traverse.js';
import { storeLookup } from './receive-object.js';
import { makeFixture } from './receive-fixtures.js';

test('storeLookup: finds stored objects; a fan-out directory absent at the start means absent', async (t) => {
  const f = await makeFixture(t);
  const objects: ObjectName[] = [];
  for await (const o of closure(f.src, f.c1)) objects.push(o);
  const [stored, later] = [objects[0]!, objects.find((o) => o.checksum.slice(0, 2) !== objects[0]!.checksum.slice(0, 2))!];
  const copy = (o: ObjectName): void => {
    const to = f.dest.resolve(objectRelPath(o.checksum, o.type));
    mkdirSync(dirname(to), { recursive: true });
    cpSync(f.src.resolve(objectRelPath(o.checksum, o.type)), to);
  };
  copy(stored);
  const inStore = storeLookup(f.dest);
  assert.equal(inStore(stored), true);
  assert.equal(inStore(later), false);
  // Stored after the session began, in a fan-out directory that was absent: not looked up
  // (it would be staged again, and publication keeps the stored copy).
  copy(later);
  assert.equal(inStore(later), false);
  assert.equal(storeLookup(f.dest)(later), true, 'a new session sees it');
  // In a fan-out directory that existed, a lookup is made every time.
  const sibling = objects.find((o) => o !== stored && o.checksum.slice(0, 2) === stored.checksum.slice(0, 2));
  if (sibling !== undefined) {
    assert.equal(inStore(sibling), false);
    copy(sibling);
    assert.equal(inStore(sibling), true);
  }
});
