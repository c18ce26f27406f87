/**
 * The pusher's HTTP server (http-serve.ts): a real `ostree pull` from it
 * into a fresh repository, then `ostree fsck`, is the oracle that the served
 * repository is what libostree expects; then what it refuses, by raw
 * requests (no client-side normalisation of `..`).
 */
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { ostree, ostreeFsck, ostreeRevParse, ostreeSummaryUpdate, runOstree } from '../../testkit/ostree.js';
import { tree } from '../../testkit/ssh-push.js';
import { tmpDir } from '../../testkit/tmp.js';
import { needTools } from '../../testkit/tools.js';
import { commitTree, initArchiveRepo } from './builder.js';
import { serveRepo } from './http-serve.js';
import { Repo } from './repo.js';
import { readCommit } from './traverse.js';

async function source(t: Parameters<typeof tmpDir>[0]) {
  const dir = tmpDir(t, 'http-serve');
  const repo = initArchiveRepo(join(dir, 'src'));
  const c1 = (await commitTree(repo, { tree: tree(4), timestamp: 1, branch: 'main' })).commit;
  const other = (await commitTree(repo, { tree: tree(2), timestamp: 1, branch: 'private/work' })).commit;
  return { dir, repo, c1, other };
}

test('a real ostree pull from the served snapshot, fsck clean; the summary is the snapshot, not a stale one on disk', async (t) => {
  if (!needTools(t, 'ostree')) return;
  const s = await source(t);
  // The source's own summary names c1; the snapshot has c2.
  await ostreeSummaryUpdate(s.repo.path);
  const c2 = (await commitTree(s.repo, { tree: tree(6), timestamp: 2, branch: 'main', parent: s.c1 })).commit;
  const server = await serveRepo(s.repo, new Map([['main', c2]]));
  t.after(() => server.close());

  const client = join(s.dir, 'client');
  await ostree(['init', '--mode=archive', `--repo=${client}`]);
  await ostree(['remote', 'add', `--repo=${client}`, '--no-gpg-verify', 'origin', server.url]);
  await ostree(['pull', `--repo=${client}`, 'origin', 'main'], { timeout: 120_000 });
  assert.equal(await ostreeRevParse(client, 'origin:main'), c2);
  const fsck = await ostreeFsck(client);
  assert.equal(fsck.code, 0, fsck.stderr);
  assert.ok(server.log.some((r) => r.path === 'summary' && r.status === 200), JSON.stringify(server.log.slice(0, 5)));

  // A ref outside the snapshot is not there for the client.
  const hidden = await runOstree(['pull', `--repo=${client}`, 'origin', 'private/work']);
  assert.notEqual(hidden.code, 0);
  // ostree's listing of the remote's refs comes from the summary: the snapshot's refs only.
  assert.deepEqual((await ostree(['remote', 'refs', `--repo=${client}`, 'origin'])).trim().split('\n'), ['origin:main']);
});

/** One raw HTTP/1.1 request; returns the status line's code and the body. */
function raw(port: number, method: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1', () => sock.write(`${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`));
    let text = '';
    sock.on('data', (c: Buffer) => (text += c.toString('latin1')));
    sock.on('error', reject);
    sock.on('close', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      resolve({ status, body: text.slice(text.indexOf('\r\n\r\n') + 4) });
    });
  });
}

test('the server refuses traversal, unknown paths, listings, symlinks, paths without the prefix and every method but GET and HEAD', async (t) => {
  const s = await source(t);
  // A symlink planted where an object would be, pointing at a file outside.
  const secret = join(s.dir, 'secret');
  writeFileSync(secret, 'secret\n');
  const fake = `objects/ab/${'c'.repeat(62)}.filez`;
  mkdirSync(s.repo.resolve('objects/ab'), { recursive: true });
  symlinkSync(secret, s.repo.resolve(fake));
  const server = await serveRepo(s.repo, new Map([['main', s.c1]]));
  t.after(() => server.close());
  const p = `/${server.prefix}`;
  const commitPath = `objects/${s.c1.slice(0, 2)}/${s.c1.slice(2)}.commit`;

  const ok = await raw(server.port, 'GET', `${p}/${commitPath}`);
  assert.equal(ok.status, 200);
  // Detached metadata (where signatures live) is served beside its commit.
  writeFileSync(s.repo.resolve(commitPath.replace(/\.commit$/, '.commitmeta')), 'detached');
  assert.deepEqual(await raw(server.port, 'GET', `${p}/${commitPath}meta`), { status: 200, body: 'detached' });
  assert.equal((await raw(server.port, 'GET', `${p}/refs/heads/main`)).body, `${s.c1}\n`);
  const head = await raw(server.port, 'HEAD', `${p}/config`);
  assert.deepEqual(head, { status: 200, body: '' });
  assert.match((await raw(server.port, 'GET', `${p}/config`)).body, /^\[core\]\nrepo_version=1\nmode=archive-z2\n$/);

  for (const path of [
    `${p}/../config`,
    `${p}/objects/../../secret`,
    `${p}/%2e%2e/secret`,
    `${p}/objects/${s.c1.slice(0, 2)}/../../config`,
    `${p}/${fake}`,
    `${p}/`,
    `${p}/objects/`,
    `${p}/objects/${s.c1.slice(0, 2)}/`,
    `${p}/refs/heads/`,
    `${p}/refs/heads/private/work`,
    `${p}/refs/heads/../../config`,
    `${p}/summary.sig`,
    `${p}/tmp/`,
    `${p}/${commitPath.toUpperCase()}`,
    `/${commitPath}`,
    '/config',
    `/${'0'.repeat(32)}/config`,
  ]) {
    const r = await raw(server.port, 'GET', path);
    assert.equal(r.status, 404, path);
    assert.ok(!r.body.includes('secret'), path);
  }
  for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
    assert.equal((await raw(server.port, method, `${p}/config`)).status, 405, method);
  }
});

test('it listens on 127.0.0.1 only', async (t) => {
  const s = await source(t);
  const server = await serveRepo(s.repo, new Map([['main', s.c1]]));
  t.after(() => server.close());
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/[0-9a-f]{32}$/);
  assert.equal(server.urlFor(4242), `http://127.0.0.1:4242/${server.prefix}`);
});

test('only objects the snapshot reaches are served: another ref\'s objects are not, the parents\' commits are', async (t) => {
  const s = await source(t);
  const c2 = (await commitTree(s.repo, { tree: tree(5), timestamp: 2, branch: 'main', parent: s.c1 })).commit;
  const server = await serveRepo(s.repo, new Map([['main', c2]]));
  t.after(() => server.close());
  const p = `/${server.prefix}`;
  const path = (c: string, ext: string) => `${p}/objects/${c.slice(0, 2)}/${c.slice(2)}.${ext}`;
  assert.equal((await raw(server.port, 'GET', path(c2, 'commit'))).status, 200);
  // The parent commit (for a client checking ancestry), not its tree.
  assert.equal((await raw(server.port, 'GET', path(s.c1, 'commit'))).status, 200);
  // private/work's commit exists in the repository but is not pushed.
  assert.equal((await raw(server.port, 'GET', path(s.other, 'commit'))).status, 404);
  // A file only private/work's tree holds (tree(2)'s files are all in tree(5) too, so check its root dirtree instead).
  const otherRoot = (await readCommit(s.repo.path, s.other)).rootDirtree;
  const mainRoot = (await readCommit(s.repo.path, c2)).rootDirtree;
  assert.notEqual(otherRoot, mainRoot);
  assert.equal((await raw(server.port, 'GET', path(otherRoot, 'dirtree'))).status, 404);
  assert.equal((await raw(server.port, 'GET', path(mainRoot, 'dirtree'))).status, 200);
});

test('a bare-user-only source is served in its archive form: a real ostree pull of it, fsck clean', async (t) => {
  if (!needTools(t, 'ostree')) return;
  const dir = tmpDir(t, 'http-serve-bare');
  const src = join(dir, 'src');
  const files = join(dir, 'files');
  mkdirSync(join(files, 'sub'), { recursive: true });
  writeFileSync(join(files, 'a'), 'alpha\n'.repeat(1000));
  writeFileSync(join(files, 'sub', 'b'), 'beta\n');
  symlinkSync('a', join(files, 'link'));
  await ostree(['init', '--mode=bare-user-only', `--repo=${src}`]);
  const commit = (await ostree(['commit', `--repo=${src}`, '-b', 'main', '-s', 'bare', `--tree=dir=${files}`])).trim();
  const server = await serveRepo(Repo.open(src), new Map([['main', commit]]));
  t.after(() => server.close());
  const client = join(dir, 'client');
  await ostree(['init', '--mode=archive', `--repo=${client}`]);
  await ostree(['remote', 'add', `--repo=${client}`, '--no-gpg-verify', 'origin', server.url]);
  await ostree(['pull', `--repo=${client}`, 'origin', 'main'], { timeout: 120_000 });
  assert.equal(await ostreeRevParse(client, 'origin:main'), commit);
  const fsck = await ostreeFsck(client);
  assert.equal(fsck.code, 0, fsck.stderr);
});
