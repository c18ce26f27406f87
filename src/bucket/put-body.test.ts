/**
 * A PUT whose body is streamed from a file, against a client that fails
 * the first attempts without reading the body: every attempt's stream is
 * closed (its file descriptor released), and the attempt that succeeds
 * sends the whole file.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createReadStream, writeFileSync, type ReadStream } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { test } from 'node:test';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { tmpDir } from '../../testkit/tmp.js';
import { ARCHIVE_CONFIG, BucketRepo } from './bucket-repo.js';

/** A client that answers the config, and PUTs with 503 `failures` times before reading the body. */
function fakeClient(failures: number): { client: S3Client; received: Buffer[] } {
  const received: Buffer[] = [];
  let left = failures;
  const send = async (cmd: unknown): Promise<unknown> => {
    if (cmd instanceof GetObjectCommand) return { Body: { transformToString: async () => ARCHIVE_CONFIG }, ETag: '"c"' };
    if (cmd instanceof PutObjectCommand) {
      if (left-- > 0) throw Object.assign(new Error('slow down'), { name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } });
      const chunks: Buffer[] = [];
      for await (const c of cmd.input.Body as Readable) chunks.push(c as Buffer);
      received.push(Buffer.concat(chunks));
      return { ETag: '"e"' };
    }
    throw new Error(`unexpected ${String((cmd as object).constructor.name)}`);
  };
  return { client: { send, destroy: () => undefined } as unknown as S3Client, received };
}

test('a streamed body is closed after every attempt, read or not; the attempt that succeeds sends the whole file', async (t) => {
  const file = join(tmpDir(t, 'put-body'), 'object');
  const bytes = Buffer.alloc(200_000, 7);
  writeFileSync(file, bytes);
  const { client, received } = fakeClient(2);
  const repo = await BucketRepo.open('s3://bucket/os', { client, forWriting: false, retry: { attempts: 5, sleep: async () => undefined } });
  const streams: ReadStream[] = [];
  const etag = await repo.put('objects/ab/cd.filez', () => {
    const s = createReadStream(file, { highWaterMark: 64 << 10 });
    streams.push(s);
    return s;
  }, { contentLength: bytes.byteLength });
  assert.equal(etag, 'e');
  assert.equal(streams.length, 3);
  assert.deepEqual(received, [bytes]);
  for (const [i, s] of streams.entries()) {
    assert.ok(s.destroyed, `the stream of attempt ${i + 1} is destroyed`);
    if (!s.closed) await once(s, 'close');
  }
  repo.close();
});
