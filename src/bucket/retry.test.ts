import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forEachBounded, isRetryable, withRetries } from './retry.js';

const status = (code: number, name = 'S3Error'): Error => Object.assign(new Error(`status ${code}`), { name, $metadata: { httpStatusCode: code } });

test('retries 503s with doubling, capped, jittered waits, then succeeds', async () => {
  const waits: number[] = [];
  let calls = 0;
  const got = await withRetries(
    'PUT x',
    async () => {
      calls++;
      if (calls < 4) throw status(503, 'ServiceUnavailable');
      return 'ok';
    },
    { sleep: async (ms) => void waits.push(ms), random: () => 0.5, baseDelayMs: 100, maxDelayMs: 250 },
  );
  assert.equal(got, 'ok');
  assert.equal(calls, 4);
  assert.deepEqual(waits, [50, 100, 125]);
});

test('gives up after the attempts with REPO_BUCKET_IO naming the request', async () => {
  let calls = 0;
  await assert.rejects(
    withRetries('PUT objects/ab/cd.dirtree', async () => {
      calls++;
      throw Object.assign(new Error('reset'), { code: 'ECONNRESET' });
    }, { attempts: 3, sleep: async () => undefined }),
    (e: unknown) => (e as { code?: string }).code === 'REPO_BUCKET_IO' && /PUT objects\/ab\/cd\.dirtree/.test((e as Error).message),
  );
  assert.equal(calls, 3);
});

test('a 4xx that states a fact is not retried', async () => {
  for (const code of [403, 404, 412]) {
    let calls = 0;
    await assert.rejects(withRetries('GET x', async () => {
      calls++;
      throw status(code);
    }, { sleep: async () => undefined }), (e: unknown) => (e as { code?: string; data?: { status?: number } }).code === 'REPO_BUCKET_IO' && (e as { data: { status: number } }).data.status === code);
    assert.equal(calls, 1, `status ${code}`);
    assert.ok(!isRetryable(status(code)));
  }
  assert.ok(isRetryable(status(500)) && isRetryable(status(429)));
});

test('forEachBounded never runs more than its limit at once and stops starting after a failure', async () => {
  let running = 0;
  let most = 0;
  const started: number[] = [];
  const gates: Array<() => void> = [];
  const run = forEachBounded([0, 1, 2, 3, 4, 5, 6, 7], 3, async (i) => {
    started.push(i);
    running++;
    most = Math.max(most, running);
    await new Promise<void>((r) => gates.push(r));
    running--;
    if (i === 1) throw new Error('boom');
  });
  // Release one waiter at a time until the run settles.
  const settled = run.then(() => 'ok', (e: Error) => e.message);
  while (gates.length > 0 || running > 0) {
    await new Promise((r) => setImmediate(r));
    gates.shift()?.();
  }
  assert.equal(await settled, 'boom');
  assert.equal(most, 3);
  assert.ok(!started.includes(7), `started after the failure: ${started.join(',')}`);
});
