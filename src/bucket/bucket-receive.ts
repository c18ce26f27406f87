/**
 * A receive session whose destination is a bucket: the receiver engine
 * (protocol/receiver.ts) runs unchanged against a local stand-in for the
 * bucket, and publication goes to the bucket at the one point where the
 * engine has checked everything and moved nothing visible.
 *
 * The stand-in is an archive repository in a temporary directory holding:
 *   - the bucket's config and its refs/heads (so INFO and the ref checks
 *     behave as for a directory); a bucket with a signed summary is refused
 *     before the session (signing a summary in a bucket is not supported);
 *   - every commit and commitmeta of the bucket, as stored (the engine reads
 *     commits for the fast-forward and binding checks);
 *   - an empty placeholder for every other object of the bucket: the engine
 *     only asks whether those exist (QUERY, objects already held, the closure
 *     check, which takes a stored dirtree for its whole subtree).
 * One listing of `objects/` (a request per 1,000 objects) and one GET per
 * commit: far cheaper than walking the trees, and the stand-in's disk holds
 * empty files and commits only.
 *
 * The engine stages, verifies and checks (refs, closure, fast-forward,
 * policy) as for a directory, then moves the objects into the stand-in and
 * writes its refs there; at its `refs` step, before any summary or REPORT,
 * the objects that session published and the refs it moved are published
 * into the bucket (bucket-publish.ts: children first, refs all or none by
 * compare-and-swap, summary). A failure there fails the engine's publication
 * before its REPORT: the pusher is told the refs were not moved, which is true
 * of the bucket. The stand-in is removed at the end.
 *
 * The engine's step hook (`ReceiverHooks.pause`) is the only join; nothing of
 * the engine knows of buckets.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { RepoError, type OstreePushError } from '../errors.js';
import { objectRelPath, parseObjectRelPath, type ObjectName } from '../repo/object-names.js';
import { listRefs, ZERO_CHECKSUM } from '../repo/refs.js';
import { Repo } from '../repo/repo.js';
import { receive, type ReceiveOptions, type ReceiveResult } from '../protocol/receiver.js';
import { BucketRepo, type OpenBucketOptions } from './bucket-repo.js';
import { publishToBucket } from './bucket-publish.js';
import type { BucketRefWrite } from './bucket-refs.js';
import { forEachBounded } from './retry.js';

export interface BucketReceiveOptions extends Omit<ReceiveOptions, 'repo'> {
  url: string;
  bucket?: OpenBucketOptions;
}

/** Fills the stand-in (see the module comment); returns the refs it starts from. */
async function standIn(bucket: BucketRepo, dir: string): Promise<Map<string, string>> {
  const root = join(dir, 'repo');
  Repo.init(root, { mode: 'archive' });
  writeFileSync(join(root, 'config'), bucket.configText);
  const keys = await bucket.list('objects/');
  const fetch: ObjectName[] = [];
  for (const k of keys) {
    let o: ObjectName;
    try {
      o = parseObjectRelPath(`objects/${k}`);
    } catch {
      continue; // not an object name (a stray key): nothing the engine would ask for
    }
    bucket.markPresent(o.checksum, o.type);
    const path = join(root, 'objects', k);
    mkdirSync(dirname(path), { recursive: true });
    if (o.type === 'commit' || o.type === 'commitmeta') fetch.push(o);
    else writeFileSync(path, '');
  }
  await forEachBounded(fetch, 16, async (o) => {
    const rel = objectRelPath(o.checksum, o.type);
    const got = await bucket.get(rel);
    if (got !== null) writeFileSync(join(root, rel), got.body);
  });
  const refs = await bucket.listRefs();
  for (const [name, checksum] of refs) {
    const path = join(root, 'refs', 'heads', name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, `${checksum}\n`);
  }
  if (await bucket.exists('summary')) writeFileSync(join(root, 'summary'), '');
  return refs;
}

export async function receiveIntoBucket(options: BucketReceiveOptions): Promise<ReceiveResult> {
  const bucket = await BucketRepo.open(options.url, options.bucket ?? {});
  if (await bucket.exists('summary.sig').catch((e: unknown) => {
    bucket.close();
    throw e;
  })) {
    bucket.close();
    throw new RepoError('REPO_SUMMARY_SIGNED', `${bucket.url} has a signed summary (summary.sig), and signing a summary in a bucket is not supported; refusing to update its refs`, { path: bucket.url });
  }
  const dir = mkdtempSync(join(tmpdir(), 'ostree-push-bucket-'));
  const log = options.log ?? (() => undefined);
  const bucketWarnings: OstreePushError[] = [];
  try {
    const before = await standIn(bucket, dir);
    const repo = Repo.open(join(dir, 'repo'));
    const published: ObjectName[] = [];
    const hooks = options.hooks ?? {};
    const alwaysWriteSummary = options.policy?.alwaysWriteSummary === true;
    const result = await receive({
      ...options,
      repo,
      hooks: {
        ...hooks,
        onPublished: (o, i) => {
          published.push(o);
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
              if (u.to === ZERO_CHECKSUM || published.some((o) => o.checksum === u.to && o.type === 'commitmeta')) continue;
              const meta = join(repo.path, objectRelPath(u.to, 'commitmeta'));
              if (existsSync(meta) && statSync(meta).size > 0) published.push({ checksum: u.to, type: 'commitmeta' });
            }
            const set = new Set(published.map((o) => `${o.checksum}.${o.type}`));
            const out = await publishToBucket(
              bucket,
              {
                has: (checksum, type) => set.has(`${checksum}.${type}`),
                pathOf: (checksum, type) => join(repo.path, objectRelPath(checksum, type)),
                list: () => published,
              },
              updates,
              { alwaysWriteSummary },
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
    rmSync(dir, { recursive: true, force: true });
    bucket.close();
  }
}
