import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { generateSshKeyPair } from './ssh-keygen.js';
import { TransportError } from '../errors.js';
import { push } from '../protocol/pusher.js';
import { commitTree, initArchiveRepo } from '../repo/builder.js';
import { listRefs } from '../repo/refs.js';
import { Repo } from '../repo/repo.js';
import { freePort } from '../../testkit/sshd.js';
import { startSsh2Server } from '../../testkit/ssh2-server.js';
import { tmpDir } from '../../testkit/tmp.js';
import { connectBuiltinSsh, type BuiltinSshOptions } from './builtin-ssh.js';
import { fingerprint, knownHostsLine } from './known-hosts.js';

function keyPair(dir: string, name: string): { file: string; pub: string } {
  const pair = generateSshKeyPair();
  const file = join(dir, name);
  writeFileSync(file, pair.private, { mode: 0o600 });
  return { file, pub: pair.public };
}

async function setup(t: TestContext) {
  const dir = tmpDir(t, 'builtin-ssh');
  const user = keyPair(dir, 'id_user');
  const server = await startSsh2Server({ authorizedKey: user.pub, baseDir: dir });
  t.after(() => server.close());
  const kh = join(dir, 'known_hosts');
  writeFileSync(kh, `${server.knownHostsLine}\n`);
  const remote = { kind: 'ssh' as const, host: '127.0.0.1', port: server.port, path: 'dest' };
  const options: BuiltinSshOptions = { knownHosts: [kh], identityFiles: [user.file], agent: false, onStderr: () => undefined };
  return { dir, user, server, kh, remote, options };
}

async function refusal(p: Promise<unknown>): Promise<TransportError> {
  const e = await p.then(
    () => assert.fail('expected a refusal'),
    (err: unknown) => err,
  );
  assert.ok(e instanceof TransportError, String(e));
  assert.equal(e.exitCode, 3);
  assert.doesNotMatch(e.message, /\n/);
  return e;
}

test('full then incremental push over the built-in transport to the in-process ssh2 server', async (t) => {
  const { dir, server, remote, options } = await setup(t);
  const src = initArchiveRepo(join(dir, 'src'));
  initArchiveRepo(join(dir, 'dest'));
  const file = (s: string) => ({ type: 'file' as const, content: s });
  const c1 = (await commitTree(src, { tree: { type: 'dir', children: { a: file('one\n'), b: file('two\n') } }, timestamp: 1, branch: 'main' })).commit;

  let stderr = '';
  const once = async () => {
    const link = await connectBuiltinSsh(remote, { ...options, onStderr: (c) => (stderr += c.toString()) });
    const r = await push({ repo: src, input: link.stdout, output: link.stdin, remoteExit: link.exit });
    assert.equal(await link.exit, 0);
    return r;
  };
  const first = await once();
  assert.equal(first.ok, true, first.error?.message);
  assert.equal(listRefs(Repo.open(join(dir, 'dest'))).get('main'), c1);
  const c2 = (await commitTree(src, { tree: { type: 'dir', children: { a: file('one\n'), b: file('three\n') } }, timestamp: 2, branch: 'main', parent: c1 })).commit;
  const second = await once();
  assert.equal(second.ok, true, second.error?.message);
  assert.ok(second.objectsSent > 0 && second.objectsSent < first.objectsSent, `${second.objectsSent} < ${first.objectsSent}`);
  assert.equal(listRefs(Repo.open(join(dir, 'dest'))).get('main'), c2);
  assert.deepEqual(server.commands, ['ostree-receive --repo=dest', 'ostree-receive --repo=dest']);
  assert.equal(stderr, '');
});

test('the exit status arrives although the caller stopped reading stdout (a session with nothing to send)', { timeout: 60_000 }, async (t) => {
  const { dir, remote, options } = await setup(t);
  const src = initArchiveRepo(join(dir, 'src'));
  initArchiveRepo(join(dir, 'dest'));
  await commitTree(src, { tree: { type: 'dir', children: { a: { type: 'file', content: 'one\n' } } }, timestamp: 1, branch: 'main' });
  for (const dryRun of [false, true]) {
    const link = await connectBuiltinSsh(remote, options);
    // A dry run: INFO, then DONE at once; nothing is sent and the pusher stops reading.
    const r = await push({ repo: src, input: link.stdout, output: link.stdin, remoteExit: link.exit, dryRun });
    assert.equal(r.ok, true, r.error?.message);
    link.stdout.destroy();
    assert.equal(await within(link.exit, 15_000, 'the exit status'), 0);
  }
});

/** `p`, or a failure naming `what` after `ms` (a hang fails the test, not the suite). */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

test('an unknown host key is refused with its SHA256 fingerprint, before anything runs', async (t) => {
  const { dir, server, remote, options } = await setup(t);
  const empty = join(dir, 'empty_known_hosts');
  writeFileSync(empty, '');
  const e = await refusal(connectBuiltinSsh(remote, { ...options, knownHosts: [empty] }));
  assert.equal(e.code, 'TRANSPORT_HOST_KEY_UNKNOWN');
  const fp = fingerprint(server.hostKey);
  assert.match(fp, /^SHA256:[A-Za-z0-9+/]{43}$/);
  assert.ok(e.message.includes(fp), e.message);
  assert.match(e.message, /^the ssh-ed25519 host key of 127\.0\.0\.1 port \d+ is not in .*empty_known_hosts; its fingerprint is SHA256:/);
  assert.deepEqual(server.commands, []);
  // No known_hosts file at all: the same refusal.
  const none = await refusal(connectBuiltinSsh(remote, { ...options, knownHosts: [join(dir, 'missing')] }));
  assert.equal(none.code, 'TRANSPORT_HOST_KEY_UNKNOWN');
});

test('a changed host key is refused naming the known_hosts line, and a revoked one too', async (t) => {
  const { dir, server, remote, options } = await setup(t);
  const other = generateSshKeyPair().public.split(' ')[1] ?? '';
  const kh = join(dir, 'changed_known_hosts');
  writeFileSync(kh, `# header\n${knownHostsLine('127.0.0.1', server.port, Buffer.from(other, 'base64'))}\n`);
  const e = await refusal(connectBuiltinSsh(remote, { ...options, knownHosts: [kh] }));
  assert.equal(e.code, 'TRANSPORT_HOST_KEY_CHANGED');
  assert.ok(e.message.includes(fingerprint(server.hostKey)));
  assert.ok(e.message.includes(`${kh}:2`), e.message);

  const revoked = join(dir, 'revoked_known_hosts');
  writeFileSync(revoked, `${server.knownHostsLine}\n@revoked * ${server.knownHostsLine.split(' ').slice(1).join(' ')}\n`);
  const r = await refusal(connectBuiltinSsh(remote, { ...options, knownHosts: [revoked] }));
  assert.equal(r.code, 'TRANSPORT_HOST_KEY_REVOKED');
  assert.deepEqual(server.commands, []);
});

test('a hashed known_hosts entry is accepted', async (t) => {
  const { dir, server, remote, options } = await setup(t);
  const kh = join(dir, 'hashed_known_hosts');
  writeFileSync(kh, `${knownHostsLine('127.0.0.1', server.port, server.hostKey, { hashed: true })}\n`);
  const link = await connectBuiltinSsh(remote, { ...options, knownHosts: [kh], receiveCommand: 'ostree-receive' });
  link.stdin.end();
  link.stdout.resume();
  // The destination does not exist: the receiver says so and exits 1 (the link itself worked).
  assert.equal(await link.exit, 1);
});

test('auth failure, unreachable port, a missing receiver and a bad key file are TransportErrors (exit 3)', async (t) => {
  const { dir, remote, options } = await setup(t);
  const stranger = keyPair(dir, 'id_stranger');
  const auth = await refusal(connectBuiltinSsh(remote, { ...options, identityFiles: [stranger.file] }));
  assert.equal(auth.code, 'TRANSPORT_AUTH_FAILED');
  assert.match(auth.message, /^authentication to 127\.0\.0\.1 port \d+ failed: the server refused .*id_stranger$/);

  // Neither an agent nor a key: said as such (not "the server refused no agent"), with how to give a key.
  const { identityFiles: _, agent: __, ...noAuth } = options;
  const noKeys = await refusal(connectBuiltinSsh(remote, { ...noAuth, home: dir, env: {} }));
  assert.equal(noKeys.code, 'TRANSPORT_AUTH_FAILED');
  assert.deepEqual(noKeys.data['offered'], []);
  assert.doesNotMatch(noKeys.message, /refused/);
  for (const part of ['SSH_AUTH_SOCK is not set', join(dir, '.ssh'), '-i FILE']) assert.ok(noKeys.message.includes(part), `${part} in: ${noKeys.message}`);
  assert.equal(auth.data['offered'] instanceof Array && auth.data['offered'].length, 1);

  const closed = await freePort();
  const unreachable = await refusal(connectBuiltinSsh({ ...remote, port: closed }, options));
  assert.equal(unreachable.code, 'TRANSPORT_UNREACHABLE');
  assert.equal(unreachable.message, `cannot reach 127.0.0.1 port ${closed}: ECONNREFUSED`);

  const link = await connectBuiltinSsh(remote, { ...options, receiveCommand: 'ostree-receive-9' });
  link.stdin.end();
  link.stdout.resume();
  const missing = await refusal(link.exit);
  assert.equal(missing.code, 'TRANSPORT_RECEIVER_MISSING');

  const garbage = join(dir, 'garbage_key');
  writeFileSync(garbage, 'not a key\n');
  const bad = await refusal(connectBuiltinSsh(remote, { ...options, identityFiles: [garbage] }));
  assert.equal(bad.code, 'TRANSPORT_BAD_KEY');
  const unreadable = await refusal(connectBuiltinSsh(remote, { ...options, identityFiles: [join(dir, 'nope')] }));
  assert.equal(unreadable.code, 'TRANSPORT_BAD_KEY');
});

test('regression: the built-in client sets TCP_NODELAY on its socket before it starts the receiver', async (t) => {
  // Without it, a stop-and-wait push crawled: Nagle's algorithm against the
  // peer's delayed ACKs cost ~40 ms per object. The time a push takes is a
  // bench figure (bench/: ssh2-stop-and-wait against stop-and-wait over OpenSSH).
  const { dir, server, remote, options } = await setup(t);
  initArchiveRepo(join(dir, 'dest'));
  const calls: Array<{ remotePort: number | undefined; noDelay: boolean | undefined }> = [];
  const original = Socket.prototype.setNoDelay;
  Socket.prototype.setNoDelay = function (this: Socket, noDelay?: boolean) {
    calls.push({ remotePort: this.remotePort, noDelay });
    return original.call(this, noDelay);
  };
  let link: Awaited<ReturnType<typeof connectBuiltinSsh>>;
  try {
    link = await connectBuiltinSsh(remote, options);
  } finally {
    Socket.prototype.setNoDelay = original;
  }
  // The client's socket is the one whose far end is the server's port.
  assert.deepEqual(
    calls.filter((c) => c.remotePort === server.port),
    [{ remotePort: server.port, noDelay: true }],
  );
  link.stdin.end();
  link.stdout.resume();
  await link.exit.catch(() => undefined);
});
