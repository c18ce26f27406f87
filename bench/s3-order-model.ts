/**
 * What the order of the PUTs into a bucket costs, apart from the store: a
 * data set's objects "uploaded" against a virtual clock, each PUT taking
 * LATENCY ms plus its size over a bandwidth, 16 at once, in three ways:
 *
 *   levels     a barrier per level (repo/publish-levels.ts: files, then
 *              dirtrees from the deepest up, then the commit), as before
 *   pipelined  each object once its own children are written (src/bucket/put-child-first.ts)
 *   unordered  no order at all (a sync tool)
 *
 * and optionally every N-th PUT held STALL ms more (a store's 503 and our
 * retry's backoff). No gateway, no machine noise: the figures are the
 * schedules' own.
 *
 *   npx tsx bench/s3-order-model.ts [DATASET] [LATENCY_MS] [BYTES_PER_S] [EVERY_N] [STALL_MS]
 */
import { readFileSync, statSync } from 'node:fs';
import { putChildFirst } from '../src/bucket/put-child-first.js';
import { forEachBounded } from '../src/bucket/retry.js';
import { closure, objectRelPath, publicationLevels, type ObjectName } from '../src/repo/index.js';
import { dataset } from './datasets.js';

const ds = await dataset(process.argv[2] ?? 'os-like', { log: (l) => console.error(l) });
const latency = Number(process.argv[3] ?? 30);
const bytesPerMs = Number(process.argv[4] ?? 20e6) / 1000;
const every = Number(process.argv[5] ?? 0);
const stall = Number(process.argv[6] ?? 0);
const PARALLEL = 16;

const order: ObjectName[] = [];
for await (const o of closure(ds.repo, ds.commit)) order.push(o);
const path = (o: ObjectName): string => `${ds.repo}/${objectRelPath(o.checksum, o.type)}`;
const size = new Map(order.map((o) => [`${o.checksum}.${o.type}`, statSync(path(o)).size]));
const read = (o: ObjectName): Uint8Array => readFileSync(path(o));

/** Runs `upload` with a PUT that completes at a virtual time; returns the virtual time at the end (ms). */
async function simulate(upload: (put: (o: ObjectName) => Promise<void>) => Promise<void>): Promise<number> {
  let now = 0;
  let count = 0;
  const pending: Array<{ at: number; resolve: () => void }> = [];
  const put = (o: ObjectName): Promise<void> =>
    new Promise<void>((resolve) => {
      const extra = every > 0 && ++count % every === 0 ? stall : 0;
      pending.push({ at: now + latency + (size.get(`${o.checksum}.${o.type}`) ?? 0) / bytesPerMs + extra, resolve });
    });
  let done = false;
  const finished = upload(put).then(() => {
    done = true;
  });
  while (!done) {
    // Let the scheduler start whatever the last completion allows.
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
    if (pending.length === 0) continue;
    let k = 0;
    for (let i = 1; i < pending.length; i++) if ((pending[i]?.at ?? 0) < (pending[k]?.at ?? 0)) k = i;
    const [next] = pending.splice(k, 1);
    if (next === undefined) continue;
    now = next.at;
    next.resolve();
  }
  await finished;
  return now;
}

const levels = publicationLevels(order, read);
const byLevels = await simulate(async (put) => {
  for (const level of levels) await forEachBounded([...level], PARALLEL, put);
});
const pipelined = await simulate((put) => putChildFirst(order, read, PARALLEL, put));
const unordered = await simulate((put) => forEachBounded(order, PARALLEL, put));
console.log(
  JSON.stringify({
    dataset: ds.name,
    objects: order.length,
    levels: levels.map((l) => l.length),
    latencyMs: latency,
    mbPerS: bytesPerMs / 1000,
    stall: every > 0 ? { every, ms: stall } : null,
    seconds: { levels: byLevels / 1000, pipelined: pipelined / 1000, unordered: unordered / 1000 },
    overUnordered: { levels: Number((byLevels / unordered).toFixed(4)), pipelined: Number((pipelined / unordered).toFixed(4)) },
  }),
);
