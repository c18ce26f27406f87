import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  OBJECT_TYPES,
  OBJECT_TYPE_NUMBER,
  bytesToHex,
  checksumFromBytes,
  checksumToBytes,
  hexToBytes,
  isChecksum,
  objectBasename,
  objectRelPath,
  objectTypeFromNumber,
  parseObjectBasename,
  parseObjectRelPath,
} from './object-names.js';
import { RepoError } from '../errors.js';

const C = 'cc700d46f407c6c5ab2d5dde474366a928b7398277e61162e7f8ec06f469f07e';

function rejects(name: string, mode?: 'archive' | 'bare' | 'any'): void {
  assert.throws(
    () => parseObjectBasename(name, mode === undefined ? {} : { mode }),
    (e: unknown) => e instanceof RepoError && e.code === 'REPO_BAD_OBJECT_NAME',
    name,
  );
}

test('enum numbers match libostree', () => {
  assert.deepEqual(OBJECT_TYPE_NUMBER, { file: 1, dirtree: 2, dirmeta: 3, commit: 4, 'tombstone-commit': 5, commitmeta: 6 });
  for (const t of OBJECT_TYPES) assert.equal(objectTypeFromNumber(OBJECT_TYPE_NUMBER[t]), t);
  assert.throws(() => objectTypeFromNumber(7), RepoError);
});

test('paths per mode', () => {
  assert.equal(objectRelPath(C, 'file'), `objects/cc/${C.slice(2)}.filez`);
  assert.equal(objectRelPath(C, 'file', 'bare'), `objects/cc/${C.slice(2)}.file`);
  assert.equal(objectRelPath(C, 'commitmeta', 'bare'), `objects/cc/${C.slice(2)}.commitmeta`);
  assert.equal(objectRelPath(C, 'tombstone-commit'), `objects/cc/${C.slice(2)}.tombstone-commit`);
  assert.throws(() => objectRelPath(C.toUpperCase(), 'file'), RepoError);
  assert.deepEqual(parseObjectRelPath(objectRelPath(C, 'dirtree')), { checksum: C, type: 'dirtree' });
  assert.throws(() => parseObjectRelPath(`objects/cc/../${C.slice(2)}.dirtree`), RepoError);
});

test('parseObjectBasename accepts every type and round-trips', () => {
  for (const t of OBJECT_TYPES) {
    assert.deepEqual(parseObjectBasename(objectBasename(C, t)), { checksum: C, type: t });
  }
  assert.deepEqual(parseObjectBasename(`${C}.file`, { mode: 'bare' }), { checksum: C, type: 'file' });
  assert.deepEqual(parseObjectBasename(`${C}.file`, { mode: 'any' }), { checksum: C, type: 'file' });
});

test('parseObjectBasename is strict', () => {
  for (const n of [
    '',
    C,
    `${C}.`,
    `${C}.FILEZ`,
    `${C.toUpperCase()}.filez`,
    `${C}.filez/`,
    `${C}.fil`,
    `${C}.filez `,
    ` ${C}.filez`,
    `${C}0.filez`,
    `${C.slice(1)}.filez`,
    `../${C}.filez`,
    `${C.slice(0, 2)}/${C.slice(2)}.filez`,
    `${C}..commit`,
    `${C}.commit.commit`,
    `${C}.commit\0`,
    `${C}.payload-link`,
    `${C}.file`, // bare extension in an archive repository
    `${'g'.repeat(64)}.commit`,
  ]) {
    rejects(n);
  }
  rejects(`${C}.filez`, 'bare');
});

test('property: only generated valid names parse', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 90 }), (s) => {
      let ok = true;
      try {
        parseObjectBasename(s);
      } catch (e) {
        assert.ok(e instanceof RepoError && e.code === 'REPO_BAD_OBJECT_NAME');
        ok = false;
      }
      const valid = /^[0-9a-f]{64}\.(filez|dirtree|dirmeta|commit|tombstone-commit|commitmeta)$/.test(s);
      assert.equal(ok, valid);
    }),
    { numRuns: 500 },
  );
});

test('hex and checksum helpers', () => {
  assert.equal(isChecksum(C), true);
  assert.equal(isChecksum(C.toUpperCase()), false);
  assert.equal(isChecksum(`${C}\n`), false);
  assert.equal(isChecksum(42), false);
  const b = checksumToBytes(C);
  assert.equal(b.byteLength, 32);
  assert.equal(checksumFromBytes(b), C);
  assert.equal(bytesToHex(hexToBytes('00ff10')), '00ff10');
  assert.throws(() => hexToBytes('0'), RepoError);
  assert.throws(() => checksumFromBytes(new Uint8Array(31)), (e: unknown) => e instanceof RepoError && e.code === 'REPO_MALFORMED_OBJECT');
});
