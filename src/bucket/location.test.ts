import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bucketUrl, isBucketUrl, parseBucketUrl } from './location.js';

test('s3://BUCKET/PREFIX: the prefix ends in one slash, or is empty at the bucket root', () => {
  assert.deepEqual(parseBucketUrl('s3://my-bucket/os/repo'), { bucket: 'my-bucket', prefix: 'os/repo/' });
  assert.deepEqual(parseBucketUrl('s3://my-bucket/os/repo/'), { bucket: 'my-bucket', prefix: 'os/repo/' });
  assert.deepEqual(parseBucketUrl('s3://my-bucket'), { bucket: 'my-bucket', prefix: '' });
  assert.deepEqual(parseBucketUrl('s3://my-bucket/'), { bucket: 'my-bucket', prefix: '' });
  assert.equal(bucketUrl(parseBucketUrl('s3://b.example/x')), 's3://b.example/x/');
  assert.ok(isBucketUrl('s3://b/x'));
  assert.ok(!isBucketUrl('/srv/repo'));
});

test('malformed s3:// locations are usage errors', () => {
  for (const bad of ['s3://', 's3://Upper/x', 's3://ab/x', 's3://b-/x', 's3://bucket//x', 's3://bucket/a/../b', 's3://bucket/./a', '/srv/repo']) {
    assert.throws(() => parseBucketUrl(bad), { code: 'USAGE' }, bad);
  }
});
