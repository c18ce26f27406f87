/**
 * Source repositories of every bare mode, built by the ostree command from
 * one tree on disk: user xattrs (where the file system keeps them), a
 * symlink and a dangling one, setuid and executable files, an empty file and
 * an empty directory, a file owned by 1234:5678 (when run as root), and a
 * large file of `bigSize` bytes, half pseudo-random and half text, so that
 * its deflated form spans several chunks of both kinds.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, createWriteStream, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ostreeCommit, ostreeInit, type OstreeMode } from './ostree.js';
import { pseudoRandomContent } from './ostree-trees.js';

export type BareSourceMode = 'bare' | 'bare-user' | 'bare-user-only';

export const isRoot = (): boolean => process.getuid?.() === 0;

/** Whether `dir`'s file system keeps user.* xattrs (setfattr must be installed). */
export function userXattrsWork(dir: string): boolean {
  const probe = join(dir, '.xattr-probe');
  writeFileSync(probe, '');
  try {
    execFileSync('setfattr', ['-n', 'user.probe', '-v', '1', probe], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    execFileSync('rm', ['-f', probe]);
  }
}

export interface SourceTree {
  dir: string;
  xattrs: boolean;
  owned: boolean;
}

/** Writes the tree under `dir`/tree. */
export async function writeSourceTree(dir: string, options: { bigSize: number; big?: () => AsyncIterable<Uint8Array> }): Promise<SourceTree> {
  const root = join(dir, 'tree');
  for (const d of ['bin', 'etc', 'data', 'var/empty', 'deep/a/b']) mkdirSync(join(root, d), { recursive: true });
  writeFileSync(join(root, 'hello.txt'), 'hello\n');
  writeFileSync(join(root, 'empty'), '');
  symlinkSync('hello.txt', join(root, 'link'));
  symlinkSync('../nowhere/x', join(root, 'deep/dangling'));
  writeFileSync(join(root, 'bin/suid'), '#!/bin/sh\necho suid\n');
  chmodSync(join(root, 'bin/suid'), 0o4755);
  writeFileSync(join(root, 'bin/exec'), '#!/bin/sh\necho exec\n');
  chmodSync(join(root, 'bin/exec'), 0o755);
  writeFileSync(join(root, 'deep/a/b/leaf'), 'leaf\n');
  writeFileSync(join(root, 'etc/owned'), 'owned\n');
  chmodSync(join(root, 'etc/owned'), 0o640);
  const owned = isRoot();
  if (owned) chownSync(join(root, 'etc/owned'), 1234, 5678);
  const xattrs = userXattrsWork(dir);
  if (xattrs) {
    execFileSync('setfattr', ['-n', 'user.test', '-v', 'hello', join(root, 'hello.txt')]);
    execFileSync('setfattr', ['-n', 'user.alpha', '-v', '1', join(root, 'hello.txt')]);
    execFileSync('setfattr', ['-n', 'user.dir', '-v', 'd', join(root, 'deep/a')]);
  }
  const half = Math.floor(options.bigSize / 2);
  const text = async function* (): AsyncIterable<Uint8Array> {
    const line = Buffer.from('the quick brown fox jumps over the lazy dog 0123456789\n');
    for (let left = options.bigSize - half; left > 0; left -= Math.min(left, 1 << 16)) {
      yield Buffer.alloc(Math.min(left, 1 << 16), line);
    }
  };
  const random = options.big ?? pseudoRandomContent('big', half);
  await pipeline(async function* () {
    yield* random();
    yield* text();
  }, createWriteStream(join(root, 'data/big.bin')));
  return { dir: root, xattrs, owned };
}

/** `ostree init --mode=MODE` and `ostree commit` of the tree onto `main`; returns the commit. */
export async function commitSource(path: string, mode: OstreeMode, tree: SourceTree): Promise<string> {
  await ostreeInit(path, mode);
  return await ostreeCommit(path, tree.dir, { branch: 'main', timestamp: 1_700_000_000 });
}
