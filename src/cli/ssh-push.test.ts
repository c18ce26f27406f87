/**
 * ostree-push over real ssh: a real OpenSSH sshd on a loopback port
 * (testkit/sshd.ts), the default OpenSSH transport, our receiver on the
 * remote PATH; the destination is checked with `ostree fsck`. Error paths
 * check the exact message and exit status. ssh-shell.test.ts: the same
 * behind ostree-receive-shell.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort, startSshd } from '../../testkit/sshd.js';
import { ostreeInit } from '../../testkit/ostree.js';
import { fixture, fullThenIncremental, ostreePush, remoteOf } from '../../testkit/ssh-push.js';
import { needTools } from '../../testkit/tools.js';

test('real sshd, default OpenSSH transport: full then incremental push, fsck clean', async (t) => {
  if (!needTools(t, 'sshd', 'ssh', 'ostree')) return;
  await fullThenIncremental(t, await startSshd(t), { again: true });
});

test('CLI error paths over ssh: exit 3 for the link, 1 for the remote side, one clear line', async (t) => {
  if (!needTools(t, 'sshd', 'ssh', 'ostree')) return;
  const f = await fixture(t);
  const sshd = await startSshd(t, { receiverOnPath: false });
  const push = (ssh: string, remote: string, more: string[] = []) => ostreePush([`--repo=${f.src.path}`, `--ssh-command=${ssh}`, ...more, remote]);

  const missing = await push(sshd.sshCommand, remoteOf(sshd, f.dest));
  assert.equal(missing.code, 3);
  assert.match(missing.stderr, /^ostree-push: 'ostree-receive' is not installed on 127\.0\.0\.1 or not on its PATH \(the remote shell exited 127\): install ostree-push there or give --receive-command$/m);

  const denied = await push(sshd.strangerSshCommand, remoteOf(sshd, f.dest));
  assert.equal(denied.code, 3);
  assert.match(denied.stderr, /^ostree-push: authentication to 127\.0\.0\.1 port \d+ failed: .*Permission denied \(publickey\)\.$/m);

  const port = await freePort();
  const refused = await push(sshd.sshCommand, `ssh://${sshd.user}@127.0.0.1:${port}${f.dest}`);
  assert.equal(refused.code, 3);
  assert.match(refused.stderr, new RegExp(`^ostree-push: cannot reach 127\\.0\\.0\\.1 port ${port}: ssh: connect to host 127\\.0\\.0\\.1 port ${port}: Connection refused$`, 'm'));

  // With the receiver installed: a missing repository and a bare one are the remote's refusals (exit 1).
  const good = await startSshd(t);
  const nope = await push(good.sshCommand, remoteOf(good, join(f.dir, 'nope')));
  assert.equal(nope.code, 1, nope.stderr);
  assert.match(nope.stderr, /^ostree-push: the receiver on .* failed before the session began \(exit 1\): ostree-receive: .*nope.* is not an OSTree repository/m);
  const bare = join(f.dir, 'bare');
  await ostreeInit(bare, 'bare');
  const notArchive = await push(good.sshCommand, remoteOf(good, bare));
  assert.equal(notArchive.code, 1, notArchive.stderr);
  assert.match(notArchive.stderr, /archive/);
  assert.equal(notArchive.stderr.split('\n').filter((l) => l.startsWith('ostree-push:')).length, 1, notArchive.stderr);
});
