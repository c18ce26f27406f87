/**
 * The simulator's invariants judged on a bucket (`s3://BUCKET/PREFIX`), by a
 * reader of its own: its own S3 client, plain GET / HEAD / LIST, the
 * project's object decoding and verification only, nothing of src/bucket.
 * A sample can be taken at any instant, while receivers write:
 *
 *   I1  every key under objects/ is an object whose bytes hash to its name
 *   I2  every commit and dirtree in the bucket has all its children there
 *   I3  every ref names a commit whose whole closure is in the bucket
 *   I9  the summary names no ref whose commit's closure is missing
 *   I4  (over the samples of a run) no ref is ever moved back to a value it
 *       left, nor from one push's value to another's (a lost update), nor to
 *       a value no push asked for; after the run and the next opener's
 *       roll-forward, the refs of each push are all old or all new
 *   I5  after that roll-forward: the ref journal is not left committed, and
 *       no key lies outside the repository's layout (a probe key neither:
 *       that opener removes those of killed receivers)
 *
 * Why a sample is sound although it is not a snapshot: objects are never
 * deleted nor changed, so the refs and the summary are read first and the
 * listing after; whatever their closure needs and the listing (taken later)
 * lacks was missing when they were read. For I2, a child missing from the
 * listing is asked for again by HEAD, after the parent was seen.
 */
import { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { summaryRefs } from '../src/protocol/index.js';
import { decodeCommit, decodeDirtree, objectRelPath, parseObjectRelPath, verifyStream, type ObjectName, type ObjectType } from '../src/repo/index.js';

export type BucketInvariant = 'I1' | 'I2' | 'I3' | 'I4' | 'I5' | 'I6' | 'I8' | 'I9';

export interface BucketViolation {
  invariant: BucketInvariant;
  message: string;
}

export interface BucketView {
  client: S3Client;
  bucket: string;
  /** The key prefix of the repository, with its trailing slash ('os/'), or ''. */
  prefix: string;
}

const ZERO = '0'.repeat(64);
const JOURNAL = 'tmp/ostree-push-refs.journal';
const PROBE = /^tmp\/ostree-push-probe-[0-9a-f]+$/;

const status = (e: unknown): number | undefined => (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
const notFound = (e: unknown): boolean => status(e) === 404 || ['NoSuchKey', 'NotFound'].includes((e as { name?: string }).name ?? '');
const why = (e: unknown): string => `${(e as { code?: string }).code ?? (e as Error).name}: ${(e as Error).message}`;

type Meta = { kind: 'commit'; root: [string, string] } | { kind: 'dirtree'; files: string[]; dirs: [string, string][] };

/** A reader of the bucket with its own caches (objects never change: what verified once stays verified). */
export class BucketReader {
  private readonly verified = new Map<string, string>();
  private readonly meta = new Map<string, Meta | null>();
  private readonly complete = new Set<string>();

  constructor(readonly view: BucketView) {}

  private key(rel: string): string {
    return `${this.view.prefix}${rel}`;
  }

  /** Every key under the prefix (relative), with its ETag. */
  async list(under = ''): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    let token: string | undefined;
    do {
      const page = await this.view.client.send(new ListObjectsV2Command({ Bucket: this.view.bucket, Prefix: this.key(under), ...(token ? { ContinuationToken: token } : {}) }));
      for (const o of page.Contents ?? []) if (o.Key !== undefined) out.set(o.Key.slice(this.view.prefix.length), o.ETag ?? '');
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return out;
  }

  async get(rel: string): Promise<Uint8Array | null> {
    try {
      const res = await this.view.client.send(new GetObjectCommand({ Bucket: this.view.bucket, Key: this.key(rel) }));
      return (await res.Body?.transformToByteArray()) ?? new Uint8Array();
    } catch (e) {
      if (notFound(e)) return null;
      throw e;
    }
  }

  async head(rel: string): Promise<boolean> {
    try {
      await this.view.client.send(new HeadObjectCommand({ Bucket: this.view.bucket, Key: this.key(rel) }));
      return true;
    } catch (e) {
      if (notFound(e)) return false;
      throw e;
    }
  }

  /**
   * The refs a run pushes are read by GET whatever a listing says, as a
   * client reads them (`ostree pull` GETs refs/heads/NAME or the summary and
   * never lists); the listing finds the others.
   */
  private readonly watched = new Set<string>();

  watch(names: Iterable<string>): void {
    for (const n of names) this.watched.add(`refs/heads/${n}`);
  }

  /** refs/heads: name → commit (a ref that is not 64 hex digits and a newline comes back as its text): the listed ones and the watched ones. */
  async refs(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const rel of [...new Set([...(await this.list('refs/heads/')).keys(), ...this.watched])].sort()) {
      const body = await this.get(rel);
      if (body !== null) out.set(rel.slice('refs/heads/'.length), Buffer.from(body).toString('utf8').trim());
    }
    return out;
  }

  /** The summary's refs, null without a summary; an unreadable summary throws. */
  async summary(): Promise<Map<string, string> | null> {
    const body = await this.get('summary');
    return body === null ? null : summaryRefs(body);
  }

  async journalState(): Promise<string | null> {
    const body = await this.get(JOURNAL);
    if (body === null) return null;
    try {
      return String((JSON.parse(Buffer.from(body).toString('utf8')) as { state?: unknown }).state);
    } catch {
      return 'not JSON';
    }
  }

  /** I1 for one object key (cached per ETag). */
  private async verify(rel: string, etag: string, o: ObjectName): Promise<BucketViolation | null> {
    if (this.verified.get(rel) === etag) return null;
    const body = await this.get(rel);
    if (body === null) return null; // listed, then gone: I2/I3 judge absences
    try {
      await verifyStream(Readable.from([body]), o);
    } catch (e) {
      return { invariant: 'I1', message: `${rel} (${body.byteLength} bytes) does not hash to its name (${why(e)})` };
    }
    this.verified.set(rel, etag);
    if (o.type === 'commit' || o.type === 'dirtree') this.decode(o, body);
    return null;
  }

  private decode(o: ObjectName, body: Uint8Array): void {
    try {
      if (o.type === 'commit') {
        const c = decodeCommit(body);
        this.meta.set(`${o.checksum}.commit`, { kind: 'commit', root: [c.rootDirtree, c.rootDirmeta] });
      } else {
        const t = decodeDirtree(body);
        this.meta.set(`${o.checksum}.dirtree`, { kind: 'dirtree', files: t.files.map((f) => f.checksum), dirs: t.dirs.map((d) => [d.dirtree, d.dirmeta]) });
      }
    } catch {
      this.meta.set(`${o.checksum}.${o.type}`, null);
    }
  }

  private async metaOf(checksum: string, type: 'commit' | 'dirtree'): Promise<Meta | null | undefined> {
    const k = `${checksum}.${type}`;
    if (!this.meta.has(k)) {
      const body = await this.get(objectRelPath(checksum, type));
      if (body === null) return undefined;
      this.decode({ checksum, type }, body);
    }
    return this.meta.get(k);
  }

  /** The direct children of a commit or dirtree, as (checksum, type, what). */
  private async children(checksum: string, type: 'commit' | 'dirtree'): Promise<[string, ObjectType, string][] | undefined> {
    const m = await this.metaOf(checksum, type);
    if (m === undefined || m === null) return m === null ? [] : undefined;
    if (m.kind === 'commit') return [[m.root[0], 'dirtree', 'root dirtree'], [m.root[1], 'dirmeta', 'root dirmeta']];
    return [...m.files.map((f): [string, ObjectType, string] => [f, 'file', 'file']), ...m.dirs.flatMap(([t, d]): [string, ObjectType, string][] => [[t, 'dirtree', 'subdirectory'], [d, 'dirmeta', 'subdirectory dirmeta']])];
  }

  /** The first object of `commit`'s closure missing from `keys` (and from a HEAD after), or null. */
  private async missingFrom(commit: string, keys: ReadonlyMap<string, string>): Promise<string | null> {
    const present = async (c: string, t: ObjectType): Promise<boolean> => keys.has(objectRelPath(c, t)) || (await this.head(objectRelPath(c, t)));
    if (!(await present(commit, 'commit'))) return `${commit}.commit`;
    const walk = async (c: string, t: 'commit' | 'dirtree'): Promise<string | null> => {
      if (this.complete.has(`${c}.${t}`)) return null;
      const kids = await this.children(c, t);
      if (kids === undefined) return `${c}.${t}`;
      for (const [k, kt] of kids) {
        if (!(await present(k, kt))) return `${k}.${kt}`;
        if (kt === 'dirtree') {
          const m = await walk(k, 'dirtree');
          if (m !== null) return m;
        }
      }
      this.complete.add(`${c}.${t}`);
      return null;
    };
    return walk(commit, 'commit');
  }

  /**
   * One sample: I1, I2, I3, I9. Returns the violations and the refs read
   * (for I4's history).
   */
  async sample(): Promise<{ violations: BucketViolation[]; refs: Map<string, string> }> {
    const out: BucketViolation[] = [];
    // Refs and summary first, the listing after (see the module comment).
    const refs = await this.refs();
    let summary: Map<string, string> | null = null;
    try {
      summary = await this.summary();
    } catch (e) {
      out.push({ invariant: 'I9', message: `the summary cannot be read (${why(e)})` });
    }
    const keys = await this.list();
    for (const [rel, etag] of keys) {
      if (!rel.startsWith('objects/')) continue;
      let o: ObjectName;
      try {
        o = parseObjectRelPath(rel, { mode: 'archive' });
      } catch {
        out.push({ invariant: 'I1', message: `${rel} is under objects/ but is not an object name` });
        continue;
      }
      const v = await this.verify(rel, etag, o);
      if (v !== null) out.push(v);
    }
    // I2: every commit and dirtree listed has its direct children.
    for (const rel of keys.keys()) {
      if (!rel.startsWith('objects/') || !(rel.endsWith('.commit') || rel.endsWith('.dirtree'))) continue;
      const o = parseObjectRelPath(rel, { mode: 'archive' });
      const kids = await this.children(o.checksum, o.type as 'commit' | 'dirtree');
      for (const [k, kt, what] of kids ?? []) {
        const r = objectRelPath(k, kt);
        if (!keys.has(r) && !(await this.head(r))) out.push({ invariant: 'I2', message: `${o.type} ${o.checksum} is in the bucket but its ${what} ${k}.${kt} is not` });
      }
    }
    for (const [name, commit] of refs) {
      if (!/^[0-9a-f]{64}$/.test(commit)) {
        out.push({ invariant: 'I3', message: `ref ${name} holds ${JSON.stringify(commit.slice(0, 80))}, not a checksum` });
        continue;
      }
      const m = await this.missingFrom(commit, keys);
      if (m !== null) out.push({ invariant: 'I3', message: `ref ${name} names ${commit}, whose closure lacks ${m}` });
    }
    for (const [name, commit] of summary ?? []) {
      const m = await this.missingFrom(commit, keys);
      if (m !== null) out.push({ invariant: 'I9', message: `the summary names ${name} = ${commit}, whose closure lacks ${m}` });
    }
    return { violations: out, refs };
  }

  /**
   * I5, after the run and the next opener's roll-forward and probe sweep: a
   * probe key (tmp/ostree-push-probe-*) is a violation too, and returned
   * apart to be counted.
   */
  async debris(): Promise<{ violations: BucketViolation[]; probes: string[] }> {
    const out: BucketViolation[] = [];
    const probes: string[] = [];
    const state = await this.journalState();
    if (state !== null && state !== 'idle' && state !== 'claimed') out.push({ invariant: 'I5', message: `the ref journal is left ${state} after the next opener's roll-forward` });
    for (const rel of (await this.list()).keys()) {
      if (rel === 'config' || rel === 'summary' || rel === JOURNAL || rel.startsWith('objects/') || rel.startsWith('refs/heads/')) continue;
      if (PROBE.test(rel)) {
        probes.push(rel);
        out.push({ invariant: 'I5', message: `probe key ${rel} is left after the next opener's sweep` });
      } else out.push({ invariant: 'I5', message: `${rel} is in the bucket outside the repository's layout` });
    }
    return { violations: out, probes };
  }
}

/**
 * I4 over time: the values each ref took in the samples of one run. A ref
 * may leave its value before the run once, to a value some push asked for;
 * it may never come back to a value it left, nor move from one push's value
 * to another's (the second push started from the old value: its update
 * should have failed).
 */
export class RefHistory {
  private readonly seen = new Map<string, string[]>();

  observe(refs: ReadonlyMap<string, string>, names: Iterable<string>): void {
    for (const n of names) {
      const v = refs.get(n) ?? ZERO;
      const h = this.seen.get(n) ?? [];
      if (h[h.length - 1] !== v) h.push(v);
      this.seen.set(n, h);
    }
  }

  violations(before: ReadonlyMap<string, string>, pushes: readonly ReadonlyMap<string, string>[]): BucketViolation[] {
    const out: BucketViolation[] = [];
    const short = (v: string): string => (v === ZERO ? 'absent' : v.slice(0, 12));
    for (const [ref, h] of this.seen) {
      const old = before.get(ref) ?? ZERO;
      const asked = new Set(pushes.flatMap((p) => (p.has(ref) ? [p.get(ref) as string] : [])));
      const path = h.map(short).join(' → ');
      const stray = h.find((v) => v !== old && !asked.has(v));
      if (stray !== undefined) out.push({ invariant: 'I4', message: `ref ${ref} took ${short(stray)}, which no push asked for (${path})` });
      else if (new Set(h).size !== h.length) out.push({ invariant: 'I4', message: `ref ${ref} moved back (${path})` });
      else if (h.filter((v) => v !== old).length > 1) out.push({ invariant: 'I4', message: `ref ${ref} moved from one push's value to another's: a lost update (${path})` });
    }
    return out;
  }
}

/**
 * The samples of one run (the loop's, one before each reconnect, the last),
 * taken one at a time: violations collected, refs observed into the run's
 * history in the order they were read.
 *
 * One at a time, because a sample reads the refs first and observes them
 * only when its listing and verification are done. Two samples running at
 * once (the loop's, and the one a pusher takes when its receiver was killed)
 * would put their refs into the history in the order they end, not the
 * order they read: the loop's sample reads a ref absent, the receiver writes
 * it and is killed, the reconnect's sample reads it written and ends first,
 * and the history says absent → X → absent → X, a move back no reader of
 * the bucket saw. A sample asked for while another runs starts after it.
 */
export class BucketSampler {
  readonly violations: BucketViolation[] = [];
  readonly history = new RefHistory();
  samples = 0;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly reader: Pick<BucketReader, 'sample'>,
    private readonly names: readonly string[],
  ) {}

  sample(): Promise<{ violations: BucketViolation[]; refs: Map<string, string> }> {
    const run = this.tail.then(async () => {
      const got = await this.reader.sample();
      this.samples++;
      this.violations.push(...got.violations);
      this.history.observe(got.refs, this.names);
      return got;
    });
    this.tail = run.catch(() => undefined);
    return run;
  }
}

/**
 * I4 at the end: the refs touched hold, together, their old values with the
 * pushes that succeeded laid over them, each push whole (any of them, in any
 * order: two pushes on disjoint refs may both have moved).
 */
export function checkBucketRefsAtomic(refs: ReadonlyMap<string, string>, before: ReadonlyMap<string, string>, pushes: readonly ReadonlyMap<string, string>[]): BucketViolation[] {
  const names = [...new Set([...before.keys(), ...pushes.flatMap((p) => [...p.keys()])])].sort();
  const norm = (v: string | undefined): string => (v === undefined || v === ZERO ? 'absent' : v);
  const actual = names.map((n) => norm(refs.get(n)));
  const orders = (left: number[]): number[][] => [[], ...left.flatMap((i) => orders(left.filter((j) => j !== i)).map((rest) => [i, ...rest]))];
  const candidates = orders(pushes.map((_, i) => i)).map((order) => {
    const m = new Map(before);
    for (const i of order) for (const [n, v] of pushes[i] ?? []) m.set(n, v);
    return names.map((n) => norm(m.get(n)));
  });
  if (candidates.some((c) => c.every((v, i) => v === actual[i]))) return [];
  return [{ invariant: 'I4', message: `refs are a mix of old and new values after roll-forward: ${names.map((n, i) => `${n}=${actual[i]?.slice(0, 12)}`).join(' ')}` }];
}

export function formatBucketViolations(vs: readonly BucketViolation[]): string {
  return vs.map((v) => `  ${v.invariant}  ${v.message}`).join('\n');
}
