/**
 * Pushing from bare, bare-user and bare-user-only sources that `ostree
 * commit` built, end to end (pushMain in-process, the real receiver spawned),
 * judged by the ostree command: the destination's `ostree fsck` is clean and
 * its object set is exactly what `ostree pull-local` of the same commit from
 * the same source writes into another archive repository. A corrupt source
 * object is one line and a non-zero exit, and nothing reaches the remote.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { commitSource, isRoot, writeSourceTree, type BareSourceMode } from '../../testkit/bare-sources.js';
import { ostree, ostreeFsck, ostreeInit, ostreeRefs, ostreeRevParse } from '../../testkit/ostree.js';
import { listObjects } from '../../testkit/ostree-trees.js';
import { tmpDir } from '../../testkit/tmp.js';
import { needTools } from '../../testkit/tools.js';
import { objectRelPath } from '../repo/object-names.js';
import { runMain } from './run-main.js';
import { pushMain } from './push-command.js';

interface Run {
  code: number | null;
  stderr: string;
  stdout: string;
}

async function inproc(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  const err: string[] = [];
  let stdout = '';
  const io = { err: (l: string) => err.push(l), out: (s: string) => (stdout += s), env: opts.env ?? process.env, cwd: opts.cwd ?? process.cwd() };
  const code = await runMain('ostree-push', () => pushMain(args, io), { err: (l) => err.push(l) });
  return { code, stdout, stderr: err.map((l) => `${l}\n`).join('') };
}

/** A few MiB: several deflate chunks of random and of text; the 100 MiB case is tools/bare-push-bench.ts. */
const BIG = 3 * 1024 * 1024 + 4321;

/** Enough for a few chunks, where the large file is not what a test is about. */
const SMALLER = 600 * 1024;

async function fixture(t: TestContext, mode: BareSourceMode, bigSize = BIG) {
  const dir = tmpDir(t, `push-${mode}`);
  const tree = await writeSourceTree(dir, { bigSize });
  const src = join(dir, 'src');
  const commit = await commitSource(src, mode, tree);
  const dest = join(dir, 'dest');
  await ostreeInit(dest, 'archive');
  return { dir, tree, src, commit, dest };
}

/** What the ostree command writes for the same commit: `pull-local` into a fresh archive repository. */
async function pullLocal(dir: string, src: string): Promise<string> {
  const oracle = join(dir, 'oracle');
  await ostreeInit(oracle, 'archive');
  await ostree(['pull-local', `--repo=${oracle}`, src, 'main']);
  return oracle;
}

for (const mode of ['bare', 'bare-user', 'bare-user-only'] as const) {
  test(`a ${mode} source built by ostree commit: fsck-clean destination, the objects ostree pull-local writes`, async (t) => {
    if (!needTools(t, 'ostree', 'setfattr')) return;
    if (mode === 'bare' && !isRoot()) return t.skip('ostree commits into a bare repository only as root');
    const f = await fixture(t, mode);
    const r = await inproc([`--repo=${f.src}`, f.dest]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(` \\* \\[new branch\\] +${f.commit.slice(0, 7)} -> main`));
    assert.equal(await ostreeRevParse(f.dest, 'main'), f.commit);
    const fsck = await ostreeFsck(f.dest);
    assert.ok(fsck.ok, `ostree fsck: ${fsck.stderr}${fsck.stdout}`);
    const oracle = await pullLocal(f.dir, f.src);
    assert.deepEqual(await listObjects(f.dest), await listObjects(oracle));
    // What each mode keeps of the tree, as ostree itself lists it from our copy.
    const ls = await ostree(['ls', `--repo=${f.dest}`, '-R', '-X', 'main']);
    // bare-user-only records no owner; the others record the committer's (0 when run as root).
    const owner = mode === 'bare-user-only' || isRoot() ? '0 0' : `${process.getuid?.()} ${process.getgid?.()}`;
    assert.match(ls, new RegExp(mode === 'bare-user-only' ? `-00755 ${owner} .*/bin/suid` : `-04755 ${owner} .*/bin/suid`));
    assert.match(ls, new RegExp(`l00777 ${owner} +0 .* /link -> hello\\.txt`));
    assert.match(ls, new RegExp(`-00644 ${owner} +0 .* /empty`));
    assert.match(ls, new RegExp(`-00644 ${owner} +${BIG} .*/data/big\\.bin`));
    if (mode !== 'bare-user-only' && f.tree.xattrs) assert.match(ls, /user\.alpha/);
    if (mode !== 'bare-user-only' && f.tree.owned) assert.match(ls, /-00640 1234 5678 .*\/etc\/owned/);
    if (mode === 'bare-user-only') assert.doesNotMatch(ls, /user\.|1234/);
  });
}

test('a bare-user source found by the default chain (the current directory, then $OSTREE_REPO)', async (t) => {
  if (!needTools(t, 'ostree', 'setfattr')) return;
  const f = await fixture(t, 'bare-user', SMALLER);
  const fromCwd = await inproc([f.dest], { cwd: f.src });
  assert.equal(fromCwd.code, 0, fromCwd.stderr);
  assert.equal(await ostreeRevParse(f.dest, 'main'), f.commit);
  const other = join(f.dir, 'other');
  await ostreeInit(other, 'archive');
  const fromEnv = await inproc([other], { cwd: f.dir, env: { ...process.env, OSTREE_REPO: f.src } });
  assert.equal(fromEnv.code, 0, fromEnv.stderr);
  assert.equal(await ostreeRevParse(other, 'main'), f.commit);
  assert.ok((await ostreeFsck(other)).ok);
});

for (const mode of ['bare', 'bare-user'] as const) {
  test(`a corrupt object in a ${mode} source: one line naming it, exit 1, nothing reaches the remote`, async (t) => {
    if (!needTools(t, 'ostree', 'setfattr')) return;
    if (mode === 'bare' && !isRoot()) return t.skip('ostree commits into a bare repository only as root');
    const f = await fixture(t, mode, SMALLER);
    const big = (await ostree(['ls', `--repo=${f.src}`, '-C', 'main', '/data/big.bin'])).trim().split(/\s+/)[4] as string;
    const file = join(f.src, objectRelPath(big, 'file', 'bare'));
    const b = readFileSync(file);
    b[SMALLER - 10] = (b[SMALLER - 10] as number) ^ 0x20;
    writeFileSync(file, b);
    const r = await inproc([`--repo=${f.src}`, '--json', f.dest]);
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    assert.deepEqual(lines.filter((l) => l.startsWith('ostree-push:')), lines, r.stderr);
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0] as string, new RegExp(`object ${big}\\.file of the ${mode} repository is corrupt`));
    assert.equal((JSON.parse(r.stdout) as { error: { code: string } }).error.code, 'REPO_CORRUPT_OBJECT');
    assert.deepEqual(await ostreeRefs(f.dest), []);
    assert.deepEqual(await listObjects(f.dest), []);
  });
}

test('a bare-split-xattrs source is refused with a usage error naming the mode', async (t) => {
  if (!needTools(t, 'ostree')) return;
  const dir = tmpDir(t, 'push-split');
  const src = join(dir, 'src');
  await ostree(['init', `--repo=${src}`, '--mode=bare-split-xattrs']);
  const r = await inproc([`--repo=${src}`, join(dir, 'dest')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^ostree-push: the source .* is a bare-split-xattrs repository: only archive, bare, bare-user and bare-user-only repositories can be pushed from/m);
});
