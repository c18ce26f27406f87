import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tmpDir } from '../../testkit/tmp.js';
import { runUpdateHook } from './update-hook.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const Z = '0'.repeat(64);

test('update hook: sees OSTREE_RECEIVE_REPO (absolute), OSTREE_RECEIVE_REFS (names, as the Python receiver) and OSTREE_RECEIVE_UPDATES', async (t) => {
  const dir = tmpDir(t, 'hook');
  const out = join(dir, 'env.txt');
  const chunks: Buffer[] = [];
  const r = await runUpdateHook(`printf '%s\\n' "$OSTREE_RECEIVE_REPO" "$OSTREE_RECEIVE_REFS" "$OSTREE_RECEIVE_UPDATES" > ${out}; echo to-stdout; echo to-stderr >&2`, {
    repoPath: dir,
    updates: [
      { ref: 'os/main', from: A, to: B },
      { ref: 'app/x', from: Z, to: A },
    ],
    output: (c) => chunks.push(Buffer.from(c)),
  });
  assert.deepEqual(r, { ok: true, exitCode: 0, signal: null });
  assert.deepEqual(readFileSync(out, 'utf8').split('\n'), [dir, 'os/main app/x', `os/main:${A}:${B} app/x:${Z}:${A}`, '']);
  const said = Buffer.concat(chunks).toString();
  assert.match(said, /to-stdout/, "the hook's stdout goes to the output callback, never to ours");
  assert.match(said, /to-stderr/);
});

test('update hook: a failing hook is POLICY_HOOK_FAILED with its status; a missing one 127', async (t) => {
  const dir = tmpDir(t, 'hook');
  const quiet = { repoPath: dir, updates: [{ ref: 'r', from: Z, to: A }], output: () => undefined };
  const fail = await runUpdateHook('exit 3', quiet);
  assert.equal(fail.ok, false);
  assert.equal(fail.exitCode, 3);
  assert.equal(fail.error?.code, 'POLICY_HOOK_FAILED');
  assert.match(fail.error?.message ?? '', /exited with status 3; the refs were already published/);
  const missing = await runUpdateHook(join(dir, 'no-such-hook'), quiet);
  assert.equal(missing.exitCode, 127);
  assert.match(missing.error?.message ?? '', /not found/);
});

test('update hook: a hook that outlives its timeout is killed with everything it started', async (t) => {
  const dir = tmpDir(t, 'hook');
  const marker = join(dir, 'late');
  const pidFile = join(dir, 'child.pid');
  const started = Date.now();
  const r = await runUpdateHook(`sleep 30 & echo $! > ${pidFile}; wait; touch ${marker}`, { repoPath: dir, updates: [], timeoutMs: 300, output: () => undefined });
  assert.ok(Date.now() - started < 5000);
  assert.equal(r.ok, false);
  assert.match(r.error?.message ?? '', /timed out after 300 ms/);
  assert.equal(existsSync(marker), false);
  const pid = Number(readFileSync(pidFile, 'utf8'));
  await new Promise((ok) => setTimeout(ok, 100));
  // Gone, or a zombie waiting for init to reap it: either way no longer running.
  const state = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] : 'gone';
  assert.ok(state === 'gone' || state === 'Z', `the background sleep was killed too (state ${String(state)})`);
});
