/**
 * A receive session whose destination is a bucket: the receiver engine
 * (protocol/receiver.ts) runs unchanged, and publication goes to the bucket
 * at the one point where the engine has checked everything and moved
 * nothing visible.
 *
 * The engine asks the repository's held objects (repo/held-objects.ts) what
 * is stored: here the bucket itself (bucket-held.ts), from one listing of
 * `objects/` (32 bytes per object in memory) and GETs of the commits its
 * checks read (QUERY, objects already held, the closure check, which takes
 * a stored dirtree for its whole subtree, the fast-forward, binding and
 * signature checks). No object of the bucket is copied to local disk.
 *
 * What the engine keeps on local disk is a session root in a temporary
 * directory: the bucket's config and its refs/heads (so INFO and the ref
 * checks behave as for a directory; a bucket with a signed summary is
 * refused before the session unless the policy signs summaries: then the
 * bucket's summary is signed anew, bucket-publish.ts), the lock, and the staging of the objects received (bounded,
 * as for a directory). The engine stages, verifies and checks (refs,
 * closure, fast-forward, policy), then moves the staged objects under the
 * root and writes its refs there; at its `refs` step, before any REPORT,
 * the objects that session published and the refs it moved are published
 * into the bucket (bucket-publish.ts: children first, refs all or none by
 * compare-and-swap, summary). A failure there fails the engine's
 * publication before its REPORT: the pusher is told the refs were not
 * moved, which is true of the bucket. The engine writes no summary of its
 * own (the bucket's is written by the publication, unless the policy leaves
 * the summary: `update` off, or an update hook owning it, as for a
 * directory). The root is in a directory naming its owner (session-dir.ts),
 * removed at the end and on a catchable signal; what a receiver killed by
 * SIGKILL left is removed by the next receive, which first sweeps the
 * directories whose owner is dead.
 *
 * The engine's step hook (`ReceiverHooks.pause`) and the held objects are
 * the only joins; nothing of the engine knows of buckets.
 */
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { OstreePushError } from '../errors.js';
import { objectRelPath } from '../repo/object-names.js';
import { ObjectSet } from '../repo/object-set.js';
import { listRefs, ZERO_CHECKSUM } from '../repo/refs.js';
import { Repo } from '../repo/repo.js';
import { receive, type ReceiveOptions, type ReceiveResult } from '../protocol/receiver.js';
import { BucketRepo, type OpenBucketOptions } from './bucket-repo.js';
import { assertBucketSummaryWritable, publishToBucket } from './bucket-publish.js';
import type { BucketRefWrite } from './bucket-refs.js';
import { BucketHeldObjects } from './bucket-held.js';
import { makeSessionDir, sweepDeadSessionDirs } from './session-dir.js';

export interface BucketReceiveOptions extends Omit<ReceiveOptions, 'repo'> {
  url: string;
  bucket?: OpenBucketOptions;
}

/** The session root (see the module comment): config and refs, no object. Returns the refs it starts from. */
async function sessionRoot(bucket: BucketRepo, root: string): Promise<Map<string, string>> {
  Repo.init(root, { mode: 'archive' });
  writeFileSync(join(root, 'config'), bucket.configText);
  const refs = await bucket.listRefs();
  for (const [name, checksum] of refs) {
    const path = join(root, 'refs', 'heads', name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, `${checksum}\n`);
  }
  return refs;
}

export async function receiveIntoBucket(options: BucketReceiveOptions): Promise<ReceiveResult> {
  const log = options.log ?? (() => undefined);
  // What receivers killed by SIGKILL left in the temp dir (session-dir.ts: only dead owners' directories).
  const swept = sweepDeadSessionDirs();
  if (swept.length > 0) log(`removed ${swept.length} local directories of dead bucket receivers: ${swept.join(', ')}`);
  const bucket = await BucketRepo.open(options.url, options.bucket ?? {});
  const signSummary = options.policy?.summarySignature;
  // `update` off (or an update hook owning it): the bucket's summary is left as it is, as a directory's.
  const leaveSummary = options.policy?.leaveSummary === true;
  if (!leaveSummary) {
    await assertBucketSummaryWritable(bucket, signSummary !== undefined).catch((e: unknown) => {
      bucket.close();
      throw e;
    });
  }
  const dir = makeSessionDir();
  const bucketWarnings: OstreePushError[] = [];
  try {
    const root = join(dir.path, 'repo');
    const before = await sessionRoot(bucket, root);
    const held = await BucketHeldObjects.list(bucket);
    log(`bucket ${bucket.url}: ${held.size} objects, ${before.size} refs`);
    const repo = Repo.open(root, { held });
    // What the engine published under the root, to publish into the bucket: 44–66 bytes an object (object-set.ts).
    const published = new ObjectSet();
    const hooks = options.hooks ?? {};
    const alwaysWriteSummary = options.policy?.alwaysWriteSummary === true;
    const result = await receive({
      ...options,
      repo,
      // The bucket's summary is written by the publication into the bucket, never under the session root.
      policy: { ...options.policy, leaveSummary: true },
      hooks: {
        ...hooks,
        onPublished: (o, i) => {
          published.add(o.checksum, o.type);
          hooks.onPublished?.(o, i);
        },
        pause: async (step) => {
          if (step === 'refs') {
            const after = listRefs(repo);
            const updates: BucketRefWrite[] = [];
            for (const name of new Set([...before.keys(), ...after.keys()])) {
              const from = before.get(name) ?? ZERO_CHECKSUM;
              const to = after.get(name) ?? ZERO_CHECKSUM;
              if (from !== to) updates.push({ ref: name, from, to });
            }
            // Detached metadata the receive policy made for a new commit (signing on receive) is written
            // into the store beside the published objects, not through onPublished: it goes too.
            for (const u of updates) {
              if (u.to === ZERO_CHECKSUM || published.has(u.to, 'commitmeta')) continue;
              const meta = join(repo.path, objectRelPath(u.to, 'commitmeta'));
              if (existsSync(meta) && statSync(meta).size > 0) published.add(u.to, 'commitmeta');
            }
            const out = await publishToBucket(
              bucket,
              {
                has: (checksum, type) => published.has(checksum, type),
                pathOf: (checksum, type) => join(repo.path, objectRelPath(checksum, type)),
                list: () => published,
              },
              updates,
              { alwaysWriteSummary, leaveSummary, known: (checksum, type) => held.has(checksum, type), ...(signSummary === undefined ? {} : { signSummary }) },
            );
            bucketWarnings.push(...out.warnings);
            log(`bucket ${bucket.url}: ${out.published} objects written, refs ${out.moved.map((m) => m.ref).join(', ') || 'none'} moved${out.summaryUpdated ? ', summary updated' : ''}`);
          }
          await hooks.pause?.(step);
        },
      },
    });
    result.warnings.push(...bucketWarnings);
    return result;
  } finally {
    dir.remove();
    bucket.close();
  }
}
