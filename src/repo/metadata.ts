/**
 * Metadata objects as typed values (spec/ostree-format.md §3.1–3.4, §3.7, §4.3).
 *
 *   commit      (a{sv}aya(say)sstayay)  metadata, parent (0 or 32 bytes), related,
 *                                       subject, body, timestamp (t, BIG-endian),
 *                                       root dirtree (32), root dirmeta (32)
 *   dirtree     (a(say)a(sayay))        files (name, content csum),
 *                                       dirs (name, dirtree csum, dirmeta csum),
 *                                       each sorted by the raw bytes of the name
 *   dirmeta     (uuua(ayay))            uid, gid, mode (all BIG-endian), xattrs
 *   commitmeta  a{sv}                   detached metadata, named by its commit
 *   tombstone   a{sv}                   {commit: ay}
 *
 * Everything else in these objects is host order, i.e. little-endian: OSTree
 * pre-swaps just the fields above. So a commit is encoded little-endian with
 * the timestamp byte-swapped by hand, while a dirmeta (whose only numbers are
 * the three BE fields) is simply encoded big-endian.
 *
 * Decoding is strict (normal form only) and every failure is a RepoError:
 * a receiver must refuse bytes it would not itself write.
 */
import { open } from 'node:fs/promises';
import { decode, encode, Variant, type GVValue, type ByteOrder } from '../gvariant/index.js';
import { OstreePushError, RepoError } from '../errors.js';
import { checksumFromBytes, checksumToBytes, type ObjectType } from './object-names.js';

/** libostree's OSTREE_MAX_METADATA_SIZE: larger metadata objects are refused. */
export const MAX_METADATA_SIZE = 10 * 1024 * 1024;

export const COMMIT_TYPE = '(a{sv}aya(say)sstayay)';
export const DIRTREE_TYPE = '(a(say)a(sayay))';
export const DIRMETA_TYPE = '(uuua(ayay))';
export const COMMITMETA_TYPE = 'a{sv}';

/** One extended attribute as stored: the name carries its trailing NUL. */
export interface Xattr {
  name: Uint8Array;
  value: Uint8Array;
}

export interface Commit {
  metadata: Map<string, Variant>;
  /** Parent commit checksum, or null for a root commit. */
  parent: string | null;
  related: Array<{ name: string; checksum: string }>;
  subject: string;
  body: string;
  /** Seconds since the epoch. */
  timestamp: bigint;
  rootDirtree: string;
  rootDirmeta: string;
}

export interface DirtreeFile {
  name: string;
  checksum: string;
}

export interface DirtreeDir {
  name: string;
  dirtree: string;
  dirmeta: string;
}

export interface Dirtree {
  files: DirtreeFile[];
  dirs: DirtreeDir[];
}

export interface Dirmeta {
  uid: number;
  gid: number;
  mode: number;
  xattrs: Xattr[];
}

// ---------------------------------------------------------------- helpers

function malformed(type: ObjectType | string, why: string, cause?: unknown): RepoError {
  return new RepoError('REPO_MALFORMED_OBJECT', `malformed ${type}: ${why}`, { type }, cause === undefined ? undefined : { cause });
}

/** Runs the codec and turns its errors into REPO_MALFORMED_OBJECT. */
function decodeAs(objType: string, gvType: string, bytes: Uint8Array, order: ByteOrder): GVValue {
  if (bytes.byteLength > MAX_METADATA_SIZE) {
    throw new RepoError('REPO_OBJECT_TOO_LARGE', `${objType} of ${bytes.byteLength} bytes exceeds ${MAX_METADATA_SIZE}`, {
      type: objType,
      size: bytes.byteLength,
      max: MAX_METADATA_SIZE,
    });
  }
  try {
    return decode(gvType, bytes, order);
  } catch (e) {
    const why = e instanceof OstreePushError ? `${e.code}: ${e.message}` : String(e);
    throw malformed(objType, why, e);
  }
}

function csum(objType: string, field: string, v: GVValue | undefined): string {
  if (!(v instanceof Uint8Array) || v.byteLength !== 32) {
    throw malformed(objType, `${field} is not a 32-byte checksum`);
  }
  return checksumFromBytes(v);
}

function swap64(v: bigint): bigint {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt.asUintN(64, v));
  return b.readBigUInt64LE();
}

const utf8 = new TextEncoder();

/** strcmp on the UTF-8 bytes, which is how OSTree orders names (not UTF-16 order). */
export function compareNames(a: string, b: string): number {
  return Buffer.compare(utf8.encode(a), utf8.encode(b));
}

/** Builds the stored xattr list from name → value: sorted, NUL-terminated names, empty values dropped (§4.3). */
export function xattrsFromRecord(record: Record<string, Uint8Array | string>): Xattr[] {
  const out: Xattr[] = [];
  for (const [name, v] of Object.entries(record)) {
    const value = typeof v === 'string' ? utf8.encode(v) : v;
    if (value.byteLength === 0) continue;
    out.push({ name: utf8.encode(`${name}\0`), value });
  }
  return out.sort((x, y) => Buffer.compare(x.name, y.name));
}

export function xattrsToGV(xattrs: readonly Xattr[]): GVValue {
  return xattrs.map((x) => [x.name, x.value]);
}

export function xattrsFromGV(objType: string, v: GVValue | undefined): Xattr[] {
  if (!Array.isArray(v)) throw malformed(objType, 'xattrs are not an array');
  return v.map((pair) => {
    if (!Array.isArray(pair) || !(pair[0] instanceof Uint8Array) || !(pair[1] instanceof Uint8Array)) {
      throw malformed(objType, 'xattr is not (ayay)');
    }
    return { name: pair[0], value: pair[1] };
  });
}

// ---------------------------------------------------------------- commit

export function encodeCommit(c: Commit): Uint8Array {
  return encode(
    COMMIT_TYPE,
    [
      c.metadata,
      c.parent === null ? new Uint8Array(0) : checksumToBytes(c.parent),
      c.related.map((r) => [r.name, checksumToBytes(r.checksum)]),
      c.subject,
      c.body,
      swap64(c.timestamp),
      checksumToBytes(c.rootDirtree),
      checksumToBytes(c.rootDirmeta),
    ],
    'le',
  );
}

export function decodeCommit(bytes: Uint8Array): Commit {
  const v = decodeAs('commit', COMMIT_TYPE, bytes, 'le') as GVValue[];
  const [metadata, parent, related, subject, body, ts, tree, meta] = v;
  if (!(parent instanceof Uint8Array) || (parent.byteLength !== 0 && parent.byteLength !== 32)) {
    throw malformed('commit', 'parent is neither empty nor 32 bytes');
  }
  return {
    metadata: metadata as Map<string, Variant>,
    parent: parent.byteLength === 0 ? null : checksumFromBytes(parent),
    related: (related as GVValue[]).map((r) => {
      const [name, c] = r as GVValue[];
      return { name: name as string, checksum: csum('commit', 'related object', c) };
    }),
    subject: subject as string,
    body: body as string,
    timestamp: swap64(ts as bigint),
    rootDirtree: csum('commit', 'root dirtree', tree),
    rootDirmeta: csum('commit', 'root dirmeta', meta),
  };
}

// ---------------------------------------------------------------- dirtree

function invalidDirtree(why: string, name?: string): RepoError {
  return new RepoError('REPO_INVALID_DIRTREE', `invalid dirtree: ${why}`, name === undefined ? {} : { name });
}

/** OSTree's rule for one path component of a dirtree entry. */
export function checkEntryName(name: string): void {
  if (name === '') throw invalidDirtree('empty name', name);
  if (name === '.' || name === '..') throw invalidDirtree(`invalid path uplink name '${name}'`, name);
  if (name.includes('/')) throw invalidDirtree(`'/' in name ${JSON.stringify(name)}`, name);
  if (name.includes('\0')) throw invalidDirtree('NUL in name', name);
}

/**
 * Names valid, each array strictly sorted by raw bytes (which also rules out
 * duplicates), and no name both a file and a directory.
 */
export function validateDirtree(t: Dirtree): void {
  const check = (names: string[]): void => {
    for (let i = 0; i < names.length; i++) {
      const n = names[i] as string;
      checkEntryName(n);
      if (i > 0 && compareNames(names[i - 1] as string, n) >= 0) throw invalidDirtree(`names not strictly sorted at ${JSON.stringify(n)}`, n);
    }
  };
  check(t.files.map((f) => f.name));
  check(t.dirs.map((d) => d.name));
  const files = new Set(t.files.map((f) => f.name));
  for (const d of t.dirs) if (files.has(d.name)) throw invalidDirtree(`${JSON.stringify(d.name)} is both a file and a directory`, d.name);
}

export function encodeDirtree(t: Dirtree): Uint8Array {
  validateDirtree(t);
  return encode(
    DIRTREE_TYPE,
    [t.files.map((f) => [f.name, checksumToBytes(f.checksum)]), t.dirs.map((d) => [d.name, checksumToBytes(d.dirtree), checksumToBytes(d.dirmeta)])],
    'le',
  );
}

export function decodeDirtree(bytes: Uint8Array): Dirtree {
  const [files, dirs] = decodeAs('dirtree', DIRTREE_TYPE, bytes, 'le') as GVValue[][];
  const lenCheck = (c: GVValue | undefined): string => {
    if (!(c instanceof Uint8Array) || c.byteLength !== 32) throw invalidDirtree('checksum is not 32 bytes');
    return checksumFromBytes(c);
  };
  const t: Dirtree = {
    files: (files ?? []).map((e) => {
      const [name, c] = e as GVValue[];
      return { name: name as string, checksum: lenCheck(c) };
    }),
    dirs: (dirs ?? []).map((e) => {
      const [name, tree, meta] = e as GVValue[];
      return { name: name as string, dirtree: lenCheck(tree), dirmeta: lenCheck(meta) };
    }),
  };
  validateDirtree(t);
  return t;
}

// ---------------------------------------------------------------- dirmeta

export function encodeDirmeta(m: Dirmeta): Uint8Array {
  return encode(DIRMETA_TYPE, [m.uid, m.gid, m.mode, xattrsToGV(m.xattrs)], 'be');
}

export function decodeDirmeta(bytes: Uint8Array): Dirmeta {
  const [uid, gid, mode, xattrs] = decodeAs('dirmeta', DIRMETA_TYPE, bytes, 'be') as GVValue[];
  const m: Dirmeta = { uid: uid as number, gid: gid as number, mode: mode as number, xattrs: xattrsFromGV('dirmeta', xattrs) };
  if ((m.mode & 0o170000) !== 0o040000) throw malformed('dirmeta', `mode 0${m.mode.toString(8)} is not a directory`);
  return m;
}

// ---------------------------------------------------------------- a{sv} objects

export function encodeCommitmeta(m: Map<string, Variant>): Uint8Array {
  return encode(COMMITMETA_TYPE, m, 'le');
}

export function decodeCommitmeta(bytes: Uint8Array, objType: 'commitmeta' | 'tombstone-commit' = 'commitmeta'): Map<string, Variant> {
  return decodeAs(objType, COMMITMETA_TYPE, bytes, 'le') as Map<string, Variant>;
}

/** Decodes any metadata object strictly, discarding the value: the check a verifier needs. */
export function checkMetadata(type: Exclude<ObjectType, 'file'>, bytes: Uint8Array): void {
  switch (type) {
    case 'commit':
      decodeCommit(bytes);
      return;
    case 'dirtree':
      decodeDirtree(bytes);
      return;
    case 'dirmeta':
      decodeDirmeta(bytes);
      return;
    case 'commitmeta':
    case 'tombstone-commit':
      decodeCommitmeta(bytes, type);
      return;
  }
}

// ---------------------------------------------------------------- reading

/** Reads a whole metadata file, refusing more than `max` bytes without reading them. */
export async function readMetadataFile(path: string, max = MAX_METADATA_SIZE): Promise<Uint8Array> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    if (size > max) throw new RepoError('REPO_OBJECT_TOO_LARGE', `${path}: ${size} bytes exceeds ${max}`, { path, size, max });
    // One spare byte: a file that grew since fstat is caught rather than truncated.
    const buf = Buffer.alloc(size + 1);
    let got = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, got, buf.byteLength - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
      if (got === buf.byteLength) break;
    }
    if (got !== size) throw new RepoError('REPO_CORRUPT_OBJECT', `${path}: changed size while being read`, { path, size });
    return new Uint8Array(buf.buffer, buf.byteOffset, got);
  } finally {
    await fh.close();
  }
}

export { Variant };
