import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { hasTool, needTools } from '../../testkit/tools.js';
import { diffTrees, listObjects, materialize, pseudoRandomContent, treeArb } from '../../testkit/ostree-trees.js';
import { ostree } from '../../testkit/ostree.js';
import { RepoError } from '../errors.js';
import { Variant } from '../gvariant/index.js';
import { commitTree, initArchiveRepo, type DirNode } from './builder.js';
import { decodeCommit, readMetadataFile } from './metadata.js';
import { objectRelPath } from './object-names.js';

const TS = 1704164645;

async function scratch(): Promise<{ dir: string; done: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'builder-'));
  return { dir, done: () => rm(dir, { recursive: true, force: true }) };
}

/** Commits `tree` with ostree (from disk) and with our builder (from disk and from memory); returns all three. */
async function commitBoth(dir: string, tree: DirNode, tag: string, extra: string[] = [], opts: Parameters<typeof commitTree>[1] | object = {}) {
  const src = join(dir, `src-${tag}`);
  await mkdir(src);
  await materialize(tree, src);
  const theirs = join(dir, `theirs-${tag}`);
  await ostree(['init', `--repo=${theirs}`, '--mode=archive']);
  const c = (await ostree(['commit', `--repo=${theirs}`, '--fsync=false', '--branch=test/main', `--timestamp=@${TS}`, '-s', 'subject', '-m', 'body\nline 2', '--owner-uid=0', '--owner-gid=0', ...extra, src])).trim();
  const ours = join(dir, `ours-${tag}`);
  initArchiveRepo(ours);
  const common = { branch: 'test/main', timestamp: TS, subject: 'subject', body: 'body\nline 2', ownerUid: 0, ownerGid: 0, fsync: false, ...opts };
  const fromDisk = await commitTree(ours, { ...common, tree: src });
  const fromMemory = await commitTree(ours, { ...common, tree });
  return { src, theirs, ours, c, fromDisk, fromMemory };
}

test('oracle: same commit checksum as ostree commit; fsck clean; checkout reproduces the tree', async (t) => {
  if (!needTools(t, 'ostree')) return;
  const { dir, done } = await scratch();
  const xattrs = hasTool('setfattr');
  let n = 0;
  try {
    await fc.assert(
      fc.asyncProperty(treeArb(xattrs), async (tree) => {
        const tag = String(n++);
        const r = await commitBoth(dir, tree, tag);
        assert.equal(r.fromDisk.commit, r.c, 'disk tree');
        assert.equal(r.fromMemory.commit, r.c, 'in-memory tree');
        assert.equal((await readFile(join(r.ours, 'refs/heads/test/main'), 'utf8')), `${r.c}\n`);
        // Same object set; metadata byte-identical. For .filez only the header is:
        // Node bundles Chromium's zlib, whose deflate output differs from the
        // system zlib ostree links (same settings, same inflated bytes).
        assert.deepEqual(await listObjects(r.ours), await listObjects(r.theirs));
        for (const o of await listObjects(r.theirs)) {
          const filez = o.endsWith('.filez');
          const rel = objectRelPath(o.slice(0, 64), filez ? 'file' : (o.slice(65) as 'commit'));
          let [a, b] = [await readFile(join(r.ours, rel)), await readFile(join(r.theirs, rel))];
          if (filez) [a, b] = [a.subarray(0, 8 + a.readUInt32BE(0)), b.subarray(0, 8 + b.readUInt32BE(0))];
          assert.ok(a.equals(b), o);
        }
        await ostree(['fsck', `--repo=${r.ours}`]);
        const out = join(dir, `co-${tag}`);
        await ostree(['checkout', `--repo=${r.ours}`, r.c, out]);
        assert.deepEqual(await diffTrees(r.src, out), []);
      }),
      { numRuns: 6 },
    );
  } finally {
    await done();
  }
});

test('oracle: a 5 MiB incompressible file, --no-bindings, metadata in GLib order', async (t) => {
  if (!needTools(t, 'ostree')) return;
  const { dir, done } = await scratch();
  try {
    const tree: DirNode = {
      type: 'dir',
      children: {
        'big.bin': { type: 'file', content: pseudoRandomContent('big', 5 * 1024 * 1024 + 17) },
        sub: { type: 'dir', children: { empty: { type: 'file', content: new Uint8Array(0) } } },
      },
    };
    const metadata = new Map([['version', new Variant('s', '2.0')]]);
    const r = await commitBoth(dir, tree, 'big', ['--no-bindings', '--add-metadata-string=version=2.0'], { bindings: false, metadata });
    assert.equal(r.fromDisk.commit, r.c);
    assert.equal(r.fromMemory.commit, r.c);
    const withBinding = await commitBoth(dir, tree, 'big2', ['--add-metadata-string=version=2.0'], { metadata });
    assert.equal(withBinding.fromMemory.commit, withBinding.c);
    const c = decodeCommit(await readMetadataFile(join(withBinding.ours, objectRelPath(withBinding.c, 'commit'))));
    assert.equal(c.metadata.size, 2);
    await ostree(['fsck', `--repo=${r.ours}`]);
  } finally {
    await done();
  }
});

test('builder rejects bad names and nodes with typed errors; parents and detached metadata', async () => {
  const { dir, done } = await scratch();
  try {
    const repo = join(dir, 'r');
    initArchiveRepo(repo);
    for (const name of ['..', 'a/b', '']) {
      await assert.rejects(
        commitTree(repo, { tree: { type: 'dir', children: { [name]: { type: 'file', content: 'x' } } }, timestamp: 0, fsync: false }),
        (e: unknown) => e instanceof RepoError && e.code === 'REPO_INVALID_DIRTREE',
      );
    }
    const bogus = { type: 'fifo' } as unknown as DirNode;
    await assert.rejects(commitTree(repo, { tree: { type: 'dir', children: { f: bogus } }, fsync: false }), (e: unknown) => e instanceof RepoError && e.code === 'REPO_UNSUPPORTED_FILE');
    const a = await commitTree(repo, { tree: { type: 'dir', children: {} }, timestamp: 1, fsync: false });
    const b = await commitTree(repo, {
      tree: { type: 'dir', children: {} },
      timestamp: 2,
      parent: a.commit,
      fsync: false,
      detachedMetadata: new Map([['k', new Variant('s', 'v')]]),
    });
    const cb = decodeCommit(await readMetadataFile(join(repo, objectRelPath(b.commit, 'commit'))));
    assert.equal(cb.parent, a.commit);
    assert.equal(cb.timestamp, 2n);
    assert.ok((await readFile(join(repo, objectRelPath(b.commit, 'commitmeta')))).byteLength > 0);
    assert.deepEqual((await listObjects(join(repo))).filter((o) => o.includes('tmp')), []);
  } finally {
    await done();
  }
});
