/**
 * What child-first publication into a bucket costs: a data set of the bench
 * (bench/datasets.ts, default `small`) published into a Ceph RADOS
 * Gateway on loopback (testkit/rgw.ts) by publishToBucket (levels, children
 * first, then the ref and the summary), against an unordered upload of the
 * same files with the same SDK client and parallelism (what a sync tool
 * does). Each run gets a fresh bucket. Prints objects per second for both
 * and the peak RSS of this process.
 *
 *   npx tsx tools/bucket-bench.ts [DATASET] [PARALLEL] [ROUNDS]
 *
 * Needs `radosgw ceph-mon ceph-osd`. The OSD keeps data in memory (1 GiB
 * cap): `os-like` (about 500 MB) is near that cap.
 */
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { dataset } from '../bench/datasets.js';
import { BucketRepo } from '../src/bucket/bucket-repo.js';
import { publishToBucket } from '../src/bucket/bucket-publish.js';
import { forEachBounded } from '../src/bucket/retry.js';
import { objectRelPath, parseObjectRelPath, type ObjectType, ZERO_CHECKSUM } from '../src/repo/index.js';
import { startRgw } from '../testkit/rgw.js';

const name = process.argv[2] ?? 'small';
const parallel = Number(process.argv[3] ?? 16);
const rounds = Number(process.argv[4] ?? 3);

let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 50);

const ds = await dataset(name, { log: (l) => console.error(l) });
const paths = readFileSync(ds.objectList, 'utf8').split('\0').filter((p) => p !== '');
const objects = paths.map((p) => parseObjectRelPath(p.slice(ds.repo.length + 1)));
const staged = new Set(objects.map((o) => `${o.checksum}.${o.type}`));
const source = {
  has: (checksum: string, type: ObjectType) => staged.has(`${checksum}.${type}`),
  pathOf: (checksum: string, type: ObjectType) => `${ds.repo}/${objectRelPath(checksum, type)}`,
  list: () => objects,
};
console.error(`${name}: ${objects.length} objects, ${(ds.objectBytes / 1e6).toFixed(1)} MB; parallel ${parallel}; starting the gateway`);
const rgw = await startRgw();
try {
  const client = rgw.client();
  for (let round = 0; round < rounds; round++) {
    const b1 = await rgw.createBucket('ordered');
    const repo = await BucketRepo.open(`s3://${b1}/repo`, { client, init: true });
    let t0 = performance.now();
    await publishToBucket(repo, source, [{ ref: ds.ref, from: ZERO_CHECKSUM, to: ds.commit }], { parallel, alwaysWriteSummary: true });
    const ordered = performance.now() - t0;

    const b2 = await rgw.createBucket('unordered');
    t0 = performance.now();
    await forEachBounded(paths, parallel, async (p) => {
      // As publishToBucket sends them: small objects read whole, large ones streamed.
      const size = statSync(p).size;
      const body = size <= 1 << 20 ? readFileSync(p) : createReadStream(p);
      await client.send(new PutObjectCommand({ Bucket: b2, Key: `repo/${p.slice(ds.repo.length + 1)}`, Body: body, ContentLength: size }));
    });
    const unordered = performance.now() - t0;
    const rate = (ms: number): string => (objects.length / (ms / 1000)).toFixed(0);
    console.log(
      JSON.stringify({ dataset: name, objects: objects.length, parallel, round, orderedMs: Math.round(ordered), orderedObjPerS: Number(rate(ordered)), unorderedMs: Math.round(unordered), unorderedObjPerS: Number(rate(unordered)), peakRssMB: Math.round(peakRss / 2 ** 20) }),
    );
  }
} finally {
  clearInterval(sampler);
  await rgw.stop();
}
