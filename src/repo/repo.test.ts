import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { needTools } from '../../testkit/tools.js';
import { parseKeyFile } from './config.js';
import { Repo, REPO_DIRS } from './repo.js';

const scratch = mkdtempSync(join(tmpdir(), 'repo-test-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => join(scratch, `r${n++}`);

function tree(root: string): string[] {
  return execFileSync('find', ['.', '-printf', '%y %m %p\\n'], { cwd: root, encoding: 'utf8' }).trim().split('\n').sort();
}

test('key file: comments, whitespace, merged groups, last key wins, escapes', () => {
  const kf = parseKeyFile('# top\n\n  [core]  \n  repo_version = 1\r\nmode=bare\nmode=archive-z2\n[remote "o"]\nurl=a\\sb\\\\c\n[core]\nextra=x  \n');
  assert.equal(kf.getString('core', 'repo_version'), '1');
  assert.equal(kf.getString('core', 'mode'), 'archive-z2');
  assert.equal(kf.getString('core', 'extra'), 'x  ', 'trailing whitespace of a value is kept, as GKeyFile does');
  assert.equal(kf.getString('remote "o"', 'url'), 'a b\\c');
  assert.equal(kf.getString('core', 'nope'), undefined);
});

test('key file: malformed input is REPO_BAD_CONFIG', () => {
  for (const text of ['k=v\n', '[core\n', '[core]\njunk\n', '[core]\n=v\n', '[core]\nk=\\q\n']) {
    assert.throws(
      () => {
        const kf = parseKeyFile(text);
        kf.getString('core', 'k');
      },
      { code: 'REPO_BAD_CONFIG' },
      JSON.stringify(text),
    );
  }
});

test('init writes what ostree init --mode=archive writes', (t) => {
  const ours = fresh();
  const repo = Repo.init(ours, { mode: 'archive' });
  assert.equal(readFileSync(join(ours, 'config'), 'utf8'), '[core]\nrepo_version=1\nmode=archive-z2\n');
  assert.equal(repo.mode, 'archive');
  assert.equal(repo.modeNumber, 1);
  for (const d of REPO_DIRS) assert.ok(tree(ours).includes(`d 755 ./${d}`), d);
  assert.throws(() => Repo.init(ours), { code: 'REPO_EXISTS' });
  if (!needTools(t, 'ostree')) return;
  const theirs = fresh();
  execFileSync('ostree', ['init', `--repo=${theirs}`, '--mode=archive']);
  assert.deepEqual(tree(ours), tree(theirs));
  assert.equal(readFileSync(join(ours, 'config'), 'utf8'), readFileSync(join(theirs, 'config'), 'utf8'));
  // and ostree accepts ours
  execFileSync('ostree', ['refs', `--repo=${ours}`]);
});

test('open maps every mode ostree writes to libostree numbers', (t) => {
  if (!needTools(t, 'ostree')) return;
  const expect = { bare: 0, archive: 1, 'bare-user': 2, 'bare-user-only': 3, 'bare-split-xattrs': 4 } as const;
  for (const [mode, num] of Object.entries(expect)) {
    const p = fresh();
    execFileSync('ostree', ['init', `--repo=${p}`, `--mode=${mode}`]);
    const repo = Repo.open(p);
    assert.equal(repo.modeNumber, num, mode);
    // Every mode's objects can be read but bare-split-xattrs' (bare-object-store.ts).
    if (mode === 'bare-split-xattrs') assert.throws(() => repo.objects, { code: 'REPO_UNSUPPORTED_MODE' });
    else assert.equal(typeof repo.objects.statSync, 'function', mode);
  }
});

test('open refuses what it cannot serve, one clear line each', () => {
  const missing = fresh();
  assert.throws(() => Repo.open(missing), { code: 'REPO_NOT_FOUND', message: `${missing} is not an OSTree repository (no config)` });
  const cases: [string, string][] = [
    ['[core]\nrepo_version=2\nmode=archive-z2\n', 'REPO_UNSUPPORTED_VERSION'],
    ['[core]\nrepo_version=1  \nmode=archive-z2\n', 'REPO_UNSUPPORTED_VERSION'],
    ['[core]\nmode=archive-z2\n', 'REPO_UNSUPPORTED_VERSION'],
    ['[core]\nrepo_version=1\nmode=foo\n', 'REPO_UNSUPPORTED_MODE'],
    ['[other]\nrepo_version=1\n', 'REPO_BAD_CONFIG'],
    ['garbage\n', 'REPO_BAD_CONFIG'],
  ];
  for (const [config, code] of cases) {
    const p = fresh();
    mkdirSync(p);
    writeFileSync(join(p, 'config'), config);
    assert.throws(() => Repo.open(p), (e: Error & { code?: string }) => e.code === code && !e.message.includes('\n'), config);
  }
  const p = fresh();
  mkdirSync(p);
  writeFileSync(join(p, 'config'), '[core]\nrepo_version=1\n');
  assert.equal(Repo.open(p).mode, 'bare', 'a missing mode means bare, as in libostree');
});

test('archive object store: has, stat, openRead, list', async () => {
  const repo = Repo.init(fresh());
  const c = 'ab'.padEnd(64, '0');
  mkdirSync(repo.resolve('objects', 'ab'));
  writeFileSync(repo.resolve('objects', 'ab', `${c.slice(2)}.dirmeta`), Buffer.from('0000000000000000000041ed', 'hex'));
  writeFileSync(repo.resolve('objects', 'ab', '.tmp-junk'), 'x');
  assert.equal(await repo.objects.has(c, 'dirmeta'), true);
  assert.equal(await repo.objects.has(c, 'dirtree'), false);
  assert.deepEqual(await repo.objects.stat(c, 'dirmeta'), { size: 12 });
  const chunks: Buffer[] = [];
  for await (const chunk of await repo.objects.openRead(c, 'dirmeta')) chunks.push(chunk as Buffer);
  assert.equal(Buffer.concat(chunks).toString('hex'), '0000000000000000000041ed');
  await assert.rejects(repo.objects.openRead(c, 'commit'), { code: 'REPO_OBJECT_MISSING' });
  await assert.rejects(repo.objects.has('../etc', 'commit'), { code: 'REPO_BAD_OBJECT_NAME' });
  const listed = [];
  for await (const o of repo.objects.list()) listed.push(o);
  assert.deepEqual(listed, [{ checksum: c, type: 'dirmeta' }]);
});
