/**
 * The runner's command line: TAP and the summary table, --json, --only,
 * and the exit status (1 when a core case fails, 2 for usage errors).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { it } from 'node:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tmpDir } from '../testkit/tmp.js';

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

it('--expect: a listed failure is an expected fail (exit 0), a listed case that passes an unexpected pass (exit 1), an unlisted failure an unexpected fail (exit 1)', (t) => {
  const dir = tmpDir(t, 'conformance-expect');
  const file = join(dir, 'expect.json');
  const only = ['--only', '/^receiver\\/(info-empty-repository|info-lists-refs)$/', '--timeout', '2000'];
  writeFileSync(file, JSON.stringify({ failures: { 'receiver/info-empty-repository': 'says nothing', 'receiver/info-lists-refs': 'says nothing' } }));
  const mute = run('--receiver', 'cat >/dev/null; true {repo}', ...only, '--expect', file);
  assert.equal(mute.status, 0, mute.stdout);
  assert.match(mute.stdout, /^not ok 1 - receiver\/info-empty-repository .*# TODO expected fail: says nothing$/m);
  assert.match(mute.stdout, /^# \| core \| 2 \| 0 \| 0 \| 2 \| 0 \| 0 \|/m);
  const receive = `${process.execPath} --import tsx ${fileURLToPath(new URL('../src/cli/ostree-receive.ts', import.meta.url))} --repo={repo}`;
  const good = run('--receiver', receive, ...only.slice(0, 2), '--expect', file);
  assert.equal(good.status, 1, good.stdout);
  assert.match(good.stdout, /^ok 1 - receiver\/info-empty-repository .*# TODO unexpected pass/m);
  assert.match(good.stdout, /^# \| core \| 2 \| 0 \| 0 \| 0 \| 2 \| 0 \|/m);
  writeFileSync(file, JSON.stringify({ failures: { 'receiver/info-empty-repository': 'says nothing' } }));
  const half = run('--receiver', 'cat >/dev/null; true {repo}', ...only, '--expect', file, '--json');
  assert.equal(half.status, 1);
  const out = JSON.parse(half.stdout) as { results: { id: string; status: string; problems: string[] }[] };
  assert.deepEqual(out.results.map((r) => [r.id, r.status]), [['receiver/info-empty-repository', 'expected-fail'], ['receiver/info-lists-refs', 'unexpected-fail']]);
});

it('a case reports every failed check, not only the first', () => {
  const r = run('--receiver', 'false {repo}', '--only', '/^receiver\\/info-lists-refs$/', '--json');
  const out = JSON.parse(r.stdout) as { results: { problems: string[] }[] };
  const problems = out.results[0]?.problems ?? [];
  // No INFO (the exchange), and the exit status: two checks, both reported.
  assert.equal(problems.length, 2, problems.join('\n'));
  assert.match(problems[0] ?? '', /without sending INFO/);
  assert.match(problems[1] ?? '', /exit status 1, expected zero/);
});
