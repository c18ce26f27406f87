/**
 * A content object of a bare-family repository turned into its archive form,
 * the `.filez` bytes a PUTOBJECT carries (spec/ostree-format.md §3.5, §3.6,
 * §4.2), while it is read: bounded memory, nothing written.
 *
 *   mode            the `.file` on disk                 uid, gid, mode, xattrs
 *   bare            the file itself; symlinks as such   the file's own (lstat, llistxattr)
 *   bare-user       a regular file; a symlink is a      xattr user.ostreemeta = (uuua(ayay)),
 *                   regular file holding target + NUL   numbers big endian
 *   bare-user-only  the file itself; symlinks as such   uid 0, gid 0, the file's mode, no xattrs
 *
 * The archive form: `u32 BE header length, 4 zero bytes, (tuuuusa(ayay))`,
 * then the content as raw deflate (level 6, memLevel 8, a 32 KiB window, as
 * ostree). The content is deflated in chunks of DEFLATE_CHUNK bytes, each
 * with the previous chunk's last 32 KiB as its dictionary and ended by a sync
 * flush (an empty stored block, no final bit), but the last, which ends the
 * stream; an empty file's payload is the empty final block `03 00`. A file of
 * one chunk thus gets the bytes one deflate call gives, which are ostree's;
 * a larger one a stream compressed about as well, 5 bytes more per chunk.
 * Either way the same bytes every time the same content is read: so the
 * length can be learned by one pass (`archiveSize`) and the bytes produced
 * again by a second (`ArchiveConversion`), each pass holding two chunks at
 * most.
 *
 * Both passes hash what they read (`name = SHA-256(prefix(h) || content)`)
 * and compare with the object's name: a corrupt object is
 * REPO_CORRUPT_OBJECT naming it, found by the first pass (before anything is
 * sent) or, if it changed in between, by the second before its last bytes
 * go out, so a receiver never gets it whole.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readlinkSync, readSync, type Stats } from 'node:fs';
import { deflateRawSync, constants as zc } from 'node:zlib';
import type { Hash } from 'node:crypto';
import { decode, type GVValue } from '../gvariant/index.js';
import { OstreePushError, RepoError } from '../errors.js';
import { contentHasher, DEFAULT_ZLIB_LEVEL, encodeFilezHeader, S_IFLNK, S_IFMT, S_IFREG, validateFileMeta, type FileMeta } from './filez.js';
import { DIRMETA_TYPE, xattrsFromGV } from './metadata.js';
import { readXattrsSync, readXattrSync } from './file-xattrs.js';

export type BareMode = 'bare' | 'bare-user' | 'bare-user-only';

/** Content read and deflated per step: what a conversion holds, twice (this chunk and the dictionary's). */
export const DEFLATE_CHUNK = 256 * 1024;
const WINDOW = 32 * 1024;
/** An empty file's stream: one empty final block with fixed Huffman codes. */
const FINAL_BLOCK = Uint8Array.of(0x03, 0x00);
/** Longest target a bare-user symlink file may hold (PATH_MAX is 4096). */
const MAX_TARGET = 64 * 1024;
/** bare-user keeps uid, gid, mode and the xattrs here. */
export const OSTREEMETA_XATTR = 'user.ostreemeta';

type What = { checksum: string; path: string; mode: BareMode };

function missing({ checksum }: What): RepoError {
  return new RepoError('REPO_OBJECT_MISSING', `object ${checksum}.file is not in the repository`, { checksum, type: 'file' });
}

function corrupt(w: What, why: string, data: Record<string, unknown> = {}): RepoError {
  return new RepoError('REPO_CORRUPT_OBJECT', `object ${w.checksum}.file of the ${w.mode} repository is corrupt: ${why} (${w.path})`, { checksum: w.checksum, type: 'file', path: w.path, ...data });
}

/** The object's metadata and, for a regular file, its open descriptor and length. */
interface Opened {
  meta: FileMeta;
  fd: number;
  length: number;
}

function openFile(w: What): { fd: number; st: Stats } {
  let fd: number;
  try {
    // O_NOFOLLOW: a symlink is never followed; O_NONBLOCK: a fifo planted there does not block.
    fd = openSync(w.path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw missing(w);
    if (code === 'ELOOP') throw corrupt(w, 'a symlink where this mode keeps a regular file');
    throw e;
  }
  const st = fstatSync(fd);
  if (!st.isFile()) {
    closeSync(fd);
    throw corrupt(w, 'not a regular file');
  }
  return { fd, st };
}

/** Reads exactly `buf.byteLength` bytes at `position`, or fewer at the end of the file. */
function readFull(fd: number, buf: Buffer, position: number): number {
  let got = 0;
  while (got < buf.byteLength) {
    const n = readSync(fd, buf, got, buf.byteLength - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

function decodeOstreemeta(w: What, bytes: Uint8Array): Pick<FileMeta, 'uid' | 'gid' | 'mode' | 'xattrs'> {
  try {
    const [uid, gid, mode, xattrs] = decode(DIRMETA_TYPE, bytes, 'be') as GVValue[];
    return { uid: uid as number, gid: gid as number, mode: mode as number, xattrs: xattrsFromGV('file', xattrs) };
  } catch (e) {
    throw corrupt(w, `its ${OSTREEMETA_XATTR} is not a (uuua(ayay)): ${e instanceof OstreePushError ? e.code : String(e)}`);
  }
}

function checkedMeta(w: What, meta: FileMeta): FileMeta {
  try {
    validateFileMeta(meta);
  } catch (e) {
    throw corrupt(w, e instanceof Error ? e.message : String(e));
  }
  return meta;
}

/** Opens a content object as `mode` stores it; the caller closes `fd` (-1 for a symlink). */
function openContent(w: What): Opened {
  if (w.mode === 'bare-user') {
    const { fd, st } = openFile(w);
    try {
      const raw = readXattrSync(w.path, OSTREEMETA_XATTR, w.mode);
      if (raw === null) throw corrupt(w, `it has no ${OSTREEMETA_XATTR} extended attribute`);
      const m = decodeOstreemeta(w, raw);
      if ((m.mode & S_IFMT) !== S_IFLNK) return { meta: checkedMeta(w, { ...m, symlinkTarget: '' }), fd, length: st.size };
      // A symlink: the file holds the target, then a NUL.
      if (st.size > MAX_TARGET) throw corrupt(w, `a symlink's target of ${st.size} bytes`);
      const buf = Buffer.allocUnsafe(st.size);
      const got = readFull(fd, buf, 0);
      const bytes = buf.subarray(0, got);
      const nul = bytes.indexOf(0);
      const target = (nul < 0 ? bytes : bytes.subarray(0, nul)).toString('utf8');
      closeSync(fd);
      return { meta: checkedMeta(w, { ...m, symlinkTarget: target }), fd: -1, length: 0 };
    } catch (e) {
      try {
        closeSync(fd);
      } catch {
        /* closed already */
      }
      throw e;
    }
  }
  const st = lstatSync(w.path, { throwIfNoEntry: false });
  if (st === undefined) throw missing(w);
  const owner = w.mode === 'bare' ? { uid: st.uid, gid: st.gid } : { uid: 0, gid: 0 };
  const xattrs = () => (w.mode === 'bare' ? readXattrsSync(w.path, w.mode) : []);
  if (st.isSymbolicLink()) {
    const target = readlinkSync(w.path, { encoding: 'utf8' });
    return { meta: checkedMeta(w, { ...owner, mode: st.mode, symlinkTarget: target, xattrs: xattrs() }), fd: -1, length: 0 };
  }
  const { fd, st: fst } = openFile(w);
  try {
    const own = w.mode === 'bare' ? { uid: fst.uid, gid: fst.gid } : owner;
    return { meta: checkedMeta(w, { ...own, mode: fst.mode, symlinkTarget: '', xattrs: xattrs() }), fd, length: fst.size };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

/**
 * One pass over a content object, producing its archive bytes step by step
 * (`next`), holding at most two chunks of content. The descriptor is closed
 * at the end, on any error, and by `close`.
 */
export class ArchiveConversion {
  readonly #w: What;
  readonly #meta: FileMeta;
  readonly #length: number;
  readonly #hash: Hash;
  readonly #level: number;
  #fd: number;
  #at = 0;
  #header = true;
  #finished = false;
  #dictionary: Buffer | undefined;

  constructor(checksum: string, path: string, mode: BareMode, options: { level?: number } = {}) {
    this.#w = { checksum, path, mode };
    const o = openContent(this.#w);
    this.#meta = o.meta;
    this.#fd = o.fd;
    this.#length = o.length;
    this.#hash = contentHasher(o.meta);
    this.#level = options.level ?? DEFAULT_ZLIB_LEVEL;
  }

  /** True once the last piece was produced. */
  get finished(): boolean {
    return this.#finished;
  }

  /** The next piece of the archive form, or null at the end; REPO_CORRUPT_OBJECT before the last piece of a corrupt object. */
  next(): Uint8Array | null {
    try {
      return this.#step();
    } catch (e) {
      this.close();
      throw e;
    }
  }

  #step(): Uint8Array | null {
    if (this.#finished) return null;
    const symlink = (this.#meta.mode & S_IFMT) === S_IFLNK;
    if (this.#header) {
      this.#header = false;
      const head = encodeFilezHeader({ ...this.#meta, size: BigInt(this.#length) });
      if (!symlink) return head;
      // A symlink's header is the whole object: checked before it goes.
      this.#verify();
      this.#finished = true;
      return head;
    }
    if ((this.#meta.mode & S_IFMT) !== S_IFREG) throw new RepoError('INTERNAL', 'conversion of a non-regular file went on past its header', {});
    if (this.#at < this.#length) {
      const buf = Buffer.allocUnsafe(Math.min(DEFLATE_CHUNK, this.#length - this.#at));
      const got = readFull(this.#fd, buf, this.#at);
      if (got !== buf.byteLength) throw corrupt(this.#w, `it shrank while being read (${this.#at + got} of ${this.#length} bytes)`);
      this.#at += got;
      this.#hash.update(buf);
      const last = this.#at === this.#length;
      const out = deflateRawSync(buf, {
        level: this.#level,
        memLevel: 8,
        windowBits: 15,
        // The last chunk ends the stream itself (a final block), the others with a sync flush.
        finishFlush: last ? zc.Z_FINISH : zc.Z_SYNC_FLUSH,
        ...(this.#dictionary === undefined ? {} : { dictionary: this.#dictionary }),
      });
      this.#dictionary = buf.byteLength > WINDOW ? buf.subarray(buf.byteLength - WINDOW) : buf;
      if (!last) return out;
      // The end of the object: checked before it goes.
      this.#verify();
      this.#finished = true;
      this.close();
      return out;
    }
    // An empty file: the stream is one empty final block, as ostree writes it.
    this.#verify();
    this.#finished = true;
    this.close();
    return FINAL_BLOCK;
  }

  #verify(): void {
    const actual = this.#hash.digest('hex');
    if (actual !== this.#w.checksum) throw corrupt(this.#w, `its content hashes to ${actual}`, { actual });
  }

  close(): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    closeSync(fd);
  }
}

/** The length of the object's archive form, by one full pass (which also verifies it). */
export function archiveSize(checksum: string, path: string, mode: BareMode, options: { level?: number } = {}): number {
  const c = new ArchiveConversion(checksum, path, mode, options);
  let n = 0;
  try {
    for (let piece = c.next(); piece !== null; piece = c.next()) n += piece.byteLength;
  } finally {
    c.close();
  }
  return n;
}
