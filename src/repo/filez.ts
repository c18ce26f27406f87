/**
 * Archive content objects, `.filez` (spec/ostree-format.md §3.5, §4.2).
 *
 *   u32 BE   header_len
 *   4 bytes  00 00 00 00
 *   header   (tuuuusa(ayay))  size, uid, gid, mode, rdev, symlink target, xattrs; ints BE
 *   rest     raw DEFLATE (RFC 1951) of the content; level 6, memLevel 8, windowBits -15.
 *            Empty regular file: `03 00`. Symlink: no bytes at all.
 *
 *   name = SHA-256( u32_BE(len(h)) || 00000000 || h || content )
 *          with h = (uuuusa(ayay)) — the header WITHOUT the size field.
 *
 * Content is always streamed: neither the reader nor the writer holds a whole
 * file. The size field is not covered by the name, so readers that care
 * (verify.ts) compare it with the inflated length themselves.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, writeFile, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createDeflateRaw, createInflateRaw, deflateRawSync } from 'node:zlib';
import { decode, encode, type GVValue } from '../gvariant/index.js';
import { OstreePushError, RepoError } from '../errors.js';
import { MAX_METADATA_SIZE, xattrsFromGV, xattrsToGV, type Xattr } from './metadata.js';

export const FILEZ_HEADER_TYPE = '(tuuuusa(ayay))';
export const FILE_HEADER_TYPE = '(uuuusa(ayay))';
/** ostree's default `[archive] zlib-level`. */
export const DEFAULT_ZLIB_LEVEL = 6;
/** A header is metadata too: cap it so a hostile length cannot make us buffer gigabytes. */
export const MAX_FILEZ_HEADER = MAX_METADATA_SIZE;

export const S_IFMT = 0o170000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;

/** What the name covers: everything about a file but its bytes and size. */
export interface FileMeta {
  uid: number;
  gid: number;
  /** Full st_mode including the type bits (0100644, 0100755, 0120777). */
  mode: number;
  /** '' for regular files. */
  symlinkTarget: string;
  xattrs: Xattr[];
}

export interface FilezHeader extends FileMeta {
  /** Uncompressed length; 0 for symlinks. */
  size: bigint;
}

export function isSymlinkMode(mode: number): boolean {
  return (mode & S_IFMT) === S_IFLNK;
}

function malformed(why: string, data: Record<string, unknown> = {}, cause?: unknown): RepoError {
  return new RepoError('REPO_MALFORMED_OBJECT', `malformed file object: ${why}`, { type: 'file', ...data }, cause === undefined ? undefined : { cause });
}

/** The rules libostree applies to a content header; violating them is REPO_MALFORMED_OBJECT. */
export function validateFileMeta(m: FileMeta): void {
  const kind = m.mode & S_IFMT;
  if (kind !== S_IFREG && kind !== S_IFLNK) throw malformed(`mode 0${m.mode.toString(8)} is neither a regular file nor a symlink`);
  if ((m.mode & ~(S_IFMT | 0o7777)) !== 0) throw malformed(`mode 0${m.mode.toString(8)} has unknown bits`);
  if (kind === S_IFLNK && m.symlinkTarget === '') throw malformed('symlink with an empty target');
  if (kind === S_IFREG && m.symlinkTarget !== '') throw malformed('regular file with a symlink target');
}

function u32be(n: number): Uint8Array {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/** `u32_BE(len(h)) || 00000000 || h`: what the content checksum hashes before the bytes. */
export function checksumPrefix(m: FileMeta): Uint8Array {
  const h = encode(FILE_HEADER_TYPE, [m.uid, m.gid, m.mode, 0, m.symlinkTarget, xattrsToGV(m.xattrs)], 'be');
  return Buffer.concat([u32be(h.byteLength), new Uint8Array(4), h]);
}

/** Width of a framing offset for a container of `total` bytes (spec/ostree-format.md §2.4). */
function offsetWidth(total: number): number {
  return total <= 0xff ? 1 : total <= 0xffff ? 2 : 4;
}

/**
 * The checksum prefix computed from the received header bytes, without a
 * decode and re-encode: `bytes` must be a `(tuuuusa(ayay))` that
 * `decodeFilezHeader` accepted (so it is in normal form). The name's
 * `(uuuusa(ayay))` is those bytes minus the leading `t`: the four `u`
 * (alignment 4, at 8 and now at 0), the `s` and the `a(ayay)` (alignment 1)
 * keep their bytes; only the one framing offset (the end of the `s`, little-
 * endian, last in the tuple) moves down by 8, and its width is chosen again
 * from the new total (§2.3, §2.4). The result equals `checksumPrefix` of the
 * decoded header byte for byte (filez.test.ts checks it across the width
 * boundaries).
 */
export function checksumPrefixFromHeader(bytes: Uint8Array): Buffer {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const w = offsetWidth(b.byteLength);
  const body = b.byteLength - w; // t, u×4, s, a(ayay)
  const stringEnd = b.readUIntLE(body, w) - 8;
  const inner = body - 8;
  let w2 = 1;
  while (inner + w2 > (w2 === 1 ? 0xff : w2 === 2 ? 0xffff : 0xffffffff)) w2 *= 2;
  const h = inner + w2;
  const out = Buffer.allocUnsafe(8 + h);
  out.writeUInt32BE(h, 0);
  out.writeUInt32BE(0, 4);
  b.copy(out, 8, 8, body);
  out.writeUIntLE(stringEnd, 8 + inner, w2);
  return out;
}

/** A hash already fed with the checksum prefix; update it with the content, then digest. */
export function contentHasher(m: FileMeta): Hash {
  return createHash('sha256').update(checksumPrefix(m));
}

/** The 8-byte prefix plus the `(tuuuusa(ayay))` header. */
export function encodeFilezHeader(h: FilezHeader): Uint8Array {
  validateFileMeta(h);
  const v = encode(FILEZ_HEADER_TYPE, [h.size, h.uid, h.gid, h.mode, 0, h.symlinkTarget, xattrsToGV(h.xattrs)], 'be');
  return Buffer.concat([u32be(v.byteLength), new Uint8Array(4), v]);
}

/**
 * Reads the 8-byte prefix: returns the header length, or throws when the
 * padding is not zero or the length is beyond the cap.
 */
export function decodeFilezPrefix(prefix: Uint8Array): number {
  const b = Buffer.from(prefix.buffer, prefix.byteOffset, prefix.byteLength);
  if (b.byteLength < 8) throw malformed('shorter than its 8-byte prefix');
  const len = b.readUInt32BE(0);
  if (b.readUInt32BE(4) !== 0) throw malformed('non-zero padding after the header length');
  if (len > MAX_FILEZ_HEADER) {
    throw new RepoError('REPO_OBJECT_TOO_LARGE', `file header of ${len} bytes exceeds ${MAX_FILEZ_HEADER}`, { type: 'file', size: len, max: MAX_FILEZ_HEADER });
  }
  return len;
}

/** Decodes the variant part of the header (without the 8-byte prefix), strictly. */
export function decodeFilezHeader(bytes: Uint8Array): FilezHeader {
  let v: GVValue[];
  try {
    v = decode(FILEZ_HEADER_TYPE, bytes, 'be') as GVValue[];
  } catch (e) {
    throw malformed(e instanceof OstreePushError ? `${e.code}: ${e.message}` : String(e), {}, e);
  }
  const [size, uid, gid, mode, rdev, target, xattrs] = v;
  if (rdev !== 0) throw malformed(`rdev ${String(rdev)} is not 0`);
  const h: FilezHeader = {
    size: size as bigint,
    uid: uid as number,
    gid: gid as number,
    mode: mode as number,
    symlinkTarget: target as string,
    xattrs: xattrsFromGV('file', xattrs),
  };
  validateFileMeta(h);
  if (isSymlinkMode(h.mode) && h.size !== 0n) throw malformed(`symlink with size ${h.size}`);
  return h;
}

async function readExactly(fh: FileHandle, length: number, position: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, position + got);
    if (bytesRead === 0) throw malformed(`truncated header (${position + got} bytes)`);
    got += bytesRead;
  }
  return buf;
}

/** The header of a `.filez` on disk and where its payload starts. */
export async function readFilezHeader(path: string): Promise<{ header: FilezHeader; payloadOffset: number }> {
  const fh = await open(path, 'r');
  try {
    const len = decodeFilezPrefix(await readExactly(fh, 8, 0));
    return { header: decodeFilezHeader(await readExactly(fh, len, 8)), payloadOffset: 8 + len };
  } finally {
    await fh.close();
  }
}

/**
 * The header and a stream of the uncompressed content (empty for symlinks).
 * This is a reader, not a verifier: see verify.ts for the checks.
 */
export async function openFilezContent(path: string): Promise<{ header: FilezHeader; content: Readable }> {
  const { header, payloadOffset } = await readFilezHeader(path);
  if (isSymlinkMode(header.mode)) return { header, content: Readable.from([]) };
  const raw = createReadStream(path, { start: payloadOffset });
  const inflate = createInflateRaw();
  raw.on('error', (e) => inflate.destroy(e));
  return { header, content: raw.pipe(inflate) };
}

export type ContentSource = Uint8Array | AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

export interface WriteFilezOptions {
  /** `[archive] zlib-level`; default 6 like ostree. */
  level?: number;
  /** fsync the file before returning (default true). */
  fsync?: boolean;
}

export interface WrittenFilez {
  checksum: string;
  /** Uncompressed content length. */
  size: number;
  /** Length of the `.filez` file. */
  fileSize: number;
}

/**
 * Writes a `.filez` to `path` (which must not exist) from a content stream,
 * hashing in the same pass. The size need not be known in advance: the
 * header is written with size 0 and its fixed-width `t` (bytes 8..15 of the
 * file) patched at the end. Symlinks take no content.
 */
export async function writeFilez(path: string, meta: FileMeta, content: ContentSource, options: WriteFilezOptions = {}): Promise<WrittenFilez> {
  validateFileMeta(meta);
  if (content instanceof Uint8Array && content.byteLength <= SMALL_CONTENT && options.fsync === false) {
    // Small bytes in memory: one deflate call and one write, no stream (a builder of a million files).
    const { bytes, checksum, size } = encodeFilez(meta, content, options.level);
    await writeFile(path, bytes, { flag: 'wx', mode: 0o644 });
    return { checksum, size, fileSize: bytes.byteLength };
  }
  const symlink = isSymlinkMode(meta.mode);
  const hash = contentHasher(meta);
  const head = encodeFilezHeader({ ...meta, size: 0n });
  const fh = await open(path, 'wx', 0o644);
  let size = 0;
  let fileSize = head.byteLength;
  try {
    await fh.write(head, 0, head.byteLength, 0);
    if (!symlink) {
      const chunks = content instanceof Uint8Array ? [content] : content;
      async function* counted(): AsyncGenerator<Uint8Array> {
        for await (const c of chunks) {
          if (c.byteLength === 0) continue;
          hash.update(c);
          size += c.byteLength;
          yield c;
        }
      }
      let pos = head.byteLength;
      // biome-ignore lint/correctness/useYield: the last stage of a pipeline consumes its source and yields nothing
      async function* sink(source: AsyncIterable<Buffer>): AsyncGenerator<never> {
        for await (const c of source) {
          await fh.write(c, 0, c.byteLength, pos);
          pos += c.byteLength;
        }
      }
      // memLevel 8 and a 2^15 window are zlib's defaults and ostree's settings.
      await pipeline(Readable.from(counted()), createDeflateRaw({ level: options.level ?? DEFAULT_ZLIB_LEVEL, memLevel: 8, windowBits: 15 }), sink);
      fileSize = pos;
      if (size > 0) {
        const b = Buffer.alloc(8);
        b.writeBigUInt64BE(BigInt(size));
        await fh.write(b, 0, 8, 8);
      }
    }
    if (options.fsync ?? true) await fh.sync();
  } finally {
    await fh.close();
  }
  return { checksum: hash.digest('hex'), size, fileSize };
}

/** Content up to this size, given as bytes, is deflated in one call (writeFilez). */
const SMALL_CONTENT = 1 << 20;

/** A whole `.filez` in memory from content bytes in memory: what writeFilez writes for them. */
export function encodeFilez(meta: FileMeta, content: Uint8Array, level = DEFAULT_ZLIB_LEVEL): { bytes: Buffer; checksum: string; size: number } {
  validateFileMeta(meta);
  const symlink = isSymlinkMode(meta.mode);
  const size = symlink ? 0 : content.byteLength;
  const head = encodeFilezHeader({ ...meta, size: BigInt(size) });
  const hash = contentHasher(meta);
  if (symlink) return { bytes: Buffer.from(head), checksum: hash.digest('hex'), size: 0 };
  hash.update(content);
  const body = deflateRawSync(content, { level, memLevel: 8, windowBits: 15 });
  return { bytes: Buffer.concat([head, body]), checksum: hash.digest('hex'), size };
}

/** The content checksum of in-memory bytes (tests, small files). */
export function contentChecksum(meta: FileMeta, content: Uint8Array = new Uint8Array(0)): string {
  return contentHasher(meta).update(content).digest('hex');
}
