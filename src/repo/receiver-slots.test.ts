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
import { tmpDir } from '../testkit/tmp.js';
import { initArchiveRepo } from './builder.js';
import { takeReceiverSlot } from './receiver-slots.js';

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

test('a slot whose holder was SIGKILLed is taken over', async (t) => {
  const repo = initArchiveRepo(join(tmpDir(t, 'slots'), 'repo'));
  const code = `import { takeReceiverSlot } from ${JSON.stringify(new URL('./receiver-slots.ts', import.meta.url).href)};
import { Repo } from ${JSON.stringify(new URL('./repo.ts', import.meta.url).href)};
takeReceiverSlot(Repo.open(${JSON.stringify(repo.path)}), 1);
process.stdout.write('held\\n');
setInterval(() => undefined, 1000);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((res, rej) => {
    child.stdout.once('data', () => res());
    child.once('exit', (c) => rej(new Error(`the holder exited early (${c})`)));
  });
  // Held by a live process: refused.
  assert.throws(() => takeReceiverSlot(repo, 1), busy);
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
  const s = takeReceiverSlot(repo, 1);
  assert.equal(s.index, 0);
  s.release();
});
