/**
 * What the ref journal (bucket-refs.ts) needs of a bucket repository, apart
 * from the repository itself (bucket-repo.ts implements it and calls the
 * journal's roll-forward when it opens): paths relative to the repository
 * root, read with their ETag, written plainly or conditionally, deleted.
 */
import type { PutObjectCommandInput } from '@aws-sdk/client-s3';

export interface CacheControl {
  /** Objects never change: cached for long (default a year, immutable). */
  objects: string;
  /** refs, summary, config: cached briefly (default 60 s). */
  mutable: string;
}

export interface RefValue {
  checksum: string;
  /** The ETag without quotes (what Ceph RGW's If-Match compares against). */
  etag: string;
}

/** A PUT's body: bytes, a string, or a stream (with its length given). */
export type PutBody = NonNullable<PutObjectCommandInput['Body']>;

export interface PutExtra {
  cacheControl?: string;
  contentLength?: number;
  /** '*': create only. */
  ifNoneMatch?: '*';
  /** Replace only this version (an unquoted ETag). */
  ifMatch?: string;
}

export interface BucketStore {
  /** s3://BUCKET/PREFIX/, for messages. */
  readonly url: string;
  readonly cacheControl: CacheControl;
  /** A path's bytes and ETag, or null when absent. */
  get(rel: string): Promise<{ body: Uint8Array; etag: string } | null>;
  /** The new ETag, or null when a condition failed (412). */
  put(rel: string, body: PutBody | (() => PutBody), extra?: PutExtra): Promise<string | null>;
  delete(rel: string): Promise<void>;
  /** refs/heads/NAME: its commit and ETag, or null when there is no such ref. */
  readRef(name: string): Promise<RefValue | null>;
}
