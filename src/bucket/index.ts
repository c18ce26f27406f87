/** A repository in an S3-compatible bucket (README.md). */
export { BucketRepo, type OpenBucketOptions } from './bucket-repo.js';
export { receiveIntoBucket, type BucketReceiveOptions } from './bucket-receive.js';
export { isBucketUrl, parseBucketUrl } from './location.js';
