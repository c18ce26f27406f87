/**
 * The objects a bucket holds, as a receive asks about them
 * (repo/held-objects.ts `HeldObjects`), with no local copy of any:
 *
 *   has       from one listing of `objects/` made when the session opens (a
 *             request per 1,000 keys), kept as 32 bytes per object: the
 *             checksums of each type, sorted, searched by bisection; objects
 *             this session writes are added as they are written;
 *   read      a GET of the object on demand (commits for the fast-forward,
 *             binding and signature checks), remembered for the session;
 *             nothing is read of an object the listing did not show.
 *
 * An object written by another publisher after the listing is not known:
 * it is received again (a PUTOBJECT is not skipped) and, if a commit needs it
 * without it being sent, publication asks the bucket with HEAD
 * (bucket-publish.ts) before refusing. A listed object is never deleted by
 * this project, so "listed" stays true.
 */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { RepoError } from '../errors.js';
import type { HeldObjects } from '../repo/held-objects.js';
import { MAX_METADATA_SIZE } from '../repo/metadata.js';
import { OBJECT_TYPES, objectRelPath, parseObjectRelPath, type ObjectName, type ObjectType } from '../repo/object-names.js';
import type { BucketRepo } from './bucket-repo.js';
import { withRetries } from './retry.js';

const RECORD = 32;

/** A set of SHA-256 checksums, 32 bytes each: filled in (ideally ascending) order, then searched by bisection. */
export class ChecksumRecords {
  private buf = Buffer.allocUnsafe(RECORD * 256);
  private n = 0;
  private sorted = true;
  private frozen = false;
  /** Added after `freeze` (this session's own writes): few. */
  private readonly later = new Set<string>();

  get size(): number {
    return this.n + this.later.size;
  }

  /** Bytes held by the records (the bisected part). */
  get bytes(): number {
    return this.buf.byteLength;
  }

  add(hex: string): void {
    if (this.frozen) {
      if (!this.has(hex)) this.later.add(hex);
      return;
    }
    if ((this.n + 1) * RECORD > this.buf.byteLength) {
      const bigger = Buffer.allocUnsafe(this.buf.byteLength * 2);
      this.buf.copy(bigger, 0, 0, this.n * RECORD);
      this.buf = bigger;
    }
    const at = this.n * RECORD;
    this.buf.write(hex, at, RECORD, 'hex');
    if (this.n > 0 && this.buf.compare(this.buf, at - RECORD, at, at, at + RECORD) < 0) this.sorted = false;
    this.n++;
  }

  /** Ends the filling: sorts when the listing was not in order, and gives back the spare room. */
  freeze(): void {
    if (this.frozen) return;
    this.frozen = true;
    const exact = Buffer.allocUnsafe(this.n * RECORD);
    if (this.sorted) this.buf.copy(exact, 0, 0, this.n * RECORD);
    else {
      const records: Buffer[] = [];
      for (let i = 0; i < this.n; i++) records.push(this.buf.subarray(i * RECORD, (i + 1) * RECORD));
      records.sort(Buffer.compare);
      for (const [i, r] of records.entries()) r.copy(exact, i * RECORD);
      this.sorted = true;
    }
    this.buf = exact;
  }

  has(hex: string): boolean {
    if (this.later.has(hex)) return true;
    const key = Buffer.from(hex, 'hex');
    if (key.byteLength !== RECORD) return false;
    if (!this.sorted) this.freeze();
    let lo = 0;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = key.compare(this.buf, mid * RECORD, (mid + 1) * RECORD);
      if (c === 0) return true;
      if (c < 0) hi = mid;
      else lo = mid + 1;
    }
    return false;
  }
}

export class BucketHeldObjects implements HeldObjects {
  private readonly sets = new Map<ObjectType, ChecksumRecords>();
  private readonly cache = new Map<string, Promise<Uint8Array | null>>();

  private constructor(private readonly bucket: BucketRepo) {
    for (const t of OBJECT_TYPES) this.sets.set(t, new ChecksumRecords());
  }

  /** One listing of the bucket's `objects/`: keys that are not object names are ignored. */
  static async list(bucket: BucketRepo): Promise<BucketHeldObjects> {
    const held = new BucketHeldObjects(bucket);
    const base = bucket.key('objects/');
    let token: string | undefined;
    do {
      const page = await withRetries(`${bucket.url}: listing objects/`, () =>
        bucket.client.send(new ListObjectsV2Command({ Bucket: bucket.location.bucket, Prefix: base, ...(token !== undefined ? { ContinuationToken: token } : {}) })),
      bucket.retry);
      for (const o of page.Contents ?? []) {
        if (o.Key === undefined) continue;
        let name: ObjectName;
        try {
          name = parseObjectRelPath(`objects/${o.Key.slice(base.length)}`);
        } catch {
          continue; // a stray key: nothing a receive would ask for
        }
        held.sets.get(name.type)?.add(name.checksum);
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    for (const s of held.sets.values()) s.freeze();
    return held;
  }

  /** Objects known, of every type. */
  get size(): number {
    let n = 0;
    for (const s of this.sets.values()) n += s.size;
    return n;
  }

  has(checksum: string, type: ObjectType): boolean {
    return this.sets.get(type)?.has(checksum) === true;
  }

  /** Records an object this session wrote into the bucket. */
  add(checksum: string, type: ObjectType): void {
    this.sets.get(type)?.add(checksum);
  }

  async read(checksum: string, type: ObjectType): Promise<Uint8Array | null> {
    if (!this.has(checksum, type)) return null;
    const rel = objectRelPath(checksum, type);
    let got = this.cache.get(rel);
    if (got === undefined) {
      got = this.bucket.get(rel).then((r) => {
        if (r !== null && r.body.byteLength > MAX_METADATA_SIZE) {
          throw new RepoError('REPO_OBJECT_TOO_LARGE', `${this.bucket.url}${rel}: ${r.body.byteLength} bytes exceeds ${MAX_METADATA_SIZE}`, { path: rel, size: r.body.byteLength, max: MAX_METADATA_SIZE });
        }
        return r?.body ?? null;
      });
      // A failed read is not remembered: the next question asks again.
      got.catch(() => this.cache.delete(rel));
      this.cache.set(rel, got);
    }
    return got;
  }

  sessionLookup(): (object: ObjectName) => boolean {
    return (o) => this.has(o.checksum, o.type);
  }
}
