/**
 * Opening and creating an OSTree repository (spec/ostree-format.md §1.1, §1.2).
 *
 *   config          [core] repo_version=1, mode=bare|archive-z2|bare-user|bare-user-only|bare-split-xattrs
 *   objects/ refs/heads/ refs/remotes/ refs/mirrors/ state/ tmp/ tmp/cache/ extensions/
 *
 * `ostree init --mode=archive` stores the mode as `archive-z2`; libostree numbers
 * the modes bare 0, archive 1, bare-user 2, bare-user-only 3, bare-split-xattrs 4
 * (the number the receiver reports in INFO). A missing `mode` key means bare,
 * as in libostree. Any mode we know can be opened (refs work the same in all of
 * them); reading objects goes through `repo.objects`, which serves every mode
 * but bare-split-xattrs.
 */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { RepoError } from '../errors.js';
import { parseKeyFile, type KeyFile } from './config.js';
import { fsyncDir, writeNewFileSync } from './fsutil.js';
import { BareObjectStore } from './bare-object-store.js';
import { ArchiveObjectStore, type ObjectStore } from './object-store.js';
import { directoryObjects, type HeldObjects } from './held-objects.js';

export type RepoMode = 'bare' | 'archive' | 'bare-user' | 'bare-user-only' | 'bare-split-xattrs';

export const REPO_MODE_NUMBER: Readonly<Record<RepoMode, number>> = {
  bare: 0,
  archive: 1,
  'bare-user': 2,
  'bare-user-only': 3,
  'bare-split-xattrs': 4,
};

/** The mode libostree numbers `n` (INFO carries the number), or undefined for a number it does not use. */
export function repoModeOfNumber(n: number): RepoMode | undefined {
  return (Object.keys(REPO_MODE_NUMBER) as RepoMode[]).find((m) => REPO_MODE_NUMBER[m] === n);
}

/** Config spelling → mode. `archive` is accepted on read although ostree writes `archive-z2`. */
const MODE_NAMES: ReadonlyMap<string, RepoMode> = new Map<string, RepoMode>([
  ['bare', 'bare'],
  ['archive-z2', 'archive'],
  ['archive', 'archive'],
  ['bare-user', 'bare-user'],
  ['bare-user-only', 'bare-user-only'],
  ['bare-split-xattrs', 'bare-split-xattrs'],
]);

/** What `ostree init` writes for each mode. */
const MODE_CONFIG_NAME: Readonly<Record<RepoMode, string>> = {
  bare: 'bare',
  archive: 'archive-z2',
  'bare-user': 'bare-user',
  'bare-user-only': 'bare-user-only',
  'bare-split-xattrs': 'bare-split-xattrs',
};

/** The directories `ostree init` creates, parents first. */
export const REPO_DIRS = ['objects', 'refs', 'refs/heads', 'refs/remotes', 'refs/mirrors', 'state', 'tmp', 'tmp/cache', 'extensions'] as const;

export interface OpenRepoOptions {
  /**
   * The objects this repository holds, when they are not under its root
   * (held-objects.ts): a receive into a bucket runs on a local root that
   * holds the config, the refs, the lock and the staging, and no object.
   */
  held?: HeldObjects;
}

export class Repo {
  private store: ObjectStore | undefined;
  private heldObjects: HeldObjects | undefined;

  private constructor(
    /** Absolute path of the repository root. */
    readonly path: string,
    readonly mode: RepoMode,
    readonly config: KeyFile,
    held: HeldObjects | undefined,
  ) {
    this.heldObjects = held;
  }

  /** What the repository stores, as a receive asks (held-objects.ts): `objects/`, unless opened with other held objects. */
  get held(): HeldObjects {
    this.heldObjects ??= directoryObjects(this);
    return this.heldObjects;
  }

  /** libostree's number for the mode. */
  get modeNumber(): number {
    return REPO_MODE_NUMBER[this.mode];
  }

  /** Absolute path of a path relative to the root; callers pass only validated names. */
  resolve(...rel: string[]): string {
    return join(this.path, ...rel);
  }

  /**
   * Object reader for this mode: every object as its archive form (what a
   * push sends). bare, bare-user and bare-user-only content is converted
   * while read (bare-object-store.ts); bare-split-xattrs is
   * REPO_UNSUPPORTED_MODE (its xattrs live in separate objects, and ostree
   * 2022.7 itself cannot commit into one).
   */
  get objects(): ObjectStore {
    if (this.store === undefined) {
      if (this.mode === 'bare-split-xattrs') {
        throw new RepoError('REPO_UNSUPPORTED_MODE', `${this.path}: reading objects of a ${this.mode} repository is not supported (archive, bare, bare-user and bare-user-only are)`, {
          path: this.path,
          mode: this.mode,
        });
      }
      this.store = this.mode === 'archive' ? new ArchiveObjectStore(this.path) : new BareObjectStore(this.path, this.mode);
    }
    return this.store;
  }

  static open(path: string, options: OpenRepoOptions = {}): Repo {
    const root = resolve(path);
    let text: string;
    try {
      if (!statSync(root).isDirectory()) throw new Error('not a directory');
      text = readFileSync(join(root, 'config'), 'utf8');
    } catch (e) {
      throw new RepoError('REPO_NOT_FOUND', `${path} is not an OSTree repository (no config)`, { path }, { cause: e });
    }
    const config = parseKeyFile(text);
    if (!config.groups.has('core')) {
      throw new RepoError('REPO_BAD_CONFIG', `${path}: config has no [core] group`, { path });
    }
    const version = config.getString('core', 'repo_version');
    if (version !== '1') {
      throw new RepoError('REPO_UNSUPPORTED_VERSION', `${path}: unsupported repo_version '${version ?? ''}' (expected 1)`, {
        path,
        version: version ?? null,
      });
    }
    const modeName = config.getString('core', 'mode') ?? 'bare';
    const mode = MODE_NAMES.get(modeName);
    if (mode === undefined) {
      throw new RepoError('REPO_UNSUPPORTED_MODE', `${path}: unknown repository mode '${modeName}'`, { path, mode: modeName });
    }
    return new Repo(root, mode, config, options.held);
  }

  /**
   * Creates a repository the way `ostree init --mode=M` does: the directories
   * above and `[core]\nrepo_version=1\nmode=M\n`. Refuses a path that already
   * holds a config (REPO_EXISTS).
   */
  static init(path: string, options: { mode: RepoMode } = { mode: 'archive' }): Repo {
    const root = resolve(path);
    if (existsSync(join(root, 'config'))) {
      throw new RepoError('REPO_EXISTS', `${path} already holds a repository (config exists)`, { path });
    }
    mkdirSync(root, { recursive: true });
    for (const d of REPO_DIRS) mkdirSync(join(root, d), { recursive: true, mode: 0o755 });
    writeNewFileSync(join(root, 'config'), `[core]\nrepo_version=1\nmode=${MODE_CONFIG_NAME[options.mode]}\n`);
    fsyncDir(root);
    return Repo.open(root);
  }
}
