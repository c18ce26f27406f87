import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { tmpDir } from '../../testkit/tmp.js';
import { ArchiveObjectStore, OBJECT_READ_CHUNK, SMALL_OBJECT_READ, type ObjectReader } from './object-store.js';

/** Files of this process open under `dir` (other fds come and go with the test runner). */
function openUnder(dir: string): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith(dir)) n++;
    } catch {
      /* closed meanwhile */
    }
  }
  return n;
}

function store(t: Parameters<typeof tmpDir>[0]): ArchiveObjectStore {
  const root = tmpDir(t, 'object-store');
  mkdirSync(`${root}/objects`, { recursive: true });
  return new ArchiveObjectStore(root);
}

function put(s: ArchiveObjectStore, checksum: string, bytes: Uint8Array): void {
  const p = s.pathOf(checksum, 'file');
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, bytes);
}

async function drain(r: ObjectReader): Promise<{ bytes: Buffer; chunks: number[] }> {
  const parts: Uint8Array[] = [];
  for await (const c of r) parts.push(c);
  return { bytes: Buffer.concat(parts), chunks: parts.map((c) => c.byteLength) };
}

const name = (i: number): string => i.toString(16).padStart(2, '0').repeat(32);

test('openReader: a small object is one chunk, read and closed before it returns; with or without the size', async (t) => {
  const s = store(t);
  const data = randomBytes(SMALL_OBJECT_READ);
  put(s, name(1), data);
  for (const size of [undefined, data.byteLength]) {
    const r = s.openReader(name(1), 'file', size);
    assert.equal(openUnder(s.root), 0, 'nothing left open');
    assert.equal(r.size, data.byteLength);
    const got = await drain(r);
    assert.deepEqual(got.chunks, [data.byteLength]);
    assert.ok(got.bytes.equals(data));
  }
});

test('openReader: a large object is read in bounded chunks as they are taken, and the file is closed at the end', async (t) => {
  const s = store(t);
  const data = randomBytes(2 * OBJECT_READ_CHUNK + 12345);
  put(s, name(2), data);
  for (const size of [undefined, data.byteLength]) {
    const r = s.openReader(name(2), 'file', size);
    assert.equal(openUnder(s.root), 1);
    const got = await drain(r);
    assert.deepEqual(got.chunks, [OBJECT_READ_CHUNK, OBJECT_READ_CHUNK, 12345]);
    assert.ok(got.bytes.equals(data));
    assert.equal(openUnder(s.root), 0);
  }
  // Stopping early, or closing without reading, releases the file.
  for await (const _ of s.openReader(name(2), 'file')) break;
  assert.equal(openUnder(s.root), 0);
  const r = s.openReader(name(2), 'file');
  r.close();
  r.close();
  assert.equal(openUnder(s.root), 0);
  // openRead streams the same bytes.
  const parts: Buffer[] = [];
  for await (const c of await s.openRead(name(2), 'file')) parts.push(c as Buffer);
  assert.ok(Buffer.concat(parts).equals(data));
});

test('openReader: a file of another size than the one given is REPO_CORRUPT_OBJECT, small or large, and nothing stays open', async (t) => {
  const s = store(t);
  put(s, name(3), randomBytes(100));
  put(s, name(4), randomBytes(OBJECT_READ_CHUNK + 100));
  assert.throws(() => s.openReader(name(3), 'file', 99), { code: 'REPO_CORRUPT_OBJECT' });
  assert.throws(() => s.openReader(name(3), 'file', 101), { code: 'REPO_CORRUPT_OBJECT' });
  await assert.rejects(drain(s.openReader(name(4), 'file', OBJECT_READ_CHUNK + 99)), { code: 'REPO_CORRUPT_OBJECT' });
  await assert.rejects(drain(s.openReader(name(4), 'file', OBJECT_READ_CHUNK + 101)), { code: 'REPO_CORRUPT_OBJECT' });
  assert.equal(openUnder(s.root), 0);
});

test('openReader: absent, a symlink, a directory or a fifo in its place is REPO_OBJECT_MISSING or REPO_CORRUPT_OBJECT, never a hang', async (t) => {
  const s = store(t);
  put(s, name(5), Buffer.from('target'));
  assert.throws(() => s.openReader(name(6), 'file'), { code: 'REPO_OBJECT_MISSING' });
  assert.throws(() => s.openReader(name(6), 'file', 6), { code: 'REPO_OBJECT_MISSING' });
  mkdirSync(dirname(s.pathOf(name(6), 'file')), { recursive: true });
  symlinkSync(s.pathOf(name(5), 'file'), s.pathOf(name(6), 'file'));
  assert.throws(() => s.openReader(name(6), 'file', 6), { code: 'REPO_OBJECT_MISSING' });
  mkdirSync(dirname(s.pathOf(name(7), 'file')), { recursive: true });
  mkdirSync(s.pathOf(name(7), 'file'));
  assert.throws(() => s.openReader(name(7), 'file'), { code: 'REPO_OBJECT_MISSING' });
  assert.throws(() => s.openReader(name(7), 'file', 6), { code: 'REPO_OBJECT_MISSING' });
  mkdirSync(dirname(s.pathOf(name(8), 'file')), { recursive: true });
  execFileSync('mkfifo', [s.pathOf(name(8), 'file')]);
  assert.throws(() => s.openReader(name(8), 'file'), { code: 'REPO_OBJECT_MISSING' });
  assert.throws(() => s.openReader(name(8), 'file', 6), (e: Error & { code?: string }) => e.code === 'REPO_OBJECT_MISSING' || e.code === 'REPO_CORRUPT_OBJECT');
  assert.equal(openUnder(s.root), 0);
});

test('pathOf: the root joined with the object path, however the root is spelled', () => {
  const c = name(9);
  for (const root of ['/srv/repo', '/srv/repo/', 'repo', './repo//', '/', '.', '../x/./repo']) {
    const p = new ArchiveObjectStore(root).pathOf(c, 'dirtree');
    assert.equal(resolve(p), resolve(join(root, 'objects', c.slice(0, 2), `${c.slice(2)}.dirtree`)), root);
    assert.ok(!p.includes('//'), p);
  }
  assert.throws(() => new ArchiveObjectStore('/srv').pathOf('../etc', 'file'), { code: 'REPO_BAD_OBJECT_NAME' });
});
