/**
 * The guarantees the simulator checks after every run, against the
 * destination repository as it is on disk (README "Staging and publication",
 * src/repo/README.md; protocol-v0 weaknesses of the 2015 receiver):
 *
 *   I1  every file in objects/ is a complete object whose content matches its name
 *   I2  every object in the store has all of its children in the store
 *   I3  every ref names a commit whose whole closure is present
 *   I4  each ref holds its old value or a new one some push asked for, and the
 *       refs of one push moved together or not at all (after recovery)
 *   I5  no staging or temp debris remains (after the receiver exits, or after
 *       the next one starts for a killed one)
 *   I6  a pusher that reported success left the remote refs equal to what it pushed
 *   I7  nothing was written outside the repository
 *   I8  no ref reported refused / not pushed moved to what was pushed (our
 *       pusher: after a session lost after DONE it asks a second session;
 *       the parent-first model pusher is not held to it)
 *
 * Each checker returns violations as values (never throws for a bad store), so
 * one run reports everything wrong with it at once.
 */
import { readdirSync, lstatSync, type Dirent } from 'node:fs';
import { join, resolve, relative, sep } from 'node:path';
import { isOstreePushError } from '../src/errors.js';
import { decodeCommit, decodeDirtree, readMetadataFile, objectRelPath, parseObjectBasename, type ObjectName, type ObjectType, listRefs, Repo, JOURNAL_REL, LOCK_REL, STAGING_PREFIX, closure, verifyObjectFile } from '../src/repo/index.js';

export type InvariantId = 'I1' | 'I2' | 'I3' | 'I4' | 'I5' | 'I6' | 'I7' | 'I8';

export interface Violation {
  invariant: InvariantId;
  message: string;
}

const ZERO = '0'.repeat(64);
const why = (e: unknown): string => (isOstreePushError(e) ? `${e.code}: ${e.message}` : e instanceof Error ? e.message : String(e));

function entries(dir: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/** Every entry of objects/XX/, parsed; names that are not objects come back as `stray`. */
function scanObjects(repoPath: string): { objects: ObjectName[]; stray: string[] } {
  const objects: ObjectName[] = [];
  const stray: string[] = [];
  for (const xx of entries(join(repoPath, 'objects'))) {
    const rel = `objects/${xx.name}`;
    if (!xx.isDirectory() || !/^[0-9a-f]{2}$/.test(xx.name)) {
      stray.push(rel);
      continue;
    }
    for (const f of entries(join(repoPath, rel))) {
      try {
        if (!f.isFile()) throw new Error('not a regular file');
        objects.push(parseObjectBasename(xx.name + f.name, { mode: 'archive' }));
      } catch {
        stray.push(`${rel}/${f.name}`);
      }
    }
  }
  return { objects, stray };
}

/** I1: each object verifies (checksum, strict decoding); anything else in objects/ is a violation. */
export async function checkObjectsComplete(repoPath: string): Promise<Violation[]> {
  const out: Violation[] = [];
  const { objects, stray } = scanObjects(repoPath);
  for (const s of stray) out.push({ invariant: 'I1', message: `${s} is in objects/ but is not an object file` });
  for (const o of objects) {
    try {
      await verifyObjectFile(join(repoPath, objectRelPath(o.checksum, o.type)), o);
    } catch (e) {
      out.push({ invariant: 'I1', message: `${o.checksum}.${o.type} does not match its name (${why(e)})` });
    }
  }
  return out;
}

function present(repoPath: string, checksum: string, type: ObjectType): boolean {
  try {
    return lstatSync(join(repoPath, objectRelPath(checksum, type))).isFile();
  } catch {
    return false;
  }
}

/** I2: the direct children of every commit and dirtree are in the store (undecodable objects are I1's). */
export async function checkStoreClosed(repoPath: string): Promise<Violation[]> {
  const out: Violation[] = [];
  const missing = (parent: ObjectName, child: string, type: ObjectType, what: string): void => {
    if (!present(repoPath, child, type)) {
      out.push({ invariant: 'I2', message: `${parent.type} ${parent.checksum} is in the store but its ${what} ${child}.${type} is not` });
    }
  };
  for (const o of scanObjects(repoPath).objects) {
    if (o.type !== 'commit' && o.type !== 'dirtree') continue;
    let bytes: Uint8Array;
    try {
      bytes = await readMetadataFile(join(repoPath, objectRelPath(o.checksum, o.type)));
    } catch {
      continue;
    }
    try {
      if (o.type === 'commit') {
        const c = decodeCommit(bytes);
        missing(o, c.rootDirtree, 'dirtree', 'root dirtree');
        missing(o, c.rootDirmeta, 'dirmeta', 'root dirmeta');
      } else {
        const t = decodeDirtree(bytes);
        for (const f of t.files) missing(o, f.checksum, 'file', `file ${JSON.stringify(f.name)}`);
        for (const d of t.dirs) {
          missing(o, d.dirtree, 'dirtree', `subdirectory ${JSON.stringify(d.name)}`);
          missing(o, d.dirmeta, 'dirmeta', `subdirectory ${JSON.stringify(d.name)} dirmeta`);
        }
      }
    } catch {
      /* not decodable: reported by I1 */
    }
  }
  return out;
}

/** The refs/heads of a repository, or a violation when they cannot be read. */
export function readHeads(repoPath: string): { refs: Map<string, string>; violation?: Violation } {
  try {
    return { refs: listRefs(Repo.open(repoPath), 'heads') };
  } catch (e) {
    return { refs: new Map(), violation: { invariant: 'I4', message: `refs cannot be read (${why(e)})` } };
  }
}

/** I3: every ref names a commit whose whole closure is in the store. */
export async function checkRefsComplete(repoPath: string): Promise<Violation[]> {
  const { refs, violation } = readHeads(repoPath);
  const out: Violation[] = violation === undefined ? [] : [{ ...violation, invariant: 'I3' }];
  for (const [name, commit] of refs) {
    try {
      for await (const _ of closure(repoPath, commit)) {
        /* the walk fails on the first missing object */
      }
    } catch (e) {
      out.push({ invariant: 'I3', message: `ref ${name} names ${commit}, whose closure is incomplete (${why(e)})` });
    }
  }
  return out;
}

/** One push's intent: ref → new commit (zeros or null: delete). */
export type RefSet = ReadonlyMap<string, string | null>;

/**
 * I4: the refs touched by the pushes hold, together, either their values
 * before every push or the values of one push laid over them. `before` maps
 * each ref to its value before the run (absent: no ref).
 */
export function checkRefsAtomic(repoPath: string, before: RefSet, pushes: readonly RefSet[]): Violation[] {
  const { refs, violation } = readHeads(repoPath);
  if (violation !== undefined) return [violation];
  const names = new Set<string>([...before.keys()]);
  for (const p of pushes) for (const n of p.keys()) names.add(n);
  const norm = (v: string | null | undefined): string => (v === undefined || v === null || v === ZERO ? 'absent' : v);
  const actual = [...names].map((n) => norm(refs.get(n)));
  const candidates: { label: string; values: string[] }[] = [{ label: 'before', values: [...names].map((n) => norm(before.get(n))) }];
  pushes.forEach((p, i) => {
    candidates.push({ label: `push ${i + 1}`, values: [...names].map((n) => norm(p.has(n) ? p.get(n) : before.get(n))) });
  });
  if (candidates.some((c) => c.values.every((v, i) => v === actual[i]))) return [];
  const show = [...names].map((n, i) => `${n}=${actual[i]?.slice(0, 12)}`).join(' ');
  const expect = candidates.map((c) => `${c.label}: ${c.values.map((v) => v.slice(0, 12)).join(',')}`).join('; ');
  return [{ invariant: 'I4', message: `refs are a mix of old and new values: ${show} (allowed ${expect})` }];
}

/** tmp/'s entries, to be given to checkNoStaging after the run. */
export function tmpListing(repoPath: string): Set<string> {
  return new Set(entries(join(repoPath, 'tmp')).map((e) => e.name));
}

/**
 * I5: no staging directory, ref journal, lock or temp file is left in tmp/
 * or refs/. Judged on disk whatever the receiver calls them: with `before`
 * (tmp/'s listing before the run), anything new in tmp/ but `cache` is
 * debris; without it, the names this project's receiver uses. In refs/, a
 * hidden file (`.tmp-…` here, ostree's `.tmpXXXXXX`) or a `.part-` file is.
 */
export function checkNoStaging(repoPath: string, before?: ReadonlySet<string>): Violation[] {
  const out: Violation[] = [];
  for (const e of entries(join(repoPath, 'tmp'))) {
    const rel = `tmp/${e.name}`;
    if (e.name.startsWith(STAGING_PREFIX)) out.push({ invariant: 'I5', message: `staging directory ${rel} was left behind` });
    else if (rel === JOURNAL_REL) out.push({ invariant: 'I5', message: `ref journal ${rel} was left behind` });
    else if (rel.startsWith(LOCK_REL)) out.push({ invariant: 'I5', message: `lock file ${rel} was left behind` });
    else if (e.name.startsWith('.tmp-')) out.push({ invariant: 'I5', message: `temp file ${rel} was left behind` });
    else if (before !== undefined && !before.has(e.name) && e.name !== 'cache') out.push({ invariant: 'I5', message: `${e.isDirectory() ? 'directory' : 'file'} ${rel} was left behind (not there before the run)` });
  }
  const walk = (rel: string): void => {
    for (const e of entries(join(repoPath, rel))) {
      const r = `${rel}/${e.name}`;
      if (e.isDirectory()) walk(r);
      else if (e.name.startsWith('.') || e.name.startsWith('.part-')) out.push({ invariant: 'I5', message: `temp file ${r} was left behind` });
    }
  };
  walk('refs');
  return out;
}

/** What a pusher reported: ok, and the ref → commit it says it pushed. */
export interface PusherReport {
  ok: boolean;
  pushed: ReadonlyMap<string, string>;
}

/** I6: success was reported only when every pushed ref is at what was pushed. */
export function checkPusherReport(repoPath: string, report: PusherReport): Violation[] {
  if (!report.ok) return [];
  const { refs, violation } = readHeads(repoPath);
  if (violation !== undefined) return [{ ...violation, invariant: 'I6' }];
  const out: Violation[] = [];
  for (const [name, to] of report.pushed) {
    const actual = refs.get(name) ?? ZERO;
    if (actual !== to) out.push({ invariant: 'I6', message: `the pusher reported success but ref ${name} is ${actual.slice(0, 12)}, not ${to.slice(0, 12)}` });
  }
  return out;
}

/**
 * I8: no ref is reported as not pushed when it moved. A pusher that returned
 * a result: no ref it reports `refused` or `not-pushed` is at the commit it
 * pushed (`rejected` is the pusher's own refusal before sending, `unknown` an
 * honest "could not find out"). A pusher that threw (`refs` null): not every
 * ref of `intent` (what it would have asked for) is at its new value.
 */
export function checkFailureReport(repoPath: string, refs: readonly { ref: string; to: string; status: string }[] | null, intent: ReadonlyMap<string, string>): Violation[] {
  const { refs: heads, violation } = readHeads(repoPath);
  if (violation !== undefined) return [{ ...violation, invariant: 'I8' }];
  if (refs === null) {
    if (intent.size === 0 || ![...intent].every(([name, to]) => (heads.get(name) ?? ZERO) === to)) return [];
    return [{ invariant: 'I8', message: `the pusher failed but every ref it pushed moved (${[...intent.keys()].join(', ')})` }];
  }
  const wrong = refs.filter((r) => (r.status === 'refused' || r.status === 'not-pushed') && (heads.get(r.ref) ?? ZERO) === r.to);
  return wrong.length === 0 ? [] : [{ invariant: 'I8', message: `the pusher reported ${wrong.map((r) => `${r.ref} ${r.status}`).join(', ')}, but it moved to what was pushed` }];
}

/** Names, sizes and mtimes of everything under `dir` but `exclude` (absolute paths). */
export type Snapshot = Map<string, string>;

export function snapshotOutside(dir: string, exclude: readonly string[]): Snapshot {
  const skip = new Set(exclude.map((p) => resolve(p)));
  const out: Snapshot = new Map();
  const walk = (abs: string): void => {
    for (const e of entries(abs)) {
      const p = join(abs, e.name);
      if (skip.has(p)) continue;
      let st;
      try {
        st = lstatSync(p);
      } catch {
        continue;
      }
      const rel = relative(dir, p).split(sep).join('/');
      out.set(rel, e.isDirectory() ? 'dir' : `${st.size}:${st.mtimeMs}`);
      if (e.isDirectory()) walk(p);
    }
  };
  walk(resolve(dir));
  return out;
}

/** I7: the snapshots before and after agree. */
export function checkNothingOutside(before: Snapshot, after: Snapshot): Violation[] {
  const out: Violation[] = [];
  for (const [p, v] of after) {
    const b = before.get(p);
    if (b === undefined) out.push({ invariant: 'I7', message: `${p} was created outside the repository` });
    else if (b !== v && v !== 'dir') out.push({ invariant: 'I7', message: `${p} outside the repository was modified` });
  }
  for (const p of before.keys()) if (!after.has(p)) out.push({ invariant: 'I7', message: `${p} outside the repository was removed` });
  return out;
}

/** I1–I3 and I5: what holds of any destination whatever the pushes were (`tmpBefore`: tmp/'s listing before, for I5). */
export async function checkStore(repoPath: string, tmpBefore?: ReadonlySet<string>): Promise<Violation[]> {
  return [...(await checkObjectsComplete(repoPath)), ...(await checkStoreClosed(repoPath)), ...(await checkRefsComplete(repoPath)), ...checkNoStaging(repoPath, tmpBefore)];
}

export function formatViolations(vs: readonly Violation[]): string {
  return vs.map((v) => `  ${v.invariant}  ${v.message}`).join('\n');
}
