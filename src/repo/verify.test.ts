import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import fc from 'fast-check';
import { RepoError } from '../errors.js';
import { encodeCommitmeta, encodeDirmeta, encodeDirtree, Variant } from './metadata.js';
import { encodeFilezHeader, writeFilez, type FileMeta } from './filez.js';
import { createObjectVerifier, createVerifyEngine, ONE_SHOT_DEFLATED, ONE_SHOT_INFLATED, verifyObject, verifyObjectFile, verifyStream } from './verify.js';
import { objectRelPath, parseObjectBasename, type ObjectName } from './object-names.js';
import { usePublicInflateForTests } from './raw-inflate.js';
import { needTools } from '../../testkit/tools.js';
import { listObjects } from '../../testkit/ostree-trees.js';
import { ostree } from '../../testkit/ostree.js';

const reg: FileMeta = { uid: 0, gid: 0, mode: 0o100644, symlinkTarget: '', xattrs: [] };
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const isCode = (code: string) => (e: unknown) => e instanceof RepoError && e.code === code;

let dir = '';
test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'verify-'));
});
test.after(() => rm(dir, { recursive: true, force: true }));

/** Feeds `bytes` in chunks of the given sizes (cycled). */
function chunked(bytes: Uint8Array, sizes: number[]): Readable {
  const parts: Uint8Array[] = [];
  let i = 0;
  for (let off = 0; off < bytes.length; i++) {
    const n = Math.max(1, sizes[i % sizes.length] ?? 1);
    parts.push(bytes.subarray(off, off + n));
    off += n;
  }
  return Readable.from(parts);
}

async function filez(content: Uint8Array, meta: FileMeta = reg): Promise<{ bytes: Buffer; name: ObjectName }> {
  const path = join(dir, `o-${randomBytes(6).toString('hex')}`);
  const w = await writeFilez(path, meta, content, { fsync: false });
  return { bytes: await readFile(path), name: { checksum: w.checksum, type: 'file' } };
}

test('valid objects of every kind verify, from a file and in any chunking', async () => {
  const tree = encodeDirtree({ files: [{ name: 'a', checksum: 'aa'.repeat(32) }], dirs: [] });
  const meta = encodeDirmeta({ uid: 0, gid: 0, mode: 0o40755, xattrs: [] });
  const cm = encodeCommitmeta(new Map([['k', new Variant('s', 'v')]]));
  const f = await filez(randomBytes(20_000));
  const e = await filez(new Uint8Array(0));
  const l = await filez(new Uint8Array(0), { ...reg, mode: 0o120777, symlinkTarget: 'x y' });
  const cases: Array<[Uint8Array, ObjectName]> = [
    [tree, { checksum: sha(tree), type: 'dirtree' }],
    [meta, { checksum: sha(meta), type: 'dirmeta' }],
    [cm, { checksum: 'ab'.repeat(32), type: 'commitmeta' }],
    [f.bytes, f.name],
    [e.bytes, e.name],
    [l.bytes, l.name],
  ];
  for (const [bytes, name] of cases) {
    const p = join(dir, `${name.checksum}.${name.type}`);
    await writeFile(p, bytes);
    assert.equal((await verifyObjectFile(p, name)).checksum, name.checksum);
    for (const sizes of [[1], [7, 3], [65536]]) assert.equal((await verifyStream(chunked(bytes, sizes), name)).type, name.type);
  }
  const r = await verifyStream(chunked(f.bytes, [4096]), f.name);
  assert.equal(r.contentSize, 20_000);
});

/** True when two .filez files have the same header and their deflate streams inflate to the same bytes. */
function sameContent(a: Uint8Array, b: Uint8Array): boolean {
  const head = 8 + Buffer.from(a).readUInt32BE(0);
  if (!Buffer.from(a.subarray(0, head)).equals(b.subarray(0, head))) return false;
  try {
    return inflateRawSync(a.subarray(head)).equals(inflateRawSync(b.subarray(head)));
  } catch {
    return false;
  }
}

test('property: any single flipped byte is rejected with a typed error, unless the object is unchanged', async () => {
  const f = await filez(Buffer.from('hello world, '.repeat(300)));
  const tree = encodeDirtree({ files: [{ name: 'hello', checksum: f.name.checksum }], dirs: [] });
  await fc.assert(
    fc.asyncProperty(fc.boolean(), fc.nat(), fc.integer({ min: 1, max: 255 }), async (useTree, at, x) => {
      const [orig, name] = useTree ? [Buffer.from(tree), { checksum: sha(tree), type: 'dirtree' as const }] : [f.bytes, f.name];
      const bytes = Buffer.from(orig);
      const i = at % bytes.length;
      bytes[i] = (bytes[i] as number) ^ x;
      if (!useTree && sameContent(f.bytes, bytes)) {
        // A flip in the unused bits after the final deflate block leaves the content, and so the object, unchanged.
        assert.equal((await verifyStream(chunked(bytes, [333]), name)).checksum, name.checksum);
        return;
      }
      await assert.rejects(verifyStream(chunked(bytes, [333]), name), (e: unknown) => e instanceof RepoError && /^REPO_(CORRUPT|MALFORMED)_OBJECT|REPO_OBJECT_TOO_LARGE$/.test(e.code));
    }),
    { numRuns: 150 },
  );
  // The case found at random once: the last byte's padding bit, which the verifier rightly accepts.
  const last = Buffer.from(f.bytes);
  last[last.length - 1] = (last[last.length - 1] as number) ^ 0x80;
  assert.ok(sameContent(f.bytes, last));
  assert.equal((await verifyStream(chunked(last, [333]), f.name)).checksum, f.name.checksum);
});

test('checksum mismatch carries expected and actual', async () => {
  const a = await filez(Buffer.from('a'));
  const b = await filez(Buffer.from('b'));
  await assert.rejects(verifyStream(Readable.from([a.bytes]), b.name), (e: unknown) => {
    assert.ok(e instanceof RepoError);
    assert.equal(e.code, 'REPO_CORRUPT_OBJECT');
    assert.equal(e.data.expected, b.name.checksum);
    assert.equal(e.data.actual, a.name.checksum);
    return true;
  });
  const t = encodeDirtree({ files: [], dirs: [] });
  await assert.rejects(verifyStream(Readable.from([t]), { checksum: 'ff'.repeat(32), type: 'dirtree' }), isCode('REPO_CORRUPT_OBJECT'));
  // Right bytes, wrong type: a dirmeta's bytes named as a dirtree do not decode.
  const m = encodeDirmeta({ uid: 0, gid: 0, mode: 0o40755, xattrs: [] });
  await assert.rejects(verifyStream(Readable.from([m]), { checksum: sha(m), type: 'dirtree' }), isCode('REPO_MALFORMED_OBJECT'));
});

test('size field, trailing bytes, truncation, symlink payload, header abuse', async () => {
  const content = Buffer.from('0123456789');
  const f = await filez(content);
  const hdrEnd = 8 + f.bytes.readUInt32BE(0);

  const sized = Buffer.from(f.bytes);
  sized[15] = 11; // header size 10 → 11: the checksum cannot see it (§4.5)
  await assert.rejects(verifyStream(Readable.from([sized]), f.name), (e: unknown) => isCode('REPO_CORRUPT_OBJECT')(e) && (e as RepoError).data.contentSize === 10);

  await assert.rejects(verifyStream(Readable.from([f.bytes, Buffer.from([0])]), f.name), (e: unknown) => isCode('REPO_CORRUPT_OBJECT')(e) && (e as RepoError).data.trailing === 1);
  await assert.rejects(verifyStream(Readable.from([f.bytes.subarray(0, f.bytes.length - 1)]), f.name), isCode('REPO_CORRUPT_OBJECT'));
  await assert.rejects(verifyStream(Readable.from([f.bytes.subarray(0, hdrEnd)]), f.name), isCode('REPO_CORRUPT_OBJECT'));
  await assert.rejects(verifyStream(Readable.from([f.bytes.subarray(0, hdrEnd - 1)]), f.name), isCode('REPO_MALFORMED_OBJECT'));
  await assert.rejects(verifyStream(Readable.from([]), f.name), isCode('REPO_MALFORMED_OBJECT'));

  const l = await filez(new Uint8Array(0), { ...reg, mode: 0o120777, symlinkTarget: 't' });
  await assert.rejects(verifyStream(Readable.from([l.bytes, Buffer.from([3, 0])]), l.name), isCode('REPO_CORRUPT_OBJECT'));

  const huge = Buffer.from('ffffffff00000000', 'hex');
  await assert.rejects(verifyStream(Readable.from([huge]), f.name), isCode('REPO_OBJECT_TOO_LARGE'));
  const pad = Buffer.from(f.bytes);
  pad[5] = 1;
  await assert.rejects(verifyStream(Readable.from([pad]), f.name), isCode('REPO_MALFORMED_OBJECT'));

  // A device node header (correct checksum is irrelevant: the header is refused).
  const dev = Buffer.concat([encodeFilezHeaderUnchecked(0o020644), deflateRawSync(Buffer.alloc(0))]);
  await assert.rejects(verifyStream(Readable.from([dev]), f.name), isCode('REPO_MALFORMED_OBJECT'));
});

/** A header with an arbitrary mode, bypassing the writer's validation. */
function encodeFilezHeaderUnchecked(mode: number): Buffer {
  const good = Buffer.from(encodeFilezHeader({ ...reg, size: 0n }));
  good.writeUInt32BE(mode, 8 + 16);
  return good;
}

test('metadata cap: a stream over 10 MiB fails early', async () => {
  const big = Readable.from((function* () {
    for (let i = 0; i < 200; i++) yield Buffer.alloc(64 * 1024);
  })());
  await assert.rejects(verifyStream(big, { checksum: 'aa'.repeat(32), type: 'commit' }), isCode('REPO_OBJECT_TOO_LARGE'));
});

test('the Writable fits in a pipeline and exposes result', async () => {
  const f = await filez(randomBytes(5000));
  const v = createObjectVerifier(f.name);
  await pipeline(Readable.from([f.bytes]), v);
  assert.equal((await v.result).contentSize, 5000);
  const bad = createObjectVerifier({ ...f.name, checksum: '00'.repeat(32) });
  await assert.rejects(pipeline(Readable.from([f.bytes]), bad), isCode('REPO_CORRUPT_OBJECT'));
  await assert.rejects(bad.result, isCode('REPO_CORRUPT_OBJECT'));
  await assert.rejects(verifyObjectFile(join(dir, 'nope'), f.name), isCode('REPO_OBJECT_MISSING'));
});

test('oracle: every object of an ostree-made repository verifies; flips and swaps are rejected', async (t) => {
  if (!needTools(t, 'ostree')) return;
  const src = join(dir, 'oracle-tree');
  await mkdir(join(src, 'sub'), { recursive: true });
  await writeFile(join(src, 'big.bin'), randomBytes(200_000));
  await writeFile(join(src, 'text'), 'hello '.repeat(1000));
  await writeFile(join(src, 'empty'), '');
  await writeFile(join(src, 'sub', 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
  await symlink('../text', join(src, 'sub', 'link'));
  const repo = join(dir, 'oracle-repo');
  await ostree(['init', `--repo=${repo}`, '--mode=archive']);
  await ostree(['commit', `--repo=${repo}`, '--fsync=false', '--branch=main', '--add-detached-metadata-string=k=v', src]);
  const names = (await listObjects(repo)).map((n) => parseObjectBasename(n));
  assert.ok(names.length >= 9);
  for (const o of names) await verifyObject(repo, o.checksum, o.type);

  const bytesOf = (o: ObjectName) => readFile(join(repo, objectRelPath(o.checksum, o.type)));
  // A flipped byte at many positions of every object (commitmeta is named by its commit: skip).
  for (const o of names.filter((n) => n.type !== 'commitmeta')) {
    const orig = await bytesOf(o);
    const positions = new Set([0, 8, orig.length - 1, Math.floor(orig.length / 2), Math.floor(orig.length / 3)].filter((p) => p >= 0 && p < orig.length));
    for (const p of positions) {
      const b = Buffer.from(orig);
      b[p] = (b[p] as number) ^ 0x01;
      await assert.rejects(verifyStream(Readable.from([b]), o), (e: unknown) => e instanceof RepoError && e.code.startsWith('REPO_'), `${o.type} byte ${p}`);
    }
  }
  // Swaps: the content of one object under another's name, within and across types.
  for (let i = 0; i < names.length; i++) {
    const a = names[i] as ObjectName;
    const b = names[(i + 1) % names.length] as ObjectName;
    if (b.type === 'commitmeta') continue;
    await assert.rejects(verifyStream(Readable.from([await bytesOf(a)]), b), (e: unknown) => e instanceof RepoError && e.code.startsWith('REPO_'));
  }
});

test('one-shot and streaming inflate agree at their bounds: sizes, trailing bytes, truncation', async (t) => {
  const cases = [
    { what: 'small', content: randomBytes(2000) },
    { what: 'deflated just over the one-shot bound', content: randomBytes(ONE_SHOT_DEFLATED + 100) },
    { what: 'small deflated, inflated over the bound', content: new Uint8Array(ONE_SHOT_INFLATED + 1) },
    { what: 'inflated exactly at the bound', content: new Uint8Array(ONE_SHOT_INFLATED) },
  ];
  for (const [{ what, content }, publicOnly] of cases.flatMap((c) => [[c, false], [c, true]] as const)) {
    // Both ways of the one-shot inflate: the reused zlib handle and the public inflateRawSync.
    usePublicInflateForTests(publicOnly);
    t.after(() => usePublicInflateForTests(false));
    const f = await filez(content);
    for (const sizes of [[f.bytes.length], [1000], [ONE_SHOT_DEFLATED - 7, 13]]) {
      const r = await verifyStream(chunked(f.bytes, sizes), f.name);
      assert.equal(r.contentSize, content.byteLength, `${what} ${sizes.join(',')} ${publicOnly ? 'public' : 'handle'}`);
      await assert.rejects(verifyStream(chunked(Buffer.concat([f.bytes, Buffer.from([7, 7])]), sizes), f.name), (e: unknown) => isCode('REPO_CORRUPT_OBJECT')(e) && (e as RepoError).data.trailing === 2, `${what}: trailing`);
      await assert.rejects(verifyStream(chunked(f.bytes.subarray(0, f.bytes.length - 2), sizes), f.name), isCode('REPO_CORRUPT_OBJECT'), `${what}: truncated`);
    }
  }
});

/** Feeds `parts` to an engine made with a size, scribbling over each part once write() is done with it. */
async function viaEngine(parts: Uint8Array[], name: ObjectName, size: number): Promise<number | undefined> {
  const engine = createVerifyEngine(name, { size });
  for (const p of parts) {
    const mine = Buffer.from(p);
    await engine.write(mine);
    mine.fill(0x55); // the caller reuses its buffer: the engine must not hold on to it
  }
  return (await engine.finish()).contentSize;
}

test('a size given to the engine: whole-chunk objects inflate in place; wrong sizes never let a bad object pass', async () => {
  for (const content of [randomBytes(3000), Buffer.from('text '.repeat(2000)), new Uint8Array(ONE_SHOT_INFLATED + 1), randomBytes(ONE_SHOT_DEFLATED + 10), new Uint8Array(0)]) {
    const f = await filez(content);
    const n = f.bytes.length;
    assert.equal(await viaEngine([f.bytes], f.name, n), content.byteLength);
    assert.equal(await viaEngine([f.bytes.subarray(0, 40), f.bytes.subarray(40)], f.name, n), content.byteLength);
    // Too short a size: the rest is trailing, not a second payload.
    await assert.rejects(viaEngine([f.bytes, Buffer.from([1, 2])], f.name, n), (e: unknown) => isCode('REPO_CORRUPT_OBJECT')(e) && (e as RepoError).data.trailing === 2);
    // Truncated, with the size of what came: a bad stream.
    await assert.rejects(viaEngine([f.bytes.subarray(0, n - 1)], f.name, n - 1), isCode('REPO_CORRUPT_OBJECT'));
    const flipped = Buffer.from(f.bytes);
    const first = 8 + f.bytes.readUInt32BE(0); // the first block's BFINAL bit (the last byte may be only padding bits)
    flipped[first] = (flipped[first] as number) ^ 0x01;
    await assert.rejects(viaEngine([flipped], f.name, n), isCode('REPO_CORRUPT_OBJECT'));
    // A size that does not match at all is only a missed speed-up.
    assert.equal(await viaEngine([f.bytes], f.name, n + 5), content.byteLength);
  }
  const l = await filez(new Uint8Array(0), { ...reg, mode: 0o120777, symlinkTarget: 't' });
  await assert.rejects(viaEngine([l.bytes, Buffer.from([3, 0])], l.name, l.bytes.length + 2), isCode('REPO_CORRUPT_OBJECT'));
});

/** A .filez whose header declares `declared` bytes and whose payload inflates to `actual` zero bytes. */
function bomb(declared: number, actual: number): { bytes: Buffer; name: ObjectName } {
  const header = Buffer.from(encodeFilezHeader({ ...reg, size: BigInt(declared) }));
  return { bytes: Buffer.concat([header, deflateRawSync(Buffer.alloc(actual), { level: 9 })]), name: { checksum: 'ab'.repeat(32), type: 'file' } };
}

test('a deflate bomb is refused after inflating little more than its declared size, on both paths', async (t) => {
  const declared = 16;
  // 16 MiB of zeros deflate to about 16 KiB (the one-shot path); 96 MiB to about 95 KiB (the streaming path).
  const bombs = [bomb(declared, 16 << 20), bomb(declared, 96 << 20)];
  assert.ok((bombs[0] as { bytes: Buffer }).bytes.length < ONE_SHOT_DEFLATED && (bombs[1] as { bytes: Buffer }).bytes.length > ONE_SHOT_DEFLATED);
  t.after(() => usePublicInflateForTests(false));
  for (const publicOnly of [false, true]) {
    usePublicInflateForTests(publicOnly);
    for (const b of bombs) {
      for (const sizes of [[b.bytes.length], [1000], [ONE_SHOT_DEFLATED - 7, 13]]) {
        const engine = createVerifyEngine(b.name, { size: b.bytes.length });
        let error: unknown;
        try {
          for await (const part of chunked(b.bytes, sizes)) await engine.write(part as Uint8Array);
          await engine.finish();
        } catch (e) {
          error = e;
        }
        const what = `${b.bytes.length} bytes in chunks of ${sizes.join(',')} (${publicOnly ? 'public' : 'handle'})`;
        assert.ok(isCode('REPO_CORRUPT_OBJECT')(error), `${what}: ${String(error)}`);
        // What it cost: the declared size and one small step of the inflater, not the bomb's gigabytes.
        assert.ok(engine.inflatedBytes <= 2 * declared + 64, `${what}: ${engine.inflatedBytes} bytes inflated`);
        assert.equal((error as RepoError).data.inflated, engine.inflatedBytes);
      }
    }
  }
});
