/**
 * Keep-alives follow the push's idle timeout: OpenSSH gets
 * ServerAliveInterval/ServerAliveCountMax as -o options (ssh itself, or a
 * --ssh-command whose program is ssh; another program may not know -o).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keepAliveFor, sshInvocation } from './openssh.js';

const remote = { kind: 'ssh' as const, host: 'h.example', path: 'r', port: 2222 };

test('keepAliveFor: three probes spread over the idle time, at least one second apart', () => {
  assert.deepEqual(keepAliveFor(60_000), { intervalSeconds: 20, countMax: 3 });
  assert.deepEqual(keepAliveFor(200), { intervalSeconds: 1, countMax: 3 });
});

test('OpenSSH gets -o ServerAliveInterval and ServerAliveCountMax before the host', () => {
  const keepAlive = keepAliveFor(60_000);
  assert.deepEqual(sshInvocation(remote, { env: {}, keepAlive }).args, ['-o', 'ServerAliveInterval=20', '-o', 'ServerAliveCountMax=3', '-p', '2222', 'h.example', "ostree-receive --repo=r"]);
  const viaSsh = sshInvocation(remote, { env: {}, keepAlive, sshCommand: '/usr/bin/ssh -F cfg' }).args;
  assert.deepEqual(viaSsh.slice(3, 7), ['-o', 'ServerAliveInterval=20', '-o', 'ServerAliveCountMax=3']);
  // Not ssh: no -o it may not understand.
  assert.ok(!sshInvocation(remote, { env: {}, keepAlive, sshCommand: 'my-tunnel --x' }).args.includes('-o'));
  assert.ok(!sshInvocation(remote, { env: {} }).args.includes('-o'));
});
