/**
 * A file-system fault layer for the receiver, without a seam in src/repo:
 * the repository code imports named functions from `node:fs` and
 * `node:fs/promises`, and `module.syncBuiltinESMExports()` makes ES module
 * bindings follow the built-in modules' properties. So the simulator replaces
 * `renameSync`, `linkSync`, `openSync`/`writeSync`/`writevSync`/`closeSync`,
 * their callback forms `open`/`writev`/`close` (the staging's background
 * writes) and `fs.promises.open` for the duration of a run,
 * acting only on paths inside the destination repository:
 *
 *   stage-write  the N-th write into a staging file fails (ENOSPC / EIO)
 *   publish      the N-th object placed into objects/ fails: a link(2) of
 *                one object, or the rename of a whole leaf directory that
 *                would place it (then none of that directory is placed)
 *   kill points  SIGKILL after the N-th object committed into staging (its
 *                file closed: `receiving`), once the repository lock is taken for
 *                publication (`closure`: closure and ref checks run under it),
 *                after the N-th object placed into objects/ (`publish`; a
 *                directory moved whole places all its objects at once), after
 *                the ref journal (step 0) or the N-th ref file (`ref`) is written,
 *                and between writing the temp file of each of those and
 *                renaming it into place (`ref-temp`).
 *
 * Process-wide while installed: the simulator runs one in-process receiver
 * at a time when fs faults are on, and the child receiver installs it for itself.
 */
import fs from 'node:fs';
import fsp, { type FileHandle } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { join, resolve, sep } from 'node:path';
import type { KillPoint } from './faults.js';

export interface FsFaultPlan {
  /** The destination repository: only paths under it are touched. */
  root: string;
  fail?: { op: 'stage-write' | 'publish'; errno: 'ENOSPC' | 'EIO'; after: number };
  kill?: { at: KillPoint; step: number };
  /** What a kill does (the child: SIGKILL itself). */
  onKill?: () => void;
}

export interface FsFaults {
  /** The planned failure happened. */
  readonly failed: boolean;
  uninstall(): void;
}

function errnoError(code: string, syscall: string, path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: injected fault, ${syscall} '${path}'`), { code, syscall, path, errno: code === 'ENOSPC' ? -28 : -5 });
}

export function installFsFaults(plan: FsFaultPlan): FsFaults {
  const root = resolve(plan.root) + sep;
  const staging = join(root, 'tmp', 'push-staging-');
  const objects = join(root, 'objects') + sep;
  const refs = join(root, 'refs', 'heads') + sep;
  const journal = join(root, 'tmp', 'ostree-push-refs.journal');
  const lock = join(root, 'tmp', 'ostree-push.lock');
  const counts = { staged: 0, published: 0, refs: 0, writes: 0 };
  let failed = false;
  const kill = (at: KillPoint, step: number): void => {
    if (plan.kill !== undefined && plan.kill.at === at && plan.kill.step === step) plan.onKill?.();
  };

  const orig = {
    renameSync: fs.renameSync,
    linkSync: fs.linkSync,
    open: fsp.open,
    openSync: fs.openSync,
    writeSync: fs.writeSync,
    writevSync: fs.writevSync,
    closeSync: fs.closeSync,
    openCb: fs.open,
    writevCb: fs.writev,
    closeCb: fs.close,
  };
  /** Descriptors of staging files opened with openSync (the staging code writes them with writeSync). */
  const stagingFds = new Set<number>();
  const ownerFds = new Set<number>();
  const failWrite = (path: string): void => {
    const f = plan.fail;
    if (f?.op !== 'stage-write') return;
    if (counts.writes++ === f.after) {
      failed = true;
      throw errnoError(f.errno, 'write', path);
    }
  };
  const patchedOpenSync = (path: fs.PathLike, ...rest: unknown[]): number => {
    const fd = (orig.openSync as (...a: unknown[]) => number)(path, ...rest);
    // Staged objects, not the staging's owner.json: closing one is a commit into staging.
    if (typeof path === 'string' && resolve(path).startsWith(staging) && !path.endsWith(`${sep}owner.json`)) stagingFds.add(fd);
    else if (typeof path === 'string' && resolve(path).startsWith(staging)) ownerFds.add(fd);
    return fd;
  };
  const patchedWritevSync = (fd: number, ...rest: unknown[]): number => {
    if (stagingFds.has(fd)) failWrite(`fd ${fd}`);
    return (orig.writevSync as (...a: unknown[]) => number)(fd, ...rest);
  };
  const patchedWriteSync = (fd: number, ...rest: unknown[]): number => {
    if (stagingFds.has(fd) || ownerFds.has(fd)) failWrite(`fd ${fd}`);
    return (orig.writeSync as (...a: unknown[]) => number)(fd, ...rest);
  };
  const patchedCloseSync = (fd: number): void => {
    const staged = stagingFds.delete(fd);
    ownerFds.delete(fd);
    orig.closeSync(fd);
    if (staged) kill('receiving', ++counts.staged);
  };
  type Cb = (e: NodeJS.ErrnoException | null, ...r: unknown[]) => void;
  const patchedOpenCb = (path: fs.PathLike, ...rest: unknown[]): void => {
    const cb = rest.pop() as Cb;
    const mine = typeof path === 'string' && resolve(path).startsWith(staging) && !path.endsWith(`${sep}owner.json`);
    (orig.openCb as (...a: unknown[]) => void)(path, ...rest, (e: NodeJS.ErrnoException | null, fd: number) => {
      if (e === null && mine) stagingFds.add(fd);
      cb(e, fd);
    });
  };
  const patchedWritevCb = (fd: number, ...rest: unknown[]): void => {
    const cb = rest.pop() as Cb;
    if (stagingFds.has(fd)) {
      try {
        failWrite(`fd ${fd}`);
      } catch (e) {
        process.nextTick(cb, e);
        return;
      }
    }
    (orig.writevCb as (...a: unknown[]) => void)(fd, ...rest, cb);
  };
  const patchedCloseCb = (fd: number, cb: Cb): void => {
    const staged = stagingFds.delete(fd);
    orig.closeCb(fd, (e) => {
      cb(e);
      if (staged) kill('receiving', ++counts.staged);
    });
  };
  /** Counts objects placed into objects/ (`n` at once for a directory) and injects the publish fault and kills. */
  const place = (n: number, dst: string, doIt: () => void): void => {
    const f = plan.fail;
    if (f?.op === 'publish' && f.after >= counts.published && f.after < counts.published + n) {
      failed = true;
      throw errnoError(f.errno, n === 1 ? 'link' : 'rename', dst);
    }
    doIt();
    for (let i = 0; i < n; i++) kill('publish', ++counts.published);
  };
  const patchedRename = (from: fs.PathLike, to: fs.PathLike): void => {
    const dst = resolve(String(to));
    if (dst.startsWith(objects) && fs.lstatSync(from).isDirectory()) {
      place(fs.readdirSync(from).length, dst, () => orig.renameSync(from, to));
      return;
    }
    // The temp file is complete, its rename not done: what a kill here leaves is a `.tmp-*` beside the target.
    if (dst === journal) kill('ref-temp', 0);
    else if (dst.startsWith(refs)) kill('ref-temp', counts.refs + 1);
    orig.renameSync(from, to);
    if (dst === journal) kill('ref', 0);
    else if (dst.startsWith(refs)) kill('ref', ++counts.refs);
  };
  const patchedLink = (existing: fs.PathLike, to: fs.PathLike): void => {
    const dst = resolve(String(to));
    if (dst.startsWith(objects)) {
      place(1, dst, () => orig.linkSync(existing, to));
      return;
    }
    orig.linkSync(existing, to);
    if (dst === lock) kill('closure', 0);
  };
  const patchedOpen = async (path: fs.PathLike | FileHandle, ...rest: unknown[]): Promise<FileHandle> => {
    const fh = await (orig.open as (...a: unknown[]) => Promise<FileHandle>)(path, ...rest);
    if (typeof path !== 'string' || !resolve(path).startsWith(staging) || plan.fail?.op !== 'stage-write') return fh;
    return new Proxy(fh, {
      get(target, prop) {
        const v = Reflect.get(target, prop) as unknown;
        if (prop === 'write') {
          return async (...args: unknown[]) => {
            failWrite(path);
            return (v as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  };

  const set = (to: Record<keyof typeof orig, unknown>): void => {
    const f = fs as unknown as Record<string, unknown>;
    f['renameSync'] = to.renameSync;
    f['linkSync'] = to.linkSync;
    f['openSync'] = to.openSync;
    f['writeSync'] = to.writeSync;
    f['writevSync'] = to.writevSync;
    f['open'] = to.openCb;
    f['writev'] = to.writevCb;
    f['close'] = to.closeCb;
    f['closeSync'] = to.closeSync;
    (fsp as { open: unknown }).open = to.open;
    syncBuiltinESMExports();
  };
  set({
    renameSync: patchedRename,
    linkSync: patchedLink,
    open: patchedOpen,
    openSync: patchedOpenSync,
    writeSync: patchedWriteSync,
    writevSync: patchedWritevSync,
    closeSync: patchedCloseSync,
    openCb: patchedOpenCb,
    writevCb: patchedWritevCb,
    closeCb: patchedCloseCb,
  });
  let installed = true;
  return {
    get failed() {
      return failed;
    },
    uninstall() {
      if (!installed) return;
      installed = false;
      set(orig);
    },
  };
}
