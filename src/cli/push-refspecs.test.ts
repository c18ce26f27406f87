/**
 * End to end over the local transport: refspecs on the pusher's command line
 * (SRC:DST, a commit checksum as SRC, +SRC:DST, --all), the usage errors of
 * bad refspecs, and what --dry-run says of them (deletion: push-delete.test.ts),
 * ref bindings judged against DST.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { commitTree } from '../repo/builder.js';
import { listRefs } from '../repo/refs.js';
import { Repo } from '../repo/repo.js';
import { ostreeRevParse } from '../../testkit/ostree.js';
import { needTools } from '../../testkit/tools.js';
import { assertClean, setup, tree, type Setup } from '../../testkit/receive-policy-fixture.js';
import { pushMain } from './push-command.js';

/** A commit on `branch` bound to no ref (`--no-bindings`), with `parent` when given. */
async function unbound(s: Setup, branch: string, name: string, parent?: string): Promise<string> {
  return (await commitTree(s.src, { tree: tree(name), subject: name, timestamp: 1, branch, bindings: false, ...(parent === undefined ? {} : { parent }) })).commit;
}

const remoteRefs = (s: Setup): Map<string, string> => listRefs(Repo.open(s.dest), 'heads');

test('SRC:DST creates DST at SRC\'s commit and leaves SRC absent; a commit checksum as SRC', async (t) => {
  if (!needTools(t, 'ostree')) return;
  const s = await setup(t);
  const env = s.configure('{}\n');
  const a = await unbound(s, 'os/stable', 'a');
  const r = await s.push(env, 'os/stable:os/beta');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /os\/stable -> os\/beta/);
  assert.deepEqual([...remoteRefs(s)], [['os/beta', a]]);

  const b = await unbound(s, 'other', 'b');
  const byChecksum = await s.push(env, `${b}:os/pinned`);
  assert.equal(byChecksum.code, 0, byChecksum.stderr);
  assert.equal(await ostreeRevParse(s.dest, 'os/pinned'), b);
  assert.equal(remoteRefs(s).has('other'), false);

  const unknown = await s.push(env, `${'0'.repeat(63)}1:os/x`);
  assert.equal(unknown.code, 2, 'a checksum that is not a local commit is a usage error');
  await assertClean(s);
});

test('+SRC:DST forces that ref alone: a plain non-fast-forward in the same push is still rejected, the others go', async (t) => {
  if (!needTools(t, 'ostree')) return;
  const s = await setup(t);
  const env = s.configure('force: true\n');
  await unbound(s, 'x', 'x1');
  await unbound(s, 'y', 'y1');
  assert.equal((await s.push(env, 'x', 'y')).code, 0);
  const y1 = await ostreeRevParse(s.dest, 'y');
  // New roots on both: neither is a fast-forward.
  const x2 = await unbound(s, 'x', 'x2');
  await unbound(s, 'y', 'y2');
  const r = await s.push(env, '+x:x', 'y');
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, / \+ .*x \(forced update\)/);
  assert.match(r.stderr, / ! \[rejected\] +y \(non-fast-forward\)/);
  assert.equal(await ostreeRevParse(s.dest, 'x'), x2);
  assert.equal(await ostreeRevParse(s.dest, 'y'), y1);
  await assertClean(s);
});

test('--all pushes every local head under its own name; with a REF it is a usage error', async (t) => {
  if (!needTools(t, 'ostree')) return;
  const s = await setup(t);
  const env = s.configure('{}\n');
  const a = await unbound(s, 'a', 'a');
  const b = await unbound(s, 'os/b', 'b');
  const r = await s.push(env, '--all');
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(remoteRefs(s), new Map([['a', a], ['os/b', b]]));
  assert.equal((await s.push(env, '--all', 'a')).code, 2);
});

test('bad refspecs are usage errors: one line, exit 2, nothing sent', async (t) => {
  if (!needTools(t, 'ostree')) return;
  const s = await setup(t);
  const env = s.configure('{}\n');
  await unbound(s, 'a', 'a');
  for (const bad of ['a:', 'a:b:c', '+:x', 'a:a', 'a:b', ':-x']) {
    // 'a:a' and 'a:b' are fine; '+:x' is a deletion of a ref the remote lacks (exit 1); the others are usage errors.
    const x = await s.push(env, '-n', bad);
    assert.equal(x.code, bad === 'a:a' || bad === 'a:b' ? 0 : bad === '+:x' ? 1 : 2, `${bad}: ${x.stderr}`);
    if (x.code === 2) assert.equal(x.stderr.trim().split('\n').length, 1, x.stderr);
  }
  assert.equal((await s.push(env, '-n', 'a:b', 'a:b')).code, 2, 'one DST twice');
  assert.equal(remoteRefs(s).size, 0);
});

test('--dry-run names SRC -> DST, and a commit bound to SRC is refused as DST', async (t) => {
  if (!needTools(t, 'ostree')) return;
  const s = await setup(t);
  const env = s.configure('{}\n');
  await unbound(s, 'free', 'f');
  // Bound by ostree.ref-binding to os/stable, as `ostree commit --branch=os/stable` does.
  await commitTree(s.src, { tree: tree('s'), subject: 's', timestamp: 1, branch: 'os/stable' });
  const dry = await s.push(env, '-n', 'free:os/beta');
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stderr, /\[new branch\] +free -> os\/beta/);
  const bound = await s.push(env, '-n', 'os/stable:os/beta');
  assert.equal(bound.code, 1, bound.stderr);
  assert.match(bound.stderr, / ! \[rejected\] +os\/stable -> os\/beta \(commit bound to 'os\/stable' by ostree.ref-binding/);
  const real = await s.push(env, 'os/stable:os/beta');
  assert.equal(real.code, 1, real.stderr);
  assert.equal(remoteRefs(s).size, 0);
});

test('--help names the refspecs and --all', async () => {
  let out = '';
  const code = await pushMain(['--help'], { err: () => undefined, out: (s) => (out += s), env: process.env, cwd: process.cwd() });
  assert.equal(code, 0);
  assert.match(out, /\[--all \| REFSPEC\.\.\.\]/);
  assert.match(out, /SRC:DST/);
  assert.match(out, /leading '\+' \(force for that ref alone\)/);
  assert.match(out, /:DST \(delete the remote ref DST/);
});

test('--json gives the SRC of a ref pushed under another name', async (t) => {
  if (!needTools(t, 'ostree')) return;
  const s = await setup(t);
  const a = await unbound(s, 'free', 'f');
  let out = '';
  const err: string[] = [];
  const code = await pushMain([`--repo=${s.src.path}`, '--json', '-n', s.dest, 'free:os/beta', `${a}:os/pinned`], { err: (l) => err.push(l), out: (x) => (out += x), env: process.env, cwd: process.cwd() });
  assert.equal(code, 0, err.join('\n'));
  const refs = (JSON.parse(out) as { refs: Array<Record<string, unknown>> }).refs;
  assert.deepEqual(
    refs.map((r) => [r['ref'], r['src'], r['new']]),
    [['os/beta', 'free', a], ['os/pinned', a, a]],
  );
});
