/**
 * ostree-receive --repo=s3://… refusals that need no store: they come before
 * any request (the bucket name is not a real one, and no endpoint answers).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tmpDir } from '../../testkit/tmp.js';

const ENTRY = fileURLToPath(new URL('./ostree-receive.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

function receive(args: string[], conf: string): Promise<{ code: number | null; stderr: string }> {
  // A closed port: should a request be made after all, it fails rather than reaching a real store.
  const env = { ...process.env, OSTREE_RECEIVE_CONF: conf, AWS_ENDPOINT_URL: 'http://127.0.0.1:9', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'x' };
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', TSX, ENTRY, ...args], { env, timeout: 60_000 }, (err, _stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stderr });
    });
  });
}

test('with root set, a bucket is refused (root confines repositories on disk): one line, status 2', async (t) => {
  const dir = tmpDir(t, 'receive-bucket');
  const conf = join(dir, 'ostree-receive.conf');
  writeFileSync(conf, `root: ${dir}\n`);
  const r = await receive(['--repo=s3://updates/os'], conf);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
});

test('--init is for a bucket only; a malformed bucket name is a usage error', async (t) => {
  const dir = tmpDir(t, 'receive-bucket');
  const conf = join(dir, 'ostree-receive.conf');
  writeFileSync(conf, '{}\n');
  const init = await receive([`--repo=${dir}`, '--init'], conf);
  assert.equal(init.code, 2, init.stderr);
  const bad = await receive(['--repo=s3://Not_A_Bucket/os'], conf);
  assert.equal(bad.code, 2, bad.stderr);
  assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
});
