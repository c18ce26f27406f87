/**
 * putChildFirst without a store: PUTs completed in a shuffled order by the
 * test (each PUT waits until the test releases it), the invariant checked at
 * every start, and the absence of level barriers.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { tmpDir } from '../../testkit/tmp.js';
import { commitTree, initArchiveRepo } from '../repo/builder.js';
import { objectRelPath, type ObjectName } from '../repo/object-names.js';
import { publicationChildren } from '../repo/publish-levels.js';
import { closure } from '../repo/traverse.js';
import { putChildFirst } from './put-child-first.js';

const key = (o: ObjectName): string => `${o.checksum}.${o.type}`;

async function fixture(t: Parameters<typeof tmpDir>[0]): Promise<{ order: ObjectName[]; read: (o: ObjectName) => Uint8Array }> {
  const repo = initArchiveRepo(join(tmpDir(t, 'pcf'), 'repo')).path;
  const dir = (prefix: string, n: number) => ({ type: 'dir' as const, children: Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${i}`, { type: 'file' as const, content: `${prefix} ${i}` }])) });
  const tree = { type: 'dir' as const, children: { a: { type: 'dir' as const, children: { ...dir('a', 3).children, deep: { type: 'dir' as const, children: { x: dir('x', 4) } } } }, b: dir('b', 5), c: dir('c', 2) } };
  const { commit } = await commitTree(repo, { tree, timestamp: 1_700_000_000 });
  const order: ObjectName[] = [];
  for await (const o of closure(repo, commit)) order.push(o);
  return { order, read: (o) => readFileSync(join(repo, objectRelPath(o.checksum, o.type))) };
}

/** A seeded shuffle (xorshift), so that a failure can be replayed. */
function rng(seed: number): () => number {
  let x = seed || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

test('every PUT starts after its children have completed, whatever order PUTs complete in; each object once', async (t) => {
  const { order, read } = await fixture(t);
  const children = new Map(order.map((o) => [key(o), publicationChildren(o, read).filter((c) => order.some((x) => key(x) === c))]));
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    const random = rng(seed);
    const done = new Set<string>();
    const started: string[] = [];
    const inFlight: Array<() => void> = [];
    let maxInFlight = 0;
    const run = putChildFirst(order, read, 4, (o) => {
      for (const c of children.get(key(o)) ?? []) assert.ok(done.has(c), `${key(o)} started before its child ${c} completed (seed ${seed})`);
      started.push(key(o));
      return new Promise<void>((resolve) => {
        inFlight.push(() => {
          done.add(key(o));
          resolve();
        });
        maxInFlight = Math.max(maxInFlight, inFlight.length);
      });
    });
    let settled = false;
    const result = run.then(
      () => {
        settled = true;
      },
      (e: unknown) => {
        settled = true;
        throw e;
      },
    );
    // Release one PUT in flight at a time, chosen at random, until the run ends.
    while (!settled) {
      await new Promise((r) => setImmediate(r));
      if (inFlight.length === 0) continue;
      const [release] = inFlight.splice(Math.floor(random() * inFlight.length), 1);
      release?.();
    }
    await result;
    assert.equal(started.length, order.length);
    assert.equal(new Set(started).size, order.length);
    assert.ok(maxInFlight <= 4);
  }
});

test('a directory goes up as soon as its own children are written, not after every file (no barrier)', async (t) => {
  const { order, read } = await fixture(t);
  const started: ObjectName[] = [];
  await putChildFirst(order, read, 1, async (o) => {
    started.push(o);
  });
  const firstDirtree = started.findIndex((o) => o.type === 'dirtree');
  const lastFile = started.map((o) => o.type).lastIndexOf('file');
  assert.ok(firstDirtree < lastFile, 'every file was written before the first directory');
  assert.equal(started.at(-1)?.type, 'commit');
});

test('the first failure stops new PUTs and is thrown once those in flight end; a parent listed before its child is refused', async (t) => {
  const { order, read } = await fixture(t);
  const boom = new Error('boom');
  let n = 0;
  await assert.rejects(
    putChildFirst(order, read, 2, async (o) => {
      if (n++ === 3) throw boom;
      void o;
    }),
    (e) => e === boom,
  );
  assert.ok(n <= 5, `${n} PUTs started`);
  const commit = order.at(-1) as ObjectName;
  assert.throws(() => putChildFirst([commit, ...order.slice(0, -1)], read, 2, async () => undefined), { code: 'REPO_STAGING' });
});
