/**
 * The ref journal's waiting and taking over, on an in-memory store with
 * conditional PUTs (bucket-rgw.test.ts runs the journal against a real
 * gateway). Each test decides when a writer stops and goes on through the
 * journal's pause hook and the reads the store sees, never by the clock.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { ZERO_CHECKSUM } from '../repo/ref-names.js';
import { BUCKET_JOURNAL_REL, updateBucketRefs } from './bucket-refs.js';
import type { BucketStore, PutBody, PutExtra, RefValue } from './bucket-store.js';

/** A bucket in memory: ETags are MD5s of the bodies, as on RGW; `onGet` sees every read. */
class MemoryStore implements BucketStore {
  readonly url = 's3://memory/os/';
  readonly cacheControl = { objects: 'immutable', mutable: 'no-cache' };
  readonly keys = new Map<string, { body: Buffer; etag: string }>();
  onGet: (rel: string) => void = () => undefined;

  async get(rel: string): Promise<{ body: Uint8Array; etag: string } | null> {
    this.onGet(rel);
    return this.keys.get(rel) ?? null;
  }

  async put(rel: string, body: PutBody | (() => PutBody), extra: PutExtra = {}): Promise<string | null> {
    const value = typeof body === 'function' ? body() : body;
    if (typeof value !== 'string' && !(value instanceof Uint8Array)) throw new Error('the journal writes bytes or strings only');
    const have = this.keys.get(rel);
    if (extra.ifNoneMatch === '*' && have !== undefined) return null;
    if (extra.ifMatch !== undefined && have?.etag !== extra.ifMatch) return null;
    const bytes = Buffer.from(value);
    const etag = createHash('md5').update(bytes).digest('hex');
    this.keys.set(rel, { body: bytes, etag });
    return etag;
  }

  async delete(rel: string): Promise<void> {
    this.keys.delete(rel);
  }

  async readRef(name: string): Promise<RefValue | null> {
    const got = await this.get(`refs/heads/${name}`);
    return got === null ? null : { checksum: Buffer.from(got.body).toString().trim(), etag: got.etag };
  }

  journal(): string {
    return this.keys.get(BUCKET_JOURNAL_REL)?.body.toString() ?? '(none)';
  }
}

const [x, y, z] = ['1', '2', '3'].map((d) => d.repeat(64)) as [string, string, string];

/** Resolves once `count` reads of the journal were seen from now on. */
function journalReads(store: MemoryStore, count: number): Promise<void> {
  let seen = 0;
  return new Promise((resolve) => {
    store.onGet = (rel) => {
      if (rel === BUCKET_JOURNAL_REL && ++seen === count) resolve();
    };
  });
}

test('a live claim is waited for: two updates of disjoint refs both succeed, the second after the first', async () => {
  const store = new MemoryStore();
  let resumeA: () => void = () => undefined;
  let aClaimed: () => void = () => undefined;
  const atClaim = new Promise<void>((r) => (aClaimed = r));
  const a = updateBucketRefs(store, [{ ref: 'a', from: ZERO_CHECKSUM, to: x }], {
    pause: (step) => {
      if (step !== 'claimed') return;
      aClaimed();
      return new Promise<void>((r) => (resumeA = r));
    },
  });
  await atClaim;
  // B finds A's claim and keeps reading the journal: it waits rather than taking the claim over.
  const bWaiting = journalReads(store, 3);
  const b = updateBucketRefs(store, [{ ref: 'b', from: ZERO_CHECKSUM, to: y }]);
  await bWaiting;
  assert.equal((await store.readRef('b')), null, 'B wrote nothing while A held the claim');
  resumeA();
  const [ra, rb] = await Promise.all([a, b]);
  assert.deepEqual(ra.moved.map((w) => w.ref), ['a']);
  assert.deepEqual(rb.moved.map((w) => w.ref), ['b']);
  assert.equal((await store.readRef('a'))?.checksum, x);
  assert.equal((await store.readRef('b'))?.checksum, y);
  assert.equal(store.journal(), '{"state":"idle"}');
});

test('a claim unchanged for the whole lease is a dead writer\'s: it is taken over and the update goes through', async () => {
  const store = new MemoryStore();
  await store.put(BUCKET_JOURNAL_REL, JSON.stringify({ state: 'claimed', id: 'dead', writes: [{ ref: 'a', from: ZERO_CHECKSUM, to: z }] }));
  const reads = journalReads(store, 2);
  const out = await updateBucketRefs(store, [{ ref: 'a', from: ZERO_CHECKSUM, to: x }], { claimLeaseMs: 30 });
  await reads;
  assert.deepEqual(out.moved.map((w) => w.ref), ['a']);
  assert.equal((await store.readRef('a'))?.checksum, x, 'the dead claim wrote nothing and is not rolled forward');
  assert.equal(store.journal(), '{"state":"idle"}');
});

test('a writer whose claim was taken over before its commit starts again: disjoint refs still both move, a real conflict is still refused', async () => {
  const store = new MemoryStore();
  let resumeA: () => void = () => undefined;
  let aClaimed: () => void = () => undefined;
  const atClaim = new Promise<void>((r) => (aClaimed = r));
  let pauses = 0;
  const a = updateBucketRefs(store, [{ ref: 'a', from: ZERO_CHECKSUM, to: x }], {
    pause: (step) => {
      // Only the first attempt stalls (longer than B's lease); the second goes straight on.
      if (step !== 'claimed' || pauses++ > 0) return;
      aClaimed();
      return new Promise<void>((r) => (resumeA = r));
    },
  });
  await atClaim;
  // B's lease is short: it takes A's stalled claim over and moves its own ref.
  const rb = await updateBucketRefs(store, [{ ref: 'b', from: ZERO_CHECKSUM, to: y }], { claimLeaseMs: 1 });
  assert.deepEqual(rb.moved.map((w) => w.ref), ['b']);
  resumeA();
  const ra = await a;
  assert.deepEqual(ra.moved.map((w) => w.ref), ['a']);
  assert.equal(pauses, 2, 'A claimed the journal a second time');
  assert.equal((await store.readRef('a'))?.checksum, x);
  assert.equal((await store.readRef('b'))?.checksum, y);

  // The same with B moving A's ref: A starts again, finds its ref moved, and is refused with nothing written.
  pauses = 0;
  const atClaim2 = new Promise<void>((r) => (aClaimed = r));
  const a2 = updateBucketRefs(store, [{ ref: 'a', from: x, to: z }, { ref: 'c', from: ZERO_CHECKSUM, to: z }], {
    pause: (step) => {
      if (step !== 'claimed' || pauses++ > 0) return;
      aClaimed();
      return new Promise<void>((r) => (resumeA = r));
    },
  });
  const refusedA = a2.then(() => null, (e: unknown) => (e as { code?: string }).code);
  await atClaim2;
  await updateBucketRefs(store, [{ ref: 'a', from: x, to: y }], { claimLeaseMs: 1 });
  resumeA();
  assert.equal(await refusedA, 'REPO_REF_CONFLICT');
  assert.equal((await store.readRef('a'))?.checksum, y);
  assert.equal(await store.readRef('c'), null, 'A wrote none of its refs');
  assert.equal(store.journal(), '{"state":"idle"}');
});

test('an update waiting on a journal that stays claimed gives up at its deadline, REPO_REF_CONFLICT, nothing written', async () => {
  const store = new MemoryStore();
  // A claim that changes version on every read: never the same claim for a whole lease, never taken over.
  let n = 0;
  store.onGet = (rel) => {
    if (rel === BUCKET_JOURNAL_REL) store.keys.set(rel, { body: Buffer.from(JSON.stringify({ state: 'claimed', id: `live${n}`, writes: [] })), etag: `e${n++}` });
  };
  await assert.rejects(updateBucketRefs(store, [{ ref: 'a', from: ZERO_CHECKSUM, to: x }], { claimLeaseMs: 60_000, busyTimeoutMs: 50 }), { code: 'REPO_REF_CONFLICT' });
  assert.equal(await store.readRef('a'), null);
});
