/**
 * Builds a case's fixture (spec/conformance-case.schema.json `fixture`):
 * the commits, from in-memory trees, into a fresh archive source repository
 * with src/repo/builder.ts; the destination in its initial state (empty
 * archive repository, pre-populated with commits and refs, another mode, or
 * no repository at all). It also names objects for the steps and checks:
 * 'c1' (a whole closure), 'c1:commit', 'c1:dirtree:/sub', 'c1:file:/a/b'.
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { UsageError } from '../src/errors.js';
import { Variant } from '../src/gvariant/index.js';
import { commitTree, type DirNode, type TreeNode, decodeCommit, decodeDirtree, objectRelPath, type ObjectName, Repo, closure, difference } from '../src/repo/index.js';
import type { CommitSpec, Fixture, TreeEntry } from './case.js';

export const ZERO = '0'.repeat(64);

export interface BuiltFixture {
  /** The source repository holding every fixture commit. */
  source: string;
  /** The destination: {repo} of a receiver case, {remote} of a pusher case. */
  dest: string;
  commits: Map<string, string>;
  /** 'zero', a commit name or a literal checksum → checksum. */
  rev(r: string): string;
  /** A selector → the objects it names (in the source repository). */
  objects(selector: string): Promise<ObjectName[]>;
  /** Objects of `commit` not in the closures of `have`, children first. */
  missing(commit: string, have: readonly string[]): Promise<ObjectName[]>;
  /** Path of an object file in the source repository. */
  sourcePath(o: ObjectName): string;
}

function bad(message: string): UsageError {
  return new UsageError('CONFORMANCE_BAD_CASE', `fixture: ${message}`, {});
}

/** Flat `path → entry` to the builder's nested tree. */
export function treeOf(entries: Record<string, TreeEntry>): DirNode {
  const root: DirNode = { type: 'dir', children: {} };
  const dirAt = (parts: string[]): DirNode => {
    let d = root;
    for (const p of parts) {
      const c = d.children[p];
      if (c === undefined) d = d.children[p] = { type: 'dir', children: {} };
      else if (c.type === 'dir') d = c;
      else throw bad(`'${parts.join('/')}' is both a file and a directory`);
    }
    return d;
  };
  for (const [path, e] of Object.entries(entries)) {
    const parts = path.split('/').filter((p) => p !== '');
    const name = parts.pop();
    if (name === undefined) throw bad(`empty path`);
    const parent = dirAt(parts);
    let node: TreeNode;
    if (typeof e === 'string') node = { type: 'file', content: e };
    else if (e.dir === true) {
      dirAt([...parts, name]);
      continue;
    } else if (e.symlink !== undefined) node = { type: 'symlink', target: e.symlink };
    else node = { type: 'file', content: (e.content ?? '').repeat(e.repeat ?? 1), ...(e.mode !== undefined ? { mode: e.mode } : {}) };
    parent.children[name] = node;
  }
  return root;
}

async function buildCommits(source: string, specs: Record<string, CommitSpec>): Promise<Map<string, string>> {
  const commits = new Map<string, string>();
  let n = 0;
  for (const [name, spec] of Object.entries(specs)) {
    const parent = spec.parent === undefined ? null : commits.get(spec.parent);
    if (parent === undefined) throw bad(`${name}: parent '${String(spec.parent)}' must be listed before it`);
    const built = await commitTree(source, {
      tree: treeOf(spec.tree),
      parent,
      subject: spec.subject ?? name,
      timestamp: spec.timestamp ?? 1_700_000_000 + n++,
      fsync: false,
      ...(spec.commitmeta !== undefined ? { detachedMetadata: new Map(Object.entries(spec.commitmeta).map(([k, v]) => [k, new Variant('s', v)])) } : {}),
    });
    commits.set(name, built.commit);
  }
  return commits;
}

function writeRef(repo: string, name: string, checksum: string): void {
  const path = join(repo, 'refs', 'heads', name);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${checksum}\n`);
}

/** Builds the fixture under `dir` (which must exist and be empty). */
export async function buildFixture(dir: string, fixture: Fixture): Promise<BuiltFixture> {
  const source = join(dir, 'source');
  const dest = join(dir, 'dest');
  Repo.init(source, { mode: 'archive' });
  const commits = await buildCommits(source, fixture.commits);
  for (const [ref, c] of Object.entries(fixture.source ?? {})) writeRef(source, ref, need(c));

  function need(name: string): string {
    const c = commits.get(name);
    if (c === undefined) throw bad(`no commit named '${name}'`);
    return c;
  }
  const rev = (r: string): string => (r === 'zero' ? ZERO : /^[0-9a-f]{64}$/.test(r) ? r : need(r));
  const sourcePath = (o: ObjectName): string => join(source, objectRelPath(o.checksum, o.type));

  async function pathObject(commit: string, kind: 'dirtree' | 'dirmeta' | 'file', path: string): Promise<ObjectName> {
    const c = decodeCommit(readFileSync(sourcePath({ checksum: commit, type: 'commit' })));
    let tree = c.rootDirtree;
    let meta = c.rootDirmeta;
    const parts = path.split('/').filter((p) => p !== '');
    const last = kind === 'file' ? parts.pop() : undefined;
    for (const p of parts) {
      const t = decodeDirtree(readFileSync(sourcePath({ checksum: tree, type: 'dirtree' })));
      const d = t.dirs.find((x) => x.name === p);
      if (d === undefined) throw bad(`no directory '${path}'`);
      tree = d.dirtree;
      meta = d.dirmeta;
    }
    if (kind === 'dirtree') return { checksum: tree, type: 'dirtree' };
    if (kind === 'dirmeta') return { checksum: meta, type: 'dirmeta' };
    const t = decodeDirtree(readFileSync(sourcePath({ checksum: tree, type: 'dirtree' })));
    const f = t.files.find((x) => x.name === last);
    if (f === undefined) throw bad(`no file '${path}'`);
    return { checksum: f.checksum, type: 'file' };
  }

  async function objects(selector: string): Promise<ObjectName[]> {
    const m = /^([a-z][a-z0-9]*)(?::(commit|commitmeta|dirtree|dirmeta|file)(?::(.*))?)?$/.exec(selector);
    if (m === null) throw bad(`bad selector '${selector}'`);
    const commit = need(m[1] as string);
    const kind = m[2];
    if (kind === undefined) {
      const out: ObjectName[] = [];
      for await (const o of closure(source, commit)) out.push(o);
      return out;
    }
    if (kind === 'commit' || kind === 'commitmeta') return [{ checksum: commit, type: kind }];
    return [await pathObject(commit, kind as 'dirtree' | 'dirmeta' | 'file', m[3] ?? '/')];
  }

  async function missing(commit: string, have: readonly string[]): Promise<ObjectName[]> {
    const out: ObjectName[] = [];
    for await (const o of difference(source, [need(commit)], have.map(need))) out.push(o);
    return out;
  }

  const d = fixture.dest ?? {};
  const mode = d.mode ?? 'archive';
  if (mode === 'none') mkdirSync(dest, { recursive: true });
  else {
    Repo.init(dest, { mode });
    const copy = (o: ObjectName): void => {
      const to = join(dest, objectRelPath(o.checksum, o.type));
      mkdirSync(dirname(to), { recursive: true });
      copyFileSync(sourcePath(o), to);
    };
    for (const [ref, c] of Object.entries(d.refs ?? {})) {
      for (const o of await objects(c)) copy(o);
      writeRef(dest, ref, need(c));
    }
    for (const sel of d.objects ?? []) for (const o of await objects(sel)) copy(o);
    if (d.manyRefs !== undefined) {
      for (const o of await objects(d.manyRefs.to)) copy(o);
      for (let i = 0; i < d.manyRefs.count; i++) writeRef(dest, `${d.manyRefs.prefix ?? 'r'}${i}`, need(d.manyRefs.to));
    }
  }
  return { source, dest, commits, rev, objects, missing, sourcePath };
}

/** Every file under refs/heads of `repo`, whatever its name: name → first line. */
export function destRefs(repo: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string, prefix: string): void => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const n of names.sort()) {
      const p = join(dir, n);
      if (statSync(p).isDirectory()) walk(p, `${prefix}${n}/`);
      else out[`${prefix}${n}`] = readFileSync(p, 'utf8').split('\n')[0] ?? '';
    }
  };
  walk(join(repo, 'refs', 'heads'), '');
  return out;
}

/** Whether `repo` holds the object as a regular file. */
export function hasObject(repo: string, o: ObjectName): boolean {
  try {
    return statSync(join(repo, objectRelPath(o.checksum, o.type))).isFile();
  } catch {
    return false;
  }
}

