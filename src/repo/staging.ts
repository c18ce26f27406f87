/**
 * The staging directory of one receive, and child-first publication.
 *
 *   tmp/push-staging-<pid>-<random>/owner.json     who owns it (pid, boot id, start time)
 *   tmp/push-staging-<pid>-<random>/.part-<random> an object being received
 *   tmp/push-staging-<pid>-<random>/XX/rest.ext    a complete, verified object
 *
 * An object becomes `XX/rest.ext` only when the caller commits it (after
 * checking its checksum), and only after its bytes are fsynced. `publish`
 * moves objects into `objects/` in the order given, which the caller makes
 * child-first (ostree-format.md §5.1), so a reader never sees an object before
 * its children. Each move is link(2) then unlink of the staged name: link is
 * as atomic as rename but fails instead of replacing, so an object already in
 * the store is never overwritten (the staged copy is dropped). Before a
 * dirtree or commit is linked, the `objects/XX/` directories touched so far are
 * fsynced, so child-first holds after a power cut too, not only after a kill.
 *
 * Every path is built from validated checksums and known types
 * (object-names.ts). A dead receiver's staging directory is removed by
 * `cleanStaleStaging`, which a writer calls when it opens the repository
 * (`openRepoForWriting`). Not verified: libostree is understood to expire old
 * `tmp/` entries (about a day) when it starts a transaction.
 */
import { mkdirSync, linkSync, lstatSync, readdirSync, readFileSync, renameSync, rmSync, unlinkSync, type Dirent } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { RepoError } from '../errors.js';
import { onExitCleanup } from './exit-cleanup.js';
import { fsyncDir, randomSuffix, writeNewFileSync } from './fsutil.js';
import { OBJECT_TYPES, objectRelPath, type ObjectName, type ObjectType } from './object-names.js';
import { currentOwner, ownerAlive, parseOwner, pidAlive } from './owner.js';
import { Repo } from './repo.js';

export const STAGING_PREFIX = 'push-staging-';
const STAGING_RE = /^push-staging-(\d+)-[0-9a-f]+$/;
/** Temp files of the lock and of durable writes left in tmp/ by a killed process. */
const DEBRIS_RE = /^(?:ostree-push\.lock(?:\.break)?\.|\.tmp-)(\d+)-[0-9a-f]+$/;
/** The temp file of a ref write (fsutil.replaceFileDurableSync) in refs/, left by a process killed before its rename. */
const REF_TEMP_RE = /^\.tmp-(\d+)-[0-9a-f]+$/;

function staging(message: string, data: Record<string, unknown> = {}): RepoError {
  return new RepoError('REPO_STAGING', message, data);
}

function checkType(type: ObjectType): void {
  if (!OBJECT_TYPES.includes(type)) throw new RepoError('REPO_BAD_OBJECT_NAME', `unknown object type ${String(type)}`, { type: String(type) });
}

/** One object being written into staging. */
export interface StagedObjectSink {
  readonly checksum: string;
  readonly type: ObjectType;
  write(chunk: Uint8Array): Promise<void>;
  /** fsync, close and give the object its final name inside staging. */
  commit(): Promise<void>;
  /** close and delete the partial file. Safe to call after commit (does nothing). */
  abort(): Promise<void>;
}

export interface PublishResult {
  /** Objects moved into the store. */
  published: number;
  /** Objects the store already had (staged copy dropped). */
  alreadyPresent: number;
}

export interface PublishOptions {
  /** Test hook, called after the k-th object (0-based) is in place. */
  onStep?: (k: number) => void;
}

export class Staging {
  private disposed = false;
  private readonly unregister: () => void;
  private readonly staged = new Set<string>();
  private readonly open = new Set<string>();

  private constructor(
    readonly repo: Repo,
    /** Absolute path of the staging directory. */
    readonly dir: string,
  ) {
    this.unregister = onExitCleanup(() => this.dispose());
  }

  static create(repo: Repo): Staging {
    const dir = repo.resolve('tmp', `${STAGING_PREFIX}${process.pid}-${randomSuffix()}`);
    mkdirSync(dir, { mode: 0o700 });
    const s = new Staging(repo, dir);
    writeNewFileSync(join(dir, 'owner.json'), JSON.stringify(currentOwner()));
    return s;
  }

  private alive(): void {
    if (this.disposed) throw staging('staging directory already disposed', { dir: this.dir });
  }

  private rel(checksum: string, type: ObjectType): string {
    checkType(type);
    return objectRelPath(checksum, type, 'archive').slice('objects/'.length);
  }

  has(checksum: string, type: ObjectType): boolean {
    return this.staged.has(this.rel(checksum, type));
  }

  /** The objects committed so far, in commit order. */
  list(): ObjectName[] {
    return [...this.staged].map((rel) => {
      const dot = rel.indexOf('.');
      return { checksum: rel.slice(0, 2) + rel.slice(3, dot), type: rel.slice(dot + 1).replace(/^filez$/, 'file') as ObjectType };
    });
  }

  async writeObject(checksum: string, type: ObjectType): Promise<StagedObjectSink> {
    this.alive();
    const rel = this.rel(checksum, type);
    if (this.staged.has(rel) || this.open.has(rel)) throw staging(`object ${rel} is already staged`, { checksum, type });
    const temp = join(this.dir, `.part-${randomSuffix()}`);
    const fh: FileHandle = await open(temp, 'wx', 0o644);
    this.open.add(rel);
    let state: 'open' | 'committed' | 'aborted' = 'open';
    const final = join(this.dir, rel);
    return {
      checksum,
      type,
      write: async (chunk) => {
        if (state !== 'open') throw staging(`object ${rel} is no longer open`, { checksum, type });
        await fh.write(chunk);
      },
      commit: async () => {
        if (state !== 'open') throw staging(`object ${rel} is no longer open`, { checksum, type });
        state = 'committed';
        try {
          await fh.sync();
          await fh.close();
          this.alive();
          mkdirSync(join(this.dir, rel.slice(0, 2)), { recursive: true });
          renameSync(temp, final);
          this.staged.add(rel);
        } finally {
          this.open.delete(rel);
        }
      },
      abort: async () => {
        if (state !== 'open') return;
        state = 'aborted';
        this.open.delete(rel);
        await fh.close().catch(() => undefined);
        rmSync(temp, { force: true });
      },
    };
  }

  /**
   * Moves the given staged objects into `objects/` in this order (the caller
   * makes it child-first). Every object listed must have been staged.
   */
  publish(ordered: readonly ObjectName[], options: PublishOptions = {}): PublishResult {
    this.alive();
    for (const o of ordered) {
      if (!this.has(o.checksum, o.type)) throw staging(`object ${o.checksum}.${o.type} was not staged`, { ...o });
    }
    const result: PublishResult = { published: 0, alreadyPresent: 0 };
    const dirty = new Set<string>();
    const flush = (): void => {
      for (const d of dirty) fsyncDir(d);
      dirty.clear();
    };
    ordered.forEach((o, k) => {
      const rel = this.rel(o.checksum, o.type);
      const src = join(this.dir, rel);
      const dst = this.repo.resolve('objects', rel);
      const dstDir = this.repo.resolve('objects', rel.slice(0, 2));
      if (o.type === 'dirtree' || o.type === 'commit') flush();
      try {
        mkdirSync(dstDir, { mode: 0o755 });
        fsyncDir(this.repo.resolve('objects'));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      if (placeWithoutReplacing(src, dst)) {
        result.published++;
        dirty.add(dstDir);
      } else {
        result.alreadyPresent++;
      }
      unlinkSync(src);
      this.staged.delete(rel);
      options.onStep?.(k);
    });
    flush();
    return result;
  }

  /** Removes the staging directory. Idempotent; synchronous so it can run at exit. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.unregister();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** link(src, dst); true if placed, false if dst already existed. */
function placeWithoutReplacing(src: string, dst: string): boolean {
  try {
    linkSync(src, dst);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw e;
  }
  // No hard links on this file system: rename, after checking (the race only
  // replaces an object with one of identical, verified content).
  try {
    lstatSync(dst);
    return false;
  } catch {
    renameSync(src, dst);
    return true;
  }
}

/**
 * Removes staging directories and temp debris in tmp/, and ref temp files in
 * refs/, whose owner is dead.
 * Returns the names removed. A live owner's staging is never touched.
 */
export function cleanStaleStaging(repo: Repo): string[] {
  const tmp = repo.resolve('tmp');
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(tmp);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return removed;
    throw e;
  }
  for (const name of names) {
    const s = STAGING_RE.exec(name);
    const d = s === null ? DEBRIS_RE.exec(name) : null;
    if (s === null && d === null) continue;
    const pid = Number((s ?? d)?.[1]);
    let alive: boolean;
    if (s !== null) {
      let owner;
      try {
        owner = parseOwner(readFileSync(join(tmp, name, 'owner.json'), 'utf8'));
      } catch {
        owner = undefined;
      }
      alive = owner !== undefined ? ownerAlive(owner) : pidAlive(pid);
    } else {
      alive = pidAlive(pid);
    }
    if (alive) continue;
    rmSync(join(tmp, name), { recursive: true, force: true });
    removed.push(name);
  }
  removed.push(...cleanRefTemps(repo));
  return removed;
}

/**
 * Removes ref temp files under refs/ whose writer is dead; returns their
 * paths relative to the repository. No reader takes them for refs (a ref
 * name cannot start with '.'), but they would stay forever.
 */
function cleanRefTemps(repo: Repo): string[] {
  const removed: string[] = [];
  const walk = (rel: string): void => {
    let entries: Dirent[];
    try {
      entries = readdirSync(repo.resolve(rel), { withFileTypes: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    for (const e of entries) {
      const r = `${rel}/${e.name}`;
      if (e.isDirectory()) walk(r);
      const m = e.isFile() ? REF_TEMP_RE.exec(e.name) : null;
      if (m === null || pidAlive(Number(m[1]))) continue;
      rmSync(repo.resolve(r), { force: true });
      removed.push(r);
    }
  };
  walk('refs');
  return removed;
}

/** Opens a repository for writing: as Repo.open, then removes dead receivers' staging. */
export function openRepoForWriting(path: string): Repo {
  const repo = Repo.open(path);
  cleanStaleStaging(repo);
  return repo;
}
