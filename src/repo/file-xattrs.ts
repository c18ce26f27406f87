/**
 * Extended attributes of one file, read synchronously without following a
 * symlink (llistxattr, lgetxattr), as libostree reads those of a bare
 * repository's objects. Node has no xattr API: the calls go through the
 * `@napi-rs/xattr` package (N-API, prebuilt for Linux x64/arm64, glibc and
 * musl), loaded on first use only, so that pushing from an archive
 * repository never needs it. Where it cannot be loaded, reading is
 * REPO_UNSUPPORTED_MODE for the mode that needs it.
 *
 * Names and values as ostree records them (spec/ostree-format.md §4.3):
 * sorted bytewise, each name with its trailing NUL, empty values dropped.
 */
import { createRequire } from 'node:module';
import { RepoError } from '../errors.js';
import { xattrsFromRecord, type Xattr } from './metadata.js';

interface XattrApi {
  getAttributeSync(path: string, name: string): Buffer | null;
  listAttributesSync(path: string): string[];
}

let api: XattrApi | Error | undefined;
const require = createRequire(import.meta.url);

function load(): XattrApi | Error {
  if (api === undefined) {
    try {
      api = require('@napi-rs/xattr') as XattrApi;
    } catch (e) {
      api = e instanceof Error ? e : new Error(String(e));
    }
  }
  return api;
}

/** The xattr calls, or REPO_UNSUPPORTED_MODE naming `mode` (the repository mode that needs them). */
function calls(mode: string): XattrApi {
  const a = load();
  if (a instanceof Error) {
    throw new RepoError(
      'REPO_UNSUPPORTED_MODE',
      `reading objects of a ${mode} repository needs extended attributes, and the package @napi-rs/xattr cannot be loaded on this platform (${process.platform}-${process.arch}): ${a.message.split('\n')[0]}`,
      { mode, platform: `${process.platform}-${process.arch}` },
      { cause: a },
    );
  }
  return a;
}

/** Fails now, with the same error reading would give, when xattrs cannot be read here. */
export function assertXattrsReadable(mode: string): void {
  calls(mode);
}

function failed(path: string, e: unknown): RepoError {
  const why = e instanceof Error ? e.message : String(e);
  return new RepoError('REPO_CORRUPT_OBJECT', `${path}: cannot read its extended attributes: ${why}`, { path }, { cause: e });
}

/** Every xattr of `path` (not following a symlink), in ostree's order. */
export function readXattrsSync(path: string, mode: string): Xattr[] {
  const x = calls(mode);
  let names: string[];
  try {
    names = x.listAttributesSync(path);
  } catch (e) {
    throw failed(path, e);
  }
  const record: Record<string, Uint8Array> = {};
  for (const name of names) {
    const v = x.getAttributeSync(path, name);
    // Listed, then gone (or unreadable): the object changed under us.
    if (v === null) throw failed(path, new Error(`${name} vanished`));
    record[name] = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  }
  return xattrsFromRecord(record);
}

/** One xattr's value (not following a symlink); null when the file has none of that name. */
export function readXattrSync(path: string, name: string, mode: string): Uint8Array | null {
  const v = calls(mode).getAttributeSync(path, name);
  return v === null ? null : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}
