/**
 * ostree-push --ssh=builtin end to end against the in-process ssh2 server
 * (testkit/ssh2-server.ts): the sessions that send nothing (up to date, dry
 * run, a non-fast-forward rejected here) end with the remote's exit status
 * like any other. Each run is bounded: a hang fails its test instead of
 * holding the suite.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { commitTree, initArchiveRepo } from '../repo/builder.js';
import { listRefs } from '../repo/refs.js';
import { Repo } from '../repo/repo.js';
import { startSsh2Server } from '../../testkit/ssh2-server.js';
import { ostreePush, tree, type Run } from '../../testkit/ssh-push.js';
import { tmpDir } from '../../testkit/tmp.js';
import { generateSshKeyPair } from '../transport/ssh-keygen.js';

/** How long one push to the in-process server may take before it counts as hung. */
const BOUND_MS = 20_000;

async function bounded(what: string, p: Promise<Run>): Promise<Run> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no exit within ${BOUND_MS / 1000} s (hung)`)), BOUND_MS);
  });
  try {
    return await Promise.race([p, hung]);
  } finally {
    clearTimeout(timer);
  }
}

async function setup(t: TestContext) {
  const dir = tmpDir(t, 'builtin-push');
  const pair = generateSshKeyPair();
  const key = join(dir, 'id_user');
  writeFileSync(key, pair.private, { mode: 0o600 });
  const server = await startSsh2Server({ authorizedKey: pair.public, baseDir: dir });
  t.after(() => server.close());
  const kh = join(dir, 'known_hosts');
  writeFileSync(kh, `${server.knownHostsLine}\n`);
  const src = initArchiveRepo(join(dir, 'src'));
  const c1 = (await commitTree(src, { tree: tree(3), timestamp: 1, branch: 'main' })).commit;
  const dest = join(dir, 'dest');
  initArchiveRepo(dest);
  const env = { ...process.env };
  delete env['SSH_AUTH_SOCK'];
  const push = (what: string, more: string[]) =>
    bounded(what, ostreePush([`--repo=${src.path}`, '--ssh=builtin', '-i', key, `--known-hosts=${kh}`, ...more, `ssh://127.0.0.1:${server.port}${dest}`], { env }));
  const first = await push('first push', []);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(listRefs(Repo.open(dest)).get('main'), c1);
  return { dir, src, dest, c1, push };
}

test('--ssh=builtin: a push with nothing to send (up to date) exits 0 instead of hanging', { timeout: 60_000 }, async (t) => {
  const { push } = await setup(t);
  const r = await push('up-to-date push', []);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /Everything up-to-date/);
});

test('--ssh=builtin: a dry run exits 0 instead of hanging', { timeout: 60_000 }, async (t) => {
  const { src, dest, c1, push } = await setup(t);
  const c2 = (await commitTree(src, { tree: tree(4), timestamp: 2, branch: 'main', parent: c1 })).commit;
  const r = await push('dry run', ['--dry-run', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { dryRun: boolean; refs: Array<{ new: string; status: string }> };
  assert.equal(j.dryRun, true);
  assert.deepEqual(j.refs.map((x) => [x.new, x.status]), [[c2, 'pushed']]);
  assert.equal(listRefs(Repo.open(dest)).get('main'), c1, 'a dry run moves nothing');
});

test('--ssh=builtin: a non-fast-forward rejected locally exits 1 instead of hanging', { timeout: 60_000 }, async (t) => {
  const { src, dest, c1, push } = await setup(t);
  await commitTree(src, { tree: tree(5), timestamp: 3, branch: 'main' });
  const r = await push('non-fast-forward push', ['--json']);
  assert.equal(r.code, 1, r.stderr);
  const j = JSON.parse(r.stdout) as { error: { code: string } | null; refs: Array<{ status: string }> };
  assert.equal(j.error?.code, 'PUSH_REJECTED');
  assert.deepEqual(j.refs.map((x) => x.status), ['rejected']);
  assert.equal(listRefs(Repo.open(dest)).get('main'), c1);
});
