/**
 * The OpenSSH control master of the pull form (forward.ts) against a real
 * sshd: the port the server chose, a command's exit status, and nothing
 * left running or on disk after close(), even when the user's options ask
 * the master to persist in the background.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { startSshd } from '../../testkit/sshd.js';
import { needTools } from '../../testkit/tools.js';
import { openSshForwarding } from './forward.js';
import { shellQuote } from './transport.js';

/** The ssh masters for this sshd's port still running (the port is unique to the test), from /proc. */
function mastersFor(port: number): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    let args: string[];
    try {
      args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // gone meanwhile
    }
    const p = args.indexOf('-p');
    if (args.includes('-M') && p >= 0 && args[p + 1] === String(port)) found.push(args.join(' '));
  }
  return found;
}

test('forward, run, close: the server port, the exit status, no master left even with ControlPersist asked for', async (t) => {
  if (!needTools(t, 'sshd', 'ssh')) return;
  const sshd = await startSshd(t);
  const http = createServer((_req, res) => res.end('through the tunnel\n'));
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
  t.after(() => new Promise<void>((r) => http.close(() => r())));
  const output: Buffer[] = [];
  const link = await openSshForwarding(
    { kind: 'ssh', host: '127.0.0.1', user: sshd.user, port: sshd.port, path: '/' },
    { sshCommand: sshd.sshCommand, sshOptions: ['-o', 'ControlPersist=60'], onOutput: (c) => output.push(c) },
  );
  try {
    const port = await link.forward((http.address() as AddressInfo).port);
    assert.ok(port > 0 && port < 65536);
    // The server reaches our HTTP server through its own loopback port.
    const fetched = await link.run(`${shellQuote(process.execPath)} -e ${shellQuote(`fetch('http://127.0.0.1:${port}/').then((r) => r.text()).then((t) => process.stdout.write(t))`)}`);
    assert.equal(fetched, 0, Buffer.concat(output).toString());
    assert.match(Buffer.concat(output).toString(), /through the tunnel/);
    assert.equal(await link.run('exit 7'), 7);
    assert.equal(await link.run('no-such-command-here'), 127);
  } finally {
    await link.close();
  }
  assert.deepEqual(mastersFor(sshd.port), []);
});
