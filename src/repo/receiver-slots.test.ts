/**
 * Receiver slots: at most `max` holders, REPO_BUSY beyond, a released slot
 * free again, and a slot whose holder was SIGKILLed taken over by the next
 * receiver (the count cannot drift up).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { OstreePushError } from '../errors.js';
import { tmpDir } from '../../testkit/tmp.js';
import { initArchiveRepo } from './builder.js';
import { takeReceiverSlot } from './receiver-slots.js';
import { openRepoForWriting } from './open-for-writing.js';

const busy = (e: unknown): boolean => e instanceof OstreePushError && e.code === 'REPO_BUSY';

test('max slots, REPO_BUSY beyond, a released slot is free again, nothing left after release', (t) => {
  const repo = initArchiveRepo(join(tmpDir(t, 'slots'), 'repo'));
  const before = readdirSync(repo.resolve('tmp')).sort();
  const a = takeReceiverSlot(repo, 2);
  const b = takeReceiverSlot(repo, 2);
  assert.notEqual(a.index, b.index);
  assert.throws(() => takeReceiverSlot(repo, 2), busy);
  a.release();
  const c = takeReceiverSlot(repo, 2);
  assert.equal(c.index, a.index);
  b.release();
  c.release();
  c.release(); // twice is harmless
  assert.deepEqual(readdirSync(repo.resolve('tmp')).sort(), before);
});

/** A process holding one slot of `repo` (of `max`); resolves once it holds it. */
async function holder(repoPath: string, max: number) {
  const code = `import { takeReceiverSlot } from ${JSON.stringify(new URL('./receiver-slots.ts', import.meta.url).href)};
import { Repo } from ${JSON.stringify(new URL('./repo.ts', import.meta.url).href)};
takeReceiverSlot(Repo.open(${JSON.stringify(repoPath)}), ${max});
process.stdout.write('held\\n');
setInterval(() => undefined, 1000);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_c, sig) => r(sig)));
  await new Promise<void>((res, rej) => {
    child.stdout.once('data', () => res());
    void exited.then(() => rej(new Error('the holder exited early')));
  });
  return { child, exited };
}

const slotFiles = (dir: string): string[] => readdirSync(dir).filter((n) => n.startsWith('ostree-push-receiver.'));

test('a slot whose holder was SIGKILLed is taken over, and swept even when another slot is free', async (t) => {
  const repo = initArchiveRepo(join(tmpDir(t, 'slots'), 'repo'));
  const h = await holder(repo.path, 1);
  // Held by a live process: refused.
  assert.throws(() => takeReceiverSlot(repo, 1), busy);
  h.child.kill('SIGKILL');
  await h.exited;
  assert.deepEqual(slotFiles(repo.resolve('tmp')), ['ostree-push-receiver.0'], 'a SIGKILLed holder leaves its slot');
  const s = takeReceiverSlot(repo, 1);
  assert.equal(s.index, 0);
  s.release();
  const h2 = await holder(repo.path, 3);
  h2.child.kill('SIGKILL');
  await h2.exited;
  const mine = takeReceiverSlot(repo, 3);
  assert.deepEqual(slotFiles(repo.resolve('tmp')), [`ostree-push-receiver.${mine.index}`], 'the dead one is swept');
  mine.release();
  assert.deepEqual(slotFiles(repo.resolve('tmp')), []);
});

test('the next writer sweeps a SIGKILLed holder\'s slot on opening the repository, as it removes dead staging', async (t) => {
  const repo = initArchiveRepo(join(tmpDir(t, 'slots'), 'repo'));
  const h = await holder(repo.path, 2);
  h.child.kill('SIGKILL');
  await h.exited;
  assert.deepEqual(slotFiles(repo.resolve('tmp')), ['ostree-push-receiver.0']);
  openRepoForWriting(repo.path);
  assert.deepEqual(slotFiles(repo.resolve('tmp')), [], 'no slot of a dead holder stays behind');
  // A live holder's slot is left alone.
  const live = await holder(repo.path, 2);
  openRepoForWriting(repo.path);
  assert.deepEqual(slotFiles(repo.resolve('tmp')), ['ostree-push-receiver.0']);
  live.child.kill('SIGKILL');
  await live.exited;
});

test('a holder stopped by SIGTERM releases its slot on the way out', async (t) => {
  const repo = initArchiveRepo(join(tmpDir(t, 'slots'), 'repo'));
  const h = await holder(repo.path, 2);
  assert.equal(slotFiles(repo.resolve('tmp')).length, 1);
  h.child.kill('SIGTERM');
  assert.equal(await h.exited, 'SIGTERM');
  assert.deepEqual(slotFiles(repo.resolve('tmp')), []);
});
