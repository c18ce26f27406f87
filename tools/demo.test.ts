import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

test('npm run demo: full and incremental push over the in-process ssh server, verified, exit 0', () => {
  const entry = fileURLToPath(new URL('./demo.ts', import.meta.url));
  const r = spawnSync(process.execPath, ['--import', 'tsx', entry], { encoding: 'utf8', env: { ...process.env, DEMO_CLEAN: '1' }, timeout: 60_000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /\* \[new branch\] +\w{7} -> demo\/x86_64\/stable/);
  assert.match(r.stdout, /incremental push: \d+ objects/);
  assert.match(r.stdout, /exit 3, nothing sent:\n +ostree-push: the ssh-ed25519 host key of 127\.0\.0\.1 port \d+ is not in .*; its fingerprint is SHA256:[A-Za-z0-9+/]{43}:/);
  assert.match(r.stdout, /2 commits, 24 objects .* all intact\./);
  assert.match(r.stdout, /demo: OK\n$/);
});
