/**
 * An archive repository kept in an S3-compatible bucket (`s3://BUCKET/PREFIX`).
 *
 *   PREFIX/config              [core] repo_version=1, mode=archive-z2
 *   PREFIX/objects/XX/…        archive objects, as on disk (immutable)
 *   PREFIX/refs/heads/NAME     64 hex digits and a newline
 *   PREFIX/summary             as `ostree summary -u` writes it
 *   PREFIX/tmp/…               this implementation's ref journal (bucket-refs.ts), probe keys (below)
 *
 * Opening for writing:
 *   1. reads `config` and refuses a bucket without one (REPO_NOT_FOUND), unless
 *      asked to initialise it: then it writes an archive config, create-only;
 *   2. probes conditional writes: a create-only PUT (`If-None-Match: *`) of a
 *      fresh probe key, twice; the second must be refused with 412. A store
 *      that ignores the condition, or refuses it as not implemented (OpenStack
 *      Swift's S3 layer answers 501), could let two ref updates overwrite each
 *      other silently: it is refused (REPO_NO_CONDITIONAL_WRITES). The probe
 *      key is removed whatever the outcome; probe keys an opener killed in
 *      between left are removed once an hour old by the store's clock;
 *   3. rolls forward a ref update that a killed writer left half applied
 *      (bucket-refs.ts `recoverBucketJournal`).
 * Object existence is asked with HEAD and remembered for the session (objects
 * never change once written, and this session's own uploads are added).
 */
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, type PutObjectCommandInput, type S3Client } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { RepoError } from '../errors.js';
import { parseKeyFile, type KeyFile } from '../repo/config.js';
import { objectRelPath, type ObjectType } from '../repo/object-names.js';
import { ObjectSet } from '../repo/object-set.js';
import { assertRefName, parseRefFile } from '../repo/ref-names.js';
import { recoverBucketJournal } from './bucket-refs.js';
import type { BucketStore, CacheControl, PutBody, PutExtra, RefValue } from './bucket-store.js';
import { makeS3Client, type BucketClientOptions } from './client.js';
import { bucketUrl, parseBucketUrl, type BucketLocation } from './location.js';
import { httpStatus, withRetries, type RetryOptions } from './retry.js';

/** What `ostree init --mode=archive` writes. */
export const ARCHIVE_CONFIG = '[core]\nrepo_version=1\nmode=archive-z2\n';

export const DEFAULT_CACHE_CONTROL: CacheControl = {
  objects: 'public, max-age=31536000, immutable',
  mutable: 'public, max-age=60',
};

export interface OpenBucketOptions extends BucketClientOptions {
  /** A client to use (not destroyed by close); default one made by makeS3Client. */
  client?: S3Client;
  /** Write an archive config when the bucket has none (default false: refuse). */
  init?: boolean;
  /** Probe conditional writes and roll a leftover ref update forward (default true). */
  forWriting?: boolean;
  retry?: RetryOptions;
  cacheControl?: Partial<CacheControl>;
  /**
   * Probe keys older than this, by the store's clock, are a killed opener's
   * and are removed (default STALE_PROBE_MS). 0 removes every probe key not
   * newer than this opener's own: only when no other opener can be running.
   */
  staleProbeMs?: number;
}

/**
 * The age past which a probe key is left over (its opener was killed between
 * its PUT and its DELETE), not a live probe's: one hour. A probe lives for
 * three requests (seconds; with every retry and backoff of retry.ts, well
 * under a minute). Removing a live one anyway could only make its opener
 * refuse the store (its second create-only PUT would then succeed), never
 * lose an update.
 */
export const STALE_PROBE_MS = 60 * 60 * 1000;

/** The probe keys of the conditional-write probe. */
export const PROBE_PREFIX = 'tmp/ostree-push-probe-';
const PROBE_RE = /^tmp\/ostree-push-probe-[0-9a-f]+$/;

/** An ETag as a conditional header wants it: RGW 16 compares If-Match with the unquoted form only. */
export function unquoteEtag(etag: string | undefined): string {
  return (etag ?? '').replace(/"/g, '');
}

export function isNotFound(e: unknown): boolean {
  const name = (e as { name?: unknown } | null)?.name;
  return httpStatus(e) === 404 || name === 'NoSuchKey' || name === 'NotFound';
}

export function isPreconditionFailed(e: unknown): boolean {
  return httpStatus(e) === 412 || (e as { name?: unknown } | null)?.name === 'PreconditionFailed';
}

export class BucketRepo implements BucketStore {
  readonly mode = 'archive' as const;
  readonly cacheControl: CacheControl;
  /** Objects known present (HEAD, or written by this session) and known absent (HEAD): 44–66 bytes each. */
  private readonly present = new ObjectSet();
  private readonly absent = new ObjectSet();

  private constructor(
    readonly location: BucketLocation,
    readonly client: S3Client,
    private readonly ownsClient: boolean,
    readonly config: KeyFile,
    /** The config file as stored. */
    readonly configText: string,
    readonly retry: RetryOptions,
    cacheControl: Partial<CacheControl>,
  ) {
    this.cacheControl = { ...DEFAULT_CACHE_CONTROL, ...cacheControl };
  }

  get url(): string {
    return bucketUrl(this.location);
  }

  static async open(where: string | BucketLocation, opts: OpenBucketOptions = {}): Promise<BucketRepo> {
    const location = typeof where === 'string' ? parseBucketUrl(where) : where;
    const client = opts.client ?? makeS3Client(opts);
    const owns = opts.client === undefined;
    try {
      const retry = opts.retry ?? {};
      const url = bucketUrl(location);
      const key = `${location.prefix}config`;
      let text = await readText(client, location.bucket, key, retry, url);
      if (text === null) {
        if (opts.init !== true) {
          throw new RepoError('REPO_NOT_FOUND', `${url} is not an OSTree repository (no config); initialise it to publish there`, { path: url });
        }
        await withRetries(`${url}: writing config`, () =>
          client.send(
            new PutObjectCommand({ Bucket: location.bucket, Key: key, Body: ARCHIVE_CONFIG, IfNoneMatch: '*', ContentType: 'text/plain', CacheControl: opts.cacheControl?.mutable ?? DEFAULT_CACHE_CONTROL.mutable }),
          ).catch((e: unknown) => {
            // Another writer initialised it first (or our own retried request did): read what is there.
            if (!isPreconditionFailed(e)) throw e;
          }),
        retry);
        text = (await readText(client, location.bucket, key, retry, url)) ?? '';
      }
      const config = checkConfig(url, text);
      const repo = new BucketRepo(location, client, owns, config, text, retry, opts.cacheControl ?? {});
      if (opts.forWriting !== false) {
        await repo.probeConditionalWrites(opts.staleProbeMs ?? STALE_PROBE_MS);
        await recoverBucketJournal(repo);
      }
      return repo;
    } catch (e) {
      if (owns) client.destroy();
      throw e;
    }
  }

  close(): void {
    if (this.ownsClient) this.client.destroy();
  }

  /** The key of a path relative to the repository root. */
  key(rel: string): string {
    return `${this.location.prefix}${rel}`;
  }

  /** A path's bytes and ETag, or null when absent. */
  async get(rel: string): Promise<{ body: Uint8Array; etag: string } | null> {
    return withRetries(`${this.url}: reading ${rel}`, async () => {
      try {
        const res = await this.client.send(new GetObjectCommand({ Bucket: this.location.bucket, Key: this.key(rel) }));
        const body = (await res.Body?.transformToByteArray()) ?? new Uint8Array();
        return { body, etag: unquoteEtag(res.ETag) };
      } catch (e) {
        if (isNotFound(e)) return null;
        throw e;
      }
    }, this.retry);
  }

  async exists(rel: string): Promise<boolean> {
    return withRetries(`${this.url}: looking for ${rel}`, async () => {
      try {
        await this.client.send(new HeadObjectCommand({ Bucket: this.location.bucket, Key: this.key(rel) }));
        return true;
      } catch (e) {
        if (isNotFound(e)) return false;
        throw e;
      }
    }, this.retry);
  }

  /**
   * PUT of a path. `condition`: `{ ifNoneMatch: '*' }` creates only,
   * `{ ifMatch: etag }` replaces only that version. Returns the new ETag
   * (unquoted), or null when the condition failed (412). A `body` given as
   * a function is made anew for each attempt (a stream cannot be sent
   * twice), and a stream is destroyed after its attempt, sent or not, so
   * that a failed attempt does not keep its file open.
   */
  async put(rel: string, body: PutBody | (() => PutBody), extra: PutExtra = {}): Promise<string | null> {
    return withRetries(`${this.url}: writing ${rel}`, async () => {
      const Body = typeof body === 'function' ? body() : body;
      try {
        const input: PutObjectCommandInput = {
          Bucket: this.location.bucket,
          Key: this.key(rel),
          Body,
          ContentType: 'application/octet-stream',
          CacheControl: extra.cacheControl ?? this.cacheControl.mutable,
        };
        if (extra.contentLength !== undefined) input.ContentLength = extra.contentLength;
        if (extra.ifNoneMatch !== undefined) input.IfNoneMatch = extra.ifNoneMatch;
        if (extra.ifMatch !== undefined) input.IfMatch = extra.ifMatch;
        const res = await this.client.send(new PutObjectCommand(input));
        return unquoteEtag(res.ETag);
      } catch (e) {
        if ((extra.ifNoneMatch !== undefined || extra.ifMatch !== undefined) && isPreconditionFailed(e)) return null;
        throw e;
      } finally {
        // A stream the request did not read to its end (a failed attempt) still holds its file open.
        if (Body instanceof Readable) Body.destroy();
      }
    }, this.retry);
  }

  async delete(rel: string): Promise<void> {
    await withRetries(`${this.url}: deleting ${rel}`, () => this.client.send(new DeleteObjectCommand({ Bucket: this.location.bucket, Key: this.key(rel) })), this.retry);
  }

  /** Whether the bucket holds an object (HEAD once, then remembered for this session). */
  async hasObject(checksum: string, type: ObjectType): Promise<boolean> {
    if (this.present.has(checksum, type)) return true;
    if (this.absent.has(checksum, type)) return false;
    const found = await this.exists(objectRelPath(checksum, type));
    if (found) this.present.add(checksum, type);
    else this.absent.add(checksum, type);
    return found;
  }

  /** Records an object this session wrote. */
  markPresent(checksum: string, type: ObjectType): void {
    this.present.add(checksum, type);
    this.absent.delete(checksum, type);
  }

  /** refs/heads/NAME: its commit and ETag, or null when there is no such ref. */
  async readRef(name: string): Promise<RefValue | null> {
    assertRefName(name);
    const got = await this.get(`refs/heads/${name}`);
    if (got === null) return null;
    return { checksum: parseRefFile(got.body, `${this.url}refs/heads/${name}`), etag: got.etag };
  }

  /** Every key under a path (relative to the repository root), relative to that path. */
  async list(relDir: string): Promise<string[]> {
    return (await this.listDated(relDir)).map((e) => e.name);
  }

  /** The same, with each key's LastModified (the store's clock; ms since the epoch, NaN when not given). */
  async listDated(relDir: string): Promise<Array<{ name: string; modified: number }>> {
    const base = this.key(relDir);
    const names: Array<{ name: string; modified: number }> = [];
    let token: string | undefined;
    do {
      const page = await withRetries(`${this.url}: listing ${relDir}`, () =>
        this.client.send(new ListObjectsV2Command({ Bucket: this.location.bucket, Prefix: base, ...(token !== undefined ? { ContinuationToken: token } : {}) })),
      this.retry);
      for (const o of page.Contents ?? []) if (o.Key !== undefined) names.push({ name: o.Key.slice(base.length), modified: o.LastModified?.getTime() ?? NaN });
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return names;
  }

  /** Every ref under refs/heads (listing, then one GET each), name → commit. */
  async listRefs(): Promise<Map<string, string>> {
    const names = await this.list('refs/heads/');
    const refs = new Map<string, string>();
    for (const name of names.sort()) {
      const v = await this.readRef(name);
      if (v !== null) refs.set(name, v.checksum);
    }
    return refs;
  }

  /**
   * The probe of step 2: create-only twice on a fresh key; the first must
   * succeed, the second must get 412. The probe key is removed afterwards,
   * whatever the outcome. Then the probe keys of openers killed before their
   * DELETE are removed: those at least `staleMs` older than this probe's own
   * key, both dates the store's (no clock of ours, so no skew between hosts).
   */
  async probeConditionalWrites(staleMs: number = STALE_PROBE_MS): Promise<void> {
    const nonce = randomBytes(8).toString('hex');
    const rel = `${PROBE_PREFIX}${nonce}`;
    const body = `probe ${nonce}`;
    const refuse = (why: string): RepoError =>
      new RepoError(
        'REPO_NO_CONDITIONAL_WRITES',
        `${this.url}: the store does not honour conditional writes (${why}); refs could not be updated safely by compare-and-swap, so publishing there is refused`,
        { path: this.url, detail: why },
      );
    try {
      let first: string | null;
      try {
        first = await this.put(rel, body, { ifNoneMatch: '*' });
      } catch (e) {
        const status = httpStatus(e);
        if (status === 501 || status === 400) throw refuse(`a create-only PUT was answered ${status}`);
        throw e;
      }
      // A 412 on a fresh random key is our own first attempt having landed when its answer was lost and the
      // request retried: the key then holds this probe's own body. Anything else is a store refusing a create.
      if (first === null && new TextDecoder().decode((await this.get(rel))?.body) !== body) throw refuse('a create-only PUT of a fresh key was refused with 412');
      let second: string | null;
      try {
        second = await this.put(rel, 'probe again', { ifNoneMatch: '*' });
      } catch (e) {
        const status = httpStatus(e);
        if (status === 501 || status === 400) throw refuse(`a create-only PUT was answered ${status}`);
        throw e;
      }
      if (second !== null) throw refuse('a create-only PUT over an existing key succeeded');
      await this.sweepStaleProbes(rel, staleMs).catch(() => undefined);
    } finally {
      await this.delete(rel).catch(() => undefined);
    }
  }

  /** Removes the probe keys at least `staleMs` older than `own` (a probe key in place: the store's "now"). */
  private async sweepStaleProbes(own: string, staleMs: number): Promise<void> {
    const listed = (await this.listDated(PROBE_PREFIX)).map((e) => ({ rel: `${PROBE_PREFIX}${e.name}`, modified: e.modified }));
    const now = listed.find((e) => e.rel === own)?.modified;
    if (now === undefined || Number.isNaN(now)) return;
    for (const e of listed) {
      if (e.rel !== own && PROBE_RE.test(e.rel) && now - e.modified >= staleMs) await this.delete(e.rel);
    }
  }
}

async function readText(client: S3Client, bucket: string, key: string, retry: RetryOptions, url: string): Promise<string | null> {
  return withRetries(`${url}: reading config`, async () => {
    try {
      const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return (await res.Body?.transformToString('utf8')) ?? '';
    } catch (e) {
      // A missing bucket is a 404 too, but not an uninitialised repository.
      if (isNotFound(e) && (e as { name?: unknown }).name !== 'NoSuchBucket') return null;
      throw e;
    }
  }, retry);
}

/** The checks Repo.open makes, for a bucket: [core], repo_version 1, and archive mode only (what HTTP clients pull). */
function checkConfig(url: string, text: string): KeyFile {
  const config = parseKeyFile(text);
  if (!config.groups.has('core')) throw new RepoError('REPO_BAD_CONFIG', `${url}: config has no [core] group`, { path: url });
  const version = config.getString('core', 'repo_version');
  if (version !== '1') throw new RepoError('REPO_UNSUPPORTED_VERSION', `${url}: unsupported repo_version '${version ?? ''}' (expected 1)`, { path: url, version: version ?? null });
  const mode = config.getString('core', 'mode') ?? 'bare';
  if (mode !== 'archive-z2' && mode !== 'archive') {
    throw new RepoError('REPO_UNSUPPORTED_MODE', `${url}: mode '${mode}': a repository in a bucket must be archive (served as static files)`, { path: url, mode });
  }
  return config;
}
