/**
 * Object types, names and loose-object paths (spec/ostree-format.md §1.3).
 *
 *   objects/<hex[0:2]>/<hex[2:64]>.<ext>      lowercase hex, SHA-256 = 64 digits
 *   file (1)             filez (archive)  file (bare*)
 *   dirtree (2)          dirtree
 *   dirmeta (3)          dirmeta
 *   commit (4)           commit
 *   tombstone-commit (5) tombstone-commit
 *   commitmeta (6)       commitmeta       named by its commit, not its own hash
 *
 * `parseObjectBasename` is the gate a receiver puts in front of any name it
 * is sent, so it accepts exactly the names above and nothing else: no path
 * separators, no dot segments, no uppercase, no unknown extensions.
 */
import { RepoError } from '../errors.js';

export type ObjectType = 'file' | 'dirtree' | 'dirmeta' | 'commit' | 'tombstone-commit' | 'commitmeta';

/** How an object is stored: archive keeps content deflated as `.filez`. */
export type ObjectMode = 'archive' | 'bare';

export const OBJECT_TYPES: readonly ObjectType[] = ['file', 'dirtree', 'dirmeta', 'commit', 'tombstone-commit', 'commitmeta'];

/** libostree's `OstreeObjectType` numbers. */
export const OBJECT_TYPE_NUMBER: Readonly<Record<ObjectType, number>> = {
  file: 1,
  dirtree: 2,
  dirmeta: 3,
  commit: 4,
  'tombstone-commit': 5,
  commitmeta: 6,
};

export function objectTypeFromNumber(n: number): ObjectType {
  const found = OBJECT_TYPES.find((t) => OBJECT_TYPE_NUMBER[t] === n);
  if (found === undefined) throw new RepoError('REPO_BAD_OBJECT_NAME', `unknown object type number ${n}`, { number: n });
  return found;
}

/** The types whose bytes are a GVariant read whole (with a size cap), not streamed. */
export function isMetadataType(type: ObjectType): boolean {
  return type !== 'file';
}

export function objectExtension(type: ObjectType, mode: ObjectMode = 'archive'): string {
  if (type === 'file') return mode === 'archive' ? 'filez' : 'file';
  return type;
}

const EXTENSION_TO_TYPE: ReadonlyMap<string, ObjectType> = new Map<string, ObjectType>([
  ['filez', 'file'],
  ['file', 'file'],
  ['dirtree', 'dirtree'],
  ['dirmeta', 'dirmeta'],
  ['commit', 'commit'],
  ['tombstone-commit', 'tombstone-commit'],
  ['commitmeta', 'commitmeta'],
]);

const CHECKSUM_RE = /^[0-9a-f]{64}$/;

/** True for exactly 64 lowercase hex digits. */
export function isChecksum(s: unknown): s is string {
  return typeof s === 'string' && CHECKSUM_RE.test(s);
}

export function assertChecksum(s: unknown, what = 'checksum'): asserts s is string {
  if (!isChecksum(s)) {
    throw new RepoError('REPO_BAD_OBJECT_NAME', `${what} is not 64 lowercase hex digits`, { value: String(s).slice(0, 200) });
  }
}

/** `objects/XX/rest.ext`, relative to the repository root. */
export function objectRelPath(checksum: string, type: ObjectType, mode: ObjectMode = 'archive'): string {
  assertChecksum(checksum);
  return `objects/${checksum.slice(0, 2)}/${checksum.slice(2)}.${objectExtension(type, mode)}`;
}

/** `checksum.ext`, the form object names travel in. */
export function objectBasename(checksum: string, type: ObjectType, mode: ObjectMode = 'archive'): string {
  assertChecksum(checksum);
  return `${checksum}.${objectExtension(type, mode)}`;
}

export interface ObjectName {
  checksum: string;
  type: ObjectType;
}

export interface ParseNameOptions {
  /** Which content extension to accept; default archive (`filez` only). 'any' accepts both. */
  mode?: ObjectMode | 'any';
}

/**
 * `<64 lowercase hex>.<ext>` → {checksum, type}. Strict by design: anything
 * else (a '/', '..', uppercase, whitespace, a missing or unknown extension,
 * the wrong content extension for the mode) is a REPO_BAD_OBJECT_NAME.
 */
export function parseObjectBasename(name: string, options: ParseNameOptions = {}): ObjectName {
  const mode = options.mode ?? 'archive';
  const bad = (why: string): RepoError =>
    new RepoError('REPO_BAD_OBJECT_NAME', `invalid object name: ${why}`, { name: String(name).slice(0, 200) });
  if (typeof name !== 'string') throw bad('not a string');
  if (name.length < 66 || name.length > 64 + 1 + 'tombstone-commit'.length) throw bad('wrong length');
  if (name[64] !== '.') throw bad('expected "." after 64 hex digits');
  const checksum = name.slice(0, 64);
  if (!CHECKSUM_RE.test(checksum)) throw bad('checksum is not 64 lowercase hex digits');
  const ext = name.slice(65);
  const type = EXTENSION_TO_TYPE.get(ext);
  if (type === undefined) throw bad(`unknown extension "${ext}"`);
  if (type === 'file' && mode !== 'any' && ext !== objectExtension('file', mode)) {
    throw bad(`extension "${ext}" does not belong in a ${mode} repository`);
  }
  return { checksum, type };
}

/** Parses `objects/XX/rest.ext` (relative) back into a name; strict like parseObjectBasename. */
export function parseObjectRelPath(rel: string, options: ParseNameOptions = {}): ObjectName {
  const m = /^objects\/([0-9a-f]{2})\/([^/]+)$/.exec(rel);
  if (m === null) throw new RepoError('REPO_BAD_OBJECT_NAME', 'invalid object path', { path: rel.slice(0, 300) });
  return parseObjectBasename(`${m[1]}${m[2]}`, options);
}

export function hexToBytes(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new RepoError('REPO_BAD_OBJECT_NAME', 'not a hex string', { value: hex.slice(0, 200) });
  }
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

export function bytesToHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** 64-digit checksum → 32 raw bytes (the form stored inside dirtrees and commits). */
export function checksumToBytes(checksum: string): Uint8Array {
  assertChecksum(checksum);
  return hexToBytes(checksum);
}

/** 32 raw bytes → 64-digit checksum; anything but 32 bytes is an error. */
export function checksumFromBytes(bytes: Uint8Array): string {
  if (bytes.byteLength !== 32) {
    throw new RepoError('REPO_MALFORMED_OBJECT', `a checksum must be 32 bytes, got ${bytes.byteLength}`, { length: bytes.byteLength });
  }
  return bytesToHex(bytes);
}
