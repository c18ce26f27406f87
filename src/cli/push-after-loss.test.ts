/**
 * ostree-push when the receiver dies after DONE: the CLI opens a second
 * session, prints the refs as the remote has them, and exits 0 (moved, with
 * a warning), or 4 (unknown) when the second session fails too.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { TransportError } from '../errors.js';
import { commitTree, initArchiveRepo } from '../repo/builder.js';
import { listRefs } from '../repo/refs.js';
import { Repo } from '../repo/repo.js';
import { tmpDir } from '../../testkit/tmp.js';
import { needTools } from '../../testkit/tools.js';
import { spawnLocalReceiver } from '../transport/local.js';
import type { Transport } from '../transport/transport.js';
import { runMain } from './run-main.js';
import { pushMain } from './push-command.js';

const PAUSE_CHILD = join(import.meta.dirname, '..', 'protocol', 'receiver-pause.child.ts');

/** A receiver that SIGKILLs itself once the refs are written (before the summary and the REPORT). */
function dyingReceiver(dest: string): Transport {
  const child = spawn(process.execPath, ['--import', 'tsx', PAUSE_CHILD, `--repo=${dest}`], { env: { ...process.env, PAUSE_AT: 'refs', PAUSE_KILL: '1' }, stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.on('error', () => undefined);
  const exit = new Promise<number | null>((res) => child.once('exit', (code, signal) => res(signal !== null ? null : code)));
  return { stdin: child.stdin, stdout: child.stdout, stderr: child.stderr, exit, kill: () => child.kill('SIGKILL') };
}

async function run(t: Parameters<typeof tmpDir>[0], second: (dest: string) => Transport) {
  const dir = tmpDir(t, 'push-after-loss');
  const src = initArchiveRepo(join(dir, 'src'));
  const dest = initArchiveRepo(join(dir, 'dest'));
  const c = (await commitTree(src, { tree: { type: 'dir', children: { a: { type: 'file', content: 'a\n' } } }, timestamp: 1, branch: 'main' })).commit;
  let calls = 0;
  const lines: string[] = [];
  const code = await runMain(
    'ostree-push',
    () =>
      pushMain([`--repo=${src.path}`, dest.path], {
        err: (l) => lines.push(l),
        out: () => undefined,
        env: process.env,
        cwd: dir,
        stderr: () => undefined,
        spawn: (p) => (calls++ === 0 ? dyingReceiver(p) : second(p)),
      }),
    { err: (l) => lines.push(l) },
  );
  return { code, lines, calls, refs: listRefs(Repo.open(dest.path)), c };
}

test('the receiver dies after moving the refs: a second session finds them moved; exit 0, pushed, one warning', { timeout: 60_000 }, async (t) => {
  if (!needTools(t, 'perl')) return;
  const r = await run(t, (p) => spawnLocalReceiver(p, { stderr: 'pipe' }));
  assert.equal(r.code, 0, r.lines.join('\n'));
  assert.equal(r.calls, 2);
  assert.equal(r.refs.get('main'), r.c);
  assert.ok(r.lines.some((l) => l.startsWith(' * [new branch]')), r.lines.join('\n'));
  assert.equal(r.lines.filter((l) => /^ostree-push: warning: .*a second session shows the refs moved: pushed$/.test(l)).length, 1, r.lines.join('\n'));
});

test('the receiver dies after DONE and no second session can be opened: exit 4, the ref unknown', { timeout: 60_000 }, async (t) => {
  if (!needTools(t, 'perl')) return;
  const r = await run(t, () => {
    throw new TransportError('TRANSPORT_SPAWN', 'cannot start the receiver: gone', {});
  });
  assert.equal(r.code, 4, r.lines.join('\n'));
  assert.ok(r.lines.some((l) => l.startsWith(' ? [unknown]') && l.includes('main')), r.lines.join('\n'));
});
