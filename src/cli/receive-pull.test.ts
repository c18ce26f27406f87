/**
 * ostree-receive in 1.x form, as the 1.x pusher runs it on a server:
 * `ostree-receive[-1] [-n] [-f] [-q] [-v] [--no-update] REPO URL [REF...]`
 * pulling from a repository built by the `ostree` command and served by
 * python3's http.server (the server the 1.x pusher itself runs). What is
 * checked is what an operator sees: exit status, stderr lines, refs,
 * summary, `ostree fsck`.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { makeEd25519Keys } from '../../testkit/test-keys.js';
import { mergeSignatures, readCommitForSigning } from '../policy/commit-signatures.js';
import { ED25519_KEY, loadSecretKeys, signEd25519 } from '../policy/ed25519.js';
import { encodeCommitmeta } from '../repo/metadata.js';
import { objectRelPath } from '../repo/object-names.js';
import { Repo } from '../repo/repo.js';
import { ostree, ostreeCommit, ostreeFsck, ostreeInit, ostreeRefs, ostreeRevParse, ostreeSummaryUpdate } from '../../testkit/ostree.js';
import { servePython } from '../../testkit/python-http-server.js';
import { tmpDir } from '../../testkit/tmp.js';
import { needTools } from '../../testkit/tools.js';

const RECEIVE = fileURLToPath(new URL('./ostree-receive.ts', import.meta.url));
const SHELL = fileURLToPath(new URL('./ostree-receive-shell.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

interface Run {
  code: number | null;
  stderr: string;
}

interface World {
  dir: string;
  src: string;
  dest: string;
  url: string;
  env: NodeJS.ProcessEnv;
  /** Commits a tree holding `name` onto `branch` of the source at `ts` (seconds), then `ostree summary -u`. */
  commit(branch: string, name: string, ts: number): Promise<string>;
  configure(yaml: string): void;
  receive(...args: string[]): Promise<Run>;
  shell(command: string): Promise<Run>;
  /** ostree-receive-shell as a ForceCommand: the command in SSH_ORIGINAL_COMMAND. */
  forced(command: string): Promise<Run>;
}

async function world(t: TestContext): Promise<World | null> {
  if (!needTools(t, 'ostree', 'python3')) return null;
  const dir = tmpDir(t, 'receive-pull');
  const src = join(dir, 'src');
  const dest = join(dir, 'dest');
  await ostreeInit(src, 'archive');
  await ostreeInit(dest, 'archive');
  const conf = join(dir, 'ostree-receive.conf');
  writeFileSync(conf, '');
  const env = { ...process.env, OSTREE_RECEIVE_CONF: conf };
  const server = await servePython(src, t);
  const exec = (args: string[], extra: NodeJS.ProcessEnv = {}): Promise<Run> =>
    new Promise((resolve) => {
      execFile(process.execPath, ['--import', TSX, ...args], { env: { ...env, ...extra }, timeout: 60_000 }, (err, _stdout, stderr) => {
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stderr });
      });
    });
  return {
    dir,
    src,
    dest,
    url: server.url,
    env,
    async commit(branch, name, ts) {
      const tree = join(dir, `tree-${name}`);
      mkdirSync(join(tree, 'usr', 'share'), { recursive: true });
      writeFileSync(join(tree, 'usr', name), `${name}\n`);
      writeFileSync(join(tree, 'usr', 'share', 'common'), 'the same in every commit\n');
      const c = await ostreeCommit(src, tree, { branch, subject: name, timestamp: ts });
      await ostreeSummaryUpdate(src);
      return c;
    },
    configure(yaml) {
      writeFileSync(conf, yaml);
    },
    receive: (...args) => exec([RECEIVE, ...args]),
    shell: (command) => exec([SHELL, '-c', command]),
    forced: (command) => exec([SHELL], { SSH_ORIGINAL_COMMAND: command }),
  };
}

async function fsckClean(w: World): Promise<void> {
  const r = await ostreeFsck(w.dest);
  assert.ok(r.ok, r.stderr);
  assert.deepEqual(
    readdirSync(join(w.dest, 'tmp')).filter((n) => n.startsWith('push-staging-')),
    [],
    'no staging left',
  );
}

test('1.x form: an ostree-built repository over python3 http.server, full then incremental (through ostree-receive-shell, -c and ForceCommand), fsck clean', async (t) => {
  const w = await world(t);
  if (w === null) return;
  const a1 = await w.commit('os/main', 'one', 1_700_000_001);
  const b1 = await w.commit('os/beta', 'beta', 1_700_000_001);
  // No REF: every ref of the summary.
  const full = await w.receive(w.dest, w.url);
  assert.equal(full.code, 0, full.stderr);
  assert.deepEqual(await ostreeRefs(w.dest), ['os/beta', 'os/main']);
  assert.equal(await ostreeRevParse(w.dest, 'os/main'), a1);
  assert.equal(await ostreeRevParse(w.dest, 'os/beta'), b1);
  await fsckClean(w);
  // Incremental, the way the 1.x pusher runs it over ssh: `$SHELL -c 'ostree-receive-1 REPO URL REF'`.
  const a2 = await w.commit('os/main', 'two', 1_700_000_002);
  const inc = await w.shell(`ostree-receive-1 ${w.dest} ${w.url} os/main`);
  assert.equal(inc.code, 0, inc.stderr);
  assert.equal(await ostreeRevParse(w.dest, 'os/main'), a2);
  assert.match(inc.stderr, /os\/main: [0-9a-f]{64} -> [0-9a-f]{64}/);
  await fsckClean(w);
  // The same command through SSH_ORIGINAL_COMMAND (ForceCommand): nothing left to do.
  const again = await w.forced(`ostree-receive ${w.dest} ${w.url} os/main`);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /os\/main: up to date/);
  // A client of the destination sees the new commit through the rewritten summary.
  const summaryRefs = await ostree(['summary', '--view', `--repo=${w.dest}`]);
  assert.match(summaryRefs, new RegExp(a2));
});

test('1.x form: -n (and --dry-run) fetches and checks, and publishes nothing', async (t) => {
  const w = await world(t);
  if (w === null) return;
  await w.commit('os/main', 'one', 1_700_000_001);
  for (const flag of ['-n', '--dry-run']) {
    const r = await w.receive(flag, w.dest, w.url, 'os/main');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /dry run: would update os\/main/);
    assert.deepEqual(await ostreeRefs(w.dest), []);
    assert.deepEqual(readdirSync(join(w.dest, 'objects')), [], `${flag}: no object published`);
  }
});

test('1.x form: a commit not newer is skipped with a warning; -f pulls it when the server allows force, and is refused when it does not', async (t) => {
  const w = await world(t);
  if (w === null) return;
  const newer = await w.commit('os/main', 'newer', 1_700_000_009);
  assert.equal((await w.receive(w.dest, w.url, 'os/main')).code, 0);
  // The source's os/main goes back to an older, unrelated commit.
  await ostree(['refs', `--repo=${w.src}`, '--delete', 'os/main']);
  const older = await w.commit('os/main', 'older', 1_700_000_001);
  const skipped = await w.receive(w.dest, w.url, 'os/main');
  assert.equal(skipped.code, 0, skipped.stderr);
  assert.match(skipped.stderr, /^ostree-receive: warning: os\/main: remote commit [0-9a-f]{64} is not newer/m);
  assert.equal(await ostreeRevParse(w.dest, 'os/main'), newer);
  const refused = await w.receive('-f', w.dest, w.url, 'os/main');
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /does not descend from/);
  assert.equal(await ostreeRevParse(w.dest, 'os/main'), newer);
  w.configure('force: true\n');
  const forced = await w.receive('--force', w.dest, w.url, 'os/main');
  assert.equal(forced.code, 0, forced.stderr);
  assert.equal(await ostreeRevParse(w.dest, 'os/main'), older);
  // A newer commit that does not descend from the current one: `force: true` allows it only when -f asks.
  await ostree(['refs', `--repo=${w.src}`, '--delete', 'os/main']);
  const unrelated = await w.commit('os/main', 'unrelated', 1_700_000_020);
  const unasked = await w.receive(w.dest, w.url, 'os/main');
  assert.equal(unasked.code, 1, unasked.stderr);
  assert.match(unasked.stderr, /does not descend from/);
  assert.equal((await w.receive('-f', w.dest, w.url, 'os/main')).code, 0);
  assert.equal(await ostreeRevParse(w.dest, 'os/main'), unrelated);
  await fsckClean(w);
});

test('1.x form: -q prints nothing on success; the default prints the refs; -v prints each object', async (t) => {
  const w = await world(t);
  if (w === null) return;
  await w.commit('os/main', 'one', 1_700_000_001);
  const q = await w.receive('-q', '-n', w.dest, w.url);
  assert.equal(q.code, 0, q.stderr);
  assert.equal(q.stderr, '');
  const plain = await w.receive('-n', w.dest, w.url);
  assert.match(plain.stderr, /^ostree-receive: os\/main: \(new\) -> [0-9a-f]{64}$/m);
  assert.doesNotMatch(plain.stderr, /fetched [0-9a-f]{64}\./);
  const v = await w.receive('-v', '-n', w.dest, w.url);
  assert.match(v.stderr, /^ostree-receive: fetched [0-9a-f]{64}\.dirtree/m);
  // Errors still show under -q.
  const missing = await w.receive('-q', w.dest, w.url, 'os/nope');
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^ostree-receive: ref os\/nope is not in the remote's summary/m);
});

test('1.x form: --no-update leaves the summary as it was; without it the summary is rewritten', async (t) => {
  const w = await world(t);
  if (w === null) return;
  await w.commit('os/main', 'one', 1_700_000_001);
  await ostreeSummaryUpdate(w.dest);
  const before = readFileSync(join(w.dest, 'summary'));
  const r = await w.receive('--no-update', w.dest, w.url, 'os/main');
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(readFileSync(join(w.dest, 'summary')), before);
  assert.doesNotMatch(await ostree(['summary', '--view', `--repo=${w.dest}`]), /os\/main/);
  await w.commit('os/main', 'two', 1_700_000_002);
  assert.equal((await w.receive(w.dest, w.url, 'os/main')).code, 0);
  assert.match(await ostree(['summary', '--view', `--repo=${w.dest}`]), /os\/main/);
});

test('1.x form: under sign_verify an unsigned commit is refused (exit 1, nothing published); the signed one is taken', async (t) => {
  const w = await world(t);
  if (w === null) return;
  const keys = makeEd25519Keys(w.dir, 'release');
  w.configure(`sign_verify: true\nsign_trustedkeyfile: ${keys.publicFile}\n`);
  const c = await w.commit('os/main', 'one', 1_700_000_001);
  const unsigned = await w.receive(w.dest, w.url, 'os/main');
  assert.equal(unsigned.code, 1, unsigned.stderr);
  assert.match(unsigned.stderr, new RegExp(`commit ${c} is not signed`));
  assert.doesNotMatch(unsigned.stderr, /fetched \d+ objects/, 'refused before any tree is fetched');
  assert.deepEqual(await ostreeRefs(w.dest), []);
  await fsckClean(w);
  // As `ostree sign --sign-type=ed25519` writes it (this machine's ostree may lack ed25519 support).
  const src = Repo.open(w.src);
  const [key] = loadSecretKeys(keys.secretFile);
  assert.ok(key);
  const commit = await readCommitForSigning(src, null, c);
  const meta = mergeSignatures(commit.commitmeta, new Map([[ED25519_KEY, [signEd25519(key, commit.commitBytes)]]]));
  writeFileSync(src.resolve(objectRelPath(c, 'commitmeta')), encodeCommitmeta(meta));
  const signed = await w.receive(w.dest, w.url, 'os/main');
  assert.equal(signed.code, 0, signed.stderr);
  assert.equal(await ostreeRevParse(w.dest, 'os/main'), c);
  await fsckClean(w);
});

test('1.x form: bad use is one line and exit 2; a URL that is not http is refused', async (t) => {
  const w = await world(t);
  if (w === null) return;
  const noUrl = await w.receive('-n', w.dest);
  assert.equal(noUrl.code, 2);
  assert.match(noUrl.stderr, /^ostree-receive: REPO and URL are required/);
  const https = await w.receive(w.dest, 'file:///etc', 'os/main');
  assert.equal(https.code, 2);
  assert.equal(https.stderr.split('\n').filter((l) => l !== '').length, 1);
  const bogus = await w.receive('--bogus', w.dest, w.url);
  assert.equal(bogus.code, 2);
});
