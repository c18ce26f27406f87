import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { RepoError } from '../errors.js';
import {
  MAX_METADATA_SIZE,
  Variant,
  checkMetadata,
  compareNames,
  decodeCommit,
  decodeCommitmeta,
  decodeDirmeta,
  decodeDirtree,
  encodeCommit,
  encodeCommitmeta,
  encodeDirmeta,
  encodeDirtree,
  readMetadataFile,
  xattrsFromRecord,
  type Commit,
  type Dirtree,
} from './metadata.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const isCode = (code: string) => (e: unknown) => e instanceof RepoError && e.code === code;

// The 102-byte commit of spec/ostree-format.md §2.7.
const SMALL_COMMIT_HEX =
  '76657273696f6e0031000073080d' +
  '7375626a0000' +
  '00000000' +
  '0000000065937d25' +
  '11'.repeat(32) +
  '22'.repeat(32) +
  '4014130e0e0e';

test('commit: golden bytes of the format notes, BE timestamp', () => {
  const c: Commit = {
    metadata: new Map([['version', new Variant('s', '1')]]),
    parent: null,
    related: [],
    subject: 'subj',
    body: '',
    timestamp: 1704164645n,
    rootDirtree: '11'.repeat(32),
    rootDirmeta: '22'.repeat(32),
  };
  const bytes = encodeCommit(c);
  assert.equal(hex(bytes), SMALL_COMMIT_HEX);
  const back = decodeCommit(bytes);
  assert.equal(back.timestamp, 1704164645n);
  assert.equal(back.parent, null);
  assert.equal(back.subject, 'subj');
  assert.equal(back.rootDirmeta, '22'.repeat(32));
  assert.equal((back.metadata.get('version') as Variant).value, '1');
});

test('commit: parent and related round-trip', () => {
  const c: Commit = {
    metadata: new Map([['ostree.ref-binding', new Variant('as', ['test/main'])]]),
    parent: 'ab'.repeat(32),
    related: [{ name: 'x', checksum: 'cd'.repeat(32) }],
    subject: 'héllo',
    body: 'body\nmore',
    timestamp: 2n ** 40n + 7n,
    rootDirtree: '01'.repeat(32),
    rootDirmeta: '02'.repeat(32),
  };
  assert.deepEqual(decodeCommit(encodeCommit(c)), c);
});

test('commit: bad parent length and non-normal bytes are REPO_MALFORMED_OBJECT', () => {
  const bytes = Buffer.from(SMALL_COMMIT_HEX, 'hex');
  bytes[0x14] = 1; // padding before the timestamp
  assert.throws(() => decodeCommit(bytes), isCode('REPO_MALFORMED_OBJECT'));
  assert.throws(() => decodeCommit(new Uint8Array([1, 2, 3])), isCode('REPO_MALFORMED_OBJECT'));
  assert.throws(() => checkMetadata('commit', new Uint8Array(0)), isCode('REPO_MALFORMED_OBJECT'));
});

test('dirtree: empty tree golden name; sorting and names enforced', () => {
  const empty = encodeDirtree({ files: [], dirs: [] });
  assert.equal(hex(empty), '00');
  assert.equal(sha(empty), '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d');
  const c = 'aa'.repeat(32);
  const t: Dirtree = {
    files: [
      { name: 'Zed', checksum: c },
      { name: 'big.bin', checksum: c },
      { name: 'ü', checksum: c },
      { name: '😀', checksum: c },
    ],
    dirs: [{ name: 'sub dir', dirtree: c, dirmeta: c }],
  };
  assert.deepEqual(decodeDirtree(encodeDirtree(t)), t);
  // UTF-8 byte order, not UTF-16: U+FF5E sorts before U+1F600 in UTF-16 terms after it here.
  assert.ok(compareNames('\uff5e', '😀') < 0);
  for (const bad of ['', '.', '..', 'a/b', 'x\0y']) {
    assert.throws(() => encodeDirtree({ files: [{ name: bad, checksum: c }], dirs: [] }), isCode('REPO_INVALID_DIRTREE'), bad);
  }
  assert.throws(() => encodeDirtree({ files: [{ name: 'b', checksum: c }, { name: 'a', checksum: c }], dirs: [] }), isCode('REPO_INVALID_DIRTREE'));
  assert.throws(() => encodeDirtree({ files: [{ name: 'a', checksum: c }, { name: 'a', checksum: c }], dirs: [] }), isCode('REPO_INVALID_DIRTREE'));
  assert.throws(() => encodeDirtree({ files: [{ name: 'a', checksum: c }], dirs: [{ name: 'a', dirtree: c, dirmeta: c }] }), isCode('REPO_INVALID_DIRTREE'));
});

test('dirtree: decoder rejects unsorted trees and short checksums', async () => {
  const { encode } = await import('../gvariant/index.js');
  const c = new Uint8Array(32);
  const unsorted = encode('(a(say)a(sayay))', [[['b', c], ['a', c]], []]);
  assert.throws(() => decodeDirtree(unsorted), isCode('REPO_INVALID_DIRTREE'));
  const short = encode('(a(say)a(sayay))', [[['a', new Uint8Array(31)]], []]);
  assert.throws(() => decodeDirtree(short), isCode('REPO_INVALID_DIRTREE'));
  const up = encode('(a(say)a(sayay))', [[], [['..', c, c]]]);
  assert.throws(() => decodeDirtree(up), isCode('REPO_INVALID_DIRTREE'));
});

test('property: dirtree encode/decode round-trip on sorted unique names', () => {
  const name = fc.string({ minLength: 1, maxLength: 12, unit: 'grapheme' }).filter((s) => s !== '.' && s !== '..' && !s.includes('/') && !s.includes('\0'));
  fc.assert(
    fc.property(fc.uniqueArray(name, { maxLength: 8 }), fc.uniqueArray(name, { maxLength: 4 }), (fs, ds) => {
      const dirNames = ds.filter((d) => !fs.includes(d));
      const t: Dirtree = {
        files: [...fs].sort(compareNames).map((n) => ({ name: n, checksum: sha(Buffer.from(n)) })),
        dirs: dirNames.sort(compareNames).map((n) => ({ name: n, dirtree: sha(Buffer.from(`t${n}`)), dirmeta: sha(Buffer.from(`m${n}`)) })),
      };
      assert.deepEqual(decodeDirtree(encodeDirtree(t)), t);
    }),
    { numRuns: 100 },
  );
});

test('dirmeta: golden root 0755 and BE fields, xattrs', () => {
  const root = encodeDirmeta({ uid: 0, gid: 0, mode: 0o40755, xattrs: [] });
  assert.equal(hex(root), '0000000000000000000041ed');
  assert.equal(sha(root), '446a0ef11b7cc167f3b603e585c7eeeeb675faa412d5ec73f62988eb0b6c5488');
  const m = { uid: 1234, gid: 5678, mode: 0o40700, xattrs: xattrsFromRecord({ 'user.z': 'zz', 'user.dirattr': 'd', 'user.empty': '' }) };
  const back = decodeDirmeta(encodeDirmeta(m));
  assert.deepEqual(back, m);
  assert.deepEqual(
    back.xattrs.map((x) => Buffer.from(x.name).toString()),
    ['user.dirattr\0', 'user.z\0'],
  );
  assert.throws(() => decodeDirmeta(encodeDirmeta({ uid: 0, gid: 0, mode: 0o100644, xattrs: [] })), isCode('REPO_MALFORMED_OBJECT'));
});

test('commitmeta: a{sv}, empty is zero bytes', () => {
  assert.equal(encodeCommitmeta(new Map()).byteLength, 0);
  const m = new Map([['ostree.gpgsigs', new Variant('aay', [new Uint8Array([1, 2])])]]);
  const back = decodeCommitmeta(encodeCommitmeta(m));
  assert.deepEqual([...back.keys()], ['ostree.gpgsigs']);
  assert.throws(() => decodeCommitmeta(new Uint8Array([1])), isCode('REPO_MALFORMED_OBJECT'));
});

test('size cap: larger metadata is refused before decoding', async () => {
  assert.throws(() => decodeCommitmeta(new Uint8Array(MAX_METADATA_SIZE + 1)), isCode('REPO_OBJECT_TOO_LARGE'));
  const dir = await mkdtemp(join(tmpdir(), 'meta-'));
  try {
    await writeFile(join(dir, 'big'), Buffer.alloc(2000));
    await assert.rejects(readMetadataFile(join(dir, 'big'), 1000), isCode('REPO_OBJECT_TOO_LARGE'));
    assert.equal((await readMetadataFile(join(dir, 'big'), 2000)).byteLength, 2000);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
