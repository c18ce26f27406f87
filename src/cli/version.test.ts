/**
 * `--version` on the three commands: `<command> <version>` from package.json
 * on stdout, exit 0; and the restricted shell lets `ostree-receive --version`
 * through its command filter.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseReceiveCommand, receiverArgs, RECEIVE_NAMES } from './receive-shell.js';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

function run(entry: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const file = fileURLToPath(new URL(`./${entry}.ts`, import.meta.url));
  return spawnSync(process.execPath, ['--import', 'tsx', file, ...args], { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '', ...env }, timeout: 30_000 });
}

test('--version: each command prints its name and the package version on stdout and exits 0', () => {
  assert.match(VERSION, /^\d+\.\d+\.\d+/);
  for (const name of ['ostree-push', 'ostree-receive', 'ostree-receive-shell']) {
    const r = run(name, ['--version']);
    assert.equal(r.stdout, `${name} ${VERSION}\n`, `${name}: ${r.stderr}`);
    assert.equal(r.stderr, '');
    assert.equal(r.status, 0);
  }
});

test('ostree-receive-shell lets `ostree-receive --version` through, as a login shell and as a ForceCommand', () => {
  for (const name of RECEIVE_NAMES) {
    const inv = parseReceiveCommand(`${name} --version`);
    assert.deepEqual(inv, { name, version: true });
    assert.equal(receiverArgs(inv).at(-1), '--version');
  }
  assert.throws(() => parseReceiveCommand('ostree-receive --version --repo=r'), (e: Error & { code?: string }) => e.code === 'SHELL_REFUSED');
  assert.throws(() => parseReceiveCommand('ostree-receive --repo=r --version'), (e: Error & { code?: string }) => e.code === 'SHELL_REFUSED');
  const login = run('ostree-receive-shell', ['-c', 'ostree-receive --version']);
  assert.equal(login.stdout, `ostree-receive ${VERSION}\n`, login.stderr);
  assert.equal(login.status, 0);
  const forced = run('ostree-receive-shell', [], { SSH_ORIGINAL_COMMAND: 'ostree-receive-0 --version' });
  assert.equal(forced.stdout, `ostree-receive ${VERSION}\n`, forced.stderr);
  assert.equal(forced.status, 0);
});
