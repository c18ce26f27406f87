/**
 * The benchmark's data sets, generated deterministically (seeded PRNG, fixed
 * timestamp, uid/gid 0) and committed with our builder into an archive
 * repository, cached under `<tmpdir>/ostree-push-bench/<name>-v<version>/`:
 *
 *   small      ~1,000 files, ~20 MB
 *   os-like    ~30,000 files, ~500 MB: log-normal sizes (median ~2 KB, a
 *              tail of a few files of several MB), 55% text, 30% binary-like,
 *              15% already-compressed, 4% symlinks, ~12 files per directory
 *   big-file   one 2 GiB binary-like file, streamed (never in memory)
 *   <base>+incr  a child commit of <base> that changes 10 files and adds 5;
 *              its destinations are seeded with <base> (hard links: objects
 *              are immutable), so a push sends only the difference
 *   <base>+same  <base> itself into a destination that already has it: an
 *              up-to-date push, nothing but the fixed cost
 *   wide       os-like's commit on bench/main plus three other branches
 *              (bench/other-1..3) of ~22,000 small files each: ~105,000
 *              objects, a push of every branch (the many-objects case)
 *   million    ~950,000 small text files (median ~250 bytes, a header line
 *              making each unique) in ~47,500 directories of ~20 files,
 *              nested like os-like's: about a million objects, 4 GB on disk
 *              (a block per object), generated in tens of minutes (the file
 *              system's file creation is most of it). Opt-in: not in the
 *              default set. The peak RSS target at a million objects.
 *   wide+incr  os-like+incr's change on bench/main, pushed alone from a
 *              repository holding every branch into one holding every branch:
 *              the same 52 objects as os-like+incr into a remote three
 *              times the size
 *
 * `stamp.json` is written last: a directory without it is a generation that
 * did not finish and is regenerated. Each data set also records the exact
 * objects a push sends (`objects.list`, NUL-separated paths), so that the raw
 * ssh pipe baseline streams the same bytes.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commitTree, initArchiveRepo, type DirNode, type TreeNode, objectRelPath, type ObjectName, closure, difference } from '../src/repo/index.js';
import { contentSource, Prng, textCorpus, type ContentKind } from './content.js';

/** Bump when generation changes, so stale caches are not reused. */
export const DATASET_VERSION = 1;
export const BENCH_REF = 'bench/main';
const TIMESTAMP = 1_700_000_000;

export interface Entry {
  path: string;
  kind: ContentKind | 'symlink';
  size: number;
  mode: number;
  seed: string;
  target?: string;
}

export interface ShapeSpec {
  seed: string;
  files: number;
  totalBytes: number;
}

export const SHAPES: Record<string, ShapeSpec> = {
  small: { seed: 'small', files: 1_000, totalBytes: 20e6 },
  'os-like': { seed: 'os-like', files: 30_000, totalBytes: 500e6 },
};

/** The other branches of `wide`: many objects, few bytes (what a remote of many branches adds). */
export const OTHER_BRANCHES: readonly ShapeSpec[] = [1, 2, 3].map((i) => ({ seed: `other-${i}`, files: 22_000, totalBytes: 25e6 }));
const otherRef = (i: number): string => `bench/other-${i + 1}`;

export const BIG_FILE_BYTES = 2 * 1024 ** 3;

/** The shape of `million`: small text files, ~20 to a directory. */
export const MILLION: ShapeSpec = { seed: 'million', files: 950_000, totalBytes: 0 };
const MILLION_FILES_PER_DIR = 20;

export const DATASET_NAMES = ['small', 'os-like', 'big-file', 'small+incr', 'os-like+incr', 'small+same', 'wide', 'wide+incr', 'million'] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

export interface Dataset {
  name: string;
  dir: string;
  repo: string;
  ref: string;
  commit: string;
  /** Incremental sets: the commit the destination already holds, and the repository to seed it from. */
  base?: { commit: string; repo: string; /** Every ref the destination holds (default: `ref` at `commit`). */ refs?: Record<string, string> };
  /** The refs a push names (default: `ref` alone), each with the commit it must reach. */
  pushRefs?: Record<string, string>;
  files: number;
  contentBytes: number;
  /** What a push into a fresh (or seeded) destination sends. */
  objects: number;
  objectBytes: number;
  objectList: string;
  generatedMs: number;
}

/** The file list of a generated tree: directories implied by the paths. */
export function osLikeEntries(spec: ShapeSpec): Entry[] {
  const r = new Prng(`shape:${spec.seed}`);
  const dirs = [''];
  const nDirs = Math.max(1, Math.round(spec.files / 12));
  for (let i = 1; i < nDirs; i++) {
    // Prefer recent directories as parents: deep, bushy trees like /usr/share.
    const parent = dirs[Math.max(0, dirs.length - 1 - r.int(Math.min(dirs.length, 40)))] as string;
    const depth = parent === '' ? 0 : parent.split('/').length;
    const p = depth >= 7 ? '' : parent;
    dirs.push(`${p === '' ? '' : `${p}/`}d${i}-${r.int(1000)}`);
  }
  const raw: number[] = [];
  const entries: Entry[] = [];
  for (let i = 0; i < spec.files; i++) {
    const dir = r.pick(dirs);
    const path = `${dir === '' ? '' : `${dir}/`}f${i}.${r.pick(['txt', 'so', 'png', 'conf', 'mo', 'py', 'h', 'gz'])}`;
    const u = r.float();
    if (u < 0.04) {
      entries.push({ path, kind: 'symlink', size: 0, mode: 0o777, seed: '', target: `../f${r.int(spec.files)}.txt` });
      raw.push(0);
      continue;
    }
    const kind: ContentKind = u < 0.59 ? 'text' : u < 0.89 ? 'binary' : 'packed';
    const size = r.int(50) === 0 ? 0 : Math.min(64e6, Math.exp(7.6 + 2.0 * r.normal()));
    raw.push(size);
    entries.push({ path, kind, size: 0, mode: r.int(10) === 0 ? 0o755 : 0o644, seed: `${spec.seed}:${i}` });
  }
  const sum = raw.reduce((a, b) => a + b, 0);
  const scale = sum > 0 ? spec.totalBytes / sum : 0;
  entries.forEach((e, i) => {
    if (e.kind !== 'symlink') e.size = Math.round((raw[i] as number) * scale);
  });
  return entries;
}

/** Directory paths nested as a system tree's are (deep, bushy: recent directories are preferred as parents). */
function directoryPaths(r: Prng, n: number): string[] {
  const dirs = [''];
  for (let i = 1; i < n; i++) {
    const parent = dirs[Math.max(0, dirs.length - 1 - r.int(Math.min(dirs.length, 40)))] as string;
    const depth = parent === '' ? 0 : parent.split('/').length;
    const p = depth >= 7 ? '' : parent;
    dirs.push(`${p === '' ? '' : `${p}/`}d${i}-${r.int(1000)}`);
  }
  return dirs;
}

/**
 * The tree of `million`: `spec.files` small text files spread over
 * directories of ~20 files. Contents are made when written (bytes, no
 * stream: the builder deflates them in one call), so the tree holds no bytes.
 */
export function manySmallFiles(spec: ShapeSpec): { tree: DirNode; files: number; contentBytes: number } {
  const r = new Prng(`shape:${spec.seed}`);
  const dirs = directoryPaths(r, Math.max(1, Math.round(spec.files / MILLION_FILES_PER_DIR)));
  const nodes = new Map<string, DirNode>();
  const root: DirNode = { type: 'dir', children: {} };
  nodes.set('', root);
  const dirNode = (path: string): DirNode => {
    let d = nodes.get(path);
    if (d !== undefined) return d;
    const slash = path.lastIndexOf('/');
    const parent = dirNode(slash < 0 ? '' : path.slice(0, slash));
    d = { type: 'dir', children: {} };
    parent.children[path.slice(slash + 1)] = d;
    nodes.set(path, d);
    return d;
  };
  const corpus = textCorpus();
  let contentBytes = 0;
  for (let i = 0; i < spec.files; i++) {
    const dir = dirNode(r.pick(dirs));
    // Log-normal, median ~250 bytes, capped at 16 KiB; the first line makes every file unique.
    const size = Math.min(16_384, Math.round(Math.exp(5.5 + r.normal())));
    const at = r.int(corpus.length - size);
    const head = `# ${spec.seed} ${i}\n`;
    contentBytes += head.length + size;
    dir.children[`f${i}.${r.pick(['txt', 'conf', 'py', 'h', 'desktop', 'rules'])}`] = {
      type: 'file',
      mode: r.int(10) === 0 ? 0o755 : 0o644,
      content: () => Buffer.concat([Buffer.from(head), corpus.subarray(at, at + size)]),
    };
  }
  return { tree: root, files: spec.files, contentBytes };
}

/** The child of a tree: 10 files get new content, 5 files are added (deterministic). */
export function incrementEntries(entries: readonly Entry[], seed: string): Entry[] {
  const r = new Prng(`incr:${seed}`);
  const out = entries.map((e) => ({ ...e }));
  const regular = out.filter((e) => e.kind !== 'symlink' && e.size > 0);
  const changed = new Set<Entry>();
  while (changed.size < Math.min(10, regular.length)) changed.add(r.pick(regular));
  for (const e of changed) e.seed = `${e.seed}:changed`;
  for (let i = 0; i < 5; i++) {
    const near = r.pick(out).path;
    const dir = near.includes('/') ? near.slice(0, near.lastIndexOf('/') + 1) : '';
    out.push({ path: `${dir}new${i}.txt`, kind: 'text', size: 1000 + r.int(100_000), mode: 0o644, seed: `${seed}:new${i}` });
  }
  return out;
}

export function treeOf(entries: readonly Entry[]): DirNode {
  const root: DirNode = { type: 'dir', children: {} };
  for (const e of entries) {
    const parts = e.path.split('/');
    let d = root;
    for (const p of parts.slice(0, -1)) {
      let c = d.children[p];
      if (c === undefined) {
        c = { type: 'dir', children: {} };
        d.children[p] = c;
      }
      d = c as DirNode;
    }
    const leaf: TreeNode =
      e.kind === 'symlink'
        ? { type: 'symlink', target: e.target ?? 'x' }
        : { type: 'file', mode: e.mode, content: contentSource(e.seed, e.size, e.kind) };
    d.children[parts[parts.length - 1] as string] = leaf;
  }
  return root;
}

export function benchRoot(): string {
  return process.env.OSTREE_PUSH_BENCH_DIR ?? join(tmpdir(), 'ostree-push-bench');
}

function readStamp(dir: string): Dataset | null {
  try {
    const d = JSON.parse(readFileSync(join(dir, 'stamp.json'), 'utf8')) as Dataset;
    return existsSync(d.repo) ? d : null;
  } catch {
    return null;
  }
}

async function writeObjectList(repo: string, objs: AsyncIterable<ObjectName>, listPath: string): Promise<{ objects: number; bytes: number }> {
  const paths: string[] = [];
  let bytes = 0;
  for await (const o of objs) {
    const p = join(repo, objectRelPath(o.checksum, o.type));
    paths.push(p);
    bytes += statSync(p).size;
  }
  writeFileSync(listPath, paths.map((p) => `${p}\0`).join(''));
  return { objects: paths.length, bytes };
}

export interface DatasetOptions {
  root?: string;
  log?: (line: string) => void;
  /** Shapes to use instead of SHAPES and OTHER_BRANCHES (tests use tiny ones). */
  shapes?: Record<string, ShapeSpec>;
  otherBranches?: readonly ShapeSpec[];
  bigFileBytes?: number;
}

/** Returns the data set, generating it first unless a finished one is cached. */
export async function dataset(name: string, options: DatasetOptions = {}): Promise<Dataset> {
  const shapes = options.shapes ?? SHAPES;
  const dir = join(options.root ?? benchRoot(), `${name}-v${DATASET_VERSION}`);
  const cached = readStamp(dir);
  if (cached !== null) return cached;
  // A directory without a stamp is an interrupted generation: start over.
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const t0 = Date.now();
  const repo = join(dir, 'repo');
  const log = options.log ?? (() => undefined);
  const commitOpts = { branch: BENCH_REF, timestamp: TIMESTAMP, fsync: false, subject: name };
  let ds: Dataset;
  if (name.endsWith('+same')) {
    const base = await dataset(name.slice(0, -'+same'.length), options);
    writeFileSync(join(dir, 'objects.list'), '');
    ds = { ...base, name, dir, base: { commit: base.commit, repo: base.repo }, objects: 0, objectBytes: 0, objectList: join(dir, 'objects.list'), generatedMs: 0 };
  } else if (name.endsWith('+incr')) {
    const baseName = name.slice(0, -'+incr'.length);
    // wide holds os-like's commit on bench/main: its increment is os-like's, the same objects.
    const shapeName = baseName === 'wide' ? 'os-like' : baseName;
    const spec = shapes[shapeName];
    if (spec === undefined) throw new Error(`no incremental data set for '${baseName}'`);
    const base = await dataset(baseName, options);
    log(`generating ${name}: a child of ${baseName}'s ${BENCH_REF} changing 10 files and adding 5`);
    // Share the base's objects (and its refs) by hard links, then add the child commit.
    execFileSync('cp', ['-al', base.repo, repo]);
    const entries = incrementEntries(osLikeEntries(spec), spec.seed);
    const built = await commitTree(repo, { ...commitOpts, subject: `${shapeName}+incr`, tree: treeOf(entries), parent: base.commit, timestamp: TIMESTAMP + 3600 });
    const list = await writeObjectList(repo, difference(repo, [built.commit], [base.commit]), join(dir, 'objects.list'));
    const seeded = base.pushRefs === undefined ? {} : { refs: base.pushRefs };
    ds = { name, dir, repo, ref: BENCH_REF, commit: built.commit, base: { commit: base.commit, repo: base.repo, ...seeded }, files: entries.length, contentBytes: entries.reduce((a, e) => a + e.size, 0), objects: list.objects, objectBytes: list.bytes, objectList: join(dir, 'objects.list'), generatedMs: 0 };
  } else if (name === 'wide') {
    const base = await dataset('os-like', options);
    const others = options.otherBranches ?? OTHER_BRANCHES;
    log(`generating ${name}: ${BENCH_REF} of os-like and ${others.length} other branches of ${others.map((o) => o.files).join(', ')} files`);
    execFileSync('cp', ['-al', base.repo, repo]);
    const refs: Record<string, string> = { [BENCH_REF]: base.commit };
    let files = base.files;
    let contentBytes = base.contentBytes;
    for (const [i, spec] of others.entries()) {
      const entries = osLikeEntries(spec);
      const built = await commitTree(repo, { ...commitOpts, branch: otherRef(i), subject: `${name} ${otherRef(i)}`, tree: treeOf(entries) });
      refs[otherRef(i)] = built.commit;
      files += entries.length;
      contentBytes += entries.reduce((a, e) => a + e.size, 0);
    }
    const list = await writeObjectList(repo, difference(repo, Object.values(refs), []), join(dir, 'objects.list'));
    ds = { name, dir, repo, ref: BENCH_REF, commit: base.commit, pushRefs: refs, files, contentBytes, objects: list.objects, objectBytes: list.bytes, objectList: join(dir, 'objects.list'), generatedMs: 0 };
  } else {
    initArchiveRepo(repo);
    let tree: DirNode;
    let files: number;
    let contentBytes: number;
    if (name === 'big-file') {
      const size = options.bigFileBytes ?? BIG_FILE_BYTES;
      log(`generating ${name}: one file of ${(size / 2 ** 20).toFixed(0)} MiB (streamed, deflated: about a minute per GiB)`);
      tree = { type: 'dir', children: { 'big.img': { type: 'file', content: contentSource('big-file', size, 'binary') } } };
      files = 1;
      contentBytes = size;
    } else if (name === 'million') {
      const spec = shapes.million ?? MILLION;
      log(`generating ${name}: ${spec.files} small files in ~${Math.round(spec.files / MILLION_FILES_PER_DIR)} directories (tens of minutes: one file per object)`);
      const many = manySmallFiles(spec);
      tree = many.tree;
      files = many.files;
      contentBytes = many.contentBytes;
    } else {
      const spec = shapes[name];
      if (spec === undefined) throw new Error(`unknown data set '${name}' (known: ${DATASET_NAMES.join(', ')})`);
      log(`generating ${name}: ${spec.files} files, ${(spec.totalBytes / 1e6).toFixed(0)} MB`);
      const entries = osLikeEntries(spec);
      tree = treeOf(entries);
      files = entries.length;
      contentBytes = entries.reduce((a, e) => a + e.size, 0);
    }
    const built = await commitTree(repo, { ...commitOpts, tree });
    const list = await writeObjectList(repo, closure(repo, built.commit), join(dir, 'objects.list'));
    ds = { name, dir, repo, ref: BENCH_REF, commit: built.commit, files, contentBytes, objects: list.objects, objectBytes: list.bytes, objectList: join(dir, 'objects.list'), generatedMs: 0 };
  }
  ds.generatedMs = Date.now() - t0;
  writeFileSync(join(dir, 'stamp.json'), `${JSON.stringify(ds, null, 2)}\n`);
  log(`generated ${name} in ${(ds.generatedMs / 1000).toFixed(1)} s: ${ds.objects} objects, ${(ds.objectBytes / 1e6).toFixed(1)} MB`);
  return ds;
}
