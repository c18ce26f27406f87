/**
 * Publishing into object storage: a Ceph RADOS Gateway on loopback
 * (testkit/rgw.ts), started once for the whole bench run when one of these
 * runners is chosen, each run into a bucket of its own:
 *
 *   s3            ours as a user runs it: `ostree-push --json --repo=SRC
 *                 s3://BUCKET/os REF`, compiled; its receiver (a child of the
 *                 pusher) stages and verifies, then publishes children first,
 *                 the ref, the summary
 *   s3-ordered    our publication alone (bucket-publish.ts) from the data
 *                 set's repository, no receiving (s3-upload.ts): next to
 *                 s3-unordered, the cost of the order itself
 *   s3-unordered  the same files uploaded the way a sync tool does: every
 *                 object and the ref, in list order, the same SDK client,
 *                 headers, retries and parallelism (16 PUTs at once, ours'
 *                 default), no order at all (s3-upload.ts)
 *
 * Every bucket is initialised first (an archive config, as `ostree-receive
 * --init` writes). After a run its bucket is checked (every object of the
 * data set there, the ref at the data set's commit, a summary for ours) and
 * then emptied and removed: the gateway keeps data in memory.
 *
 * Peak RSS and CPU: s3-ordered and s3-unordered under /usr/bin/time; ours by
 * polling /proc (proc-usage.ts), pusher and receiver apart, as the pusher
 * starts its receiver itself.
 *
 * Full data sets only (small, os-like): an incremental set would need its
 * bucket seeded with the base commit, and big-file does not fit the
 * gateway's in-memory store.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeleteBucketCommand, DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { BucketRepo } from '../src/bucket/bucket-repo.js';
import { forEachBounded } from '../src/bucket/retry.js';
import { NODE_RUNTIME_FLAGS } from '../src/runtime-flags.js';
import { startRgw } from '../testkit/rgw.js';
import { hasTool } from '../testkit/tools.js';
import type { Dataset } from './datasets.js';
import { watchProcesses } from './proc-usage.js';
import { distFile, failed, PUSH_BIN, type BenchContext, type PushJson, type Runner, type Sample } from './runners.js';
import type { S3UploadConfig, S3UploadResult } from './s3-upload.js';
import { readUsage, timePrefix } from './timed.js';

export const S3_UPLOAD_BIN = distFile('bench/s3-upload.js');
/** PUTs at once: ours' default (bucket-publish.ts), and the baseline's. */
export const S3_PARALLEL = 16;
const PREFIX = 'os/';

/** The gateway, started once by cli.ts when a chosen runner needs it. */
export type S3Context = NonNullable<BenchContext['s3']>;

export function s3ToolsMissing(): string | null {
  return hasTool('radosgw') && hasTool('cephMon') && hasTool('cephOsd') ? null : 'not available: radosgw, ceph-mon and ceph-osd are not installed';
}

export async function startS3(log: (line: string) => void): Promise<S3Context> {
  log('starting a Ceph RADOS Gateway on loopback (memstore)');
  const t0 = Date.now();
  // One data set's bucket at a time (each is removed after its run): os-like is about 0.5 GB.
  const rgw = await startRgw({ memstoreBytes: 4 * 2 ** 30 });
  log(`gateway up in ${((Date.now() - t0) / 1000).toFixed(0)} s at ${rgw.endpoint}`);
  const client = rgw.client();
  // A fresh gateway's first thousand writes are several times slower (it makes its pools and indexes on first use):
  // warm it up so that the first runner of the first repetition is not the one that pays.
  const bucket = await rgw.createBucket('warm-up');
  await forEachBounded(
    Array.from({ length: 2000 }, (_, i) => i),
    S3_PARALLEL,
    async (i) => void (await client.send(new PutObjectCommand({ Bucket: bucket, Key: `objects/${String(i % 256).padStart(2, '0')}/${i}`, Body: Buffer.alloc(i % 4096) }))),
  );
  await removeBucket(client, bucket);
  return { rgw, client };
}

export async function stopS3(s3: S3Context | undefined): Promise<void> {
  if (s3 === undefined) return;
  s3.client.destroy();
  await s3.rgw.stop();
}

const s3Of = (ctx: BenchContext): S3Context => {
  if (ctx.s3 === undefined) throw new Error('the gateway was not started');
  return ctx.s3;
};

function unavailable(ctx: BenchContext, ds: Dataset): string | null {
  if (ds.base !== undefined || ds.name === 'big-file') return 'not available: full data sets only (small, os-like)';
  return s3ToolsMissing() ?? (ctx.s3 === undefined ? 'the gateway is not running' : null);
}

/** A fresh bucket holding an archive config; the destination URL names it. */
async function freshBucket(ctx: BenchContext): Promise<string> {
  const s3 = s3Of(ctx);
  const bucket = await s3.rgw.createBucket('bench');
  (await BucketRepo.open(`s3://${bucket}/${PREFIX}`, { client: s3.client, init: true, forWriting: false })).close();
  return bucket;
}

const bucketOf = (s: Sample): string => /^s3:\/\/([^/]+)\//.exec(s.dest)?.[1] ?? '';

async function listKeys(client: S3Client, bucket: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ...(token === undefined ? {} : { ContinuationToken: token }) }));
    for (const o of page.Contents ?? []) if (o.Key !== undefined) keys.push(o.Key);
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  return keys;
}

/** Every object of the data set in the bucket, the ref at its commit, and (ours) a summary. */
async function check(ctx: BenchContext, ds: Dataset, s: Sample, summary: boolean): Promise<string> {
  const { client } = s3Of(ctx);
  const bucket = bucketOf(s);
  const keys = new Set(await listKeys(client, bucket));
  const wanted = readFileSync(ds.objectList, 'utf8').split('\0').filter((p) => p !== '').map((p) => `${PREFIX}${p.slice(ds.repo.length + 1)}`);
  const missing = wanted.filter((k) => !keys.has(k));
  const problems: string[] = [];
  if (missing.length > 0) problems.push(`${missing.length} of ${wanted.length} objects missing in the bucket (${missing[0]})`);
  const ref = await client.send(new GetObjectCommand({ Bucket: bucket, Key: `${PREFIX}refs/heads/${ds.ref}` })).then(
    async (r) => (await r.Body?.transformToString('utf8'))?.trim() ?? '',
    () => 'missing',
  );
  if (ref !== ds.commit) problems.push(`ref ${ds.ref} is ${ref}, not ${ds.commit.slice(0, 12)}`);
  if (summary && !keys.has(`${PREFIX}summary`)) problems.push('no summary');
  return problems.length === 0 ? 'ok' : problems.join(', ');
}

/** Empties and removes a bucket (the gateway's store is memory). */
async function removeBucket(client: S3Client, bucket: string): Promise<void> {
  if (bucket === '') return;
  const keys = await listKeys(client, bucket);
  for (let i = 0; i < keys.length; i += 1000) {
    await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })), Quiet: true } }));
  }
  await client.send(new DeleteBucketCommand({ Bucket: bucket }));
}

function exec(argv: string[], env: NodeJS.ProcessEnv, timeoutMs: number, onSpawn?: (pid: number) => void): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(argv[0] as string, argv.slice(1), { env, maxBuffer: 64 << 20, timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err !== null && (err as { killed?: boolean }).killed === true) resolve({ code: null, stdout, stderr: `${stderr}\nkilled after ${timeoutMs} ms (stalled?)` });
      else if (err !== null && typeof (err as { code?: unknown }).code !== 'number') reject(err);
      else resolve({ code: err === null ? 0 : ((err as { code: number }).code), stdout, stderr });
    });
    if (child.pid !== undefined) onSpawn?.(child.pid);
  });
}

const lastLine = (text: string): string => text.trim().split('\n').pop() ?? '';
const timeoutFor = (ds: Dataset): number => Math.round(60_000 + ds.objects * 30 + ds.objectBytes / 1e4);

const ours: Runner = {
  id: 's3',
  label: `ours into a bucket: ostree-push --repo=SRC s3://BUCKET/os REF (receiver in a child process, ${S3_PARALLEL} PUTs at once)`,
  kind: 'ours',
  rttMs: 0,
  needsSshd: false,
  needsS3: true,
  noDestination: true,
  unavailable,
  run: async (ctx, ds, _dest, rep) => {
    const s3 = s3Of(ctx);
    const bucket = await freshBucket(ctx);
    const url = `s3://${bucket}/${PREFIX}`;
    const conf = join(ctx.runDir, 's3-receive.conf');
    writeFileSync(conf, '{}\n');
    const env = { ...process.env, ...s3.rgw.env(), OSTREE_RECEIVE_CONF: conf };
    let watch: ReturnType<typeof watchProcesses> | undefined;
    const t0 = performance.now();
    const out = await exec([process.execPath, ...NODE_RUNTIME_FLAGS, PUSH_BIN, '--json', '-q', `--repo=${ds.repo}`, url, ds.ref], env, timeoutFor(ds), (pid) => {
      watch = watchProcesses(pid, [
        ['receiver', /ostree-receive\.js/],
        ['pusher', /ostree-push\.js/],
      ]);
    });
    const wallMs = performance.now() - t0;
    const usage = watch?.stop() ?? new Map();
    let res: PushJson;
    try {
      res = JSON.parse(lastLine(out.stdout)) as PushJson;
    } catch {
      return failed(ours, ds, rep, url, wallMs, `ostree-push exited ${out.code}: ${lastLine(out.stderr)}`);
    }
    const s: Sample = {
      runner: ours.id,
      dataset: ds.name,
      rep,
      dest: url,
      ok: res.ok && out.code === 0,
      wallMs,
      pushMs: res.seconds * 1000,
      objects: res.objects.sent,
      bytes: res.bytes.sent,
      pusher: usage.get('pusher') ?? null,
      receiver: usage.get('receiver') ?? null,
    };
    if (!s.ok) s.error = res.error === null ? `exit ${out.code}: ${lastLine(out.stderr)}` : `${res.error.code}: ${res.error.message}`;
    return s;
  },
  check: (ctx, ds, s) => check(ctx, ds, s, true),
  cleanUp: (ctx, s) => removeBucket(s3Of(ctx).client, bucketOf(s)),
};

function upload(mode: S3UploadConfig['mode']): Runner {
  const r: Runner = {
    id: mode === 'ordered' ? 's3-ordered' : 's3-unordered',
    label:
      mode === 'ordered'
        ? `our publication alone into a bucket (children first, ref, summary; no receiving), ${S3_PARALLEL} PUTs at once`
        : `the same files into a bucket as a sync tool would: unordered, the same SDK, ${S3_PARALLEL} PUTs at once`,
    kind: mode === 'ordered' ? 'ours' : 'baseline',
    rttMs: 0,
    needsSshd: false,
    needsS3: true,
    noDestination: true,
    unavailable,
    run: async (ctx, ds, _dest, rep) => {
      const s3 = s3Of(ctx);
      const bucket = await freshBucket(ctx);
      const url = `s3://${bucket}/${PREFIX}`;
      const config: S3UploadConfig = { mode, bucket, prefix: PREFIX, repo: ds.repo, objectList: ds.objectList, ref: ds.ref, commit: ds.commit, parallel: S3_PARALLEL };
      mkdirSync(join(ctx.runDir, 'usage'), { recursive: true });
      const file = join(ctx.runDir, 'usage', `${r.id}-${ds.name}-${rep}.time`);
      const argv = [...timePrefix(file), process.execPath, ...NODE_RUNTIME_FLAGS, S3_UPLOAD_BIN, JSON.stringify(config)];
      const t0 = performance.now();
      const out = await exec(argv, { ...process.env, ...s3.rgw.env() }, timeoutFor(ds));
      const wallMs = performance.now() - t0;
      let res: S3UploadResult;
      try {
        res = JSON.parse(lastLine(out.stdout)) as S3UploadResult;
      } catch {
        return failed(r, ds, rep, url, wallMs, `s3-upload exited ${out.code}: ${lastLine(out.stderr)}`);
      }
      const s: Sample = { runner: r.id, dataset: ds.name, rep, dest: url, ok: res.ok && out.code === 0, wallMs, pushMs: res.ms, objects: res.objects, bytes: ds.objectBytes, pusher: readUsage(file), receiver: null };
      if (res.error !== undefined) s.error = res.error;
      return s;
    },
    check: (ctx, ds, s) => check(ctx, ds, s, mode === 'ordered'),
    cleanUp: (ctx, s) => removeBucket(s3Of(ctx).client, bucketOf(s)),
  };
  return r;
}

/** The runners into a bucket, in the order a repetition runs them. */
export function s3Runners(): Runner[] {
  return [ours, upload('ordered'), upload('unordered')];
}
