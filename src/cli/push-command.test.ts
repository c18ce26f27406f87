import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { OstreePushError } from '../errors.js';
import { tmpDir } from '../../testkit/tmp.js';
import { ZERO_CHECKSUM } from '../wire/constants.js';
import { defaultRepoPath, looksLikeRepo } from './default-repo.js';
import { errorLines } from './run-main.js';
import { parseDestination } from './push-command.js';
import { formatBytes, refLine } from './push-report.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);

test('parseDestination: local paths and file:/// URLs here, ssh forms remote (transport/remote.test.ts has the rest)', () => {
  assert.deepEqual(parseDestination('/srv/repo'), { kind: 'local', path: '/srv/repo' });
  assert.deepEqual(parseDestination('rel/repo'), { kind: 'local', path: 'rel/repo' });
  assert.deepEqual(parseDestination('./a:b'), { kind: 'local', path: './a:b' });
  assert.deepEqual(parseDestination('file:///srv/my%20repo'), { kind: 'local', path: '/srv/my repo' });
  assert.deepEqual(parseDestination('file://localhost/srv/repo'), { kind: 'local', path: '/srv/repo' });
  assert.deepEqual(parseDestination('user@host:repo'), { kind: 'ssh', user: 'user', host: 'host', path: 'repo' });
  assert.deepEqual(parseDestination('ssh://host/srv/repo'), { kind: 'ssh', host: 'host', path: '/srv/repo' });
  assert.throws(() => parseDestination('file://otherhost/srv/repo'), (e: OstreePushError) => e.code === 'PUSH_BAD_REMOTE' && e.exitCode === 2);
});

test("defaultRepoPath follows ostree: the current directory if it is a repo, then $OSTREE_REPO, then /ostree/repo", (t) => {
  const dir = tmpDir(t, 'defrepo');
  assert.equal(looksLikeRepo(dir), false);
  assert.equal(defaultRepoPath({ OSTREE_REPO: '/x' }, dir), '/x');
  assert.equal(defaultRepoPath({}, dir), '/ostree/repo');
  assert.equal(defaultRepoPath({ OSTREE_REPO: '' }, dir), '/ostree/repo');
  mkdirSync(`${dir}/objects`);
  writeFileSync(`${dir}/config`, '[core]\nrepo_version=1\nmode=archive-z2\n');
  assert.equal(defaultRepoPath({ OSTREE_REPO: '/x' }, dir), dir);
});

test('refLine prints git-style lines', () => {
  assert.equal(refLine({ ref: 'main', from: ZERO_CHECKSUM, to: A, status: 'pushed' }), ' * [new branch]      aaaaaaa -> main');
  assert.equal(refLine({ ref: 'main', from: A, to: B, status: 'pushed' }), '   aaaaaaa..bbbbbbb  main');
  assert.equal(refLine({ ref: 'main', from: A, to: B, status: 'pushed', forced: true }), ' + aaaaaaa...bbbbbbb main (forced update)');
  assert.equal(refLine({ ref: 'main', from: A, to: B, status: 'rejected', reason: 'non-fast-forward' }), ' ! [rejected]        main (non-fast-forward)');
  assert.equal(refLine({ ref: 'main', from: A, to: B, status: 'refused', reason: 'no' }), ' ! [remote rejected] main (no)');
  assert.equal(refLine({ ref: 'main', from: A, to: A, status: 'up-to-date' }), ' = [up to date]      main');
  assert.equal(formatBytes(10), '10 bytes');
  assert.equal(formatBytes(1536), '1.50 KiB');
});

test('errorLines: one line, newlines folded, never a stack', () => {
  const lines = errorLines('ostree-push', new OstreePushError('USAGE', 'bad\nthing'));
  assert.deepEqual(lines, ['ostree-push: bad thing']);
  assert.deepEqual(errorLines('ostree-push', new Error('boom')), ['ostree-push: boom']);
});
