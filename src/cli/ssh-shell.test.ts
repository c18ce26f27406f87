/**
 * The restricted-shell deployment over real ssh: sshd with ForceCommand
 * ostree-receive-shell. A push works as without it; any other command is
 * refused; the configured root holds whichever receiver name is asked for.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { startSshd } from '../../testkit/sshd.js';
import { ostreeRevParse } from '../../testkit/ostree.js';
import { fixture, fullThenIncremental, ostreePush, remoteOf } from '../../testkit/ssh-push.js';
import { tmpDir } from '../../testkit/tmp.js';
import { needTools } from '../../testkit/tools.js';

test('real sshd, ostree-receive-shell as ForceCommand: the same push works, anything else is refused', async (t) => {
  if (!needTools(t, 'sshd', 'ssh', 'ostree')) return;
  const dir = tmpDir(t, 'ssh-shell');
  const root = join(dir, 'root');
  mkdirSync(root);
  const conf = join(dir, 'receive.conf');
  writeFileSync(conf, `root: /\n`);
  const sshd = await startSshd(t, { forceShell: true, env: { OSTREE_RECEIVE_CONF: conf } });
  await fullThenIncremental(t, sshd);

  const f = await fixture(t);
  const refused = await ostreePush([`--repo=${f.src.path}`, `--ssh-command=${sshd.sshCommand}`, '--receive-command=sh -c id', remoteOf(sshd, f.dest)]);
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /ostree-receive-shell: refused: 'sh' is not allowed; this account only runs ostree-receive, ostree-receive-0, ostree-receive-1\n/);
  assert.match(refused.stderr, /^ostree-push: the receiver on .* failed before the session began \(exit 1\): ostree-receive-shell: refused: 'sh' is not allowed/m);

  // Confinement holds whichever receiver name is asked for.
  writeFileSync(conf, `root: ${root}\n`);
  for (const name of ['ostree-receive', 'ostree-receive-0', 'ostree-receive-1']) {
    const r = await ostreePush([`--repo=${f.src.path}`, `--ssh-command=${sshd.sshCommand}`, `--receive-command=${name}`, remoteOf(sshd, f.dest)]);
    assert.equal(r.code, 1, `${name}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`ostree-receive: repository '${f.dest}' is outside the configured root ${root}: not below it\\n`), name);
  }
  await assert.rejects(ostreeRevParse(f.dest, 'main'));
});
