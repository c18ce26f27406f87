import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeS3Client } from './client.js';

test('a custom endpoint (explicit, AWS_ENDPOINT_URL or AWS_ENDPOINT_URL_S3) means path-style addressing; AWS keeps virtual hosts', async () => {
  const cases: Array<[Parameters<typeof makeS3Client>[0], boolean]> = [
    [{ env: {} , region: 'eu-west-1' }, false],
    [{ env: { AWS_ENDPOINT_URL: 'http://127.0.0.1:7480' } }, true],
    [{ env: { AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:7480' } }, true],
    [{ env: {}, endpoint: 'http://127.0.0.1:7480' }, true],
    [{ env: { AWS_ENDPOINT_URL: 'http://127.0.0.1:7480' }, forcePathStyle: false }, false],
  ];
  for (const [opts, pathStyle] of cases) {
    const c = makeS3Client(opts);
    try {
      assert.equal(c.config.forcePathStyle, pathStyle, JSON.stringify(opts));
      // The SDK's own retries are off: ours (retry.ts) know what is safe to repeat.
      assert.equal(await c.config.maxAttempts(), 1);
    } finally {
      c.destroy();
    }
  }
});

test('a custom endpoint without a configured region signs for us-east-1', async () => {
  const c = makeS3Client({ env: { AWS_ENDPOINT_URL: 'http://127.0.0.1:7480' } });
  try {
    assert.equal(await c.config.region(), 'us-east-1');
  } finally {
    c.destroy();
  }
});
