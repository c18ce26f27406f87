/**
 * Reading loose objects. Callers see only the ObjectStore interface, so a
 * reader for another mode (bare-user keeps content as plain files with the
 * header in an xattr) can be added without touching them. `openRead` always
 * yields the archive representation of an object: the exact bytes a
 * PUTOBJECT carries (ostree-format.md §1.3, §3.5).
 */
import { closeSync, constants, createReadStream, fstatSync, lstatSync, openSync, readSync } from 'node:fs';
import { Readable } from 'node:stream';
import { lstat, opendir } from 'node:fs/promises';
import { join } from 'node:path';
import { RepoError } from '../errors.js';
import { objectRelPath, parseObjectBasename, type ObjectName, type ObjectType } from './object-names.js';

export interface ObjectStat {
  /** Size in bytes of the stored (archive) representation. */
  size: number;
}

/** Objects up to this size are read in one synchronous call (see `openRead`). */
export const SMALL_OBJECT_READ = 64 * 1024;

export interface ObjectStore {
  has(checksum: string, type: ObjectType): Promise<boolean>;
  /** As `has`, synchronously: one lstat, no thread-pool hop (the per-object check of a receive). */
  hasSync(checksum: string, type: ObjectType): boolean;
  /** As `stat`, synchronously. */
  statSync(checksum: string, type: ObjectType): ObjectStat | null;
  /** null when absent. */
  stat(checksum: string, type: ObjectType): Promise<ObjectStat | null>;
  /** A stream of the object's archive bytes; REPO_OBJECT_MISSING when absent. */
  openRead(checksum: string, type: ObjectType): Promise<NodeJS.ReadableStream>;
  /** Every loose object, in no particular order; files that are not object names are skipped. */
  list(): AsyncIterable<ObjectName>;
}

export class ArchiveObjectStore implements ObjectStore {
  constructor(readonly root: string) {}

  /** Absolute path of an object (the checksum is validated by objectRelPath). */
  pathOf(checksum: string, type: ObjectType): string {
    return join(this.root, objectRelPath(checksum, type, 'archive'));
  }

  async stat(checksum: string, type: ObjectType): Promise<ObjectStat | null> {
    try {
      const st = await lstat(this.pathOf(checksum, type));
      // Only a regular file counts: a symlink planted in objects/ must not be followed.
      return st.isFile() ? { size: st.size } : null;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }

  async has(checksum: string, type: ObjectType): Promise<boolean> {
    return (await this.stat(checksum, type)) !== null;
  }

  statSync(checksum: string, type: ObjectType): ObjectStat | null {
    // throwIfNoEntry: an absent object is the common case of a receive, and an
    // exception with its stack per object costs more than the lstat.
    const st = lstatSync(this.pathOf(checksum, type), { throwIfNoEntry: false });
    return st !== undefined && st.isFile() ? { size: st.size } : null;
  }

  hasSync(checksum: string, type: ObjectType): boolean {
    return this.statSync(checksum, type) !== null;
  }

  /**
   * Opened with O_NOFOLLOW (a symlink planted in objects/ is not followed)
   * and checked to be a regular file with fstat: no separate lstat. An
   * object of at most SMALL_OBJECT_READ bytes, most of a tree, is read at
   * once with synchronous calls (the same one buffer a stream would fill);
   * a larger one is streamed from the open descriptor.
   */
  async openRead(checksum: string, type: ObjectType): Promise<NodeJS.ReadableStream> {
    const gone = (): RepoError => new RepoError('REPO_OBJECT_MISSING', `object ${checksum}.${type} is not in the repository`, { checksum, type });
    let fd: number;
    try {
      fd = openSync(this.pathOf(checksum, type), constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ELOOP' || code === 'ENOTDIR') throw gone();
      throw e;
    }
    let size: number;
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) throw gone();
      size = st.size;
      if (size <= SMALL_OBJECT_READ) {
        const buf = Buffer.allocUnsafe(size);
        let got = 0;
        while (got < size) {
          const n = readSync(fd, buf, got, size - got, got);
          if (n === 0) break;
          got += n;
        }
        closeSync(fd);
        return Readable.from(got === 0 ? [] : [buf.subarray(0, got)], { objectMode: false });
      }
    } catch (e) {
      closeSync(fd);
      throw e;
    }
    return createReadStream('', { fd, autoClose: true });
  }

  async *list(): AsyncIterable<ObjectName> {
    const objects = join(this.root, 'objects');
    const top = await opendir(objects);
    for await (const d of top) {
      if (!d.isDirectory() || !/^[0-9a-f]{2}$/.test(d.name)) continue;
      const sub = await opendir(join(objects, d.name));
      for await (const f of sub) {
        if (!f.isFile()) continue;
        try {
          yield parseObjectBasename(d.name + f.name, { mode: 'archive' });
        } catch {
          /* not an object name (e.g. a stray temp file) */
        }
      }
    }
  }
}
