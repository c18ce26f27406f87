import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { decode, type Variant } from '../gvariant/index.js';
import { serveDirectory } from '../../testkit/http-server.js';
import { ostree, ostreeCommit, ostreeInit, ostreePullHttp, ostreeRevParse, ostreeSummaryUpdate, runOstree } from '../../testkit/ostree.js';
import { tmpDir } from '../../testkit/tmp.js';
import { needTools } from '../../testkit/tools.js';
import { Repo } from './repo.js';
import { assertSummaryWritable, buildSummary, SUMMARY_TYPE, summaryState, writeSummary } from './summary.js';

type RefEntry = [string, [bigint, Uint8Array, Map<string, Variant>]];

function decodeSummary(bytes: Uint8Array): { refs: RefEntry[]; meta: Map<string, Variant> } {
  const [refs, meta] = decode(SUMMARY_TYPE, bytes) as [RefEntry[], Map<string, Variant>];
  return { refs, meta };
}

/** The instant ostree wrote into `ostree.summary.last-modified` (stored big-endian). */
function lastModified(bytes: Uint8Array): Date {
  const v = decodeSummary(bytes).meta.get('ostree.summary.last-modified');
  assert.ok(v !== undefined, 'summary has no last-modified');
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(v.value as bigint);
  return new Date(Number(b.readBigUInt64BE()) * 1000);
}

function makeTree(root: string, files: Record<string, string>): string {
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(join(root, rel, '..'), { recursive: true });
    writeFileSync(join(root, rel), text);
  }
  return root;
}

/** Our bytes must equal ostree's, given ostree's clock; and `summary --view` must read them the same. */
async function assertSameAsOstree(repoPath: string): Promise<Uint8Array> {
  await ostreeSummaryUpdate(repoPath);
  const theirs = new Uint8Array(readFileSync(join(repoPath, 'summary')));
  const theirView = await ostree(['summary', '--view', `--repo=${repoPath}`]);
  const repo = Repo.open(repoPath);
  const when = lastModified(theirs);
  const ours = await buildSummary(repo, { now: () => when });
  assert.deepEqual(decodeSummary(ours), decodeSummary(theirs));
  assert.equal(Buffer.from(ours).toString('hex'), Buffer.from(theirs).toString('hex'));
  await writeSummary(repo, { now: () => when });
  assert.equal(await ostree(['summary', '--view', `--repo=${repoPath}`]), theirView);
  return ours;
}

test('summary bytes equal `ostree summary -u` (refs with and without version, remote refs skipped)', async (t) => {
  if (!needTools(t, 'ostree')) return;
  const dir = tmpDir(t, 'summary');
  const r = join(dir, 'repo');
  await ostreeInit(r, 'archive');
  const tree = makeTree(join(dir, 'tree'), { a: 'hello\n', 'd/b': 'x\n' });
  const main = await ostreeCommit(r, tree, { branch: 'test/main', timestamp: '2024-01-02 03:04:05 UTC' });
  const alpha = await ostreeCommit(r, tree, { branch: 'alpha', subject: 'v', timestamp: 1_700_000_000, metadataStrings: { version: '1.2' } });
  await ostreeCommit(r, tree, { branch: 'os/x86_64/zz', body: 'nested ref' });
  await ostree(['refs', `--repo=${r}`, `--create=rem:x/y`, alpha]);

  const ours = await assertSameAsOstree(r);
  const { refs, meta } = decodeSummary(ours);
  assert.deepEqual(refs.map((e) => e[0]), ['alpha', 'os/x86_64/zz', 'test/main']);
  const alphaEntry = refs[0] as RefEntry;
  assert.equal(Buffer.from(alphaEntry[1][1]).toString('hex'), alpha);
  assert.equal(alphaEntry[1][0], BigInt(readFileSync(join(r, 'objects', alpha.slice(0, 2), `${alpha.slice(2)}.commit`)).byteLength));
  assert.deepEqual([...alphaEntry[1][2].keys()], ['ostree.commit.version', 'ostree.commit.timestamp']);
  assert.equal(alphaEntry[1][2].get('ostree.commit.version')?.value, '1.2');
  assert.equal(Buffer.from((refs[2] as RefEntry)[1][1]).toString('hex'), main);
  assert.deepEqual([...(refs[2] as RefEntry)[1][2].keys()], ['ostree.commit.timestamp']);
  assert.deepEqual([...meta.keys()], ['ostree.summary.mode', 'ostree.summary.last-modified', 'ostree.summary.tombstone-commits', 'ostree.summary.indexed-deltas']);
  assert.equal(meta.get('ostree.summary.mode')?.value, 'archive-z2');
});

test('summary bytes equal `ostree summary -u` with a collection id, mirrored refs and tombstones on', async (t) => {
  if (!needTools(t, 'ostree')) return;
  const dir = tmpDir(t, 'summary-coll');
  const r = join(dir, 'repo');
  await ostreeInit(r, 'archive', { collectionId: 'org.example.Main' });
  await ostree(['config', `--repo=${r}`, 'set', 'core.tombstone-commits', 'true']);
  const tree = makeTree(join(dir, 'tree'), { f: 'content\n' });
  const c = await ostreeCommit(r, tree, { branch: 'main', timestamp: 1_600_000_000, metadataStrings: { version: '7' } });
  mkdirSync(join(r, 'refs/mirrors/org.example.Other'), { recursive: true });
  writeFileSync(join(r, 'refs/mirrors/org.example.Other/mref'), `${c}\n`);

  const ours = await assertSameAsOstree(r);
  const { refs, meta } = decodeSummary(ours);
  // `summary -u` itself committed the ostree-metadata ref, which we then list like any other.
  assert.deepEqual(refs.map((e) => e[0]), ['main', 'ostree-metadata']);
  assert.deepEqual([...meta.keys()], [
    'ostree.summary.mode',
    'ostree.summary.last-modified',
    'ostree.summary.tombstone-commits',
    'ostree.summary.collection-map',
    'ostree.summary.indexed-deltas',
    'ostree.summary.collection-id',
  ]);
  assert.equal(meta.get('ostree.summary.tombstone-commits')?.value, true);
});

test('a signed summary is refused unless the signature may be dropped; the write is atomic', async (t) => {
  const dir = tmpDir(t, 'summary-sig');
  const repo = Repo.init(join(dir, 'repo'), { mode: 'archive' });
  assert.deepEqual(summaryState(repo), { hasSummary: false, hasSignature: false });

  const first = await writeSummary(repo, { now: () => new Date(0) });
  assert.deepEqual(decodeSummary(first.bytes).refs, []);
  assert.deepEqual(summaryState(repo), { hasSummary: true, hasSignature: false });

  writeFileSync(join(repo.path, 'summary.sig'), 'old signature');
  assert.deepEqual(summaryState(repo), { hasSummary: true, hasSignature: true });
  assert.throws(() => assertSummaryWritable(repo), { code: 'REPO_SUMMARY_SIGNED' });
  assert.doesNotThrow(() => assertSummaryWritable(repo, { canSign: true }));
  await assert.rejects(writeSummary(repo, { now: () => new Date(5000) }), { code: 'REPO_SUMMARY_SIGNED' });
  assert.deepEqual(new Uint8Array(readFileSync(join(repo.path, 'summary'))), first.bytes, 'refused write left the summary alone');
  assert.ok(existsSync(join(repo.path, 'summary.sig')));

  const second = await writeSummary(repo, { now: () => new Date(5000), dropSignature: true });
  assert.equal(second.droppedSignature, true);
  assert.deepEqual(summaryState(repo), { hasSummary: true, hasSignature: false });
  assert.deepEqual(new Uint8Array(readFileSync(join(repo.path, 'summary'))), second.bytes);
  assert.deepEqual(readdirSync(repo.path).filter((n) => n.startsWith('.')), [], 'no temporary file left behind');
});

test('a ref to a missing commit or a malformed ref file is a typed error', async (t) => {
  const dir = tmpDir(t, 'summary-bad');
  const repo = Repo.init(join(dir, 'repo'), { mode: 'archive' });
  writeFileSync(join(repo.path, 'refs/heads/gone'), `${'ab'.repeat(32)}\n`);
  await assert.rejects(buildSummary(repo), { code: 'REPO_OBJECT_MISSING' });
  writeFileSync(join(repo.path, 'refs/heads/gone'), 'not a checksum\n');
  await assert.rejects(buildSummary(repo), { code: 'REPO_BAD_REF' });
  await assert.rejects(writeSummary(repo), { code: 'REPO_BAD_REF' });
  assert.equal(summaryState(repo).hasSummary, false);
});

test('over HTTP, ostree pull follows the summary: stale until we regenerate it', async (t) => {
  if (!needTools(t, 'ostree')) return;
  const dir = tmpDir(t, 'summary-http');
  const server = join(dir, 'server');
  const client = join(dir, 'client');
  await ostreeInit(server, 'archive');
  const tree = join(dir, 'tree');
  makeTree(tree, { 'etc/os-release': 'NAME=A\n' });
  const a = await ostreeCommit(server, tree, { branch: 'os/main', subject: 'A', timestamp: 1_700_000_000 });
  await writeSummary(Repo.open(server));
  const http = await serveDirectory(server, t);

  assert.equal(await ostreePullHttp(client, http.url, 'os/main'), a);
  assert.ok(http.log.some((e) => e.path === '/summary' && e.status === 200), 'the client read the summary');
  assert.ok(!http.log.some((e) => e.path.startsWith('/refs/')), 'with a summary the client never reads refs/');

  makeTree(tree, { 'etc/os-release': 'NAME=B\n' });
  const b = await ostreeCommit(server, tree, { branch: 'os/main', subject: 'B', timestamp: 1_700_000_100 });
  assert.equal(await ostreeRevParse(server, 'os/main'), b);
  // Without regenerating, clients keep resolving the ref to A: the bug this module exists for.
  assert.equal(await ostreePullHttp(client, http.url, 'os/main'), a);

  await writeSummary(Repo.open(server));
  assert.equal(await ostreePullHttp(client, http.url, 'os/main'), b);
  const fsck = await runOstree(['fsck', `--repo=${client}`]);
  assert.ok(fsck.ok, `${fsck.command}\n${fsck.stderr}`);
});
