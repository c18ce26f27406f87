/**
 * Ref permissions and the update hook through the real commands
 * (receive-policy-fixture.ts: ostree-push → local ostree-receive configured
 * by OSTREE_RECEIVE_CONF → a repository made by `ostree init`).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { commitTree } from '../repo/builder.js';
import { listRefs } from '../repo/refs.js';
import { Repo } from '../repo/repo.js';
import { ostree } from '../../testkit/ostree.js';
import { assertPullable } from '../../testkit/pull-check.js';
import { needTools } from '../../testkit/tools.js';
import { assertClean, commit, receiverLines, setup, tree } from '../../testkit/receive-policy-fixture.js';

test('cli policy: ref_permissions refuses stable and allows app/*/x86_64/beta', async (t) => {
  if (!needTools(t, 'ostree')) return;
  const s = await setup(t);
  await commit(s, 'stable', 'stable');
  const beta = await commit(s, 'app/org.example.App/x86_64/beta', 'beta');
  const env = s.configure("ref_permissions:\n  'app/*/x86_64/beta': [create, move]\n");

  // Advertised in INFO, so ostree-push rejects it before UPDATE; the receiver's own refusal: src/policy/receive-policy.test.ts.
  for (const args of [['--dry-run', 'stable'], ['stable'], ['-q', 'stable']]) {
    const stable = await s.push(env, ...args);
    assert.equal(stable.code, 1, stable.stderr);
    assert.match(stable.stderr, /^ ! \[rejected\] +stable \(the remote's ref_permissions do not allow create\)$/m, args.join(' '));
    assert.equal(stable.stderr.split('do not allow create').length, 2, 'the reason once, on the ref line');
    assert.deepEqual(receiverLines(stable.stderr), []);
  }
  assert.deepEqual(listRefs(Repo.open(s.dest)), new Map());

  const ok = await s.push(env, 'app/org.example.App/x86_64/beta');
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual(listRefs(Repo.open(s.dest)), new Map([['app/org.example.App/x86_64/beta', beta]]));
  await assertClean(s);
  assert.deepEqual((await assertPullable(t, s.dest)).refs, { 'app/org.example.App/x86_64/beta': beta });
});

test('cli policy: the update hook sees the Python environment; a failing hook is one warning line and the push still succeeds', async (t) => {
  if (!needTools(t, 'ostree')) return;
  const s = await setup(t);
  const a = await commit(s, 'os/a', 'a');
  const b = await commit(s, 'os/b', 'b');
  const seen = join(s.dir, 'hook-env');
  const hook = `env | grep '^OSTREE_RECEIVE_' | sort > ${seen}`;
  const ok = await s.push(s.configure(`update_hook: "${hook}"\n`), 'os/a', 'os/b');
  assert.equal(ok.code, 0, ok.stderr);
  const env = Object.fromEntries(
    readFileSync(seen, 'utf8')
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  assert.equal(env['OSTREE_RECEIVE_REPO'], s.dest);
  assert.deepEqual(env['OSTREE_RECEIVE_REFS']?.split(' ').sort(), ['os/a', 'os/b'], 'ref names separated by spaces');
  const zeros = '0'.repeat(64);
  assert.deepEqual(env['OSTREE_RECEIVE_UPDATES']?.split(' ').sort(), [`os/a:${zeros}:${a}`, `os/b:${zeros}:${b}`]);

  const c = (await commitTree(s.src, { tree: tree('c'), subject: 'c', timestamp: 2, parent: a, branch: 'os/a' })).commit;
  const failingHook = s.configure("update_hook: |\n  echo hook-complains >&2\n  exit 7\n");
  const failing = await s.push(failingHook, 'os/a');
  assert.equal(failing.code, 0, failing.stderr);
  assert.equal(failing.stderr.match(/^hook-complains$/gm)?.length, 1, "the hook's own output reaches the pusher, once");
  const warnings = receiverLines(failing.stderr);
  assert.equal(warnings.length, 1, failing.stderr);
  const warning = /^ostree-receive: warning: update_hook 'echo hook-complains >&2 exit 7 ?' exited with status 7; the refs were already published and stay so$/;
  assert.match(warnings[0] ?? '', warning);
  assert.equal(listRefs(Repo.open(s.dest)).get('os/a'), c);

  // -q: the hook's output is hidden; the warning that it failed is not.
  await commitTree(s.src, { tree: tree('d'), subject: 'd', timestamp: 3, parent: c, branch: 'os/a' });
  const quiet = await s.push(failingHook, '-q', 'os/a');
  assert.equal(quiet.code, 0, quiet.stderr);
  assert.equal(quiet.stderr.split('\n').length, 2, quiet.stderr);
  assert.match(quiet.stderr.split('\n')[0] ?? '', warning);
  const talkative = s.configure('update_hook: "echo hook-says-hello; echo hook-says-more >&2"\n');
  await commitTree(s.src, { tree: tree('e'), subject: 'e', timestamp: 4, branch: 'os/e' });
  const silent = await s.push(talkative, '-q', 'os/e');
  assert.equal(silent.code, 0, silent.stderr);
  assert.equal(silent.stderr, '', '-q hides what the update hook prints');
  await assertClean(s);
});

test('cli policy: with force off, --dry-run and the push reject a forced non-fast-forward saying the remote does not allow it', async (t) => {
  if (!needTools(t, 'ostree')) return;
  const s = await setup(t);
  await commit(s, 'os/main', 'one');
  const env = s.configure('force: false\n');
  assert.equal((await s.push(env, 'os/main')).code, 0);
  await commitTree(s.src, { tree: tree('unrelated'), subject: 'unrelated', timestamp: 2, branch: 'os/main' });
  for (const args of [['--dry-run', '--force', 'os/main'], ['--force', 'os/main']]) {
    const r = await s.push(env, ...args);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^ ! \[rejected\] +os\/main \(the remote does not accept non-fast-forward updates \(force is off there\)\)$/m, args.join(' '));
    assert.doesNotMatch(r.stderr, /use --force|push with --force/);
  }
  await assertClean(s);
});

test('cli policy: recommit: true keeps a linear server history; ostree-push continues it without --force', async (t) => {
  if (!needTools(t, 'ostree')) return;
  const s = await setup(t);
  const a = (await commitTree(s.src, { tree: tree('a'), subject: 'a', timestamp: 1, branch: 'os/main', bindings: false })).commit;
  const env = s.configure('recommit: true\n');
  const first = await s.push(env, 'os/main');
  assert.equal(first.code, 0, first.stderr);
  const r1 = listRefs(Repo.open(s.dest)).get('os/main');
  assert.ok(r1 !== undefined && r1 !== a, 'the ref names a re-commit');
  const b = (await commitTree(s.src, { tree: tree('b'), subject: 'b', timestamp: 2, parent: a, branch: 'os/main', bindings: false })).commit;
  const second = await s.push(env, 'os/main');
  assert.equal(second.code, 0, second.stderr);
  const r2 = listRefs(Repo.open(s.dest)).get('os/main');
  assert.ok(r2 !== undefined && r2 !== b);
  const log = await ostree(['log', 'os/main', `--repo=${s.dest}`]);
  assert.deepEqual([...log.matchAll(/^commit ([0-9a-f]{64})$/gm)].map((m) => m[1]), [r2, r1]);
  await assertClean(s);
  assert.deepEqual((await assertPullable(t, s.dest)).refs, { 'os/main': r2 });
});
