/**
 * A commit builder for tests, fixtures, the demo and benchmarks: turns a tree
 * (in memory, or a directory on disk) into archive objects and a commit with
 * the same checksum `ostree commit` gives for the same tree, timestamp,
 * subject, body and metadata (spec/ostree-format.md §3, §4).
 *
 * What `ostree commit` records, and so what we record:
 * - uid, gid and the full st_mode as found on disk (`ownerUid`/`ownerGid`
 *   override them like `--owner-uid`/`--owner-gid`);
 * - every xattr (all namespaces), sorted, empty values dropped. From disk
 *   they are read with `getfattr` when it is installed (xattrs: 'auto'); without
 *   it they are skipped, and checksums then match `ostree commit --no-xattrs`
 *   only. In-memory trees give xattrs explicitly.
 * - `--branch=B` adds metadata `ostree.ref-binding` = as [B] unless
 *   `--no-bindings`; here `bindings` (default true when `branch` is set).
 * - metadata keys come out in GVariantDict's hash order (glib-dict-order.ts),
 *   user keys inserted first, then the binding; `glibOrder: false` keeps the
 *   Map's order instead.
 */
import { createReadStream } from 'node:fs';
import { lstat, mkdir, readdir, readlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { RepoError } from '../errors.js';
import { Variant } from '../gvariant/index.js';
import { glibDictOrder } from './glib-dict-order.js';
import { replaceFileDurableSync } from './fsutil.js';
import { assertRefName } from './ref-names.js';
import { Repo } from './repo.js';
import { S_IFLNK, S_IFREG, type ContentSource } from './filez.js';
import { checkEntryName, compareNames, encodeCommit, encodeCommitmeta, encodeDirmeta, encodeDirtree, xattrsFromRecord, type DirtreeDir, type DirtreeFile } from './metadata.js';
import { assertChecksum } from './object-names.js';
import { ObjectWriter, type ObjectWriterOptions } from './builder-writer.js';
import { hasGetfattr, readTreeXattrs } from './disk-xattrs.js';

export type XattrRecord = Record<string, Uint8Array | string>;

interface Owned {
  uid?: number;
  gid?: number;
  xattrs?: XattrRecord;
}

export interface DirNode extends Owned {
  type: 'dir';
  /** Permission bits (default 0o755). */
  mode?: number;
  children: Record<string, TreeNode>;
}

export interface FileNode extends Owned {
  type: 'file';
  /** Bytes, text, or a function giving them or a stream of them when written. */
  content: Uint8Array | string | (() => ContentSource);
  /** Permission bits (default 0o644). */
  mode?: number;
}

export interface SymlinkNode extends Owned {
  type: 'symlink';
  target: string;
}

export type TreeNode = DirNode | FileNode | SymlinkNode;

export interface BuildOptions extends ObjectWriterOptions {
  /** Override every uid / gid (like `--owner-uid` / `--owner-gid`). */
  ownerUid?: number;
  ownerGid?: number;
  /** Disk trees: 'auto' reads xattrs with getfattr when present; 'none' skips them. */
  xattrs?: 'auto' | 'none';
}

export interface CommitOptions extends BuildOptions {
  /** A tree description or a directory on disk. */
  tree: TreeNode | string;
  subject?: string;
  body?: string;
  /** Seconds since the epoch (or a Date); default now. */
  timestamp?: bigint | number | Date;
  parent?: string | null;
  metadata?: Map<string, Variant>;
  /** Ref to point at the new commit (`refs/heads/<branch>`). */
  branch?: string;
  /** Add `ostree.ref-binding` = [branch]; default true when `branch` is set. */
  bindings?: boolean;
  /** Order metadata keys as ostree does (default true). */
  glibOrder?: boolean;
  /** Detached metadata, written as `<commit>.commitmeta` when given. */
  detachedMetadata?: Map<string, Variant>;
}

export interface BuiltTree {
  dirtree: string;
  dirmeta: string;
}

export interface BuiltCommit extends BuiltTree {
  commit: string;
}

const utf8 = new TextEncoder();

function unsupported(why: string, data: Record<string, unknown> = {}): RepoError {
  return new RepoError('REPO_UNSUPPORTED_FILE', why, data);
}

/** Reads a directory on disk into a tree description; content stays on disk. */
export async function treeFromDisk(dir: string, options: Pick<BuildOptions, 'xattrs'> = {}): Promise<DirNode> {
  const root = resolve(dir);
  const useXattrs = (options.xattrs ?? 'auto') === 'auto' && hasGetfattr();
  const xattrs = useXattrs ? await readTreeXattrs(root) : new Map<string, XattrRecord>();
  async function node(path: string): Promise<TreeNode> {
    const st = await lstat(path);
    const common = { uid: st.uid, gid: st.gid, mode: st.mode & 0o7777, ...(xattrs.has(path) ? { xattrs: xattrs.get(path) as XattrRecord } : {}) };
    if (st.isDirectory()) {
      const children: Record<string, TreeNode> = {};
      for (const name of await readdir(path)) children[name] = await node(join(path, name));
      return { type: 'dir', ...common, children };
    }
    if (st.isFile()) return { type: 'file', ...common, content: () => createReadStream(path) };
    if (st.isSymbolicLink()) return { type: 'symlink', uid: st.uid, gid: st.gid, ...(common.xattrs ? { xattrs: common.xattrs } : {}), target: await readlink(path) };
    throw unsupported(`${path}: not a regular file, directory or symlink`, { path });
  }
  const top = await node(root);
  if (top.type !== 'dir') throw unsupported(`${root} is not a directory`, { path: root });
  return top;
}

function contentOf(n: FileNode): ContentSource {
  if (typeof n.content === 'string') return utf8.encode(n.content);
  if (n.content instanceof Uint8Array) return n.content;
  return n.content();
}

/** Writes the objects of a tree; returns the root dirtree and dirmeta checksums. */
export async function writeTree(writer: ObjectWriter, tree: DirNode, options: BuildOptions = {}): Promise<BuiltTree> {
  const uidOf = (n: Owned): number => options.ownerUid ?? n.uid ?? 0;
  const gidOf = (n: Owned): number => options.ownerGid ?? n.gid ?? 0;
  const xattrsOf = (n: Owned) => xattrsFromRecord(n.xattrs ?? {});

  async function dir(n: DirNode): Promise<BuiltTree> {
    if (n.type !== 'dir' || typeof n.children !== 'object' || n.children === null) throw unsupported('malformed directory node');
    const files: DirtreeFile[] = [];
    const dirs: DirtreeDir[] = [];
    for (const name of Object.keys(n.children).sort(compareNames)) {
      checkEntryName(name);
      const c = n.children[name] as TreeNode;
      if (c.type === 'dir') {
        const b = await dir(c);
        dirs.push({ name, dirtree: b.dirtree, dirmeta: b.dirmeta });
      } else if (c.type === 'file') {
        const meta = { uid: uidOf(c), gid: gidOf(c), mode: S_IFREG | ((c.mode ?? 0o644) & 0o7777), symlinkTarget: '', xattrs: xattrsOf(c) };
        files.push({ name, checksum: (await writer.writeContent(meta, contentOf(c))).checksum });
      } else if (c.type === 'symlink') {
        const meta = { uid: uidOf(c), gid: gidOf(c), mode: S_IFLNK | 0o777, symlinkTarget: c.target, xattrs: xattrsOf(c) };
        files.push({ name, checksum: (await writer.writeContent(meta, new Uint8Array(0))).checksum });
      } else {
        throw unsupported(`unknown node type for ${JSON.stringify(name)}`, { name });
      }
    }
    const dirtree = await writer.writeMetadata('dirtree', encodeDirtree({ files, dirs }));
    const dirmeta = await writer.writeMetadata(
      'dirmeta',
      encodeDirmeta({ uid: uidOf(n), gid: gidOf(n), mode: 0o040000 | ((n.mode ?? 0o755) & 0o7777), xattrs: xattrsOf(n) }),
    );
    return { dirtree, dirmeta };
  }
  return dir(tree);
}

function toSeconds(t: CommitOptions['timestamp']): bigint {
  if (t === undefined) return BigInt(Math.floor(Date.now() / 1000));
  if (t instanceof Date) return BigInt(Math.floor(t.getTime() / 1000));
  return BigInt(t);
}

/** The commit's `a{sv}` as `ostree commit` would assemble it. */
export function commitMetadata(options: Pick<CommitOptions, 'metadata' | 'branch' | 'bindings' | 'glibOrder'>): Map<string, Variant> {
  const m = new Map(options.metadata ?? []);
  if (options.branch !== undefined && (options.bindings ?? true)) m.set('ostree.ref-binding', new Variant('as', [options.branch]));
  if (!(options.glibOrder ?? true) || m.size === 0) return m;
  return new Map(glibDictOrder([...m.keys()]).map((k) => [k, m.get(k) as Variant]));
}

/** Points `refs/heads/<name>` at `commit` (temp file + rename). */
export async function setRef(repo: string | Repo, name: string, commit: string): Promise<void> {
  assertRefName(name);
  assertChecksum(commit);
  const root = typeof repo === 'string' ? repo : repo.path;
  const path = join(root, 'refs', 'heads', name);
  await mkdir(dirname(path), { recursive: true });
  replaceFileDurableSync(path, `${commit}\n`);
}

/** Builds a tree and a commit into the archive repository at `repo`; sets `branch` when given. */
export async function commitTree(repo: string | Repo, options: CommitOptions): Promise<BuiltCommit> {
  const root = typeof repo === 'string' ? repo : repo.path;
  if (options.parent != null) assertChecksum(options.parent, 'parent');
  if (options.branch !== undefined) assertRefName(options.branch);
  const writer = new ObjectWriter(root, options);
  const tree = typeof options.tree === 'string' ? await treeFromDisk(options.tree, options) : options.tree;
  if (tree.type !== 'dir') throw unsupported('the root of a commit must be a directory');
  const built = await writeTree(writer, tree, options);
  const commit = await writer.writeMetadata(
    'commit',
    encodeCommit({
      metadata: commitMetadata(options),
      parent: options.parent ?? null,
      related: [],
      subject: options.subject ?? '',
      body: options.body ?? '',
      timestamp: toSeconds(options.timestamp),
      rootDirtree: built.dirtree,
      rootDirmeta: built.dirmeta,
    }),
  );
  if (options.detachedMetadata !== undefined) await writer.writeNamed(commit, 'commitmeta', encodeCommitmeta(options.detachedMetadata));
  if (options.branch !== undefined) await setRef(root, options.branch, commit);
  return { commit, ...built };
}

/** `ostree init --mode=archive` (delegates to Repo.init). */
export function initArchiveRepo(path: string): Repo {
  return Repo.init(path, { mode: 'archive' });
}
