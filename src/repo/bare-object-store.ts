/**
 * Reading the objects of a bare, bare-user or bare-user-only repository as
 * their archive form (spec/ostree-format.md §1.3, §3.6): what a push sends.
 *
 * Metadata objects (commit, commitmeta, dirtree, dirmeta) are the same files
 * under the same names in every mode: they are read as the archive store
 * reads them. A content object is `objects/XX/<rest>.file`, turned into its
 * `.filez` form while it is read (bare-content.ts). The archive form's length
 * is known only once the content is deflated: `stat` and `statSync` run that
 * pass (verifying the object on the way) and remember the length for the
 * send, which deflates again; `has` and `hasSync` only look.
 */
import { lstatSync } from 'node:fs';
import { Readable } from 'node:stream';
import { join } from 'node:path';
import { RepoError } from '../errors.js';
import { ArchiveConversion, archiveSize, type BareMode } from './bare-content.js';
import { assertXattrsReadable } from './file-xattrs.js';
import { ArchiveObjectStore, listObjectFiles, type ObjectReader, type ObjectStat, type ObjectStore } from './object-store.js';
import { objectRelPath, type ObjectName, type ObjectType } from './object-names.js';

export class BareObjectStore implements ObjectStore {
  readonly #metadata: ArchiveObjectStore;
  readonly #root: string;
  /** Archive-form lengths found by `stat`, for the send that follows. */
  readonly #sizes = new Map<string, number>();

  constructor(
    readonly root: string,
    readonly mode: BareMode,
  ) {
    this.#metadata = new ArchiveObjectStore(root);
    this.#root = join(root, '.');
    // bare and bare-user keep metadata in xattrs: refuse now, not at the first file.
    if (mode !== 'bare-user-only') assertXattrsReadable(mode);
  }

  /** Path of a content object's `.file`. */
  pathOf(checksum: string): string {
    return join(this.#root, objectRelPath(checksum, 'file', 'bare'));
  }

  #exists(checksum: string): boolean {
    const st = lstatSync(this.pathOf(checksum), { throwIfNoEntry: false });
    // A symlink is an object in bare and bare-user-only; in bare-user every object is a regular file.
    return st !== undefined && (st.isFile() || (st.isSymbolicLink() && this.mode !== 'bare-user'));
  }

  async has(checksum: string, type: ObjectType): Promise<boolean> {
    return type === 'file' ? this.#exists(checksum) : this.#metadata.has(checksum, type);
  }

  hasSync(checksum: string, type: ObjectType): boolean {
    return type === 'file' ? this.#exists(checksum) : this.#metadata.hasSync(checksum, type);
  }

  statSync(checksum: string, type: ObjectType): ObjectStat | null {
    if (type !== 'file') return this.#metadata.statSync(checksum, type);
    const known = this.#sizes.get(checksum);
    if (known !== undefined) return { size: known };
    if (!this.#exists(checksum)) return null;
    const size = archiveSize(checksum, this.pathOf(checksum), this.mode);
    this.#sizes.set(checksum, size);
    return { size };
  }

  async stat(checksum: string, type: ObjectType): Promise<ObjectStat | null> {
    return type === 'file' ? this.statSync(checksum, type) : this.#metadata.stat(checksum, type);
  }

  async openRead(checksum: string, type: ObjectType): Promise<NodeJS.ReadableStream> {
    return Readable.from(this.openReader(checksum, type), { objectMode: false });
  }

  /**
   * Metadata: as the archive store. Content: converted as the chunks are
   * taken; `size` (or the length `stat` found, else a pass now) is the
   * length the chunks must add up to, else REPO_CORRUPT_OBJECT.
   */
  openReader(checksum: string, type: ObjectType, size?: number): ObjectReader {
    if (type !== 'file') return this.#metadata.openReader(checksum, type, size);
    const expected = size ?? this.statSync(checksum, type)?.size;
    if (expected === undefined) throw new RepoError('REPO_OBJECT_MISSING', `object ${checksum}.file is not in the repository`, { checksum, type });
    return new ConvertingReader(new ArchiveConversion(checksum, this.pathOf(checksum), this.mode), expected, checksum);
  }

  list(): AsyncIterable<ObjectName> {
    // bare-user keeps symlinks as regular files; bare and bare-user-only keep them as links.
    return listObjectFiles(this.root, 'bare', (f) => f.isFile() || (f.isSymbolicLink() && this.mode !== 'bare-user'));
  }
}

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/** The archive form of a content object, converted one piece per chunk taken; a length other than `size` is REPO_CORRUPT_OBJECT. */
class ConvertingReader implements ObjectReader, AsyncIterator<Uint8Array> {
  #sent = 0;

  constructor(
    private readonly conversion: ArchiveConversion,
    readonly size: number,
    private readonly checksum: string,
  ) {}

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return this;
  }

  next(): Promise<IteratorResult<Uint8Array>> {
    try {
      const piece = this.conversion.next();
      const total = this.#sent + (piece?.byteLength ?? 0);
      // Checked before the piece goes: a receiver never gets more, or the end of fewer, bytes than announced.
      if (total > this.size || (this.conversion.finished && total !== this.size)) {
        throw new RepoError('REPO_CORRUPT_OBJECT', `object ${this.checksum}.file changed while being pushed: its archive form is not ${this.size} bytes`, { checksum: this.checksum, type: 'file', size: this.size });
      }
      this.#sent = total;
      return Promise.resolve(piece === null ? DONE : { done: false, value: piece });
    } catch (e) {
      this.close();
      return Promise.reject(e);
    }
  }

  return(): Promise<IteratorResult<Uint8Array>> {
    this.close();
    return Promise.resolve(DONE);
  }

  close(): void {
    this.conversion.close();
  }
}
