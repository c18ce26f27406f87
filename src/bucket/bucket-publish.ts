/**
 * Publication into a bucket, from a local staging directory of objects
 * already verified (their checksums checked as they arrived).
 *
 * A bucket has no rename, so what a reader may see is decided by the order
 * of the PUTs alone. The order here keeps the store's invariant, "every
 * object in the bucket has all its children there", at every instant:
 *   1. the child-first order of every staged object some commit to publish
 *      reaches (traverse.ts `closure`, the walk the disk publication uses),
 *      and the objects it needs that are not staged: each must already be in
 *      the bucket (known from the caller's listing, else HEAD, remembered per
 *      session); a dirtree there stands for
 *      its whole subtree, by the invariant. A missing one refuses the
 *      publication (REPO_OBJECT_MISSING) before anything is written;
 *   2. every ref still at the value the update expects (REPO_REF_CONFLICT),
 *      checked early so a stale push uploads nothing (bucket-refs.ts checks
 *      again under its journal);
 *   3. the objects, child first without level barriers (put-child-first.ts):
 *      an object's PUT starts only once the PUTs of all its staged children
 *      have succeeded, so a dirtree goes up as soon as its own contents are
 *      in, and the commit last; up to `parallel` PUTs at once, each retried
 *      with backoff (retry.ts). Objects get a long-lived Cache-Control;
 *   4. the refs, all or none, by compare-and-swap (bucket-refs.ts);
 *   5. the summary, when the bucket has one (or `alwaysWriteSummary`) and
 *      not `leaveSummary` (the receiver's `update` off),
 *      rebuilt from the bucket's refs as `ostree summary -u` would, with a
 *      short Cache-Control; with `signSummary`, signed before anything is
 *      written, then `summary` and, right after it, `summary.sig`. Without
 *      it a bucket holding a `summary.sig` is refused (REPO_SUMMARY_SIGNED).
 *      From 4 on, a failure is a warning: the refs moved.
 * A kill anywhere leaves objects whose children are all there; refs move
 * only at 4, and a half-applied 4 is rolled forward by the next writer.
 */
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { RepoError, asOstreePushError, type OstreePushError } from '../errors.js';
import { objectRelPath, type ObjectName, type ObjectType } from '../repo/object-names.js';
import { ZERO_CHECKSUM } from '../repo/ref-names.js';
import { buildSummaryFrom, SUMMARY_FILE, SUMMARY_SIG_FILE } from '../repo/summary.js';
import { ObjectSet } from '../repo/object-set.js';
import { closure } from '../repo/traverse.js';
import type { BucketRepo } from './bucket-repo.js';
import { updateBucketRefs, type BucketRefHooks, type BucketRefWrite } from './bucket-refs.js';
import { NameList } from './name-list.js';
import { putChildFirst } from './put-child-first.js';
import { forEachBounded } from './retry.js';

/** What publication needs of a staging directory (repo/staging.ts `Staging` has it). */
export interface StagedObjects {
  has(checksum: string, type: ObjectType): boolean;
  pathOf(checksum: string, type: ObjectType): string;
  /** Every staged object (iterated once per publication). */
  list(): Iterable<ObjectName>;
}

export interface BucketPublishOptions {
  /** PUTs at once within a level (default 16). */
  parallel?: number;
  /** Write a summary even when the bucket has none (default false: only rewrite an existing one). */
  alwaysWriteSummary?: boolean;
  /** Leave the summary (and summary.sig) as they are: the receiver's `update` is off, or an update hook owns them. */
  leaveSummary?: boolean;
  /**
   * The contents of `summary.sig` for a summary (the receive policy's signing
   * keys): the summary is signed, and a bucket with a signed summary accepted.
   */
  signSummary?: (summary: Uint8Array) => Promise<Uint8Array>;
  /** Told before each object PUT starts (tests record the order). */
  onPut?: (object: ObjectName) => void;
  /** Objects known to be in the bucket (a receive's listing, bucket-held.ts): no HEAD for those. */
  known?: (checksum: string, type: ObjectType) => boolean;
  refHooks?: BucketRefHooks;
}

export interface BucketPublishOutcome {
  /** Objects written. */
  published: number;
  /** Staged objects no commit to publish reaches (not written). */
  dropped: number;
  moved: BucketRefWrite[];
  summaryUpdated: boolean;
  warnings: OstreePushError[];
}

/** The largest read of an object's file while it is sent (a smaller object is one read of its own size). */
const CHUNK = 64 << 10;

/**
 * Step 1: child-first order of the staged objects (name-list.ts: 41–66 bytes an
 * object, no heap object each), the unstaged objects they need, and how many
 * staged objects there are.
 */
async function plan(staging: StagedObjects, updates: readonly BucketRefWrite[]): Promise<{ order: NameList; needed: ObjectSet; staged: number }> {
  const targets = updates.map((u) => u.to).filter((c) => c !== ZERO_CHECKSUM);
  const targetSet = new Set(targets);
  const commits: string[] = [];
  let staged = 0;
  for (const o of staging.list()) {
    staged++;
    if (o.type === 'commit' && !targetSet.has(o.checksum)) commits.push(o.checksum);
  }
  commits.push(...targets);
  const needed = new ObjectSet();
  // The walk sees staged objects only: an unstaged one is reported through `staged` and then not found
  // (a path that does not exist), so with ignoreMissing the walk skips it, and with trustStoreSubtrees
  // an unstaged dirtree is not descended into.
  const view = {
    path: '/nonexistent',
    objectPath: (checksum: string, type: ObjectType) => (staging.has(checksum, type) ? staging.pathOf(checksum, type) : `/nonexistent/${checksum}.${type}`),
    staged: (checksum: string, type: ObjectType) => {
      const here = staging.has(checksum, type);
      if (!here && type !== 'commitmeta') needed.add(checksum, type);
      return here;
    },
  };
  const seen = new ObjectSet();
  const order = new NameList(staged);
  for (const c of commits) {
    if (!staging.has(c, 'commit')) {
      needed.add(c, 'commit');
      continue;
    }
    for await (const o of closure(view, c, { seen, trustStoreSubtrees: true, ignoreMissing: true })) {
      if (staging.has(o.checksum, o.type)) order.push(o.checksum, o.type);
    }
  }
  return { order, needed, staged };
}

async function putObject(repo: BucketRepo, staging: StagedObjects, o: ObjectName): Promise<void> {
  const path = staging.pathOf(o.checksum, o.type);
  const size = statSync(path).size;
  const rel = objectRelPath(o.checksum, o.type);
  const extra = { cacheControl: repo.cacheControl.objects, contentLength: size };
  // Streamed from its file with its length given, never read whole: a PUT holds at most one chunk of its
  // object, whatever the object's size. A retry opens the file again (bucket-repo.ts closes each stream).
  await repo.put(rel, size === 0 ? new Uint8Array(0) : () => createReadStream(path, { start: 0, end: size - 1, highWaterMark: Math.min(size, CHUNK) }), extra);
  repo.markPresent(o.checksum, o.type);
}

export async function publishToBucket(repo: BucketRepo, staging: StagedObjects, updates: readonly BucketRefWrite[], opts: BucketPublishOptions = {}): Promise<BucketPublishOutcome> {
  const parallel = opts.parallel ?? 16;
  const { order, needed, staged } = await plan(staging, updates);
  const unknown: ObjectName[] = [];
  for (const o of needed) if (opts.known?.(o.checksum, o.type) !== true) unknown.push(o);
  const missing: ObjectName[] = [];
  await forEachBounded(unknown, parallel, async (o) => {
    if (!(await repo.hasObject(o.checksum, o.type))) missing.push(o);
  });
  if (missing.length > 0) {
    const m = missing[0] as ObjectName;
    throw new RepoError('REPO_OBJECT_MISSING', `${repo.url}: object ${m.checksum}.${m.type} is needed but was neither sent nor already in the bucket; nothing was published`, {
      checksum: m.checksum,
      type: m.type,
      missing: missing.length,
    });
  }
  // 2: refuse a stale update before uploading anything.
  for (const u of updates) {
    const value = (await repo.readRef(u.ref))?.checksum ?? ZERO_CHECKSUM;
    if (value !== u.from) {
      throw new RepoError('REPO_REF_CONFLICT', `${repo.url}: ref ${u.ref} is ${value === ZERO_CHECKSUM ? 'absent' : `at ${value}`}, not ${u.from === ZERO_CHECKSUM ? 'absent' : u.from}; nothing was published`, {
        name: u.ref,
        expected: u.from,
        actual: value,
      });
    }
  }
  // 3: objects, each once its children are in.
  await putChildFirst(order, (o) => readFileSync(staging.pathOf(o.checksum, o.type)), parallel, async (o) => {
    opts.onPut?.(o);
    await putObject(repo, staging, o);
  });
  // 4: refs.
  const refs = await updateBucketRefs(repo, updates, opts.refHooks);
  const warnings = [...refs.warnings];
  // 5: summary.
  let summaryUpdated = false;
  try {
    if (opts.leaveSummary !== true && (opts.alwaysWriteSummary === true || (await repo.exists(SUMMARY_FILE)))) {
      await writeBucketSummary(repo, staging, opts.signSummary);
      summaryUpdated = true;
    }
  } catch (e) {
    const err = asOstreePushError(e);
    warnings.push(new RepoError('REPO_SUMMARY_WRITE_FAILED', `the refs moved, but the summary could not be rewritten: ${err.message}`, { path: repo.url }, { cause: err }));
  }
  return { published: order.length, dropped: staged - order.length, moved: refs.moved, summaryUpdated, warnings };
}

/**
 * Refuses (REPO_SUMMARY_SIGNED) a bucket with a signed summary when there is
 * no key to sign it again: updating its refs would leave clients a summary
 * either stale or unsigned. Call before receiving anything.
 */
export async function assertBucketSummaryWritable(repo: BucketRepo, canSign: boolean): Promise<void> {
  if (!canSign && (await repo.exists(SUMMARY_SIG_FILE))) {
    throw new RepoError('REPO_SUMMARY_SIGNED', `${repo.url} has a signed summary (summary.sig) and no signing key is configured; refusing to update its refs`, { path: repo.url });
  }
}

/**
 * Rebuilds `summary` from the bucket's refs; commits are read from staging
 * when there, else from the bucket. With `sign`, the new summary is signed
 * first (a failing signer leaves both files as they were), then `summary` is
 * written and `summary.sig` right after it. There is no rename in a bucket:
 * between the two PUTs (one request's time; longer behind a cache, each file
 * kept for its Cache-Control) a reader can get the new summary with the old
 * signature, which a client verifying the summary refuses (the signature does
 * not match), never accepts; a retry then sees both new. A client that does
 * not verify reads a consistent summary at every moment.
 */
export async function writeBucketSummary(repo: BucketRepo, staging?: StagedObjects, sign?: (summary: Uint8Array) => Promise<Uint8Array>): Promise<void> {
  await assertBucketSummaryWritable(repo, sign !== undefined);
  const heads = [...(await repo.listRefs())];
  const bytes = await buildSummaryFrom({
    mode: repo.mode,
    config: repo.config,
    heads,
    mirrors: [],
    readCommit: async (ref, checksum) => {
      if (staging?.has(checksum, 'commit') === true) return readFileSync(staging.pathOf(checksum, 'commit'));
      const got = await repo.get(objectRelPath(checksum, 'commit'));
      if (got === null) throw new RepoError('REPO_OBJECT_MISSING', `ref ${ref} points to commit ${checksum}, which is not in the bucket`, { ref, checksum });
      return got.body;
    },
  });
  const sig = sign === undefined ? undefined : await sign(bytes);
  await repo.put(SUMMARY_FILE, Buffer.from(bytes), { cacheControl: repo.cacheControl.mutable });
  if (sig !== undefined) await repo.put(SUMMARY_SIG_FILE, Buffer.from(sig), { cacheControl: repo.cacheControl.mutable });
}
