import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { test } from 'node:test';
import { TransportError } from '../errors.js';
import { freePort, startSshd } from '../../testkit/sshd.js';
import { tmpDir } from '../../testkit/tmp.js';
import { needTools } from '../../testkit/tools.js';
import { classifySshExit, spawnOpenSsh, sshInvocation, type OpenSshOptions } from './openssh.js';

const remote = { kind: 'ssh' as const, host: 'h.example', path: 'my repo' };

test('sshInvocation: ssh [-p PORT] [USER@]HOST and one quoted command word', () => {
  assert.deepEqual(sshInvocation(remote, { env: {} }), { file: 'ssh', args: ['h.example', "ostree-receive --repo='my repo'"] });
  assert.deepEqual(sshInvocation({ ...remote, user: 'u', port: 2222 }, { env: {}, receiveCommand: '/opt/ostree-receive' }).args, [
    '-p',
    '2222',
    'u@h.example',
    "/opt/ostree-receive --repo='my repo'",
  ]);
});

test('--ssh-command and OSTREE_PUSH_SSH_COMMAND run through sh -c with "$@", the option first', async () => {
  const env = { OSTREE_PUSH_SSH_COMMAND: 'from-env -x' };
  assert.equal(sshInvocation(remote, { env }).args[1], 'from-env -x "$@"');
  assert.equal(sshInvocation(remote, { env, sshCommand: 'from-option' }).args[1], 'from-option "$@"');
  // A fake ssh that prints its arguments, one per line: quoting in the command survives.
  const t = spawnOpenSsh({ ...remote, port: 2 }, { env: { PATH: process.env['PATH'] ?? '' }, sshCommand: `printf '%s\\n' 'first arg'` });
  t.stdin.end();
  const out = await text(t.stdout);
  assert.equal(out, "first arg\n-p\n2\nh.example\nostree-receive --repo='my repo'\n");
  assert.equal(await t.exit, 0);
});

test('classifySshExit maps ssh and shell failures to one-line TransportErrors', () => {
  const cases: Array<[number | null, string, string | undefined]> = [
    [0, '', undefined],
    [1, 'ostree-receive: refused\n', undefined],
    [255, 'ssh: connect to host h.example port 22: Connection refused\r\n', 'TRANSPORT_UNREACHABLE'],
    [255, 'ssh: Could not resolve hostname h.example: Name or service not known\n', 'TRANSPORT_UNREACHABLE'],
    [255, 'u@h.example: Permission denied (publickey).\n', 'TRANSPORT_AUTH_FAILED'],
    [255, 'No ED25519 host key is known for h.example and you have requested strict checking.\nHost key verification failed.\n', 'TRANSPORT_HOST_KEY_UNKNOWN'],
    [255, '@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n...\nHost key verification failed.\n', 'TRANSPORT_HOST_KEY_CHANGED'],
    [255, 'something odd\n', 'TRANSPORT_SSH_FAILED'],
    [127, 'bash: line 1: ostree-receive: command not found\n', 'TRANSPORT_RECEIVER_MISSING'],
    [127, 'sh: 1: ostree-receive: not found\n', 'TRANSPORT_RECEIVER_MISSING'],
    // Installed (npm's `#!/usr/bin/env node`), but no node on the server's PATH.
    [127, "/usr/bin/env: 'node': No such file or directory\n", 'TRANSPORT_RECEIVER_NO_NODE'],
    [127, '/usr/bin/env: ‘node’: No such file or directory\n', 'TRANSPORT_RECEIVER_NO_NODE'],
    // A remote shell whose child died by signal N exits 128+N.
    [137, '', 'TRANSPORT_RECEIVER_KILLED'],
    [143, 'bash: line 1: 123 Terminated ostree-receive --repo=x\n', 'TRANSPORT_RECEIVER_KILLED'],
  ];
  for (const [code, stderr, want] of cases) {
    const e = classifySshExit(code, stderr, remote);
    assert.equal(e?.code, want, stderr);
    if (want === 'TRANSPORT_RECEIVER_KILLED') assert.equal(e?.data['signal'], code === 137 ? 'SIGKILL' : 'SIGTERM');
    if (e !== undefined) {
      assert.equal(e.exitCode, 3);
      assert.doesNotMatch(e.message, /\n/);
    }
  }
});

test('the ssh client itself killed by a signal is said as such, not as the receiver killed', async () => {
  // sh -c 'kill -9 $$ # "$@"': the local client process dies by SIGKILL before reaching anyone.
  const t = spawnOpenSsh(remote, { sshCommand: 'kill -9 $$ #', onStderr: () => undefined });
  t.stdin.end();
  t.stdout.resume();
  const e = await t.exit.then(
    (code) => assert.fail(`expected a failure, got exit ${String(code)}`),
    (err: unknown) => err,
  );
  assert.ok(e instanceof TransportError, String(e));
  assert.equal(e.code, 'TRANSPORT_SSH_FAILED');
  assert.equal(e.data['signal'], 'SIGKILL');
  assert.doesNotMatch(e.message, /receiver/);
});

async function failure(options: OpenSshOptions, r: Parameters<typeof spawnOpenSsh>[0]): Promise<{ error: TransportError; stderr: string }> {
  let stderr = '';
  const t = spawnOpenSsh(r, { ...options, onStderr: (c) => (stderr += c.toString()) });
  t.stdin.end();
  t.stdout.resume();
  const error = await t.exit.then(
    (code) => assert.fail(`expected a transport failure, got exit ${String(code)}; stderr: ${stderr}`),
    (e: unknown) => e,
  );
  assert.ok(error instanceof TransportError, String(error));
  return { error, stderr };
}

test('real ssh: a closed port is TRANSPORT_UNREACHABLE', async (t) => {
  if (!needTools(t, 'ssh')) return;
  const port = await freePort();
  const dir = tmpDir(t, 'openssh');
  const sshCommand = `ssh -F /dev/null -o BatchMode=yes -o UserKnownHostsFile=${join(dir, 'kh')}`;
  const { error } = await failure({ sshCommand }, { kind: 'ssh', host: '127.0.0.1', port, path: 'repo' });
  assert.equal(error.code, 'TRANSPORT_UNREACHABLE');
  assert.match(error.message, new RegExp(`^cannot reach 127\\.0\\.0\\.1 port ${port}: .*Connection refused`));
});

test('real sshd: exit codes and messages for auth, host keys and a missing receiver', async (t) => {
  if (!needTools(t, 'sshd', 'ssh')) return;
  const sshd = await startSshd(t, { receiverOnPath: false });
  const r = { kind: 'ssh' as const, host: sshd.host, port: sshd.port, user: sshd.user, path: 'repo' };

  // The harness itself works: a harmless remote command runs and its output comes back.
  const ok = spawnOpenSsh(r, { sshCommand: sshd.sshCommand, receiveCommand: 'echo hello' });
  ok.stdin.end();
  assert.equal(await text(ok.stdout), 'hello --repo=repo\n');
  assert.equal(await ok.exit, 0);
  // Remote commands find the harness's wrappers on PATH (a login's .bashrc may prepend more).
  const path = spawnOpenSsh(r, { sshCommand: sshd.sshCommand, receiveCommand: 'echo "$PATH" #' });
  path.stdin.end();
  assert.ok((await text(path.stdout)).trim().split(':').includes(sshd.binDir));
  assert.equal(await path.exit, 0);

  const denied = await failure({ sshCommand: sshd.strangerSshCommand }, r);
  assert.equal(denied.error.code, 'TRANSPORT_AUTH_FAILED');
  assert.match(denied.error.message, /^authentication to 127\.0\.0\.1 port \d+ failed: .*Permission denied/);

  const missing = await failure({ sshCommand: sshd.sshCommand }, r);
  assert.equal(missing.error.code, 'TRANSPORT_RECEIVER_MISSING');
  assert.match(missing.error.message, /^'ostree-receive' is not installed on 127\.0\.0\.1 or not on its PATH \(the remote shell exited 127\)/);

  const emptyKh = join(sshd.dir, 'empty_known_hosts');
  writeFileSync(emptyKh, '');
  const unknown = await failure({ sshCommand: sshd.sshCommand.replace(sshd.knownHosts, emptyKh) }, r);
  assert.equal(unknown.error.code, 'TRANSPORT_HOST_KEY_UNKNOWN');

  const wrongKh = join(sshd.dir, 'wrong_known_hosts');
  // The user key's public half stands in for a host key that is not the server's.
  const pub = readFileSync(`${sshd.userKey}.pub`, 'utf8').split(' ');
  writeFileSync(wrongKh, `[127.0.0.1]:${sshd.port} ${pub[0]} ${pub[1]}\n`);
  const changed = await failure({ sshCommand: sshd.sshCommand.replace(sshd.knownHosts, wrongKh) }, r);
  assert.equal(changed.error.code, 'TRANSPORT_HOST_KEY_CHANGED');
  assert.equal(changed.error.exitCode, 3);
});
