import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { needTools } from '../../testkit/tools.js';
import { Repo } from './repo.js';
import { isValidRefName, listRefs, readRef, resolveRef, updateRefs, ZERO_CHECKSUM } from './refs.js';
import { JOURNAL_REL, writeJournal } from './ref-journal.js';

const scratch = mkdtempSync(join(tmpdir(), 'refs-test-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
let n = 0;
const fresh = (): Repo => Repo.init(join(scratch, `r${n++}`));
const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const C = 'c'.repeat(64);

const ACCEPT = ['a', 'a.b-c_d', '1abc', '_under', 'A.B', 'os/x86_64/main', 'x..y', 'trailing.', 'a-', 'é', 'ａ', 'a٣', 'Ⅻ', '²', 'ǅ', 'ʰ', '中文', '\u{1D400}', 'x'.repeat(255), `a/${'x'.repeat(255)}/${'y'.repeat(255)}`];
const REFUSE = ['', '..', '.', 'a/../b', '/lead', 'trail/', 'a//b', 'has space', '-dash', '.dot', 'a/.hidden', 'a~1', 'a*b', 'a@b', 'a+b', 'a\tb', 'a\nb', 'a\x01b', '\x7f', 'a\0b', 'e\u0301', 'a\u203f', 'a\u0903', 'a\u200b', 'a^', 'a:b', 'x'.repeat(256), 'a\uD800'];

test('ref names: the table of spec/ostree-format.md §1.4 and beyond', () => {
  for (const name of ACCEPT) assert.equal(isValidRefName(name), true, JSON.stringify(name));
  for (const name of REFUSE) assert.equal(isValidRefName(name), false, JSON.stringify(name));
  assert.equal(isValidRefName(`${'d'.repeat(200)}/`.repeat(6) + 'z'), false, 'over 1024 bytes (stricter than ostree)');
});

/** ostree's verdict: does `ostree refs --create=NAME` accept it? */
function ostreeAccepts(repoPath: string, commit: string, name: string): boolean {
  const r = spawnSync('ostree', ['refs', `--repo=${repoPath}`, `--create=${name}`, commit], { encoding: 'utf8' });
  if (r.status === 0) {
    execFileSync('ostree', ['refs', `--repo=${repoPath}`, '--delete', name]);
    return true;
  }
  assert.match(r.stderr, /Invalid refspec|File name too long|Invalid byte sequence/, `${JSON.stringify(name)}: ${r.stderr}`);
  return false;
}

/**
 * `ostree refs --create=NAME` first resolves NAME as a revision, and a name
 * made of hex digits resolves as an abbreviated checksum when the repository
 * has an object starting with it ("ref a already exists" for a commit
 * starting with a). So the repository's only commit must not start with a
 * hex digit that the names under test begin with (the table's 'a', '1abc';
 * the generator's 'a', '0'): try subjects until it does not.
 */
function ostreeRepoWithCommit(): { path: string; commit: string } {
  const dir = join(scratch, `t${n++}`);
  mkdirSync(dir);
  writeFileSync(join(dir, 'f'), 'x');
  for (let attempt = 0; attempt < 64; attempt++) {
    const path = join(scratch, `o${n++}`);
    execFileSync('ostree', ['init', `--repo=${path}`, '--mode=archive']);
    const commit = execFileSync('ostree', ['commit', `--repo=${path}`, '--orphan', '--timestamp=2024-01-02 03:04:05 UTC', '-s', `s${attempt}`, dir], { encoding: 'utf8' }).trim();
    if (!/^[01a]/.test(commit)) return { path, commit };
  }
  throw new Error('no commit outside the hex prefixes under test in 64 attempts');
}

test('oracle: ostree refs --create agrees on the table', (t) => {
  if (!needTools(t, 'ostree')) return;
  const { path, commit } = ostreeRepoWithCommit();
  // ':' and '^' are command-line syntax for ostree (remote prefix, parent), NUL cannot be an argument.
  for (const name of [...ACCEPT, ...REFUSE].filter((s) => s !== '' && !/[:^\0]/.test(s) && !/[\uD800-\uDFFF]/.test(s))) {
    assert.equal(isValidRefName(name), ostreeAccepts(path, commit, name), JSON.stringify(name));
  }
});

test('oracle: fast-check generated names agree with ostree', (t) => {
  if (!needTools(t, 'ostree')) return;
  const { path, commit } = ostreeRepoWithCommit();
  const ch = fc.constantFrom('a', 'Z', '0', '_', '-', '.', '/', ' ', '~', 'é', '٣', '\u0301', '\u200b', '\t', '*', 'ß', '中');
  const nameArb = fc.array(ch, { minLength: 1, maxLength: 8 }).map((a) => a.join(''));
  fc.assert(
    fc.property(nameArb, (name) => isValidRefName(name) === ostreeAccepts(path, commit, name)),
    { numRuns: 150, interruptAfterTimeLimit: 8000 },
  );
});

test('list, read and resolve refs in all three namespaces', () => {
  const repo = fresh();
  mkdirSync(repo.resolve('refs/heads/os/x86_64'), { recursive: true });
  writeFileSync(repo.resolve('refs/heads/os/x86_64/main'), `${A}\n`);
  writeFileSync(repo.resolve('refs/heads/nonl'), B);
  writeFileSync(repo.resolve('refs/heads/.tmp-x'), 'junk');
  mkdirSync(repo.resolve('refs/remotes/origin'), { recursive: true });
  writeFileSync(repo.resolve('refs/remotes/origin/main'), `${C}\n`);
  assert.deepEqual([...listRefs(repo)], [['nonl', B], ['os/x86_64/main', A]]);
  assert.deepEqual([...listRefs(repo, 'remotes')], [['origin/main', C]]);
  assert.deepEqual([...listRefs(repo, 'mirrors')], []);
  assert.equal(readRef(repo, 'os/x86_64/main'), A);
  assert.equal(readRef(repo, 'os'), null);
  assert.equal(readRef(repo, 'missing'), null);
  assert.throws(() => resolveRef(repo, 'missing'), { code: 'REPO_REF_NOT_FOUND' });
  assert.throws(() => readRef(repo, '../config'), { code: 'REPO_BAD_REF_NAME' });
  for (const bad of [`${A}\n\n`, A.toUpperCase(), `${A.slice(1)}\n`, '', `${A}\r`]) {
    writeFileSync(repo.resolve('refs/heads/bad'), bad);
    assert.throws(() => readRef(repo, 'bad'), { code: 'REPO_BAD_REF' }, JSON.stringify(bad));
    assert.throws(() => listRefs(repo), { code: 'REPO_BAD_REF' });
  }
});

test('updateRefs: CAS success writes 65-byte files ostree reads', async (t) => {
  const repo = fresh();
  await updateRefs(repo, [
    { name: 'a/b/c', from: null, to: A },
    { name: 'x', from: ZERO_CHECKSUM, to: B },
  ]);
  assert.equal(readFileSync(repo.resolve('refs/heads/a/b/c'), 'utf8'), `${A}\n`);
  await updateRefs(repo, [{ name: 'x', from: B, to: C }]);
  assert.equal(readRef(repo, 'x'), C);
  await updateRefs(repo, [{ name: 'x', from: C, to: null }]);
  assert.equal(readRef(repo, 'x'), null);
  assert.equal(existsSync(repo.resolve(JOURNAL_REL)), false);
  if (needTools(t, 'ostree')) {
    assert.equal(execFileSync('ostree', ['refs', `--repo=${repo.path}`], { encoding: 'utf8' }), 'a/b/c\n');
  }
});

test('updateRefs: a stale expectation or a blocked name writes nothing', async () => {
  const repo = fresh();
  await updateRefs(repo, [{ name: 'a', from: null, to: A }, { name: 'd/e', from: null, to: A }]);
  const before = [...listRefs(repo)];
  const cases: [Parameters<typeof updateRefs>[1], string][] = [
    [[{ name: 'new', from: null, to: B }, { name: 'a', from: B, to: C }], 'REPO_REF_CONFLICT'],
    [[{ name: 'new', from: null, to: B }, { name: 'a', from: null, to: C }], 'REPO_REF_CONFLICT'],
    [[{ name: 'new', from: A, to: B }], 'REPO_REF_CONFLICT'],
    [[{ name: 'new', from: null, to: B }, { name: 'a/b/c', from: null, to: B }], 'REPO_REF_BLOCKED'],
    [[{ name: 'new', from: null, to: B }, { name: 'd', from: null, to: B }], 'REPO_REF_BLOCKED'],
    [[{ name: 'p', from: null, to: B }, { name: 'p/q', from: null, to: B }], 'REPO_REF_BLOCKED'],
    [[{ name: 'new', from: null, to: B }, { name: '../../config', from: null, to: B }], 'REPO_BAD_REF_NAME'],
    [[{ name: 'new', from: null, to: B }, { name: 'new', from: null, to: C }], 'REPO_BAD_REF_NAME'],
    [[{ name: 'new', from: null, to: 'B'.repeat(64) }], 'REPO_BAD_OBJECT_NAME'],
  ];
  for (const [updates, code] of cases) {
    await assert.rejects(updateRefs(repo, updates), { code }, JSON.stringify(updates));
    assert.deepEqual([...listRefs(repo)], before);
  }
  // Replacing a by a/b in one set is allowed: the deletion happens first.
  await updateRefs(repo, [{ name: 'a', from: A, to: null }, { name: 'a/b', from: null, to: B }]);
  assert.deepEqual([...listRefs(repo)], [['a/b', B], ['d/e', A]]);
});

test('a leftover journal is completed by the next lock holder', async () => {
  const repo = fresh();
  await updateRefs(repo, [{ name: 'old', from: null, to: A }]);
  // As if a writer died after journalling and writing only the first ref.
  writeJournal(repo, [{ name: 'old', to: null }, { name: 'n/one', to: B }, { name: 'n/two', to: C }]);
  rmSync(repo.resolve('refs/heads/old'));
  await updateRefs(repo, [{ name: 'n/two', from: C, to: A }]);
  assert.deepEqual([...listRefs(repo)], [['n/one', B], ['n/two', A]]);
  writeFileSync(repo.resolve(JOURNAL_REL), '{"version":1,"writes":[{"name":"x"');
  await assert.rejects(updateRefs(repo, [{ name: 'z', from: null, to: A }]), { code: 'REPO_BAD_JOURNAL' });
});
