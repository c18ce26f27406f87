/**
 * Reading loose objects. Callers see only the ObjectStore interface, so a
 * reader for another mode (bare-user keeps content as plain files with the
 * header in an xattr) can be added without touching them. `openRead` always
 * yields the archive representation of an object: the exact bytes a
 * PUTOBJECT carries (ostree-format.md §1.3, §3.5).
 */
import { createReadStream, type ReadStream } from 'node:fs';
import { lstat, opendir } from 'node:fs/promises';
import { join } from 'node:path';
import { RepoError } from '../errors.js';
import { objectRelPath, parseObjectBasename, type ObjectName, type ObjectType } from './object-names.js';

export interface ObjectStat {
  /** Size in bytes of the stored (archive) representation. */
  size: number;
}

export interface ObjectStore {
  has(checksum: string, type: ObjectType): Promise<boolean>;
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

  async openRead(checksum: string, type: ObjectType): Promise<ReadStream> {
    if (!(await this.has(checksum, type))) {
      throw new RepoError('REPO_OBJECT_MISSING', `object ${checksum}.${type} is not in the repository`, { checksum, type });
    }
    const stream = createReadStream(this.pathOf(checksum, type));
    await new Promise<void>((res, rej) => {
      stream.once('open', () => res());
      stream.once('error', rej);
    });
    return stream;
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
