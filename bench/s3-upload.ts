/**
 * One upload of a data set's objects into a bucket, in a process of its own
 * (its peak RSS and CPU are its own), with the endpoint and credentials from
 * the environment (the AWS SDK's chain, as ostree-receive reads them):
 *
 *   node dist/bench/s3-upload.js '<json S3UploadConfig>'
 *
 *   unordered  what a sync tool does: every object file of the data set and
 *              the ref, in list order, `parallel` PUTs at once, no ordering
 *              at all; the same client (src/bucket/client.ts), the same
 *              headers, bodies (each streamed from its file) and retries as ours;
 *   ordered    our publication alone (src/bucket/bucket-publish.ts) from the
 *              data set's repository taken as the staging directory: children
 *              first, then the ref, then the summary. No receiving, so its
 *              time next to `unordered` is the cost of the order itself.
 *
 * Prints one JSON line (S3UploadResult).
 */
import { createReadStream, readFileSync, ReadStream, statSync } from 'node:fs';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { isOstreePushError } from '../src/errors.js';
import { BucketRepo, DEFAULT_CACHE_CONTROL } from '../src/bucket/bucket-repo.js';
import { publishToBucket } from '../src/bucket/bucket-publish.js';
import { makeS3Client } from '../src/bucket/client.js';
import { forEachBounded, withRetries } from '../src/bucket/retry.js';
import { objectRelPath, parseObjectRelPath, type ObjectType, ZERO_CHECKSUM } from '../src/repo/index.js';

export interface S3UploadConfig {
  mode: 'ordered' | 'unordered';
  bucket: string;
  /** Key prefix of the repository in the bucket, with its trailing slash. */
  prefix: string;
  repo: string;
  objectList: string;
  ref: string;
  commit: string;
  parallel: number;
}

export interface S3UploadResult {
  ok: boolean;
  error?: string;
  objects: number;
  ms: number;
}

async function main(): Promise<S3UploadResult> {
  const c = JSON.parse(process.argv[2] ?? '{}') as S3UploadConfig;
  const paths = readFileSync(c.objectList, 'utf8').split('\0').filter((p) => p !== '');
  const t0 = performance.now();
  if (c.mode === 'ordered') {
    const objects = paths.map((p) => parseObjectRelPath(p.slice(c.repo.length + 1)));
    const staged = new Set(objects.map((o) => `${o.checksum}.${o.type}`));
    const repo = await BucketRepo.open(`s3://${c.bucket}/${c.prefix}`);
    try {
      const out = await publishToBucket(
        repo,
        {
          has: (checksum: string, type: ObjectType) => staged.has(`${checksum}.${type}`),
          pathOf: (checksum: string, type: ObjectType) => `${c.repo}/${objectRelPath(checksum, type)}`,
          list: () => objects,
        },
        [{ ref: c.ref, from: ZERO_CHECKSUM, to: c.commit }],
        { parallel: c.parallel, alwaysWriteSummary: true },
      );
      return { ok: out.warnings.length === 0, objects: out.published, ms: performance.now() - t0, ...(out.warnings.length === 0 ? {} : { error: out.warnings.map((w) => w.message).join('; ') }) };
    } finally {
      repo.close();
    }
  }
  const client = makeS3Client();
  const refFile = `${c.repo}/refs/heads/${c.ref}`;
  const files = [...paths, refFile];
  try {
    await forEachBounded(files, c.parallel, async (p) => {
      const rel = p.slice(c.repo.length + 1);
      // As ours sends them (bucket-publish.ts): streamed from the file, 64 KiB at a time, with the length given.
      const size = statSync(p).size;
      const cacheControl = p === refFile ? DEFAULT_CACHE_CONTROL.mutable : DEFAULT_CACHE_CONTROL.objects;
      await withRetries(`writing ${rel}`, async () => {
        const body = size === 0 ? new Uint8Array(0) : createReadStream(p, { start: 0, end: size - 1, highWaterMark: Math.min(size, 64 << 10) });
        try {
          await client.send(
            new PutObjectCommand({
              Bucket: c.bucket,
              Key: `${c.prefix}${rel}`,
              Body: body,
              ContentLength: size,
              ContentType: 'application/octet-stream',
              CacheControl: cacheControl,
            }),
          );
        } finally {
          if (body instanceof ReadStream) body.destroy();
        }
      });
    });
  } finally {
    client.destroy();
  }
  return { ok: true, objects: paths.length, ms: performance.now() - t0 };
}

let result: S3UploadResult;
try {
  result = await main();
} catch (e) {
  result = { ok: false, error: isOstreePushError(e) ? `${e.code}: ${e.message}` : String(e), objects: 0, ms: 0 };
}
process.stdout.write(`${JSON.stringify(result)}\n`);
