import assert from 'node:assert/strict';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { test } from 'node:test';
import { OstreePushError, RepoError } from '../errors.js';
import { objectRelPath, type ObjectName } from '../repo/object-names.js';
import { Staging } from '../repo/staging.js';
import { closure } from '../repo/traverse.js';
import { Payload } from '../wire/reader.js';
import { receiveObject, SMALL_CONTENT, storeLookup } from './receive-object.js';
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

test('a refused object: a new error names it, the verifier\'s own error is its cause, unchanged', async (t) => {
  const f = await makeFixture(t);
  const staging = Staging.create(f.dest);
  t.after(() => staging.dispose());
  const limits = { maxObjectSize: 1n << 30n, maxMetadataSize: 10 << 20 };
  // A small content object (verified in memory) and a large one (verified while streamed to staging).
  for (const size of [100, Number(SMALL_CONTENT) + 100]) {
    const bytes = new Uint8Array(size).fill(0xab);
    let given = false;
    const payload = new Payload(BigInt(size), async () => {
      given = true;
      return bytes;
    });
    const name = `${'7'.repeat(64)}.filez`;
    const verdict = await receiveObject(f.dest, staging, { type: 'PUTOBJECT', object: name, size: BigInt(size), extra: new Map() }, payload, limits);
    assert.ok(given);
    assert.equal(verdict.ok, false);
    if (verdict.ok) continue;
    const cause = verdict.error.cause;
    assert.ok(verdict.error instanceof RepoError, String(verdict.error));
    assert.ok(cause instanceof OstreePushError, `size ${size}: the verifier's error is the cause`);
    assert.notEqual(verdict.error, cause);
    assert.equal(verdict.error.code, cause.code);
    assert.equal(verdict.error.data['object'], name);
    assert.ok(verdict.error.message.includes(name), verdict.error.message);
    assert.ok(!cause.message.includes(name), `size ${size}: the verifier's message was left as it was: ${cause.message}`);
  }
});
