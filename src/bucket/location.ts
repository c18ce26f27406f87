/**
 * `s3://BUCKET/PREFIX`: a repository kept in an S3-compatible bucket.
 *
 * The repository's files live under PREFIX exactly as on disk (`config`,
 * `objects/XX/…`, `refs/heads/…`, `summary`), so the bucket can be served as
 * static files to `ostree pull`. An empty PREFIX puts the repository at the
 * bucket's root. Bucket names follow S3's rules (3–63 characters of
 * lowercase letters, digits, `.` and `-`); the prefix may not contain empty
 * components, `.` or `..`.
 */
import { UsageError } from '../errors.js';

export interface BucketLocation {
  bucket: string;
  /** '' or a key prefix ending in '/'. */
  prefix: string;
}

const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function isBucketUrl(s: string): boolean {
  return s.startsWith('s3://');
}

export function parseBucketUrl(url: string): BucketLocation {
  if (!isBucketUrl(url)) throw new UsageError('USAGE', `${url}: not an s3:// location (expected s3://BUCKET/PREFIX)`, { url });
  const rest = url.slice('s3://'.length);
  const slash = rest.indexOf('/');
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? '' : rest.slice(slash + 1);
  if (!BUCKET_RE.test(bucket)) throw new UsageError('USAGE', `${url}: '${bucket}' is not a valid bucket name (3-63 of a-z, 0-9, '.', '-')`, { url, bucket });
  const parts = path.split('/');
  if (parts.at(-1) === '') parts.pop();
  if (parts.some((p) => p === '' || p === '.' || p === '..')) throw new UsageError('USAGE', `${url}: the prefix has an empty, '.' or '..' component`, { url });
  return { bucket, prefix: parts.length === 0 ? '' : `${parts.join('/')}/` };
}

export function bucketUrl(loc: BucketLocation): string {
  return `s3://${loc.bucket}/${loc.prefix}`;
}
