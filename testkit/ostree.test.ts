import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { OstreeCommandError, ostree, ostreeCommit, ostreeFsck, ostreeInit, ostreeRefs, ostreeRevParse } from './ostree.js';
import { tmpDir } from './tmp.js';
import { needTools } from './tools.js';

test('ostree wrappers: init, commit, rev-parse, refs, fsck, and failures that name the command', async (t) => {
  if (!needTools(t, 'ostree')) return;
  const dir = tmpDir(t, 'ostree-kit');
  const repo = join(dir, 'repo');
  await ostreeInit(repo, 'archive');
  assert.match(readFileSync(join(repo, 'config'), 'utf8'), /mode=archive-z2/);
  const tree = join(dir, 'tree');
  mkdirSync(tree);
  writeFileSync(join(tree, 'f'), 'x\n');
  const c = await ostreeCommit(repo, tree, { branch: 'a/b', subject: 'it\'s quoted', timestamp: new Date('2024-01-02T03:04:05Z'), metadataStrings: { version: '1' } });
  assert.match(c, /^[0-9a-f]{64}$/);
  assert.equal(await ostreeRevParse(repo, 'a/b'), c);
  assert.match(await ostree(['show', `--repo=${repo}`, c]), /Date:\s+2024-01-02 03:04:05 \+0000/);
  assert.deepEqual(await ostreeRefs(repo), ['a/b']);
  assert.equal((await ostreeFsck(repo)).ok, true);

  rmSync(join(repo, 'objects', c.slice(0, 2), `${c.slice(2)}.commit`));
  const broken = await ostreeFsck(repo);
  assert.equal(broken.ok, false);
  assert.match(broken.command, /^ostree fsck --repo=/);

  await assert.rejects(ostreeRevParse(repo, 'nope'), (e: unknown) => {
    assert.ok(e instanceof OstreeCommandError);
    assert.match(e.message, /ostree rev-parse --repo=\S+ nope/);
    assert.match(e.message, /nope/);
    return true;
  });
});
