/**
 * The runner's command line: TAP and the summary table, --json, --only,
 * and the exit status (1 when a core case fails, 2 for usage errors).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('./cli.ts', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', cli, ...args], { encoding: 'utf8', timeout: 60_000 });

it('a receiver that speaks nothing fails a core case: TAP, summary, exit 1', () => {
  const r = run('--receiver', 'cat >/dev/null; true {repo}', '--only', 'receiver/info-empty-repository', '--timeout', '2000');
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stdout, /^TAP version 13\n1\.\.1\n/);
  assert.match(r.stdout, /^not ok 1 - receiver\/info-empty-repository/m);
  assert.match(r.stdout, /^# \| core \| 1 \| 0 \| 1 \|/m);
});

it('--json reports each result and whether a core case failed', () => {
  const r = run('--receiver', 'cat >/dev/null; true {repo}', '--only', '/^receiver\\/info-empty/', '--timeout', '2000', '--json');
  const out = JSON.parse(r.stdout) as { results: { id: string; status: string }[]; coreFailed: boolean };
  assert.deepEqual(out.results.map((x) => [x.id, x.status]), [['receiver/info-empty-repository', 'fail']]);
  assert.equal(out.coreFailed, true);
});

it('usage errors exit 2', () => {
  assert.equal(run().status, 2);
  assert.equal(run('--receiver', 'no-placeholder').status, 2);
  assert.equal(run('--receiver', 'x {repo}', '--level', 'some').status, 2);
  assert.equal(run('--level', 'core').status, 2);
});

it('--vectors alone replays the byte vectors against our codec: TAP, a vectors row, exit 0', () => {
  const r = run('--vectors', '--only', 'gvariant/bool-');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^ok 1 - vectors\/gvariant\/bool-false-le/m);
  assert.match(r.stdout, /^# \| vectors \| 4 \| 4 \| 0 \|/m);
  assert.equal(run('--level', 'vectors', '--only', 'messages-reject/bad-order', '--json').status, 0);
});
