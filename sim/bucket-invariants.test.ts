/**
 * The bucket checkers' bookkeeping, without a store: samples that overlap in
 * time (the loop's and the one taken when a pusher reconnects) go into a
 * ref's history in the order they read the bucket.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BucketSampler, type BucketViolation } from './bucket-invariants.js';

const X = '1'.repeat(64);

/** A bucket whose one ref a test sets, and a reader that reads it when its sample starts and answers when told. */
function fakeBucket(): { set: (v: string | undefined) => void; hold: () => () => void; reader: { sample: () => Promise<{ violations: BucketViolation[]; refs: Map<string, string> }> } } {
  let value: string | undefined;
  let held: Promise<void> | undefined;
  return {
    set: (v) => {
      value = v;
    },
    // The next sample to start is answered only when the returned function is called.
    hold: () => {
      let release = (): void => undefined;
      held = new Promise<void>((r) => {
        release = r;
      });
      return release;
    },
    reader: {
      sample: async () => {
        // The refs are read first (BucketReader.sample), the rest of a sample (listing, verification) takes its time.
        const refs = new Map(value === undefined ? [] : [['r0', value]]);
        const wait = held;
        held = undefined;
        await wait;
        return { violations: [], refs };
      },
    },
  };
}

test('a sample that starts while another runs reads the bucket after it: a ref written in between is seen absent, then written, never back', async () => {
  const b = fakeBucket();
  const sampler = new BucketSampler(b.reader, ['r0']);
  sampler.history.observe(new Map(), ['r0']);
  // The loop's sample reads r0 absent and is still verifying objects when...
  const release = b.hold();
  const loop = sampler.sample();
  await new Promise((r) => setImmediate(r));
  // ...the receiver writes r0 and is killed; its pusher samples the bucket before reconnecting.
  b.set(X);
  const reconnect = sampler.sample();
  await new Promise((r) => setImmediate(r));
  release();
  await Promise.all([loop, reconnect]);
  await sampler.sample();
  assert.equal(sampler.samples, 3);
  assert.deepEqual(sampler.history.violations(new Map(), [new Map([['r0', X]])]), []);
  assert.deepEqual(sampler.violations, []);
});

test('the sampler still finds a ref that really moved back', async () => {
  const b = fakeBucket();
  const sampler = new BucketSampler(b.reader, ['r0']);
  sampler.history.observe(new Map(), ['r0']);
  for (const v of [undefined, X, undefined, X]) {
    b.set(v);
    await sampler.sample();
  }
  assert.deepEqual(
    sampler.history.violations(new Map(), [new Map([['r0', X]])]).map((v) => v.invariant),
    ['I4'],
  );
});
