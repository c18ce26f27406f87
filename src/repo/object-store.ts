/**
 * Reading loose objects. Callers see only the ObjectStore interface: this
 * archive store, or bare-object-store.ts for the bare-family modes. Every
 * method speaks of the archive representation of an object: the exact bytes
 * a PUTOBJECT carries (spec/ostree-format.md §1.3, §3.5).
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, type Dirent } from 'node:fs';
import { Readable } from 'node:stream';
import { lstat, opendir } from 'node:fs/promises';
import { join } from 'node:path';
import { RepoError } from '../errors.js';
import { objectRelPath, parseObjectBasename, type ObjectName, type ObjectType } from './object-names.js';

export interface ObjectStat {
  /** Size in bytes of the stored (archive) representation. */
  size: number;
}

/** Objects up to this size are read in one synchronous call (see `openReader`). */
export const SMALL_OBJECT_READ = 64 * 1024;
/** A larger object is read in chunks of this size, one at a time, as they are taken. */
export const OBJECT_READ_CHUNK = 256 * 1024;

/**
 * An object's archive bytes from a file `openReader` opened. Iterate once;
 * stopping early (break, throw) closes the file, and so does `close`.
 */
export interface ObjectReader extends AsyncIterable<Uint8Array> {
  /** Size in bytes: what the chunks add up to, or REPO_CORRUPT_OBJECT while reading. */
  readonly size: number;
  /** Releases the file when the chunks were not all taken; idempotent. */
  close(): void;
}

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
  /**
   * As `openRead`, synchronously and without a stream: the object is opened
   * now (REPO_OBJECT_MISSING when absent) and read as the chunks are taken.
   * `size`, when the caller already knows it (a push plan stats every
   * object), saves an fstat; a file of another size is REPO_CORRUPT_OBJECT.
   */
  openReader(checksum: string, type: ObjectType, size?: number): ObjectReader;
  /** Every loose object, in no particular order; files that are not object names are skipped. */
  list(): AsyncIterable<ObjectName>;
}

export class ArchiveObjectStore implements ObjectStore {
  /** The root, normalized once: a path per object is then one concatenation, not a join. */
  readonly #root: string;

  constructor(readonly root: string) {
    const r = join(root, '.');
    this.#root = r.endsWith('/') ? r : `${r}/`;
  }

  /** Path of an object (the checksum is validated by objectRelPath), as join(root, relative path) gives it. */
  pathOf(checksum: string, type: ObjectType): string {
    return this.#root + objectRelPath(checksum, type, 'archive');
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

  async openRead(checksum: string, type: ObjectType): Promise<NodeJS.ReadableStream> {
    return Readable.from(this.openReader(checksum, type), { objectMode: false });
  }

  /**
   * Opened with O_NOFOLLOW (a symlink planted in objects/ is not followed)
   * and O_NONBLOCK (a fifo planted there does not block the open). Without
   * a known size, fstat checks it is a regular file and gives the size; with
   * one, the reads do: an object of at most SMALL_OBJECT_READ bytes, most of
   * a tree, is read at once with one read of size + 1 bytes (a regular
   * file's read stops short only at its end, so a longer file shows as the
   * extra byte) and closed before this returns; a larger one is read in
   * OBJECT_READ_CHUNK chunks as they are taken, so memory stays bounded.
   */
  openReader(checksum: string, type: ObjectType, size?: number): ObjectReader {
    const what = { checksum, type };
    let fd: number;
    try {
      fd = openSync(this.pathOf(checksum, type), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ELOOP' || code === 'ENOTDIR') throw missingObject(what);
      throw e;
    }
    let streaming = false;
    try {
      if (size === undefined) {
        const st = fstatSync(fd);
        if (!st.isFile()) throw missingObject(what);
        size = st.size;
      }
      if (size > SMALL_OBJECT_READ) {
        streaming = true;
        return new ChunkReader(fd, size, what);
      }
      const buf = Buffer.allocUnsafe(size + 1);
      let got = 0;
      while (got < size) {
        const n = readAt(fd, buf, got, buf.byteLength - got, got, what);
        if (n === 0) break;
        got += n;
      }
      if (got !== size) throw changedSize(what, size);
      return new OneChunk(buf.subarray(0, size));
    } finally {
      if (!streaming) closeSync(fd);
    }
  }

  list(): AsyncIterable<ObjectName> {
    return listObjectFiles(this.root, 'archive', (f) => f.isFile());
  }
}

/**
 * Every object under ROOT/objects that `accept` takes, named as MODE names
 * its files; anything else there (a stray temp file) is passed over.
 */
export async function* listObjectFiles(root: string, mode: 'archive' | 'bare', accept: (entry: Dirent) => boolean): AsyncIterable<ObjectName> {
  const objects = join(root, 'objects');
  const top = await opendir(objects);
  for await (const d of top) {
    if (!d.isDirectory() || !/^[0-9a-f]{2}$/.test(d.name)) continue;
    const sub = await opendir(join(objects, d.name));
    for await (const f of sub) {
      if (!accept(f)) continue;
      try {
        yield parseObjectBasename(d.name + f.name, { mode });
      } catch {
        /* not an object name (e.g. a stray temp file) */
      }
    }
  }
}

type What = { checksum: string; type: ObjectType };

function missingObject({ checksum, type }: What): RepoError {
  return new RepoError('REPO_OBJECT_MISSING', `object ${checksum}.${type} is not in the repository`, { checksum, type });
}

function changedSize({ checksum, type }: What, size: number): RepoError {
  return new RepoError('REPO_CORRUPT_OBJECT', `object ${checksum}.${type} is not ${size} bytes (it changed while being pushed?)`, { checksum, type, size });
}

/** readSync, with "not a regular file" (EISDIR: a directory; ESPIPE: a fifo or socket) reported as the object missing. */
function readAt(fd: number, buf: Buffer, offset: number, length: number, position: number, what: What): number {
  try {
    return readSync(fd, buf, offset, length, position);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EISDIR' || code === 'ESPIPE' || code === 'EAGAIN') throw missingObject(what);
    throw e;
  }
}

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/** A small object, already read: one chunk. Its own iterator: no generator, no stream. */
class OneChunk implements ObjectReader, AsyncIterator<Uint8Array> {
  #chunk: Uint8Array | null;
  readonly size: number;

  constructor(chunk: Uint8Array) {
    this.#chunk = chunk;
    this.size = chunk.byteLength;
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return this;
  }

  next(): Promise<IteratorResult<Uint8Array>> {
    const c = this.#chunk;
    this.#chunk = null;
    return Promise.resolve(c === null || c.byteLength === 0 ? DONE : { done: false, value: c });
  }

  return(): Promise<IteratorResult<Uint8Array>> {
    this.#chunk = null;
    return Promise.resolve(DONE);
  }

  close(): void {
    this.#chunk = null;
  }
}

/** A larger object: one synchronous read per chunk taken, from the open file; closed at the end. */
class ChunkReader implements ObjectReader, AsyncIterator<Uint8Array> {
  #fd: number;
  #at = 0;

  constructor(fd: number, readonly size: number, private readonly what: What) {
    this.#fd = fd;
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return this;
  }

  next(): Promise<IteratorResult<Uint8Array>> {
    try {
      return Promise.resolve(this.#step());
    } catch (e) {
      this.close();
      return Promise.reject(e);
    }
  }

  #step(): IteratorResult<Uint8Array> {
    if (this.#fd < 0) return DONE;
    const left = this.size - this.#at;
    // At the announced end, one more byte read tells a file that grew.
    const buf = Buffer.allocUnsafe(left === 0 ? 1 : Math.min(OBJECT_READ_CHUNK, left));
    let got = 0;
    while (got < buf.byteLength) {
      const n = readAt(this.#fd, buf, got, buf.byteLength - got, this.#at + got, this.what);
      if (n === 0) break;
      got += n;
    }
    if (left === 0) {
      if (got > 0) throw changedSize(this.what, this.size);
      this.close();
      return DONE;
    }
    if (got < buf.byteLength) throw changedSize(this.what, this.size);
    this.#at += got;
    return { done: false, value: buf };
  }

  return(): Promise<IteratorResult<Uint8Array>> {
    this.close();
    return Promise.resolve(DONE);
  }

  close(): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    closeSync(fd);
  }
}
