/**
 * ostree-push's idle timeout: --idle-timeout and $OSTREE_PUSH_IDLE_TIMEOUT
 * (seconds), a bad value a usage error, and a receiver that goes silent
 * after INFO ending the push with exit 3 and TRANSPORT_IDLE_TIMEOUT. The ssh
 * keep-alives follow the same value (transport tests).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import type { OstreePushError } from '../errors.js';
import { commitTree, initArchiveRepo } from '../repo/builder.js';
import { tmpDir } from '../../testkit/tmp.js';
import { MessageWriter } from '../wire/writer.js';
import { runMain } from './run-main.js';
import { idleTimeoutOf, pushMain } from './push-command.js';

test('idleTimeoutOf: the option, then the environment, then 60 s; seconds with fractions; anything else a usage error', () => {
  assert.equal(idleTimeoutOf(undefined, {}), 60_000);
  assert.equal(idleTimeoutOf(undefined, { OSTREE_PUSH_IDLE_TIMEOUT: '' }), 60_000);
  assert.equal(idleTimeoutOf(undefined, { OSTREE_PUSH_IDLE_TIMEOUT: '5' }), 5000);
  assert.equal(idleTimeoutOf('0.25', { OSTREE_PUSH_IDLE_TIMEOUT: '5' }), 250);
  for (const bad of ['0', '-1', 'abc', '1e3', '', '10s']) {
    assert.throws(() => idleTimeoutOf(bad, {}), (e: OstreePushError) => e.code === 'USAGE' && e.exitCode === 2, bad);
  }
  assert.throws(() => idleTimeoutOf(undefined, { OSTREE_PUSH_IDLE_TIMEOUT: 'x' }), (e: OstreePushError) => e.code === 'USAGE' && /OSTREE_PUSH_IDLE_TIMEOUT/.test(e.message));
});

test('a receiver silent after INFO: exit 3, one line, TRANSPORT_IDLE_TIMEOUT in --json', { timeout: 30_000 }, async (t) => {
  const dir = tmpDir(t, 'push-idle');
  const src = initArchiveRepo(join(dir, 'src'));
  const dest = initArchiveRepo(join(dir, 'dest'));
  await commitTree(src, { tree: { type: 'dir', children: { a: { type: 'file', content: 'a\n' } } }, timestamp: 1, branch: 'main' });
  const stdout = new PassThrough();
  const stdin = new PassThrough();
  stdin.resume(); // takes the UPDATE, never answers
  let exited: (code: number | null) => void = () => undefined;
  const exit = new Promise<number | null>((r) => (exited = r));
  await new MessageWriter(stdout).send({ type: 'INFO', mode: 1, refs: new Map(), extra: new Map() });
  const lines: string[] = [];
  const out: string[] = [];
  const code = await runMain(
    'ostree-push',
    () =>
      pushMain([`--repo=${src.path}`, '--json', '--idle-timeout=0.2', dest.path], {
        err: (l) => lines.push(l),
        out: (s) => out.push(s),
        env: {},
        cwd: dir,
        stderr: () => undefined,
        spawn: () => ({
          stdin,
          stdout,
          stderr: null,
          exit,
          kill: () => {
            stdout.destroy();
            exited(null);
          },
        }),
      }),
    { err: (l) => lines.push(l) },
  );
  assert.equal(code, 3, lines.join('\n'));
  const said = lines.filter((l) => l.startsWith('ostree-push:'));
  assert.equal(said.length, 1, lines.join('\n'));
  assert.equal(JSON.parse(out.join('')).error.code, 'TRANSPORT_IDLE_TIMEOUT');
});
