/**
 * Shared by the real-sshd push tests: run ostree-push in this process,
 * a source repository with a commit and an empty archive destination, and
 * a full-then-incremental push over ssh checked with `ostree fsck` and a
 * real `ostree pull` over http of the result.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { runMain } from '../src/cli/run-main.js';
import { pushMain, type PushIo } from '../src/cli/push-command.js';
import { commitTree, initArchiveRepo, type DirNode } from '../src/repo/index.js';
import { ostreeFsck, ostreeInit, ostreeRevParse } from './ostree.js';
import { assertPullable } from './pull-check.js';
import type { Sshd } from './sshd.js';
import { tmpDir } from './tmp.js';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}
export async function ostreePush(args: string[], extra: Partial<PushIo> = {}): Promise<Run> {
  const err: string[] = [];
  let stdout = '';
  const io: PushIo = { err: (l) => err.push(`${l}\n`), out: (s) => (stdout += s), env: process.env, cwd: process.cwd(), stderr: (t) => err.push(t.toString()), ...extra };
  const code = await runMain('ostree-push', () => pushMain(args, io), { err: (l) => err.push(`${l}\n`) });
  return { code, stdout, stderr: err.join('') };
}

export const tree = (n: number): DirNode => ({
  type: 'dir',
  children: Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${i}`, { type: 'file' as const, content: `file ${i}\n`.repeat(i + 1) }])),
});

export async function fixture(t: TestContext) {
  const dir = tmpDir(t, 'ssh-push');
  const src = initArchiveRepo(join(dir, 'src'));
  const dest = join(dir, 'dest');
  await ostreeInit(dest, 'archive');
  const c1 = (await commitTree(src, { tree: tree(5), timestamp: 1, branch: 'main' })).commit;
  return { dir, src, dest, c1 };
}

export function remoteOf(sshd: Sshd, path: string): string {
  return `ssh://${sshd.user}@${sshd.host}:${sshd.port}${path}`;
}

export async function fullThenIncremental(t: TestContext, sshd: Sshd, options: { again?: boolean } = {}): Promise<void> {
  const f = await fixture(t);
  const remote = remoteOf(sshd, f.dest);
  const first = await ostreePush([`--repo=${f.src.path}`, `--ssh-command=${sshd.sshCommand}`, '--json', remote]);
  assert.equal(first.code, 0, first.stderr);
  const j1 = JSON.parse(first.stdout) as { ok: boolean; refs: Array<{ ref: string; old: string; new: string; status: string }>; objects: { sent: number } };
  assert.equal(j1.ok, true);
  assert.deepEqual(j1.refs, [{ ref: 'main', old: '0'.repeat(64), new: f.c1, status: 'pushed' }]);
  assert.equal(await ostreeRevParse(f.dest, 'main'), f.c1);
  assert.equal((await ostreeFsck(f.dest)).code, 0);

  const c2 = (await commitTree(f.src, { tree: tree(6), timestamp: 2, branch: 'main', parent: f.c1 })).commit;
  const second = await ostreePush([`--repo=${f.src.path}`, `--ssh-command=${sshd.sshCommand}`, '--json', remote, 'main']);
  assert.equal(second.code, 0, second.stderr);
  const j2 = JSON.parse(second.stdout) as typeof j1;
  assert.deepEqual(j2.refs, [{ ref: 'main', old: f.c1, new: c2, status: 'pushed' }]);
  // Only the new file, the new root dirtree and the commit travel.
  assert.ok(j2.objects.sent > 0 && j2.objects.sent < j1.objects.sent, `${j2.objects.sent} < ${j1.objects.sent}`);
  assert.equal(await ostreeRevParse(f.dest, 'main'), c2);
  const fsck = await ostreeFsck(f.dest);
  assert.equal(fsck.code, 0, fsck.stderr);
  assert.deepEqual((await assertPullable(t, f.dest)).refs, { main: c2 });

  if (options.again !== true) return;
  const again = await ostreePush([`--repo=${f.src.path}`, `--ssh-command=${sshd.sshCommand}`, remote]);
  assert.equal(again.code, 0);
  assert.match(again.stderr, /Everything up-to-date/);
}
