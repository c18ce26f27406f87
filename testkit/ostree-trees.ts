/**
 * Trees for repository tests: a fast-check arbitrary of builder tree
 * descriptions, a way to write one to disk (for `ostree commit` to read), a
 * deep comparison of two directories (for `ostree checkout` round trips),
 * and a thin `ostree` runner.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, lstat, mkdir, readFile, readdir, readlink, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import fc from 'fast-check';
import type { DirNode, FileNode, TreeNode, XattrRecord } from '../src/repo/index.js';

const run = promisify(execFile);

/** Deterministic incompressible bytes, streamed: `size` bytes derived from `seed`. */
export function pseudoRandomContent(seed: string, size: number, chunk = 1 << 16): () => AsyncIterable<Uint8Array> {
  return async function* () {
    let block = createHash('sha512').update(seed).digest();
    let left = size;
    while (left > 0) {
      const parts: Buffer[] = [];
      let n = 0;
      while (n < Math.min(chunk, left)) {
        block = createHash('sha512').update(block).digest();
        parts.push(block);
        n += block.length;
      }
      const out = Buffer.concat(parts).subarray(0, Math.min(chunk, left));
      left -= out.length;
      yield out;
    }
  };
}

const NAMES = ['a', 'b c', 'é', '日本語', 'Zed', 'big.bin', '.hidden', 'x-y_z', '😀', 'ü-file', 'A', 'zz z'];

const xattrArb: fc.Arbitrary<XattrRecord | undefined> = fc.option(
  fc.dictionary(fc.constantFrom('user.alpha', 'user.test', 'user.z'), fc.string({ minLength: 1, maxLength: 6 }), { maxKeys: 2 }),
  { nil: undefined, freq: 3 },
);

/** Trees with nested and empty dirs, empty files, executables, symlinks, odd names; xattrs when `withXattrs`. */
export function treeArb(withXattrs: boolean, maxDepth = 3): fc.Arbitrary<DirNode> {
  const x = withXattrs ? xattrArb : fc.constant(undefined);
  const withX = <T extends object>(n: T, xa: XattrRecord | undefined): T => (xa === undefined ? n : { ...n, xattrs: xa });
  const file: fc.Arbitrary<TreeNode> = fc
    .tuple(fc.oneof(fc.constant(new Uint8Array(0)), fc.uint8Array({ maxLength: 3000 }), fc.string({ maxLength: 200 }).map((s) => new TextEncoder().encode(s.repeat(5)))), fc.constantFrom(0o644, 0o755, 0o600, 0o640, 0o4755), x)
    .map(([content, mode, xa]) => withX({ type: 'file', content, mode } as FileNode, xa));
  const link: fc.Arbitrary<TreeNode> = fc.constantFrom('a', '../x', '/etc/passwd', 'dangling target', 'é/😀').map((target) => ({ type: 'symlink', target }));
  const dir = fc.letrec<{ dir: DirNode }>((tie) => ({
    dir: fc
      .tuple(
        fc.dictionary(fc.constantFrom(...NAMES), fc.oneof({ depthSize: 'small', maxDepth }, file, file, link, tie('dir')), { maxKeys: 5 }),
        fc.constantFrom(0o755, 0o700, 0o750),
        x,
      )
      .map(([children, mode, xa]) => withX({ type: 'dir', mode, children } as DirNode, xa)),
  }));
  return dir.dir;
}

async function setXattrs(path: string, xa: XattrRecord | undefined): Promise<void> {
  for (const [k, v] of Object.entries(xa ?? {})) {
    const hex = Buffer.from(typeof v === 'string' ? Buffer.from(v) : v).toString('hex');
    await run('setfattr', ['-n', k, '-v', `0x${hex}`, path]);
  }
}

/** Writes a tree to `path` (which must exist as an empty directory), modes and xattrs included. */
export async function materialize(tree: DirNode, path: string): Promise<void> {
  for (const [name, n] of Object.entries(tree.children)) {
    const p = join(path, name);
    if (n.type === 'dir') {
      await mkdir(p);
      await materialize(n, p);
    } else if (n.type === 'file') {
      if (typeof n.content === 'function') await pipeline(Readable.from(n.content()), createWriteStream(p));
      else await writeFile(p, n.content);
      await setXattrs(p, n.xattrs);
      await chmod(p, n.mode ?? 0o644);
    } else {
      await symlink(n.target, p);
    }
  }
  await setXattrs(path, tree.xattrs);
  await chmod(path, tree.mode ?? 0o755);
}

/** Differences between two directory trees: type, mode bits, content, symlink targets. Empty = identical. */
export async function diffTrees(a: string, b: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  const [sa, sb] = [await lstat(join(a, rel)), await lstat(join(b, rel))];
  if ((sa.mode & 0o170777) !== (sb.mode & 0o170777)) out.push(`${rel || '/'}: mode ${sa.mode.toString(8)} != ${sb.mode.toString(8)}`);
  if (sa.isDirectory() && sb.isDirectory()) {
    const [na, nb] = [(await readdir(join(a, rel))).sort(), (await readdir(join(b, rel))).sort()];
    if (na.join('\0') !== nb.join('\0')) return [...out, `${rel || '/'}: entries ${JSON.stringify(na)} != ${JSON.stringify(nb)}`];
    for (const n of na) out.push(...(await diffTrees(a, b, join(rel, n))));
  } else if (sa.isSymbolicLink() && sb.isSymbolicLink()) {
    if ((await readlink(join(a, rel))) !== (await readlink(join(b, rel)))) out.push(`${rel}: symlink target differs`);
  } else if (sa.isFile() && sb.isFile()) {
    if (sa.size !== sb.size || !(await readFile(join(a, rel))).equals(await readFile(join(b, rel)))) out.push(`${rel}: content differs`);
  } else {
    out.push(`${rel}: file type differs`);
  }
  return out;
}

/** Every loose object of a repository, as `checksum.ext` (sorted). */
export async function listObjects(repo: string): Promise<string[]> {
  const out: string[] = [];
  for (const d of await readdir(join(repo, 'objects'))) {
    for (const f of await readdir(join(repo, 'objects', d))) out.push(d + f);
  }
  return out.sort();
}
