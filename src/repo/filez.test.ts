import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateRawSync, deflateRawSync } from 'node:zlib';
import fc from 'fast-check';
import { RepoError } from '../errors.js';
import { xattrsFromRecord } from './metadata.js';
import { checksumPrefix, checksumPrefixFromHeader, contentChecksum, encodeFilez, encodeFilezHeader, openFilezContent, readFilezHeader, writeFilez, type FileMeta } from './filez.js';

const reg = (mode = 0o100644): FileMeta => ({ uid: 0, gid: 0, mode, symlinkTarget: '', xattrs: [] });
const isCode = (code: string) => (e: unknown) => e instanceof RepoError && e.code === code;

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'filez-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function collect(r: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

test('golden checksums of the format notes', () => {
  assert.equal(Buffer.from(checksumPrefix(reg())).subarray(8).toString('hex'), '0000000000000000000081a4000000000011');
  assert.equal(contentChecksum(reg()), 'cc700d46f407c6c5ab2d5dde474366a928b7398277e61162e7f8ec06f469f07e');
  assert.equal(
    contentChecksum({ uid: 0, gid: 0, mode: 0o120777, symlinkTarget: 'hello.txt', xattrs: [] }),
    'f66efa496a72379413c44593de510dc344beb045294f1a543da87b2b6118db35',
  );
});

test('empty file: 26-byte header then 03 00; symlink: header only', () =>
  withDir(async (dir) => {
    const w = await writeFilez(join(dir, 'e'), reg(), new Uint8Array(0));
    assert.equal(w.checksum, 'cc700d46f407c6c5ab2d5dde474366a928b7398277e61162e7f8ec06f469f07e');
    const bytes = await readFile(join(dir, 'e'));
    assert.equal(bytes.subarray(0, 8).toString('hex'), '0000001a00000000');
    assert.equal(bytes.subarray(bytes.length - 2).toString('hex'), '0300');
    assert.equal(bytes.length, 8 + 26 + 2);

    const s = await writeFilez(join(dir, 's'), { uid: 0, gid: 0, mode: 0o120777, symlinkTarget: 'hello.txt', xattrs: [] }, [Buffer.from('ignored')]);
    assert.equal(s.checksum, 'f66efa496a72379413c44593de510dc344beb045294f1a543da87b2b6118db35');
    const { header, payloadOffset } = await readFilezHeader(join(dir, 's'));
    assert.equal(header.symlinkTarget, 'hello.txt');
    assert.equal(payloadOffset, (await readFile(join(dir, 's'))).length);
  }));

test('property: write then read back content, header size patched, deflate as Node zlib at level 6', () =>
  withDir(async (dir) => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ maxLength: 3000 }), { maxLength: 5 }),
        fc.constantFrom(0o100644, 0o100755, 0o100600),
        fc.dictionary(fc.constantFrom('user.a', 'user.b', 'user.zz'), fc.string({ maxLength: 4 })),
        async (chunks, mode, xa) => {
          const meta: FileMeta = { uid: 1000, gid: 100, mode, symlinkTarget: '', xattrs: xattrsFromRecord(xa) };
          const path = join(dir, `f${n++}`);
          const all = Buffer.concat(chunks);
          const w = await writeFilez(path, meta, (async function* () {
            yield* chunks;
          })());
          assert.equal(w.checksum, contentChecksum(meta, all));
          assert.equal(w.size, all.length);
          const { header, content } = await openFilezContent(path);
          assert.equal(header.size, BigInt(all.length));
          const hx = (xs: FileMeta['xattrs']) => xs.map((x) => [Buffer.from(x.name).toString('hex'), Buffer.from(x.value).toString('hex')]);
          assert.deepEqual(hx(header.xattrs), hx(meta.xattrs));
          assert.deepEqual(await collect(content), all);
          const file = await readFile(path);
          const payload = file.subarray(8 + file.readUInt32BE(0));
          assert.deepEqual(payload, deflateRawSync(all, { level: 6, memLevel: 8 }));
          assert.deepEqual(inflateRawSync(payload), all);
        },
      ),
      { numRuns: 25 },
    );
  }));

test('bad metadata is refused before writing', () =>
  withDir(async (dir) => {
    await assert.rejects(writeFilez(join(dir, 'x'), { ...reg(), mode: 0o040755 }, new Uint8Array(0)), isCode('REPO_MALFORMED_OBJECT'));
    await assert.rejects(writeFilez(join(dir, 'x'), { ...reg(), symlinkTarget: 'a' }, new Uint8Array(0)), isCode('REPO_MALFORMED_OBJECT'));
    await assert.rejects(writeFilez(join(dir, 'x'), { ...reg(), mode: 0o120777 }, new Uint8Array(0)), isCode('REPO_MALFORMED_OBJECT'));
  }));

test('checksum prefix from the received header bytes equals the re-encoded one, across offset-width boundaries', () => {
  const cases: FileMeta[] = [reg(), reg(0o100755), { uid: 1234, gid: 5678, mode: 0o100640, symlinkTarget: '', xattrs: xattrsFromRecord({ 'user.a': 'x', 'security.selinux': 'system_u:object_r:bin_t:s0' }) }];
  // The (tuuuusa(ayay)) and the (uuuusa(ayay)) change offset width at different target lengths.
  for (const n of [1, 2, 200, 220, 225, 228, 229, 230, 231, 232, 236, 237, 238, 239, 240, 250, 65_490, 65_500, 65_503, 65_504, 65_510, 65_511, 65_512, 65_520, 70_000]) {
    cases.push({ uid: 0, gid: 0, mode: 0o120777, symlinkTarget: 't'.repeat(n), xattrs: [] });
    cases.push({ uid: 0, gid: 0, mode: 0o100644, symlinkTarget: '', xattrs: xattrsFromRecord({ 'user.v': 'v'.repeat(n) }) });
  }
  for (const m of cases) {
    const bytes = Buffer.from(encodeFilezHeader({ ...m, size: 12345n })).subarray(8);
    assert.deepEqual(checksumPrefixFromHeader(bytes), Buffer.from(checksumPrefix(m)), `${m.symlinkTarget.length} ${m.xattrs.length}`);
  }
});

test('property: checksum prefix from header bytes equals the re-encoded one', () => {
  fc.assert(
    fc.property(
      fc.nat(),
      fc.nat(),
      fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      fc.option(fc.string({ minLength: 1, maxLength: 400 })),
      fc.dictionary(fc.string({ minLength: 1, maxLength: 20 }).map((k) => `user.${k.replace(/\0/g, '')}`), fc.string({ minLength: 1, maxLength: 300 }), { maxKeys: 4 }),
      (uid, gid, size, target, xa) => {
        const m: FileMeta = target === null ? { uid, gid, mode: 0o100644, symlinkTarget: '', xattrs: xattrsFromRecord(xa) } : { uid, gid, mode: 0o120777, symlinkTarget: target.replace(/\0/g, 'x'), xattrs: xattrsFromRecord(xa) };
        const hsize = target === null ? size : 0n;
        const bytes = Buffer.from(encodeFilezHeader({ ...m, size: hsize })).subarray(8);
        assert.deepEqual(checksumPrefixFromHeader(bytes), Buffer.from(checksumPrefix(m)));
      },
    ),
    { numRuns: 300 },
  );
});

test('content bytes in memory, written without fsync (one deflate call), make the same file as the stream', () =>
  withDir(async (dir) => {
    const metas: FileMeta[] = [reg(), { ...reg(), mode: 0o100755, uid: 7 }, { uid: 0, gid: 0, mode: 0o120777, symlinkTarget: 'a/b', xattrs: [] }];
    const contents = [new Uint8Array(0), Buffer.from('hello '.repeat(500)), randomBytes(70_000)];
    let n = 0;
    for (const meta of metas) {
      for (const content of contents) {
        const streamed = await writeFilez(join(dir, `s${n}`), meta, [content], { fsync: false });
        const whole = await writeFilez(join(dir, `w${n}`), meta, content, { fsync: false });
        assert.deepEqual(whole, streamed);
        assert.deepEqual(await readFile(join(dir, `w${n}`)), await readFile(join(dir, `s${n}`)));
        const encoded = encodeFilez(meta, content);
        assert.equal(encoded.checksum, streamed.checksum);
        assert.deepEqual(encoded.bytes, await readFile(join(dir, `s${n}`)));
        n++;
      }
    }
  }));
