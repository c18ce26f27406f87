/**
 * A metadata object's file read whole, synchronously and bounded: the walks
 * (traverse.ts) and a directory repository's held objects (held-objects.ts)
 * read commits, dirtrees and dirmetas this way.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { RepoError } from '../errors.js';
import { MAX_METADATA_SIZE } from './metadata.js';

/** metadata.readMetadataFile, synchronously: size cap, a file that changed size while read is corrupt. */
export function readMetadataSync(path: string): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const { size } = fstatSync(fd);
    if (size > MAX_METADATA_SIZE) throw new RepoError('REPO_OBJECT_TOO_LARGE', `${path}: ${size} bytes exceeds ${MAX_METADATA_SIZE}`, { path, size, max: MAX_METADATA_SIZE });
    const buf = Buffer.allocUnsafe(size + 1);
    let got = 0;
    for (;;) {
      const n = readSync(fd, buf, got, buf.byteLength - got, got);
      if (n === 0) break;
      got += n;
      if (got === buf.byteLength) break;
    }
    if (got !== size) throw new RepoError('REPO_CORRUPT_OBJECT', `${path}: changed size while being read`, { path, size });
    return buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}
