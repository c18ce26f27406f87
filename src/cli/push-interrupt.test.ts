/**
 * Ctrl-C during a push: ostree-push kills the link, says the remote was left
 * untouched, exits 3; the destination has no new ref and stays fsck-clean.
 * Also the progress line (rate, ETA) and the --json summary shape.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { ProtocolError } from '../errors.js';
import { commitTree, initArchiveRepo, type DirNode } from '../repo/builder.js';
import { listRefs } from '../repo/refs.js';
import { Repo } from '../repo/repo.js';
import { ostreeFsck } from '../../testkit/ostree.js';
import { tmpDir } from '../../testkit/tmp.js';
import { hasTool } from '../../testkit/tools.js';
import { runMain } from './run-main.js';
import { Progress, progressText } from './progress.js';
import type { PushResult } from '../protocol/pusher.js';
import { pushMain } from './push-command.js';
import { jsonSummary } from './push-json.js';

const many: DirNode = {
  type: 'dir',
  children: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`f${i}`, { type: 'file' as const, content: `content ${i}\n`.repeat(50) }])),
};

test('an interruption mid-push: exit 3, "nothing was published", destination untouched', async (t) => {
  const dir = tmpDir(t, 'interrupt');
  const src = initArchiveRepo(join(dir, 'src'));
  const dest = initArchiveRepo(join(dir, 'dest'));
  await commitTree(src, { tree: many, timestamp: 1, branch: 'main' });
  let interrupt: (() => void) | undefined;
  const lines: string[] = [];
  const code = await runMain(
    'ostree-push',
    () =>
      pushMain([`--repo=${src.path}`, dest.path], {
        err: (l) => lines.push(l),
        out: () => undefined,
        env: process.env,
        cwd: dir,
        tty: true,
        // The first progress report stands for the user pressing Ctrl-C.
        stderr: (text) => {
          if (String(text).includes('Sending objects')) interrupt?.();
        },
        onInterrupt: (h) => {
          interrupt = h;
          return () => (interrupt = undefined);
        },
      }),
    { err: (l) => lines.push(l) },
  );
  assert.equal(code, 3, lines.join('\n'));
  assert.deepEqual(lines.filter((l) => l.startsWith('ostree-push:')), [`ostree-push: interrupted; nothing was published on ${dest.path} (the receiver publishes only a complete push)`]);
  assert.equal(listRefs(Repo.open(dest.path)).size, 0);
  if (hasTool('ostree')) assert.equal((await ostreeFsck(dest.path)).code, 0);
});

test('progress: percentage, bytes, rate and ETA; one rewritten line on a terminal', () => {
  const p = { objectsSent: 5, objectsTotal: 10, bytesSent: 2 * 1024 * 1024, bytesTotal: 6 * 1024 * 1024 };
  assert.equal(progressText(p, 2000), 'Sending objects: 50% (5/10), 2.00 MiB of 6.00 MiB, 1.00 MiB/s, ETA 0:04');
  assert.equal(progressText({ ...p, objectsSent: 10, bytesSent: p.bytesTotal }, 3000), 'Sending objects: 100% (10/10), 6.00 MiB of 6.00 MiB, 2.00 MiB/s, done');
  let out = '';
  let now = 0;
  const bar = new Progress((s) => (out += s), 'tty', () => now);
  bar.update({ ...p, objectsSent: 0, bytesSent: 0 });
  now = 50;
  bar.update({ ...p, objectsSent: 1 }); // throttled
  now = 200;
  bar.interject('remote: hello\n');
  bar.update(p);
  bar.finish();
  assert.equal(out.split('\n').length, 3);
  assert.ok(out.startsWith('\rSending objects: 0% (0/10)'));
  assert.match(out, /\r +\rremote: hello\n\rSending objects: 50%/);
  let silent = '';
  new Progress((s) => (silent += s), 'off').update(p);
  assert.equal(silent, '');
});

test('--json summary: refs with old/new, objects and bytes sent and skipped, the error', () => {
  const z = '0'.repeat(64);
  const a = 'a'.repeat(64);
  const j = jsonSummary({
    remote: 'h:r',
    dryRun: true,
    seconds: 1.23456,
    error: undefined,
    result: { refs: [{ ref: 'main', from: z, to: a, status: 'pushed' }], objectsSent: 0, bytesSent: 0, objectsSkipped: 3, objectsTotal: 3, bytesTotal: 300, ok: true } as PushResult,
  });
  assert.deepEqual(j, {
    remote: 'h:r',
    dryRun: true,
    ok: true,
    seconds: 1.235,
    refs: [{ ref: 'main', old: z, new: a, status: 'pushed' }],
    objects: { sent: 0, skipped: 3, total: 3 },
    bytes: { sent: 0, skipped: 300, total: 300 },
    error: null,
  });
  const failed = jsonSummary({ remote: 'h:r', dryRun: false, seconds: 0, result: undefined, error: new ProtocolError('PROTOCOL_REFUSED', 'no') });
  assert.deepEqual(failed['error'], { code: 'PROTOCOL_REFUSED', message: 'no', exit: 1 });
  assert.equal(failed['ok'], false);
});
