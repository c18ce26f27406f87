/**
 * Content objects of bare, bare-user and bare-user-only repositories made by
 * `ostree commit`, read as their archive form, against the oracle: the
 * `.filez` that `ostree pull-local` writes for the same object into an
 * archive repository. Headers must be equal, content equal once inflated,
 * and a file of one chunk byte for byte the same; a larger file's deflated
 * bytes differ from ostree's, but must be the same on every read (the push
 * announces the length before it sends).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { inflateRawSync } from 'node:zlib';
import { commitSource, isRoot, writeSourceTree, type BareSourceMode } from '../../testkit/bare-sources.js';
import { ostree } from '../../testkit/ostree.js';
import { tmpDir } from '../../testkit/tmp.js';
import { needTools } from '../../testkit/tools.js';
import { DEFLATE_CHUNK, OSTREEMETA_XATTR } from './bare-content.js';
import type { BareObjectStore } from './bare-object-store.js';
import { decodeFilezHeader, decodeFilezPrefix } from './filez.js';
import { objectRelPath } from './object-names.js';
import { Repo } from './repo.js';

async function readAll(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

function splitFilez(b: Buffer): { header: ReturnType<typeof decodeFilezHeader>; content: Buffer } {
  const len = decodeFilezPrefix(b.subarray(0, 8));
  const header = decodeFilezHeader(b.subarray(8, 8 + len));
  const payload = b.subarray(8 + len);
  return { header, content: payload.byteLength === 0 ? Buffer.alloc(0) : inflateRawSync(payload) };
}

async function source(t: TestContext, mode: BareSourceMode) {
  const dir = tmpDir(t, `bare-store-${mode}`);
  const tree = await writeSourceTree(dir, { bigSize: 3 * DEFLATE_CHUNK + 12345 });
  const path = join(dir, 'src');
  const commit = await commitSource(path, mode, tree);
  const oracle = join(dir, 'oracle');
  await ostree(['init', `--repo=${oracle}`, '--mode=archive']);
  await ostree(['pull-local', `--repo=${oracle}`, path, 'main']);
  return { dir, path, commit, oracle, tree };
}

async function bigChecksum(repo: string): Promise<string> {
  const line = await ostree(['ls', `--repo=${repo}`, '-C', 'main', '/data/big.bin']);
  return line.trim().split(/\s+/)[4] as string;
}

for (const mode of ['bare', 'bare-user', 'bare-user-only'] as const) {
  test(`${mode}: every object reads as the archive form ostree writes for it, the same bytes each time`, async (t) => {
    if (!needTools(t, 'ostree', 'setfattr')) return;
    if (mode === 'bare' && !isRoot()) return t.skip('ostree commits into a bare repository only as root');
    const s = await source(t, mode);
    const store = Repo.open(s.path).objects;
    let files = 0;
    let symlinks = 0;
    let xattrs = 0;
    for await (const o of store.list()) {
      const ours = await readAll(store.openReader(o.checksum, o.type));
      assert.equal(store.statSync(o.checksum, o.type)?.size, ours.byteLength, `${o.checksum}.${o.type}: stat gives the length sent`);
      assert.deepEqual(await readAll(store.openReader(o.checksum, o.type)), ours, `${o.checksum}.${o.type}: a second read gives the same bytes`);
      const theirs = readFileSync(join(s.oracle, objectRelPath(o.checksum, o.type)));
      if (o.type !== 'file') {
        assert.deepEqual(ours, theirs, `${o.checksum}.${o.type}`);
        continue;
      }
      const a = splitFilez(ours);
      const b = splitFilez(theirs);
      assert.deepEqual(a.header, b.header, `${o.checksum}.file: header`);
      assert.ok(a.content.equals(b.content), `${o.checksum}.file: content`);
      // Content of one chunk is deflated by one call with ostree's settings: ostree's very bytes.
      if (a.content.byteLength <= DEFLATE_CHUNK) assert.deepEqual(ours, theirs, `${o.checksum}.file: the bytes ostree writes`);
      else assert.notDeepEqual(ours, theirs, 'a file of several chunks is the case the other assertions are about');
      files++;
      if ((a.header.mode & 0o170000) === 0o120000) symlinks++;
      if (a.header.xattrs.length > 0) xattrs++;
    }
    assert.equal(files, 9);
    assert.equal(symlinks, 2);
    // bare-user-only keeps no xattrs; the others keep hello.txt's where the file system has them.
    assert.equal(xattrs, mode !== 'bare-user-only' && s.tree.xattrs ? 1 : 0);
  });
}

test('bare-user: a corrupt object is REPO_CORRUPT_OBJECT naming it, found before anything is sent or before its last bytes', async (t) => {
  if (!needTools(t, 'ostree', 'setfattr')) return;
  const s = await source(t, 'bare-user');
  const big = await bigChecksum(s.path);
  const file = join(s.path, objectRelPath(big, 'file', 'bare'));
  const flip = (at: number) => {
    const b = readFileSync(file);
    b[at] = (b[at] as number) ^ 0x01;
    writeFileSync(file, b);
  };
  const corrupt = (e: unknown) => {
    const x = e as { code: string; data: Record<string, unknown> };
    assert.deepEqual([x.code, x.data['checksum'], x.data['type'], x.data['path']], ['REPO_CORRUPT_OBJECT', big, 'file', file]);
    return true;
  };

  // Changed after the length was learned: the read fails before the last piece, so never whole.
  const store = Repo.open(s.path).objects as BareObjectStore;
  const size = store.statSync(big, 'file')?.size as number;
  flip(DEFLATE_CHUNK + 7);
  const got: number[] = [];
  await assert.rejects(async () => {
    for await (const c of store.openReader(big, 'file', size)) got.push(c.byteLength);
  }, { code: 'REPO_CORRUPT_OBJECT' });
  assert.ok(got.reduce((x, y) => x + y, 0) < size, 'fewer bytes than announced went out');

  // Found by the first pass (the plan's stat), before any byte is sent.
  assert.throws(() => Repo.open(s.path).objects.statSync(big, 'file'), corrupt);
  flip(DEFLATE_CHUNK + 7);
  assert.equal(Repo.open(s.path).objects.statSync(big, 'file')?.size, size, 'restored, it reads again');

  execFileSync('setfattr', ['-x', OSTREEMETA_XATTR, file]);
  assert.throws(() => Repo.open(s.path).objects.statSync(big, 'file'), { code: 'REPO_CORRUPT_OBJECT' });
});
