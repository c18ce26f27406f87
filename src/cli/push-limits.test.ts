/**
 * ostree-push against an ostree-receive whose limits refuse it (local
 * transport, the receiver a real process reading $OSTREE_RECEIVE_CONF): an
 * over-quota push and a busy repository end with exit 1 and one line, and
 * the destination is exactly as before (no ref, no staging, no slot left).
 */
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { commitTree, initArchiveRepo } from '../repo/builder.js';
import { takeReceiverSlot } from '../repo/receiver-slots.js';
import { listRefs } from '../repo/refs.js';
import { tmpDir } from '../../testkit/tmp.js';
import { runMain } from './run-main.js';
import { pushMain } from './push-command.js';

async function setup(t: Parameters<typeof tmpDir>[0], conf: string) {
  const dir = tmpDir(t, 'push-limits');
  const src = initArchiveRepo(join(dir, 'src'));
  const dest = initArchiveRepo(join(dir, 'dest'));
  await commitTree(src, { tree: { type: 'dir', children: { a: { type: 'file', content: 'a\n' }, b: { type: 'file', content: 'b\n' } } }, timestamp: 1, branch: 'main' });
  const file = join(dir, 'receive.conf');
  writeFileSync(file, conf);
  // The local transport starts ostree-receive with this process's environment.
  process.env['OSTREE_RECEIVE_CONF'] = file;
  t.after(() => {
    delete process.env['OSTREE_RECEIVE_CONF'];
  });
  const tmpBefore = readdirSync(dest.resolve('tmp')).sort();
  const push = async () => {
    const lines: string[] = [];
    const out: string[] = [];
    const code = await runMain('ostree-push', () => pushMain([`--repo=${src.path}`, '--json', dest.path], { err: (l) => lines.push(l), out: (s) => out.push(s), env: process.env, cwd: dir, stderr: () => undefined }), {
      err: (l) => lines.push(l),
    });
    return { code, lines, json: JSON.parse(out.join('')) as { error: { code: string } | null } };
  };
  const untouched = () => {
    assert.equal(listRefs(dest).size, 0);
    assert.deepEqual(readdirSync(dest.resolve('tmp')).sort(), tmpBefore, 'no staging, slot or temp file left');
  };
  return { dest, push, untouched };
}

test('an over-quota push (max_push_objects) is refused: exit 1, one line, nothing left', { timeout: 60_000 }, async (t) => {
  const { push, untouched } = await setup(t, 'max_push_objects: 2\n');
  const r = await push();
  assert.equal(r.code, 1, r.lines.join('\n'));
  assert.equal(r.json.error?.code, 'PROTOCOL_REFUSED');
  assert.equal(r.lines.filter((l) => l.startsWith('ostree-push:')).length, 1, r.lines.join('\n'));
  untouched();
});

test('a busy repository (max_receivers) refuses before INFO: exit 1, one line, nothing left', { timeout: 60_000 }, async (t) => {
  const { dest, push, untouched } = await setup(t, 'max_receivers: 1\n');
  const held = takeReceiverSlot(dest, 1);
  t.after(() => held.release());
  const r = await push();
  assert.equal(r.code, 1, r.lines.join('\n'));
  assert.equal(r.json.error?.code, 'PUSH_RECEIVER_FAILED');
  assert.equal(r.lines.filter((l) => l.startsWith('ostree-push:')).length, 1, r.lines.join('\n'));
  held.release();
  untouched();
  // The slot free, the same push goes through: the refusal was the busy repository, not the file.
  const again = await push();
  assert.equal(again.code, 0, again.lines.join('\n'));
  assert.equal(listRefs(dest).size, 1);
});
