/**
 * End to end: ostree-push → a locally spawned ostree-receive → a repository
 * made by `ostree init`, checked with `ostree fsck`, `ostree rev-parse` and
 * `ostree pull`. Where the command line is not what is tested, pushMain runs
 * in-process (it still spawns the real receiver), which halves the cost.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Variant } from '../gvariant/index.js';
import { commitTree, initArchiveRepo, setRef, type DirNode } from '../repo/builder.js';
import type { Repo } from '../repo/repo.js';
import { difference } from '../repo/traverse.js';
import { ostreeFsck, ostreeInit, ostreeRevParse, ostreeSummaryUpdate } from '../../testkit/ostree.js';
import { assertPullable } from '../../testkit/pull-check.js';
import { tmpDir } from '../../testkit/tmp.js';
import { needTools } from '../../testkit/tools.js';
import { runMain } from './run-main.js';
import { pushMain } from './push-command.js';

const PUSH_ENTRY = fileURLToPath(new URL('./ostree-push.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

interface Run {
  code: number | null;
  stderr: string;
  stdout: string;
}

/** The real command, as a user runs it. */
function cli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', TSX, PUSH_ENTRY, ...args], { cwd: opts.cwd, env: opts.env ?? process.env, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
      resolve({ code, stdout, stderr });
    });
  });
}

/** pushMain in this process (the receiver is still a real child process). */
async function inproc(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  const err: string[] = [];
  let stdout = '';
  const io = { err: (l: string) => err.push(l), out: (s: string) => (stdout += s), env: opts.env ?? process.env, cwd: opts.cwd ?? process.cwd() };
  const code = await runMain('ostree-push', () => pushMain(args, io), { err: (l) => err.push(l) });
  return { code, stdout, stderr: err.map((l) => `${l}\n`).join('') };
}

const tree = (files: Record<string, string>): DirNode => ({
  type: 'dir',
  children: {
    etc: { type: 'dir', children: { 'os-release': { type: 'file', content: 'ID=test\n' } } },
    usr: { type: 'dir', children: Object.fromEntries(Object.entries(files).map(([k, v]) => [k, { type: 'file' as const, content: v }])) },
  },
});

interface Fixture {
  src: Repo;
  dest: string;
  c1: string;
}

async function fixture(t: Parameters<typeof tmpDir>[0]): Promise<Fixture> {
  const dir = tmpDir(t, 'push-e2e');
  const src = initArchiveRepo(`${dir}/src`);
  const c1 = (await commitTree(src, { tree: tree({ a: 'alpha\n', b: 'b'.repeat(20_000) }), subject: 'one', timestamp: 1, branch: 'main' })).commit;
  const dest = `${dir}/dest`;
  await ostreeInit(dest, 'archive');
  return { src, dest, c1 };
}

async function assertFsck(repo: string): Promise<void> {
  const r = await ostreeFsck(repo);
  assert.ok(r.ok, `ostree fsck ${repo} failed:\n${r.stderr}${r.stdout}`);
}

async function countDifference(repo: Repo, want: string, have: string[]): Promise<number> {
  let n = 0;
  for await (const _ of difference(repo, [want], have)) n++;
  return n;
}

test('full push into an empty archive repo: fsck passes and refs match', async (t) => {
  if (!needTools(t, 'ostree')) return;
  const f = await fixture(t);
  const total = await countDifference(f.src, f.c1, []);
  const r = await cli([`--repo=${f.src.path}`, f.dest]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, new RegExp(`^To ${f.dest}\\n \\* \\[new branch\\] +${f.c1.slice(0, 7)} -> main\\n`, 'm'));
  assert.match(r.stderr, new RegExp(`sent ${total} objects`));
  assert.equal(await ostreeRevParse(f.dest, 'main'), f.c1);
  await assertFsck(f.dest);
  // A client pulls it over http (no summary: refs/heads/main is read).
  assert.deepEqual((await assertPullable(t, f.dest)).refs, { main: f.c1 });
});

test('incremental push sends exactly the objects of the new commit not in the old closure', async (t) => {
  if (!needTools(t, 'ostree')) return;
  const f = await fixture(t);
  assert.equal((await inproc([`--repo=${f.src.path}`, f.dest])).code, 0);
  const c2 = (await commitTree(f.src, { tree: tree({ a: 'alpha\n', b: 'b'.repeat(20_000), c: 'new\n' }), timestamp: 2, parent: f.c1, branch: 'main' })).commit;
  const expected = await countDifference(f.src, c2, [f.c1]);
  const r = await inproc([`--repo=${f.src.path}`, f.dest, 'main']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(` {3}${f.c1.slice(0, 7)}\\.\\.${c2.slice(0, 7)} +main\\n`));
  assert.match(r.stderr, new RegExp(`sent ${expected} objects`));
  assert.equal(expected, 4, 'new file, usr dirtree, root dirtree, commit');
  assert.equal(await ostreeRevParse(f.dest, 'main'), c2);
  await assertFsck(f.dest);
  // And a second run has nothing to do.
  const again = await inproc([`--repo=${f.src.path}`, f.dest]);
  assert.equal(again.code, 0);
  assert.match(again.stderr, /Everything up-to-date/);
});

test('several refs at once, and a new ref at a commit the remote has (no objects sent)', async (t) => {
  if (!needTools(t, 'ostree')) return;
  const f = await fixture(t);
  // Bound to both refs it is pushed as, as `ostree commit --branch=os/x86_64/stable --bind-ref=release/1` makes it.
  const metadata = new Map([['ostree.ref-binding', new Variant('as', ['os/x86_64/stable', 'release/1'])]]);
  const c3 = (await commitTree(f.src, { tree: tree({ z: 'zeta\n' }), timestamp: 3, branch: 'os/x86_64/stable', bindings: false, metadata })).commit;
  const r = await inproc([`--repo=${f.src.path}`, f.dest, 'main', 'os/x86_64/stable']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await ostreeRevParse(f.dest, 'main'), f.c1);
  assert.equal(await ostreeRevParse(f.dest, 'os/x86_64/stable'), c3);
  await assertFsck(f.dest);
  // Each commit is bound to the ref it was pushed as: a client pulling both checks the bindings.
  assert.deepEqual((await assertPullable(t, f.dest)).refs, { main: f.c1, 'os/x86_64/stable': c3 });

  await setRef(f.src, 'release/1', c3);
  const r2 = await inproc([`--repo=${f.src.path}`, f.dest, 'release/1']);
  assert.equal(r2.code, 0, r2.stderr);
  assert.match(r2.stderr, /sent 0 objects/);
  assert.equal(await ostreeRevParse(f.dest, 'release/1'), c3);
});

test('big-endian messages end to end (--byte-order=be)', async (t) => {
  if (!needTools(t, 'ostree')) return;
  const f = await fixture(t);
  const r = await cli([`--repo=${f.src.path}`, '--byte-order=be', `file://${f.dest}`]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await ostreeRevParse(f.dest, 'main'), f.c1);
  await assertFsck(f.dest);
});

test('non-fast-forward: rejected locally (exit 1); --force is rejected cleanly under the default receiver policy (force off)', async (t) => {
  if (!needTools(t, 'ostree')) return;
  const f = await fixture(t);
  assert.equal((await inproc([`--repo=${f.src.path}`, f.dest])).code, 0);
  // Rewrite history: a new root commit on main.
  const other = (await commitTree(f.src, { tree: tree({ q: 'other\n' }), timestamp: 5, branch: 'main' })).commit;
  const r = await cli([`--repo=${f.src.path}`, f.dest]);
  assert.equal(r.code, 1, r.stderr);
  // --force is suggested only when the receiver would take it (its advertised `force`).
  const plain = / ! \[rejected\] +main \(non-fast-forward\)\n/.test(r.stderr);
  if (plain) assert.match(r.stderr, /^ostree-push: .*--force/m);
  else {
    assert.match(r.stderr, / ! \[rejected\] +main \(non-fast-forward; the remote does not accept non-fast-forward updates \(force is off there\)\)/);
    assert.doesNotMatch(r.stderr, /--force/);
  }
  assert.match(r.stderr, /pull the remote's commit and build on it/, 'ostree has no merge: say what to do instead');
  assert.doesNotMatch(r.stderr, /merge/);
  assert.equal(await ostreeRevParse(f.dest, 'main'), f.c1);

  const forced = await inproc([`--repo=${f.src.path}`, '--force', f.dest]);
  const now = await ostreeRevParse(f.dest, 'main');
  if (forced.code === 0) {
    assert.equal(now, other);
    assert.match(forced.stderr, /\(forced update\)/);
  } else {
    assert.equal(forced.code, 1, forced.stderr);
    assert.match(forced.stderr, / ! \[rejected\] +main \(the remote does not accept non-fast-forward updates \(force is off there\)\)/);
    assert.equal(now, f.c1);
  }
  await assertFsck(f.dest);
});

test('two pushes racing from the same base to the same ref: exactly one wins', async (t) => {
  if (!needTools(t, 'ostree')) return;
  const f = await fixture(t);
  assert.equal((await inproc([`--repo=${f.src.path}`, f.dest])).code, 0);
  const dir = tmpDir(t, 'race');
  const [a, b] = await Promise.all(
    ['a', 'b'].map(async (name) => {
      const repo = initArchiveRepo(`${dir}/${name}`);
      // Both start from c1 (same objects, same commit) and add different files.
      const base = await commitTree(repo, { tree: tree({ a: 'alpha\n', b: 'b'.repeat(20_000) }), subject: 'one', timestamp: 1, branch: 'main' });
      assert.equal(base.commit, f.c1);
      const c = (await commitTree(repo, { tree: tree({ a: 'alpha\n', b: 'b'.repeat(20_000), [name]: `${name}\n`.repeat(1000) }), timestamp: 2, parent: f.c1, branch: 'main' })).commit;
      return { repo, c };
    }),
  );
  const [ra, rb] = await Promise.all([cli([`--repo=${a!.repo.path}`, f.dest]), cli([`--repo=${b!.repo.path}`, f.dest])]);
  const codes = [ra.code, rb.code].sort();
  assert.deepEqual(codes, [0, 1], `a: ${ra.stderr}\nb: ${rb.stderr}`);
  const [winner, loser] = ra.code === 0 ? [a!, rb] : [b!, ra];
  assert.equal(await ostreeRevParse(f.dest, 'main'), winner.c);
  assert.match(loser.stderr, /^ostree-push: /m);
  t.diagnostic(`loser: ${loser.stderr.trim().replace(/\n/g, ' | ')}`);
  assert.match(loser.stderr, /refused|nothing was published|rejected/);
  await assertFsck(f.dest);
});

test('a push into a repository with a summary: ostree pull over http then gets the new commit', async (t) => {
  if (!needTools(t, 'ostree')) return;
  const f = await fixture(t);
  await ostreeSummaryUpdate(f.dest);
  const r = await inproc([`--repo=${f.src.path}`, f.dest]);
  assert.equal(r.code, 0, r.stderr);
  const pulled = await assertPullable(t, f.dest);
  assert.deepEqual(pulled.refs, { main: f.c1 });
  assert.ok(pulled.requested.includes('/summary'), 'the client read the summary');
});

test('dry run shows what would move and changes nothing', async (t) => {
  if (!needTools(t, 'ostree')) return;
  const f = await fixture(t);
  const total = await countDifference(f.src, f.c1, []);
  const r = await inproc([`--repo=${f.src.path}`, '-n', f.dest]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /\[new branch\]/);
  assert.match(r.stderr, new RegExp(`would send ${total} objects`));
  await assert.rejects(ostreeRevParse(f.dest, 'main'));
});

test('--repo defaults to the current directory when it is a repository, else $OSTREE_REPO', async (t) => {
  if (!needTools(t, 'ostree')) return;
  const f = await fixture(t);
  const r = await inproc(['-q', f.dest], { cwd: f.src.path, env: { ...process.env, OSTREE_REPO: '/nonexistent' } });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '', '-q prints nothing on success');
  const elsewhere = tmpDir(t, 'cwd');
  const r2 = await inproc(['--dry-run', f.dest], { cwd: elsewhere, env: { ...process.env, OSTREE_REPO: f.src.path } });
  assert.equal(r2.code, 0, r2.stderr);
  assert.match(r2.stderr, /Everything up-to-date/);
});

test('usage errors: one line each, exit 2', async (t) => {
  const f = { src: initArchiveRepo(`${tmpDir(t, 'usage')}/src`) };
  await commitTree(f.src, { tree: tree({ a: 'a' }), timestamp: 1, branch: 'main' });
  const notRepo = tmpDir(t, 'notrepo');
  mkdirSync(`${notRepo}/sub`);
  const cases: Array<[string[], RegExp]> = [
    [['--bogus', notRepo], /^ostree-push: Unknown option '--bogus'/],
    [[`--repo=${f.src.path}`], /^ostree-push: missing REMOTE/],
    // A missing source is the command line's fault; a missing destination is the receiver's answer (exit 1: exit-status.test.ts).
    [[`--repo=${notRepo}`, f.src.path], /^ostree-push: the source .* is not an OSTree repository \(no config\); give it with --repo=PATH\n$/],
    [[`--repo=${f.src.path}`, 'host:'], /^ostree-push: 'host:' is not a valid REMOTE: the repository path is empty\n$/],
    [[`--repo=${f.src.path}`, '--byte-order=middle', notRepo], /^ostree-push: --byte-order must be 'le' or 'be'/],
    [[`--repo=${f.src.path}`, f.src.path, 'no/such/ref'], /^ostree-push: no\/such\/ref is not a local ref of /],
  ];
  for (const [args, re] of cases) {
    const r = await inproc(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.split('\n').filter((l) => l !== '').length, 1, `one line for ${args.join(' ')}: ${r.stderr}`);
  }
  // The real process too: one line, no stack trace, exit 2.
  const r = await cli(['--bogus']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^ostree-push: Unknown option '--bogus' \(see --help\)\n$/);
});

test('--json: every failure prints one JSON error object on stdout, usage errors included, with the same exit status', async (t) => {
  const notRepo = tmpDir(t, 'json-usage');
  const cases: Array<[string[], string, number]> = [
    [['--json', '--bogus', notRepo], 'USAGE', 2],
    [['--bogus', '--json', notRepo], 'USAGE', 2],
    [['--json', '--ssh'], 'USAGE', 2],
    [['--json'], 'USAGE', 2],
    [['--json', 'host:'], 'PUSH_BAD_REMOTE', 2],
    [['--json', `--repo=${notRepo}`, notRepo], 'PUSH_SOURCE_NOT_REPO', 2],
  ];
  for (const [args, code, exit] of cases) {
    const r = await inproc(args);
    assert.equal(r.code, exit, `${args.join(' ')}: ${r.stderr}`);
    const lines = r.stdout.split('\n').filter((l) => l !== '');
    assert.equal(lines.length, 1, `one JSON line for ${args.join(' ')}: ${r.stdout}`);
    const j = JSON.parse(lines[0] as string) as { ok: boolean; error: { code: string; exit: number } | null; refs: unknown[] };
    assert.equal(j.ok, false);
    assert.equal(j.error?.code, code, args.join(' '));
    assert.equal(j.error?.exit, exit);
    assert.deepEqual(j.refs, []);
  }
  // Without --json, stdout stays empty; after `--`, '--json' is an operand, not the option.
  assert.equal((await inproc(['--bogus', notRepo])).stdout, '');
  assert.equal((await inproc(['--bogus', '--', '--json'])).stdout, '');
  // The real process too.
  const r = await cli(['--json', '--bogus']);
  assert.equal(r.code, 2);
  assert.equal((JSON.parse(r.stdout) as { error: { code: string } }).error.code, 'USAGE');
  assert.match(r.stderr, /^ostree-push: Unknown option '--bogus' \(see --help\)\n$/);
});
