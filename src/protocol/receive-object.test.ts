import assert from 'node:assert/strict';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { test } from 'node:test';
import { objectRelPath, type ObjectName } from '../repo/object-names.js';
import { closure } from '../repo/traverse.js';
import { storeLookup } from './receive-object.js';
import { makeFixture } from '../../testkit/receive-fixtures.js';

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
  // In a fan-out directory that existed, a lookup is made every time. The
  // sibling is made up (the lookup looks at names only), so the check never
  // depends on the fixture having two objects with the same first byte.
  const sibling: ObjectName = { checksum: `${stored.checksum.slice(0, 2)}${stored.checksum.slice(2) === 'f'.repeat(62) ? 'e' : 'f'}${'0'.repeat(61)}`, type: 'file' };
  assert.notEqual(sibling.checksum, stored.checksum);
  assert.equal(inStore(sibling), false);
  writeFileSync(f.dest.resolve(objectRelPath(sibling.checksum, sibling.type)), 'made up');
  assert.equal(inStore(sibling), true);
});
