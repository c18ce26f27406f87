import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { tmpDir, withTmpDir } from './tmp.js';

test('tmpDir makes a fresh directory under os.tmpdir() and removes it after the test', async () => {
  const hooks: Array<() => void | Promise<void>> = [];
  const fake = { after: (fn: () => void | Promise<void>) => void hooks.push(fn) };
  const a = tmpDir(fake, 'x/y');
  const b = await withTmpDir(fake, (dir) => {
    writeFileSync(join(dir, 'f'), 'data');
    return dir;
  });
  assert.notEqual(a, b);
  assert.ok(a.startsWith(join(tmpdir(), 'ostree-push-x_y-')));
  assert.ok(existsSync(join(b, 'f')));
  const saved = process.env.KEEP_TMP;
  delete process.env.KEEP_TMP;
  try {
    for (const h of hooks) await h();
  } finally {
    if (saved !== undefined) process.env.KEEP_TMP = saved;
  }
  assert.ok(!existsSync(a) && !existsSync(b));
});
