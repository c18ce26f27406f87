/**
 * The README's exit statuses, the same on every transport: a local path, the
 * system OpenSSH client against a real sshd (testkit/sshd.ts), and the
 * built-in client against the in-process ssh2 server. 0 nothing to do; 1
 * rejected here (non-fast-forward) or refused by the remote, a missing
 * destination included (the receiver says so); 2 a missing or unsupported
 * source; 3 the link or the receiver's process failed (killed by a signal).
 * Errors are matched by the code --json reports.
 */
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { commitTree, initArchiveRepo } from '../repo/builder.js';
import { Repo } from '../repo/repo.js';
import { startSsh2Server } from '../../testkit/ssh2-server.js';
import { startSshd } from '../../testkit/sshd.js';
import { ostreePush, remoteOf, tree, type Run } from '../../testkit/ssh-push.js';
import { tmpDir } from '../../testkit/tmp.js';
import { needTools } from '../../testkit/tools.js';
import { spawnLocalReceiver } from '../transport/local.js';
import { generateSshKeyPair } from '../transport/ssh-keygen.js';
import type { PushIo } from './push-command.js';

interface Outcome {
  code: number;
  error: string | null;
  stderr: string;
}

/** One transport: how to push to a path, and how to make its receiver die by SIGKILL. */
interface Via {
  push(args: string[], path: string, io?: Partial<PushIo>): Promise<Run>;
  killed(args: string[], path: string): Promise<Run>;
}

async function sources(t: TestContext) {
  const dir = tmpDir(t, 'exit-status');
  const src = initArchiveRepo(join(dir, 'src'));
  const c1 = (await commitTree(src, { tree: tree(2), timestamp: 1, branch: 'main' })).commit;
  const splitXattrs = Repo.init(join(dir, 'split-xattrs'), { mode: 'bare-split-xattrs' });
  const dest = join(dir, 'dest');
  initArchiveRepo(dest);
  return { dir, src, c1, splitXattrs, dest };
}

function outcome(r: Run): Outcome {
  const line = r.stdout.trim().split('\n').pop() ?? '';
  const error = line === '' ? null : ((JSON.parse(line) as { error: { code: string } | null }).error?.code ?? null);
  return { code: r.code, error, stderr: r.stderr };
}

/** Runs every case of the rule; returns what the killed receiver's push printed. */
async function checkRule(t: TestContext, via: Via): Promise<Outcome> {
  const f = await sources(t);
  const expect = async (what: string, r: Run, code: number, error: string | null): Promise<Outcome> => {
    const o = outcome(r);
    assert.deepEqual([o.code, o.error], [code, error], `${what}: ${o.stderr}`);
    assert.equal(o.stderr.split('\n').filter((l) => l.startsWith('ostree-push:')).length, code === 0 ? 0 : 1, `${what}: one line: ${o.stderr}`);
    return o;
  };
  const src = `--repo=${f.src.path}`;
  await expect('first push', await via.push([src, '--json'], f.dest), 0, null);
  await expect('up to date', await via.push([src, '--json'], f.dest), 0, null);
  await expect('missing source', await via.push([`--repo=${join(f.dir, 'nosrc')}`, '--json'], f.dest), 2, 'PUSH_SOURCE_NOT_REPO');
  await expect('bare-split-xattrs source', await via.push([`--repo=${f.splitXattrs.path}`, '--json'], f.dest), 2, 'PUSH_SOURCE_UNSUPPORTED');
  const nodest = await expect('missing destination', await via.push([src, '--json'], join(f.dir, 'nodest')), 1, 'PUSH_RECEIVER_FAILED');
  assert.match(nodest.stderr, /nodest is not an OSTree repository/);
  const killed = await expect('receiver killed', await via.killed([src, '--json'], f.dest), 3, 'TRANSPORT_RECEIVER_KILLED');
  await commitTree(f.src, { tree: tree(3), timestamp: 2, branch: 'main' });
  await expect('non-fast-forward', await via.push([src, '--json'], f.dest), 1, 'PUSH_REJECTED');
  return killed;
}

test('exit statuses over a local path', { timeout: 120_000 }, async (t) => {
  const via: Via = {
    push: (args, path, io) => ostreePush([...args, path], io),
    // The receiver dies by SIGKILL as soon as it starts.
    killed: (args, path) =>
      via.push(args, path, {
        spawn: (p) => {
          const link = spawnLocalReceiver(p, { stderr: 'pipe' });
          process.kill(link.pid ?? 0, 'SIGKILL');
          return link;
        },
      }),
  };
  const killed = await checkRule(t, via);
  assert.match(killed.stderr, /^ostree-push: the receiver \(.*dest\) was killed by SIGKILL/m);
});

test('exit statuses over ssh with OpenSSH (real sshd)', { timeout: 180_000 }, async (t) => {
  if (!needTools(t, 'sshd', 'ssh', 'ostree')) return;
  const sshd = await startSshd(t);
  const ssh = `--ssh-command=${sshd.sshCommand}`;
  const via: Via = {
    push: (args, path) => ostreePush([ssh, ...args, remoteOf(sshd, path)]),
    // A remote shell that sees its child die by SIGKILL exits 137: the signal is named.
    killed: (args, path) => via.push([...args, `--receive-command=sh -c 'kill -9 $$'; exit $? #`], path),
  };
  const named = await checkRule(t, via);
  const f = await sources(t);
  assert.match(named.stderr, /^ostree-push: the receiver on 127\.0\.0\.1 port \d+ was killed by SIGKILL \(the remote shell reported status 137\)/m);
  // The receiver itself killed: OpenSSH exits 255 without a word, and does not say which signal.
  const silent = outcome(await via.push([`--repo=${f.src.path}`, '--json', '--receive-command=kill -9 $$ #'], f.dest));
  assert.deepEqual([silent.code, silent.error], [3, 'TRANSPORT_RECEIVER_KILLED'], silent.stderr);
  // Installed by npm, the receiver starts with `#!/usr/bin/env node`: without node on the PATH, say that.
  const script = join(f.dir, 'ostree-receive');
  writeFileSync(script, '#!/usr/bin/env -S node --max-semi-space-size=4\n');
  chmodSync(script, 0o755);
  const noNode = outcome(await via.push([`--repo=${f.src.path}`, '--json', `--receive-command=PATH=/nonexistent ${script}`], f.dest));
  assert.deepEqual([noNode.code, noNode.error], [3, 'TRANSPORT_RECEIVER_NO_NODE'], noNode.stderr);
  assert.doesNotMatch(noNode.stderr, /not installed/);
});

test('exit statuses over ssh with the built-in client (in-process ssh2 server)', { timeout: 120_000 }, async (t) => {
  const dir = tmpDir(t, 'exit-status-ssh2');
  const pair = generateSshKeyPair();
  const key = join(dir, 'id_user');
  writeFileSync(key, pair.private, { mode: 0o600 });
  // A receiver whose path says 'killed' dies by SIGKILL: the server reports the signal, as sshd does.
  let kill = false;
  const server = await startSsh2Server({
    authorizedKey: pair.public,
    baseDir: dir,
    intercept: (_command, channel) => {
      if (!kill) return false;
      channel.exit('KILL', false, '');
      channel.end();
      return true;
    },
  });
  t.after(() => server.close());
  const kh = join(dir, 'known_hosts');
  writeFileSync(kh, `${server.knownHostsLine}\n`);
  const env = { ...process.env };
  delete env['SSH_AUTH_SOCK'];
  const via: Via = {
    push: (args, path) => ostreePush(['--ssh=builtin', '-i', key, `--known-hosts=${kh}`, ...args, `ssh://127.0.0.1:${server.port}${path}`], { env }),
    killed: async (args, path) => {
      kill = true;
      try {
        return await via.push(args, path);
      } finally {
        kill = false;
      }
    },
  };
  const r = await checkRule(t, via);
  assert.match(r.stderr, /^ostree-push: the receiver on 127\.0\.0\.1 port \d+ was killed by SIGKILL/m);
});
