/**
 * Fixture for the receive-policy command tests (ostree-receive-policy.test.ts,
 * ostree-receive-signatures.test.ts): `ostree-push` spawned as a user runs it
 * → a local `ostree-receive` that reads its configuration from
 * OSTREE_RECEIVE_CONF → a repository made by `ostree init`. What the tests
 * check is what an operator sees: the exit status, the one line on stderr,
 * the refs, the staging directory and `ostree fsck`.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { mergeSignatures, readCommitForSigning } from '../src/policy/commit-signatures.js';
import { ED25519_KEY, loadSecretKeys, signEd25519 } from '../src/policy/ed25519.js';
import { makeEd25519Keys, type Ed25519KeyFiles } from './test-keys.js';
import { commitTree, initArchiveRepo, type DirNode, encodeCommitmeta, objectRelPath, type Repo } from '../src/repo/index.js';
import { ostreeFsck, ostreeInit } from './ostree.js';
import { tmpDir } from './tmp.js';

const PUSH_ENTRY = fileURLToPath(new URL('../src/cli/ostree-push.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

export interface Run {
  code: number | null;
  stderr: string;
}

export interface Setup {
  dir: string;
  src: Repo;
  dest: string;
  keys: Ed25519KeyFiles;
  /** Writes the receiver's configuration; returns the environment that points at it. */
  configure(yaml: string): NodeJS.ProcessEnv;
  push(env: NodeJS.ProcessEnv, ...refs: string[]): Promise<Run>;
}

export const tree = (name: string): DirNode => ({ type: 'dir', children: { usr: { type: 'dir', children: { [name]: { type: 'file', content: `${name}\n` } } } } });

export async function setup(t: TestContext): Promise<Setup> {
  const dir = tmpDir(t, 'receive-policy-cli');
  const src = initArchiveRepo(join(dir, 'src'));
  const dest = join(dir, 'dest');
  await ostreeInit(dest, 'archive');
  const conf = join(dir, 'ostree-receive.conf');
  return {
    dir,
    src,
    dest,
    keys: makeEd25519Keys(dir, 'trusted'),
    configure(yaml) {
      writeFileSync(conf, yaml);
      return { ...process.env, OSTREE_RECEIVE_CONF: conf };
    },
    push(env, ...refs) {
      return new Promise((resolve) => {
        execFile(process.execPath, ['--import', TSX, PUSH_ENTRY, `--repo=${src.path}`, dest, ...refs], { env, timeout: 30_000 }, (err, _stdout, stderr) => {
          resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stderr });
        });
      });
    },
  };
}

export async function commit(s: Setup, branch: string, name: string): Promise<string> {
  return (await commitTree(s.src, { tree: tree(name), subject: name, timestamp: 1, branch })).commit;
}

/** Signs `checksum` in the source repository as `ostree sign` would: an ed25519 signature in its commitmeta. */
export async function signInSource(s: Setup, checksum: string): Promise<void> {
  const [key] = loadSecretKeys(s.keys.secretFile);
  const c = await readCommitForSigning(s.src, null, checksum);
  const meta = mergeSignatures(c.commitmeta, new Map([[ED25519_KEY, [signEd25519(key!, c.commitBytes)]]]));
  writeFileSync(s.src.resolve(objectRelPath(checksum, 'commitmeta')), encodeCommitmeta(meta));
}

export async function assertClean(s: Setup): Promise<void> {
  assert.deepEqual(
    readdirSync(join(s.dest, 'tmp')).filter((n) => n.startsWith('push-staging-') || n.startsWith('ostree-push.lock')),
    [],
    'no staging or lock left',
  );
  const fsck = await ostreeFsck(s.dest);
  assert.ok(fsck.ok, fsck.stderr);
}

/** The receiver's lines (prefixed `ostree-receive:`) in the pusher's stderr. */
export const receiverLines = (stderr: string): string[] => stderr.split('\n').filter((l) => l.startsWith('ostree-receive:'));

