/**
 * The objects a repository already holds, as a receive asks about them: the
 * one place the receiver (src/protocol/receive-*.ts), its closure and
 * fast-forward walks (traverse.ts) and the receive policy's signature checks
 * learn what is stored, instead of looking under the repository's root.
 *
 *   has(checksum, type)       stored? answered at once (no wait): QUERY's
 *                             `have`, the closure check, "already present"
 *   read(checksum, type)      a stored metadata object's bytes (commit,
 *                             commitmeta, dirtree, dirmeta), or null
 *   sessionLookup()           `has` for one session's PUTOBJECTs, which may
 *                             be cheaper and may say "not stored" of an object
 *                             stored since it was made (it is then received again)
 *
 * A directory repository holds its objects in `objects/` (`directoryObjects`,
 * what `Repo.held` is unless the repository was opened with another); a
 * repository in a bucket answers from its listing and GETs (src/bucket/
 * bucket-held.ts) while the session's root on disk holds only its config,
 * refs, lock and staging.
 */
import { readdirSync } from 'node:fs';
import { objectRelPath, type ObjectName, type ObjectType } from './object-names.js';
import { readMetadataSync } from './metadata-file.js';

export interface HeldObjects {
  /** Whether the repository stores the object. */
  has(checksum: string, type: ObjectType): boolean;
  /** A stored metadata object's bytes, or null when it is not stored. */
  read(checksum: string, type: ObjectType): Promise<Uint8Array | null>;
  /** `has` for the objects of one session (see the module comment). */
  sessionLookup(): (object: ObjectName) => boolean;
}

/** What directoryObjects needs of a directory repository (repo.ts's Repo, without importing it). */
interface DirectoryRepo {
  objects: { hasSync(checksum: string, type: ObjectType): boolean };
  resolve(rel: string): string;
}

/**
 * The objects under a directory repository's `objects/`. Reads are
 * synchronous on purpose (traverse.ts says why). The session lookup skips
 * the lstat for objects whose fan-out directory (`objects/XX/`) did not
 * exist when the session began: pushing into a new or sparse repository
 * then costs no lookup per object.
 */
export function directoryObjects(repo: DirectoryRepo): HeldObjects {
  return {
    has: (checksum, type) => repo.objects.hasSync(checksum, type),
    read: async (checksum, type) => {
      try {
        const b = readMetadataSync(repo.resolve(objectRelPath(checksum, type)));
        return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return null;
        throw e;
      }
    },
    sessionLookup: () => {
      let dirs: Set<string>;
      try {
        dirs = new Set(readdirSync(repo.resolve('objects')));
      } catch {
        return (o) => repo.objects.hasSync(o.checksum, o.type);
      }
      return (o) => dirs.has(o.checksum.slice(0, 2)) && repo.objects.hasSync(o.checksum, o.type);
    },
  };
}
