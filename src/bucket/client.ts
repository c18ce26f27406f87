/**
 * The S3 client: endpoint, region and credentials come from the AWS SDK's
 * own chain (environment, shared config and profiles, `AWS_ENDPOINT_URL` /
 * `AWS_ENDPOINT_URL_S3`), so anything the aws command line accepts works.
 *
 * Two settings differ from the SDK's defaults:
 *   - path-style addressing (`http://host/BUCKET/key`) when an endpoint is set
 *     (explicitly or through the environment): self-hosted stores (Ceph RGW,
 *     MinIO, …) rarely resolve `BUCKET.host`; AWS itself keeps virtual-host
 *     addressing;
 *   - checksums only where an operation requires one (`WHEN_REQUIRED`): the
 *     SDK's default sends a streamed body as aws-chunked with a trailing
 *     CRC32, which Ceph RGW 16 refuses (411) and other stores too. Our
 *     objects carry their own checksum (their name), verified before upload.
 *   - the SDK's retries are off (one attempt): this module's callers retry
 *     with their own backoff (retry.ts), knowing which requests are safe to
 *     repeat.
 */
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';

export interface BucketClientOptions {
  /** An endpoint URL; default: the SDK's chain (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, profile, AWS). */
  endpoint?: string;
  region?: string;
  credentials?: S3ClientConfig['credentials'];
  /** Path-style addressing; default: true when an endpoint is configured. */
  forcePathStyle?: boolean;
  /** The environment the chain reads (default process.env); only consulted for the path-style default. */
  env?: NodeJS.ProcessEnv;
}

export function customEndpoint(opts: BucketClientOptions): string | undefined {
  const env = opts.env ?? process.env;
  return opts.endpoint ?? env['AWS_ENDPOINT_URL_S3'] ?? env['AWS_ENDPOINT_URL'];
}

export function makeS3Client(opts: BucketClientOptions = {}): S3Client {
  // On Node 20 the SDK prints an eight-line notice about its future Node
  // requirement on stderr, which a receiver relays to every pusher; one can
  // still ask for it by setting the variable to anything else.
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  const endpoint = customEndpoint(opts);
  const config: S3ClientConfig = {
    forcePathStyle: opts.forcePathStyle ?? endpoint !== undefined,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 1,
  };
  if (opts.endpoint !== undefined) config.endpoint = opts.endpoint;
  if (opts.region !== undefined) config.region = opts.region;
  // A custom endpoint usually has no notion of region; the SDK still needs one to sign.
  else if (endpoint !== undefined && (opts.env ?? process.env)['AWS_REGION'] === undefined && (opts.env ?? process.env)['AWS_DEFAULT_REGION'] === undefined) config.region = 'us-east-1';
  if (opts.credentials !== undefined) config.credentials = opts.credentials;
  return new S3Client(config);
}
