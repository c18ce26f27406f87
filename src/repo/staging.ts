/**
 * The staging directory of one receive, and child-first publication.
 *
 *   tmp/push-staging-<pid>-<random>/owner.json       who owns it (pid, boot id, start time)
 *   tmp/push-staging-<pid>-<random>/XX/rest.ext      a leaf object (file, dirmeta, commitmeta)
 *   tmp/push-staging-<pid>-<random>/m/XX/rest.ext    a parent object (dirtree, commit)
 *
 * An object is written under its final staging name from its first byte: a
 * name in staging promises nothing (the directory is private to this
 * receiver and removed whole on every exit path). What counts is the
 * in-memory set of committed objects, which the caller adds to only after
 * checking the checksum; `has`, `list` and `publish` see nothing else, and
 * an aborted object's file is unlinked. Writing straight to the final name
 * saves a rename per object and keeps the staging root from churning: a
 * create plus rename in one busy directory cost about 60 µs per object on
 * ext4, a create in the fan-out directory about 35 µs.
 *
 * `publish` moves objects into `objects/`. A leaf directory `XX/` whose
 * `objects/XX/` does not exist yet moves whole, with one rename, in the
 * first level: its objects have no children, are complete and durable
 * (step 1 below), and unreferenced leaves are removed from it first. This
 * is what makes the first push into an empty repository cheap (256 renames
 * instead of a link and an unlink per object). Every other object moves on
 * its own; each such move
 * is link(2) then unlink of the staged name: link is as atomic as rename but
 * fails instead of replacing, so an object already in the store is never
 * overwritten (the staged copy is dropped).
 *
 * Durability, without an fsync per object. The store's invariant is that
 * every object in `objects/` has all its children there, after a kill or a
 * power cut alike, and refs name only such complete commits:
 *   1. bytes before names: staged files are written without fsync; before the
 *      first link, one syncfs of the file system holding the staging
 *      directory (`sync -f`, fsutil.syncFileSystem; or, where that is
 *      missing, an fsync of each staged file) makes every staged byte and
 *      inode durable. `makeDurable` runs it in the background once the last
 *      object is in, and `publish` waits for nothing more when no object
 *      was committed after it started. A name in `objects/` can then only ever point at
 *      complete bytes (ostree pull does the same: no per-object fsync, one
 *      syncfs before its transaction commits).
 *   2. children before parents: objects are linked in levels
 *      (publish-levels.ts): an object of level n+1 has its children in levels
 *      ≤ n or already in the store. After each level, every `objects/XX/`
 *      that gained a name (and `objects/` when an XX was created) is fsynced,
 *      before the next level is linked. So a parent's name that survives a
 *      crash implies its children's names survived too. Within a level the
 *      order is the caller's child-first order, so a kill (no crash) between
 *      two links also leaves only complete objects.
 *   3. refs after objects: `publish` returns after the last level's fsync;
 *      the caller moves refs only then (refs.ts updateRefs, its own fsyncs).
 * Cost: one syncfs, then (levels × touched directories) directory fsyncs,
 * levels being the depth of the deepest new directory plus two; on ext4 all
 * but the first fsync of a level find their journal transaction committed.
 *
 * Every path is built from validated checksums and known types
 * (object-names.ts). A dead receiver's staging directory is removed by
 * `sweepStaleDebris` (stale-debris.ts), which a writer calls when it opens
 * the repository (`openRepoForWriting`, open-for-writing.ts). Not verified: libostree is understood to expire old
 * `tmp/` entries (about a day) when it starts a transaction.
 */
import { closeSync, constants, linkSync, open as fsOpen, lstatSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, unlinkSync, writeSync, writevSync } from 'node:fs';
import { join } from 'node:path';
import { RepoError } from '../errors.js';
import { onExitCleanup } from './exit-cleanup.js';
import { fsyncDir, fsyncFile, randomSuffix, syncFileSystem, syncFileSystemAsync, writeNewFileSync } from './fsutil.js';
import { OBJECT_TYPES, objectRelPath, type ObjectName, type ObjectType } from './object-names.js';
import { ObjectSet } from './object-set.js';
import type { ObjectNames } from './object-list.js';
import { publicationLevels } from './publish-levels.js';
import { currentOwner } from './process-identity.js';
import type { Repo } from './repo.js';

/** The name of a staging directory in tmp/: `push-staging-<pid>-<hex>` (stale-debris.ts knows it). */
export const STAGING_PREFIX = 'push-staging-';
/** The staging subdirectory of parent objects (see Staging.pathOf). */
const PARENTS_DIR = 'm';

function isParentType(type: ObjectType): boolean {
  return type === 'dirtree' || type === 'commit';
}

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
  /** close and give the object its final name inside staging (durability comes at publish). */
  commit(): Promise<void>;
  /** close and delete the partial file. Safe to call after commit (does nothing). */
  abort(): Promise<void>;
}

/** Bounds of the background writes of `stageVerified`. */
export const MAX_PENDING_WRITES = 64;
export const MAX_PENDING_BYTES = 8 * 1024 * 1024;

export interface PublishResult {
  /** Objects moved into the store. */
  published: number;
  /** Objects the store already had (staged copy dropped). */
  alreadyPresent: number;
}

export interface PublishOptions {
  /** Test hook, called after the k-th object (0-based, in placement order) is in place. */
  onStep?: (k: number, object: ObjectName) => void;
  /**
   * Publication levels of staged dirtrees (publish-levels.ts), as the
   * caller's closure walk found them: those are not read again here.
   */
  dirtreeLevels?: ReadonlyMap<string, number>;
}

export class Staging {
  private disposed = false;
  private readonly unregister: () => void;
  /** The committed objects: 33 bytes each (object-set.ts), not a name string each. */
  private readonly staged = new ObjectSet();
  private readonly open = new Set<string>();
  /** XX directories created inside staging. */
  private readonly subdirs = new Set<string>();
  /** Objects committed so far, and how many of the first of them a finished syncfs covers. */
  private commits = 0;
  private durableCommits = -1;
  /** Background writes (stageVerified) in flight, their bytes, the first failure, and who waits for them. */
  private pendingWrites = 0;
  private pendingBytes = 0;
  private writeFailure: Error | null = null;
  private waiters: (() => void)[] = [];

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
    try {
      writeNewFileSync(join(dir, 'owner.json'), JSON.stringify(currentOwner()));
    } catch (e) {
      // ENOSPC/EIO here: the caller never gets the Staging to dispose, and a
      // live process's directory without owner.json is never taken for stale.
      s.dispose();
      throw e;
    }
    return s;
  }

  private alive(): void {
    if (this.disposed) throw staging('staging directory already disposed', { dir: this.dir });
  }

  private rel(checksum: string, type: ObjectType): string {
    checkType(type);
    return objectRelPath(checksum, type, 'archive').slice('objects/'.length);
  }

  /**
   * Where a staged object is: leaves (file, dirmeta, commitmeta: objects
   * with no children) in `XX/`, parents (dirtree, commit) in `m/XX/`. A
   * leaf directory then holds only objects that can be published in any
   * order, so it can be moved into a store that has no `objects/XX/` whole.
   */
  pathOf(checksum: string, type: ObjectType): string {
    return join(this.dir, this.physical(this.rel(checksum, type), type));
  }

  private physical(rel: string, type: ObjectType): string {
    return isParentType(type) ? `${PARENTS_DIR}/${rel}` : rel;
  }

  /** Creates the directory of a staged object's path once. */
  private ensureDir(physical: string): void {
    const sub = physical.slice(0, physical.lastIndexOf('/'));
    if (this.subdirs.has(sub)) return;
    // The mode of objects/XX/ (as the store makes them): a leaf directory may become one.
    mkdirSync(join(this.dir, sub), { recursive: true, mode: 0o755 });
    this.subdirs.add(sub);
  }

  has(checksum: string, type: ObjectType): boolean {
    checkType(type);
    return this.staged.has(checksum, type);
  }

  /** The objects committed so far (in no particular order). */
  list(): ObjectName[] {
    return [...this.staged];
  }

  /** How many objects are committed. */
  get size(): number {
    return this.staged.size;
  }

  /** The committed objects of one type (a few commits among a million files, without listing the files). */
  listOfType(type: ObjectType): ObjectName[] {
    const out: ObjectName[] = [];
    for (const o of this.staged) if (o.type === type) out.push(o);
    return out;
  }

  /** Opens a new staged object's file (O_EXCL: never an existing one). */
  private create(checksum: string, type: ObjectType): { rel: string; path: string; fd: number } {
    this.alive();
    const rel = this.rel(checksum, type);
    if (this.staged.has(checksum, type) || this.open.has(rel)) throw staging(`object ${rel} is already staged`, { checksum, type });
    const physical = this.physical(rel, type);
    this.ensureDir(physical);
    const path = join(this.dir, physical);
    return { rel, path, fd: openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644) };
  }

  /**
   * Synchronous file calls on purpose: for the small objects that make up most
   * pushes, a hop through libuv's thread pool costs more than the write.
   */
  async writeObject(checksum: string, type: ObjectType): Promise<StagedObjectSink> {
    const { rel, path, fd } = this.create(checksum, type);
    this.open.add(rel);
    let state: 'open' | 'committed' | 'aborted' = 'open';
    return {
      checksum,
      type,
      write: async (chunk) => {
        if (state !== 'open') throw staging(`object ${rel} is no longer open`, { checksum, type });
        let off = 0;
        while (off < chunk.byteLength) off += writeSync(fd, chunk, off, chunk.byteLength - off);
      },
      commit: async () => {
        if (state !== 'open') throw staging(`object ${rel} is no longer open`, { checksum, type });
        state = 'committed';
        try {
          closeSync(fd);
          this.alive();
          this.staged.add(checksum, type);
          this.commits++;
        } finally {
          this.open.delete(rel);
        }
      },
      abort: async () => {
        if (state !== 'open') return;
        state = 'aborted';
        this.open.delete(rel);
        try {
          closeSync(fd);
        } catch {
          /* already closed */
        }
        rmSync(path, { force: true });
      },
    };
  }

  /**
   * Stages an object whose bytes are already verified and in memory (a small
   * content object, most of a tree), writing it in the background: the
   * open that creates the file runs on the thread pool while the caller
   * answers and goes on to the next object, so on two cores file creation,
   * the receiver's largest cost, overlaps everything else (measured about
   * 10% off a full push); its callback writes the bytes and closes
   * (writeNewFile). A corrupt object never touches the disk.
   *
   * The object counts as staged at once (`has`); its file is complete when
   * `settle()` resolves, which `makeDurable` and `publish` need. A write
   * failure (disk full) is thrown by the next call or by `settle`, so the
   * push fails before anything is published. At most MAX_PENDING_WRITES
   * objects and MAX_PENDING_BYTES bytes wait at once; past either, this
   * waits for the oldest. A staging disposed with writes in flight removes
   * itself again when the last one ends.
   */
  async stageVerified(checksum: string, type: ObjectType, chunks: readonly Uint8Array[]): Promise<void> {
    this.alive();
    this.throwWriteFailure();
    const rel = this.rel(checksum, type);
    if (this.staged.has(checksum, type) || this.open.has(rel)) throw staging(`object ${rel} is already staged`, { checksum, type });
    const bytes = chunks.reduce((n, c) => n + c.byteLength, 0);
    while (this.pendingWrites >= MAX_PENDING_WRITES || (this.pendingWrites > 0 && this.pendingBytes + bytes > MAX_PENDING_BYTES)) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
      this.alive();
      this.throwWriteFailure();
    }
    const physical = this.physical(rel, type);
    this.ensureDir(physical);
    this.staged.add(checksum, type);
    this.commits++;
    this.pendingWrites++;
    this.pendingBytes += bytes;
    writeNewFile(join(this.dir, physical), [...chunks], (e) => {
      this.pendingWrites--;
      this.pendingBytes -= bytes;
      if (e !== null && !this.disposed) this.writeFailure ??= e;
      // Disposed meanwhile: the file may have been made after the directory was emptied.
      if (this.disposed && this.pendingWrites === 0) rmSync(this.dir, { recursive: true, force: true });
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** Waits for every background write; throws the first failure. */
  async settle(): Promise<void> {
    while (this.pendingWrites > 0) await new Promise<void>((resolve) => this.waiters.push(resolve));
    this.throwWriteFailure();
  }

  private throwWriteFailure(): void {
    const e = this.writeFailure as NodeJS.ErrnoException | null;
    if (e !== null) throw staging(`writing a staged object failed: ${e.message}`, { errno: e.code ?? 'unknown' });
  }

  /** Every committed object is covered by a finished makeDurable. */
  get durable(): boolean {
    return this.durableCommits === this.commits;
  }

  /**
   * Makes every object committed so far durable, without blocking: one
   * syncfs in a child process, so the caller can walk the closure and check
   * the update meanwhile. `publish` then skips its own sync when no object
   * was committed since. Never rejects; on failure `publish` syncs itself.
   */
  async makeDurable(): Promise<void> {
    // Files still being written are not covered by a sync begun now.
    await this.settle().catch(() => undefined);
    const upTo = this.commits;
    if (await syncFileSystemAsync(this.dir)) this.durableCommits = Math.max(this.durableCommits, upTo);
  }

  /**
   * Moves the given staged objects into `objects/` in this order (the caller
   * makes it child-first). Every object listed must have been staged.
   */
  publish(ordered: ObjectNames, options: PublishOptions = {}): PublishResult {
    this.alive();
    if (this.pendingWrites > 0) throw staging('publish before the background writes settled', { pending: this.pendingWrites });
    this.throwWriteFailure();
    for (const o of ordered) {
      if (!this.has(o.checksum, o.type)) throw staging(`object ${o.checksum}.${o.type} was not staged`, { ...o });
    }
    const result: PublishResult = { published: 0, alreadyPresent: 0 };
    if (ordered.length === 0) return result;
    const stagedPath = (o: ObjectName): string => this.pathOf(o.checksum, o.type);
    const levels = publicationLevels(ordered, (o) => readFileSync(stagedPath(o)), options.dirtreeLevels);
    // 1. bytes before names (already done when makeDurable covered every commit).
    if (!this.durable && !syncFileSystem(this.dir)) for (const o of ordered) fsyncFile(stagedPath(o));
    const objectsDir = this.repo.resolve('objects');
    const wholeDirs = this.dropUnpublishedLeaves(ordered);
    const present = new Set<string>();
    let k = 0;
    for (const level of levels) {
      const dirty = new Set<string>();
      let newSubdir = false;
      // Level 0 first moves whole leaf directories whose objects/XX/ does not exist yet (see wholeDirs).
      const moved = new Set<string>();
      if (level === levels[0]) {
        for (const sub of wholeDirs) {
          if (!this.moveDirIntoStore(sub, join(objectsDir, sub))) continue;
          moved.add(sub);
          present.add(sub);
          newSubdir = true;
        }
      }
      for (const o of level) {
        const rel = this.rel(o.checksum, o.type);
        const sub = rel.slice(0, 2);
        if (moved.has(sub) && !isParentType(o.type)) {
          result.published++;
          this.staged.delete(o.checksum, o.type);
          options.onStep?.(k++, o);
          continue;
        }
        const dstDir = join(objectsDir, sub);
        if (!present.has(sub)) {
          try {
            mkdirSync(dstDir, { mode: 0o755 });
            newSubdir = true;
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
          }
          present.add(sub);
        }
        const src = stagedPath(o);
        if (placeWithoutReplacing(src, join(dstDir, rel.slice(3)))) {
          result.published++;
          dirty.add(dstDir);
        } else {
          result.alreadyPresent++;
        }
        unlinkSync(src);
        this.staged.delete(o.checksum, o.type);
        options.onStep?.(k++, o);
      }
      // 2. this level's names are durable before the next level's are made.
      for (const d of dirty) fsyncDir(d);
      if (newSubdir) fsyncDir(objectsDir);
    }
    return result;
  }

  /**
   * Removes staged leaves that are not to be published (no commit reaches
   * them), and returns the leaf directories that may move whole: those
   * whose `objects/XX/` does not exist. A leaf directory then holds exactly
   * objects of level 0 of this publication.
   */
  private dropUnpublishedLeaves(ordered: ObjectNames): string[] {
    const publishing = new ObjectSet(ordered.length * 1.4);
    for (const o of ordered) publishing.add(o.checksum, o.type);
    const leafDirs = new Set<string>();
    // Collected first: a deletion moves entries of the table being iterated.
    const unreferenced: ObjectName[] = [];
    for (const o of this.staged) {
      if (isParentType(o.type)) continue;
      if (publishing.has(o.checksum, o.type)) leafDirs.add(o.checksum.slice(0, 2));
      else unreferenced.push(o);
    }
    for (const o of unreferenced) {
      unlinkSync(join(this.dir, this.rel(o.checksum, o.type)));
      this.staged.delete(o.checksum, o.type);
    }
    const objectsDir = this.repo.resolve('objects');
    return [...leafDirs].filter((sub) => lstatSync(join(objectsDir, sub), { throwIfNoEntry: false }) === undefined);
  }

  /**
   * One rename for a whole leaf directory: every object in it is complete
   * (durable since step 1), verified, and has no children, so they may all
   * appear at once. rename(2) of a directory fails when the target exists
   * and is not empty (another writer made objects/XX/ meanwhile): then false,
   * and the objects go one by one.
   */
  private moveDirIntoStore(sub: string, dst: string): boolean {
    try {
      renameSync(join(this.dir, sub), dst);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' || code === 'ENOTEMPTY' || code === 'EXDEV') return false;
      throw e;
    }
    this.subdirs.delete(sub);
    return true;
  }

  /** Removes the staging directory. Idempotent; synchronous so it can run at exit. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.unregister();
    // With background writes in flight a file may appear while the tree is
    // removed (ENOTEMPTY): retried here, and redone when the last write ends.
    rmSync(this.dir, { recursive: true, force: true, ...(this.pendingWrites > 0 ? { maxRetries: 3, retryDelay: 5 } : {}) });
  }
}

/**
 * Creates `path` (O_EXCL) holding `buffers`: the open, which creates the
 * file and is most of the cost, on the thread pool; then writev (again after
 * a short write) and close on this thread, in the open's callback. `done`
 * gets the first failure, after the descriptor is closed. A file that failed
 * is removed.
 *
 * One hop through the pool per object, not three: each hop costs about ten
 * system calls of hand-off (futex waits and wakes between this thread and a
 * pool thread, the pool's eventfd write, this thread's epoll_wait and
 * eventfd read), about three times the calls of the write and close
 * themselves, which copy at most SMALL_CONTENT bytes into the page cache.
 */
function writeNewFile(path: string, buffers: Uint8Array[], done: (e: Error | null) => void): void {
  fsOpen(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644, (err, fd) => {
    if (err !== null) return done(err);
    let failure: Error | null = null;
    try {
      let rest = buffers;
      while (rest.length > 0) {
        let n = writevSync(fd, rest as NodeJS.ArrayBufferView[]);
        let whole = 0;
        for (const b of rest) {
          if (n < b.byteLength) break;
          n -= b.byteLength;
          whole++;
        }
        const [first, ...others] = rest.slice(whole);
        rest = first === undefined ? [] : [first.subarray(n), ...others];
      }
    } catch (e) {
      failure = e as Error;
    }
    try {
      closeSync(fd);
    } catch (e) {
      failure ??= e as Error;
    }
    if (failure !== null) rmSync(path, { force: true });
    done(failure);
  });
}

/**
 * link(src, dst); true if placed, false if dst already held the object. An
 * existing name that is not a regular file (a directory, a symlink) is not
 * the object: REPO_CORRUPT_OBJECT, so publication stops before any parent
 * of it is published.
 */
function placeWithoutReplacing(src: string, dst: string): boolean {
  try {
    linkSync(src, dst);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return presentAsFile(dst);
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw e;
  }
  // No hard links on this file system: rename, after checking (the race only
  // replaces an object with one of identical, verified content).
  if (lstatSync(dst, { throwIfNoEntry: false }) !== undefined) return presentAsFile(dst);
  renameSync(src, dst);
  return true;
}

/** false (the object is there already) when `dst` is a regular file; else REPO_CORRUPT_OBJECT. */
function presentAsFile(dst: string): false {
  if (lstatSync(dst).isFile()) return false;
  throw new RepoError('REPO_CORRUPT_OBJECT', `${dst} is in the object store but is not a regular file`, { path: dst });
}
